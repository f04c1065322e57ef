using NetDumplings.Protocol;
using System.Management.Automation;
using NetDumplings.Client;
using NetDumplings.Hub;

using NetDumplings.PowerShell.Cmdlets;

namespace NetDumplings.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Gets a hub's status: dumplings in and out, uptime, and the kitchens and eaters connected.</para>
/// <para type="description">Connects to the hub's out-port as an eater and returns the next SystemStatusChef dumpling the hub sends, read into a typed object (what nd-hubdetails shows). With -Watch it returns every status dumpling as it comes until stopped (what nd-hubstatus shows). It works with the Python hub too; the fields that only a NetDumplings hub reports (dropped, invalid and refused counts, queue depths, version) are then empty.</para>
/// </summary>
/// <example>
///   <code>Get-DumplingHubStatus</code>
///   <para>Waits for the next status dumpling of the hub at localhost:11348 (a hub sends one every 5 s by default) and shows it.</para>
/// </example>
/// <example>
///   <code>(Get-DumplingHubStatus -Hub 127.0.0.1:11348).Eaters | Format-Table Name, Host, Port, DumplingsSent, DumplingsDropped, QueueDumplings</code>
///   <para>Lists the eaters connected to the hub, with how many dumplings each was sent, and how many it dropped because the eater read too slowly.</para>
/// </example>
/// <example>
///   <code>Get-DumplingHubStatus -Watch | Select-Object Time, TotalDumplingsIn, TotalDumplingsOut, KitchenCount, EaterCount</code>
///   <para>Streams the hub's status until Ctrl+C.</para>
/// </example>
[Cmdlet(VerbsCommon.Get, "DumplingHubStatus")]
[OutputType(typeof(HubStatusReport))]
public sealed class GetDumplingHubStatusCommand : HubClientCmdlet
{
    /// <summary><para type="description">The hub's out-port (the eaters' side), as host:port, ws://host:port or wss://host:port (TLS). Default localhost:11348.</para></summary>
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(HubAddressCompleter))]
    public string Hub { get; set; } = $"{HubAddress.DefaultHost}:{HubAddress.DefaultOutPort}";

    /// <summary><para type="description">Return every status dumpling as it arrives, until stopped, instead of just the next one.</para></summary>
    [Parameter]
    public SwitchParameter Watch { get; set; }

    /// <summary><para type="description">Seconds to wait for a status dumpling before giving up (default 15; the hub's default status interval is 5 s). With -Watch, the longest gap allowed between two.</para></summary>
    [Parameter]
    [ValidateRange(0.1, 86400)]
    public double Timeout { get; set; } = 15;

    /// <summary><para type="description">The eater name the hub shows for this connection.</para></summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string EaterName { get; set; } = "Get-DumplingHubStatus";

    protected override HubRole Role => HubRole.Eater;

    protected override void EndProcessing()
    {
        var address = ParseHub(Hub);
        var eater = new DumplingEater(new DumplingEaterOptions
        {
            Hub = address,
            EaterName = EaterName,
            Chefs = [HubStatusReport.ChefName],
            Count = Watch ? null : 1,
            Reconnect = Watch,
            Security = ClientSecurity(address),
        });
        eater.Event += QueueEvent;
        var pump = new EaterPump(eater, CancelToken);
        try
        {
            while (pump.MoveNext(TimeSpan.FromSeconds(Timeout), WriteQueuedEvents))
            {
                WriteQueuedEvents();
                var dumpling = pump.Current;
                if (!HubStatusReport.IsStatus(dumpling)) continue; // a kitchen's dumpling under the same chef name
                try
                {
                    WriteObject(HubStatusReport.From(dumpling));
                }
                catch (DumplingFormatException e)
                {
                    WriteError(e, "InvalidStatusDumpling", ErrorCategory.InvalidData, dumpling.Json);
                }
            }
            WriteQueuedEvents();
            if (pump.TimedOut)
                ThrowTerminatingError(new TimeoutException($"The hub at {address} sent no status dumpling within {Timeout} s."), "NoHubStatus",
                    ErrorCategory.OperationTimeout, address.ToString(),
                    "A hub started with -StatusInterval 0 sends none; otherwise raise -Timeout above its status interval.");
        }
        catch (OperationCanceledException) when (CancelToken.IsCancellationRequested)
        {
            // Ctrl+C or Select-Object -First: the eater closed with 4101.
        }
        catch (IOException e) when (e is DumplingHubUnreachableException or DumplingHubRefusedException or DumplingHubConnectionLostException)
        {
            WriteQueuedEvents();
            ThrowTerminatingError(HubErrorRecord(e));
        }
        finally
        {
            pump.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(5));
        }
    }
}
