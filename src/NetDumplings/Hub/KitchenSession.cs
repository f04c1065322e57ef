using System.Diagnostics;
using System.Net;
using System.Net.WebSockets;
using System.Text.Json;

namespace NetDumplings.Hub;

/// <summary>A kitchen on the in-port: every message after its announcement is a dumpling to forward.</summary>
internal sealed class KitchenSession(DumplingHub hub, WebSocket socket, PeerStream stream, IPEndPoint remote)
    : HubPeer(hub, socket, stream, remote)
{
    private long _received;
    private long _invalid;
    private long _heldTicks;
    private long _holdingSince;

    public override string Role => "kitchen";

    protected override string NameKey => "kitchen_name";

    protected override string WrongPortHint => $"is this the in-port? eaters connect to the out-port, {Hub.OutEndPoint.Port}";

    public long Received => Interlocked.Read(ref _received);
    public long Invalid => Interlocked.Read(ref _invalid);

    /// <summary>How long the hub held this kitchen back (stopped reading it) for full eaters, the current hold included.</summary>
    public TimeSpan HeldBack => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _heldTicks) + HoldingNowTicks);

    /// <summary>How long the current hold has lasted; 0 when the kitchen is not held.</summary>
    public long HoldingNowTicks
    {
        get
        {
            var since = Interlocked.Read(ref _holdingSince);
            return since == 0 ? 0 : Math.Max(0, Stopwatch.GetTimestamp() - since);
        }
    }

    internal long HoldStarted()
    {
        var now = Stopwatch.GetTimestamp();
        Interlocked.Exchange(ref _holdingSince, now);
        return now;
    }

    /// <summary>Ends a hold; returns its length in Stopwatch ticks.</summary>
    internal long HoldEnded(long start)
    {
        var held = Stopwatch.GetTimestamp() - start;
        Interlocked.Exchange(ref _holdingSince, 0);
        Interlocked.Add(ref _heldTicks, held);
        return held;
    }

    public override async Task RunAsync(CancellationToken cancel)
    {
        // Dumplings are queued as they are read and the eaters woken once this kitchen's input is used up.
        Stream.BeforeSocketRead = Hub.SignalEaters;
        try
        {
            await ForwardAsync(cancel);
        }
        finally
        {
            Stream.BeforeSocketRead = null;
            Hub.SignalEaters();
        }
    }

    private async Task ForwardAsync(CancellationToken cancel)
    {
        while (!cancel.IsCancellationRequested)
        {
            var outcome = await ReceiveAsync(cancel);
            if (outcome == ReceiveOutcome.Closed) return;
            if (outcome == ReceiveOutcome.TooBig)
            {
                await RefuseTooBigAsync();
                return;
            }
            // The original's rule: JSON with metadata.chef. Anything else is logged and skipped; the kitchen stays.
            if (!DumplingCodec.TryReadEnvelope(Message, out var chef, out var kitchen, out var error))
            {
                Interlocked.Increment(ref _invalid);
                Hub.CountInvalid();
                Hub.Report(HubLogLevel.Warning, $"Skipped an invalid dumpling from {this}: {error}.");
                continue;
            }
            Interlocked.Increment(ref _received);
            // Under backpressure this waits, and the kitchen's socket is not read meanwhile.
            await Hub.PublishAsync(HubFrame.Create(Message, MessageType == WebSocketMessageType.Binary, chef, kitchen), this, cancel);
        }
    }
}
