using NetDumplings.Protocol;
using System.Management.Automation;
using NetDumplings.Client;
using NetDumplings.Hub;

using NetDumplings.PowerShell.Cmdlets;

namespace NetDumplings.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Eats dumplings from a hub: connects to its out-port and writes every matching dumpling to the pipeline.</para>
/// <para type="description">Receive-Dumpling connects to a dumpling hub (Start-DumplingHub, or the Python nd-hub) as an eater and streams the dumplings it forwards as NetDumplings.Dumpling objects, whose Payload property reaches the chef's payload directly ($_.Payload.lookup.hostname). It runs until -Count dumplings arrived, nothing arrived for -Timeout seconds, or the pipeline is stopped (Ctrl+C, Select-Object -First); it then closes the connection with the code the netdumplings protocol uses (4102 when full, 4101 otherwise). A lost hub is reconnected with backoff unless -NoReconnect is given; from a NetDumplings hub it then resumes after the last dumpling it got, so it misses nothing the hub's replay window still holds and gets nothing twice. When the hub dropped dumplings for it (-OverflowPolicy DropOldest), or it was away longer than the replay window holds, it writes a warning with the count.</para>
/// </summary>
/// <example>
///   <code>Receive-Dumpling -Chef DNSLookupChef | ForEach-Object { $_.Payload.lookup.hostname }</code>
///   <para>Prints every host name the kitchens see looked up, as they arrive, until Ctrl+C.</para>
/// </example>
/// <example>
///   <code>Receive-Dumpling -Hub localhost:11348 -Kitchen default* -Driver Interval -Count 10</code>
///   <para>Eats ten interval dumplings from kitchens whose names start with default, from the hub on this machine, then stops. Over the network, -Hub names the hub's host (hubhost:11348).</para>
/// </example>
/// <example>
///   <code>Receive-Dumpling -Chef ARPChef -Timeout 30 -Raw | Set-Content arp.jsonl</code>
///   <para>Saves ARP dumplings as JSON lines until none arrived for 30 seconds; ConvertFrom-DumplingJson reads them back.</para>
/// </example>
[Cmdlet(VerbsCommunications.Receive, "Dumpling")]
[OutputType(typeof(Dumpling))]
[OutputType(typeof(string))]
public sealed class ReceiveDumplingCommand : HubClientCmdlet
{
    /// <summary><para type="description">The hub's out-port: host:port, host, ws://host:port, or wss://host:port for a hub that serves TLS. Default localhost:11348.</para></summary>
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(HubAddressCompleter))]
    public string Hub { get; set; } = $"{HubAddress.DefaultHost}:{HubAddress.DefaultOutPort}";

    /// <summary><para type="description">Chef names to eat; wildcards allowed. Default: every chef.</para></summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(HubStatusCompleter))]
    public string[] Chef { get; set; } = [];

    /// <summary><para type="description">Kitchen names to eat; wildcards allowed. Default: every kitchen and the hub's own status dumplings.</para></summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(HubStatusCompleter))]
    public string[] Kitchen { get; set; } = [];

    /// <summary><para type="description">Only packet dumplings or only interval dumplings.</para><para type="default">None: both drivers</para></summary>
    [Parameter]
    public DumplingDriver? Driver { get; set; }

    /// <summary><para type="description">Stop after this many dumplings.</para><para type="default">None: no limit</para></summary>
    [Parameter]
    [ValidateRange(1, long.MaxValue)]
    public long Count { get; set; }

    /// <summary><para type="description">Stop when no dumpling arrived for this many seconds.</para><para type="default">None: wait for ever</para></summary>
    [Parameter]
    [ValidateRange(0.001, 31_536_000.0)]
    public double Timeout { get; set; }

    /// <summary><para type="description">The name the hub shows for this eater.</para></summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string EaterName { get; set; } = "Receive-Dumpling";

    /// <summary><para type="description">Write each dumpling's JSON text instead of an object.</para></summary>
    [Parameter]
    public SwitchParameter Raw { get; set; }

    /// <summary><para type="description">End (with an error) when the connection is lost instead of reconnecting.</para></summary>
    [Parameter]
    public SwitchParameter NoReconnect { get; set; }

    protected override HubRole Role => HubRole.Eater;

    private bool _connectedBefore;

    protected override void EndProcessing()
    {
        var address = ParseHub(Hub);
        var eater = new DumplingEater(new DumplingEaterOptions
        {
            Hub = address,
            EaterName = EaterName,
            Chefs = Chef,
            Kitchens = Kitchen,
            Driver = Driver,
            Count = MyInvocation.BoundParameters.ContainsKey(nameof(Count)) ? Count : null,
            Reconnect = !NoReconnect,
            DecodeText = Raw,
            Security = ClientSecurity(address),
        });
        eater.Event += QueueEvent;
        WriteVerbose($"Connecting to the hub at {address} as '{EaterName}'.");
        var idle = Timeout > 0 ? TimeSpan.FromSeconds(Timeout) : System.Threading.Timeout.InfiniteTimeSpan;
        var pump = new EaterPump(eater, CancelToken);
        try
        {
            while (pump.MoveNext(idle, WriteQueuedEvents))
            {
                WriteQueuedEvents();
                WriteObject(Raw ? pump.Current.Json : pump.Current);
            }
            WriteQueuedEvents();
            if (pump.TimedOut) WriteVerbose($"No dumpling arrived for {Timeout} s: stopping.");
        }
        catch (OperationCanceledException) when (CancelToken.IsCancellationRequested)
        {
            // Ctrl+C or Select-Object -First: the eater closes with 4101.
        }
        catch (DumplingHubConnectionLostException e)
        {
            WriteQueuedEvents();
            WriteError(HubErrorRecord(e));
        }
        catch (IOException e) when (e is DumplingHubUnreachableException or DumplingHubRefusedException)
        {
            WriteQueuedEvents();
            ThrowTerminatingError(HubErrorRecord(e));
        }
        finally
        {
            pump.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(5));
        }
    }

    protected override void WriteEvent(HubClientEventArgs e)
    {
        switch (e.Kind)
        {
            case HubClientEventKind.Disconnected:
                WriteWarning(e.Message + (NoReconnect ? "" : " Reconnecting."));
                break;
            case HubClientEventKind.Connected:
                if (_connectedBefore) WriteWarning($"Reconnected to the hub at {Hub}.");
                else WriteVerbose(e.Message);
                _connectedBefore = true;
                break;
            default:
                base.WriteEvent(e);
                break;
        }
    }
}
