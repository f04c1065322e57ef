using NetDumplings.Protocol;
using System.Management.Automation;
using System.Threading.Channels;
using NetDumplings.Eater;
using NetDumplings.Hub;

namespace NetDumplings.PowerShell;

/// <summary>
/// <para type="synopsis">Eats dumplings from a hub: connects to its out-port and writes every matching dumpling to the pipeline.</para>
/// <para type="description">Receive-Dumpling connects to a dumpling hub (Start-DumplingHub, or the Python nd-hub) as an eater and streams the dumplings it forwards as NetDumplings.Dumpling objects, whose Payload property reaches the chef's payload directly ($_.Payload.lookup.hostname). It runs until -Count dumplings arrived, nothing arrived for -Timeout seconds, or the pipeline is stopped (Ctrl+C, Select-Object -First); it then closes the connection with the code the netdumplings protocol uses (4102 when full, 4101 otherwise). A lost hub is reconnected with backoff unless -NoReconnect is given.</para>
/// </summary>
/// <example>
///   <code>Receive-Dumpling -Chef DNSLookupChef | ForEach-Object { $_.Payload.lookup.hostname }</code>
///   <para>Prints every host name the kitchens see looked up, as they arrive, until Ctrl+C.</para>
/// </example>
/// <example>
///   <code>Receive-Dumpling -Hub edge1:11348 -Kitchen edge* -Driver Interval -Count 10</code>
///   <para>Eats ten interval dumplings from kitchens whose names start with edge, from the hub on edge1, then stops.</para>
/// </example>
/// <example>
///   <code>Receive-Dumpling -Chef ARPChef -Timeout 30 -Raw | Set-Content arp.jsonl</code>
///   <para>Saves ARP dumplings as JSON lines until none arrived for 30 seconds; ConvertFrom-DumplingJson reads them back.</para>
/// </example>
[Cmdlet(VerbsCommunications.Receive, "Dumpling")]
[OutputType(typeof(Dumpling))]
[OutputType(typeof(string))]
public sealed class ReceiveDumplingCommand : DumplingCmdlet
{
    /// <summary><para type="description">The hub's out-port: host:port, host, or ws://host:port. Default localhost:11348.</para></summary>
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Hub { get; set; } = $"{HubAddress.DefaultHost}:{HubAddress.DefaultOutPort}";

    /// <summary><para type="description">Chef names to eat; wildcards allowed. Default: every chef.</para></summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[] Chef { get; set; } = [];

    /// <summary><para type="description">Kitchen names to eat; wildcards allowed. Default: every kitchen and the hub's own status dumplings.</para></summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[] Kitchen { get; set; } = [];

    /// <summary><para type="description">Only packet dumplings or only interval dumplings.</para></summary>
    [Parameter]
    public DumplingDriver? Driver { get; set; }

    /// <summary><para type="description">Stop after this many dumplings.</para></summary>
    [Parameter]
    [ValidateRange(1, long.MaxValue)]
    public long Count { get; set; }

    /// <summary><para type="description">Stop when no dumpling arrived for this many seconds.</para></summary>
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

    private const int QueueCapacity = 8192;
    private readonly CancellationTokenSource _eating = new();
    private Task? _background;
    private HubAddress? _address;

    protected override void EndProcessing()
    {
        if (!HubAddress.TryParse(Hub, HubAddress.DefaultOutPort, out _address, out var addressError))
            ThrowTerminatingError(new ArgumentException(addressError), "InvalidHubAddress", ErrorCategory.InvalidArgument, Hub,
                "Give the hub's out-port as host:port (e.g. localhost:11348) or ws://host:port.");

        var eater = new DumplingEater(new DumplingEaterOptions
        {
            Hub = _address!,
            EaterName = EaterName,
            Chefs = Chef,
            Kitchens = Kitchen,
            Driver = Driver,
            Count = MyInvocation.BoundParameters.ContainsKey(nameof(Count)) ? Count : null,
            Reconnect = !NoReconnect,
        });
        // Dumplings and the eater's reports share one bounded queue, so they reach the pipeline in order.
        var queue = Channel.CreateBounded<object>(new BoundedChannelOptions(QueueCapacity) { SingleReader = true, SingleWriter = true });
        var token = _eating.Token;
        eater.Event += (_, e) => queue.Writer.WriteAsync(e, token).AsTask().GetAwaiter().GetResult();
        WriteVerbose($"Connecting to the hub at {_address} as '{EaterName}'.");
        _background = Task.Run(async () =>
        {
            try
            {
                // With -Raw the text is decoded here, off the pipeline thread, which only writes it.
                var raw = Raw.IsPresent;
                await foreach (var dumpling in eater.EatAsync(token).ConfigureAwait(false))
                {
                    object item = raw ? dumpling.Json : dumpling;
                    if (!queue.Writer.TryWrite(item))
                        await queue.Writer.WriteAsync(item, token).ConfigureAwait(false);
                }
                queue.Writer.TryComplete();
            }
            catch (Exception e)
            {
                queue.Writer.TryComplete(e);
            }
        });

        try
        {
            Drain(queue.Reader);
        }
        finally
        {
            StopEating();
        }
    }

    private void Drain(ChannelReader<object> reader)
    {
        var timeout = Timeout > 0 ? TimeSpan.FromSeconds(Timeout) : System.Threading.Timeout.InfiniteTimeSpan;
        while (true)
        {
            while (reader.TryRead(out var item))
            {
                if (item is DumplingEaterEventArgs report)
                    Report(report);
                else
                    WriteObject(item);
            }
            var wait = reader.WaitToReadAsync(CancelToken);
            bool more;
            try
            {
                if (wait.IsCompleted)
                    more = wait.Result;
                else
                {
                    var task = wait.AsTask();
                    if (!task.Wait(timeout))
                    {
                        WriteVerbose($"No dumpling arrived for {Timeout} s: stopping.");
                        return;
                    }
                    more = task.Result;
                }
            }
            catch (Exception e) when (CancelToken.IsCancellationRequested && Unwrap(e) is OperationCanceledException)
            {
                return; // the pipeline is stopping
            }
            catch (Exception e)
            {
                Fail(Unwrap(e));
                return;
            }
            if (!more)
            {
                if (reader.Completion.IsFaulted) Fail(Unwrap(reader.Completion.Exception!));
                return;
            }
        }
    }

    private static Exception Unwrap(Exception e)
    {
        while (e is AggregateException { InnerExceptions.Count: 1 } aggregate) e = aggregate.InnerExceptions[0];
        return e;
    }

    private void Report(DumplingEaterEventArgs e)
    {
        switch (e.Kind)
        {
            case DumplingEaterEventKind.MalformedMessage:
                WriteError(new DumplingFormatException(e.Message), "MalformedDumpling", ErrorCategory.InvalidData, e.RawMessage,
                    "The hub forwarded something that is not a dumpling; the kitchen that sent it needs fixing. The stream goes on.");
                break;
            case DumplingEaterEventKind.Disconnected:
                WriteWarning(e.Message + (NoReconnect ? "" : " Reconnecting."));
                break;
            case DumplingEaterEventKind.ReconnectFailed:
            case DumplingEaterEventKind.Reconnecting:
                WriteVerbose(e.Message);
                break;
            case DumplingEaterEventKind.Connected:
                if (_connectedBefore) WriteWarning($"Reconnected to the hub at {_address}.");
                else WriteVerbose(e.Message);
                _connectedBefore = true;
                break;
        }
    }

    private bool _connectedBefore;

    private void Fail(Exception e)
    {
        switch (e)
        {
            case DumplingHubUnreachableException unreachable:
                ThrowTerminatingError(unreachable, "HubUnreachable", ErrorCategory.ConnectionError, unreachable.Address,
                    $"Check that a hub is running at {unreachable.Address} (start one with Start-DumplingHub) and that -Hub names its out-port (default 11348).");
                break;
            case DumplingHubConnectionLostException lost:
                WriteError(lost, "HubConnectionLost", ErrorCategory.ConnectionError, lost.Address,
                    "Leave out -NoReconnect to have Receive-Dumpling reconnect when the hub comes back.");
                break;
            default:
                ThrowTerminatingError(e, "ReceiveFailed", ErrorCategory.NotSpecified, _address?.ToString());
                break;
        }
    }

    /// <summary>Cancels the eater (it closes with 4101 unless it already closed with 4102) and waits for its task.</summary>
    private void StopEating()
    {
        if (_background is null) return;
        _eating.Cancel();
        try
        {
            _background.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
            // Its failure already went through the queue.
        }
        _background = null;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            StopEating();
            _eating.Dispose();
        }
        base.Dispose(disposing);
    }
}
