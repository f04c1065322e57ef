using NetDumplings.Protocol;
using System.Management.Automation;
using System.Text;
using NetDumplings.Client;

using NetDumplings.PowerShell.Cmdlets;
using NetDumplings.PowerShell.Conversion;

namespace NetDumplings.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Sends pipeline input to a hub as dumplings, as if it came from a kitchen.</para>
/// <para type="description">Send-Dumpling connects to a dumpling hub's in-port as a kitchen and turns each input object into one dumpling's payload: PowerShell and .NET objects become JSON objects of their properties (down to -Depth levels), collections arrays, and a string holding a JSON object or array is sent as that JSON; any other string is a JSON string. Dumplings are queued and sent in batches on a background task, so the pipeline never waits for the network. An object that cannot be written as JSON is a non-terminating error; the rest still go.</para>
/// </summary>
/// <example>
///   <code>Get-Process | Select-Object Name, CPU | Send-Dumpling -Chef ProcessChef</code>
///   <para>Sends one dumpling per process, with payload {"Name": ..., "CPU": ...}, to the hub on localhost.</para>
/// </example>
/// <example>
///   <code>'{"lookup": {"hostname": "example.com"}}' | Send-Dumpling -Hub localhost:11347 -Kitchen $(hostname) -Chef DNSLookupChef</code>
///   <para>Sends a JSON payload as is, as if the DNSLookupChef of a kitchen named after this host had made it, to the hub on this machine.</para>
/// </example>
[Cmdlet(VerbsCommunications.Send, "Dumpling")]
[OutputType(typeof(Dumpling))]
public sealed class SendDumplingCommand : HubClientCmdlet
{
    /// <summary><para type="description">The payload of one dumpling.</para></summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [AllowNull]
    [AllowEmptyString]
    public PSObject? InputObject { get; set; }

    /// <summary><para type="description">The hub's in-port: host:port, host, ws://host:port, or wss://host:port for a hub that serves TLS. Default localhost:11347.</para></summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(HubAddressCompleter))]
    public string Hub { get; set; } = $"{HubAddress.DefaultHost}:{HubAddress.DefaultInPort}";

    /// <summary><para type="description">The kitchen name the dumplings carry (metadata.kitchen).</para></summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string Kitchen { get; set; } = "powershell";

    /// <summary><para type="description">The chef name the dumplings carry (metadata.chef).</para></summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string Chef { get; set; } = "PowerShellChef";

    /// <summary><para type="description">Packet (default) or Interval.</para></summary>
    [Parameter]
    public DumplingDriver Driver { get; set; } = DumplingDriver.Packet;

    /// <summary><para type="description">How many levels of objects and arrays to write, the payload itself being level 1 (ConvertTo-Json -Depth N writes N+1); deeper ones are written as their text, with a warning. Default 10.</para></summary>
    [Parameter]
    [ValidateRange(1, 100)]
    public int Depth { get; set; } = PowerShellJsonWriter.DefaultDepth;

    /// <summary><para type="description">Write each dumpling sent to the pipeline.</para></summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <summary><para type="description">Fail at once (a terminating error) when the connection to the hub is lost, instead of reconnecting and sending what was not delivered.</para></summary>
    [Parameter]
    public SwitchParameter NoReconnect { get; set; }

    /// <summary><para type="description">Seconds to wait at the end for the hub to take every dumpling (reconnecting if it went away) before reporting those not sent. Default 30.</para></summary>
    [Parameter]
    [ValidateRange(0, 86400)]
    public double DrainTimeout { get; set; } = 30;

    protected override HubRole Role => HubRole.Kitchen;

    private DumplingSender? _sender;
    private PowerShellJsonWriter? _json;
    private HubAddress? _address;
    private long _errors, _cut;

    protected override void BeginProcessing()
    {
        _address = ParseHub(Hub);
        // Past the hub's limit the writing stops, rather than building all of a huge object first.
        _json = new PowerShellJsonWriter(Depth) { MaxBytes = new DumplingSenderOptions().MaxDumplingBytes };
        var announcement = new KitchenAnnouncement(Kitchen) { Interface = "Send-Dumpling", Chefs = [Chef] };
        try
        {
            _sender = DumplingSender.ConnectAsync(_address, announcement, new DumplingSenderOptions { Reconnect = !NoReconnect, Security = ClientSecurity(_address) }, CancelToken)
                .GetAwaiter().GetResult();
            _sender.Event += QueueEvent;
        }
        catch (IOException e) when (e is DumplingHubUnreachableException or DumplingHubRefusedException)
        {
            ThrowTerminatingError(HubErrorRecord(e));
        }
        catch (OperationCanceledException)
        {
            throw new PipelineStoppedException();
        }
        WriteVerbose($"Connected to the hub at {_address} as kitchen '{Kitchen}'.");
    }

    protected override void ProcessRecord()
    {
        Dumpling dumpling;
        try
        {
            dumpling = DumplingCodec.Create(Chef, Kitchen, Driver, new RawJsonPayload(_json!.Write(InputObject)));
        }
        catch (PayloadJsonException e) when (e.TooLarge)
        {
            _errors++;
            WriteError(new DumplingTooLargeException(e.Message), "DumplingTooLarge", ErrorCategory.LimitsExceeded, InputObject,
                "Send a smaller object (fewer items, or a lower -Depth); the hub accepts dumplings up to 1 MiB.");
            return;
        }
        catch (Exception e) when (e is PayloadJsonException or DumplingFormatException or InvalidOperationException or ArgumentException)
        {
            _errors++;
            WriteError(new ArgumentException($"Cannot send this object as a dumpling payload: {e.Message}", e), "PayloadNotSerializable",
                ErrorCategory.InvalidData, InputObject,
                "Send objects whose properties are plain values, or pass a JSON string (e.g. from ConvertTo-Json).");
            return;
        }
        // Once, as ConvertTo-Json warns; the count comes at the end.
        if (_json.CutAt is not null && _cut++ == 0) WriteWarning(_json.CutWarning("Send-Dumpling -Depth"));

        WriteQueuedEvents();
        try
        {
            var send = _sender!.SendAsync(dumpling, CancelToken);
            if (!send.IsCompletedSuccessfully) send.AsTask().GetAwaiter().GetResult();
        }
        catch (DumplingTooLargeException e)
        {
            // Refused here, before it would cost the connection; the rest still go.
            _errors++;
            WriteError(e, "DumplingTooLarge", ErrorCategory.LimitsExceeded, InputObject,
                "Send a smaller object (fewer items, or a lower -Depth); the hub accepts dumplings up to 1 MiB.");
            return;
        }
        catch (IOException e) when (e is DumplingHubConnectionLostException or DumplingHubRefusedException)
        {
            ThrowTerminatingError(HubErrorRecord(e));
        }
        catch (OperationCanceledException)
        {
            throw new PipelineStoppedException();
        }
        if (PassThru) WriteObject(dumpling);
    }

    protected override void EndProcessing()
    {
        var sender = _sender!;
        try
        {
            sender.CompleteAsync(TimeSpan.FromSeconds(DrainTimeout), cancelledByUser: false, CancelToken).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
            throw new PipelineStoppedException();
        }
        _sender = null;
        if (_cut > 1) WriteWarning($"{_cut} objects nested deeper than -Depth {Depth} were cut.");
        WriteQueuedEvents();
        if (sender.NotDelivered.Count > 0)
        {
            // Every object is either taken by the hub once or reported here: these were not.
            var why = sender.Failure?.Message ?? $"the hub at {_address} did not take them within {DrainTimeout} s";
            var error = new IOException($"{sender.NotDelivered.Count} of the dumplings were not sent: {why}", sender.Failure);
            WriteError(Errors.Record(error, "DumplingsNotSent", ErrorCategory.ConnectionError, sender.NotDelivered.ToArray(),
                "Run Send-Dumpling again for these objects once the hub is reachable; the error's TargetObject holds them."));
        }
        else if (sender.Failure is { } failure)
        {
            ThrowTerminatingError(HubErrorRecord(failure));
        }
        WriteVerbose($"Sent {sender.Sent} dumplings to the hub at {_address}{(_errors > 0 ? $"; {_errors} objects could not be sent" : "")}.");
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && _sender is { } sender)
        {
            // Stopped or failed before the end: close with 4101 without sending what is still queued.
            _sender = null;
            sender.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(5));
        }
        base.Dispose(disposing);
    }
}
