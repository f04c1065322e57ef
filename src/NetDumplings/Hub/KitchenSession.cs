using System.Diagnostics;
using System.Net;
using System.Net.WebSockets;
using System.Text.Json;

using NetDumplings.WebSockets;

namespace NetDumplings.Hub;

/// <summary>A kitchen on the in-port: every message after its announcement is a dumpling to forward.</summary>
internal sealed class KitchenSession(DumplingHub hub, WebSocket socket, FrameStream stream, IPEndPoint remote)
    : HubPeer(hub, socket, stream, remote)
{
    private long _received;
    private long _invalid;
    private readonly object _takeLock = new();
    private long _taken;            // messages read and handled (forwarded or counted invalid): what an acknowledgement says
    private long _acknowledged = -1; // the count last sent (-1: none yet, so the first, 0, goes out at once)
    private int _acknowledging;     // 1 while a writer is sending acknowledgements
    private int _forceAcknowledgement;
    private bool _stopTaking;       // guarded by _takeLock

    private long _heldTicks;
    private long _holdingSince;

    public override string Role => "kitchen";

    protected override string NameKey => "kitchen_name";

    protected override string WrongPortHint => $"is this the in-port? eaters connect to the out-port, {Hub.OutEndPoint.Port}";

    public long Received => Interlocked.Read(ref _received);
    public long Invalid => Interlocked.Read(ref _invalid);

    /// <summary>The kitchen asked for acknowledgements (an extension; the original kitchens never do).</summary>
    private bool WantsAcknowledgements =>
        Announcement.ValueKind == JsonValueKind.Object &&
        Announcement.TryGetProperty(Protocol.KitchenAnnouncement.AcknowledgementKey, out var ack) && ack.ValueKind == JsonValueKind.True;

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

    protected override bool ExcusedFromKeepAlive => HoldingNowTicks > 0;

    protected override async Task RunSessionAsync(CancellationToken cancel)
    {
        var acknowledging = WantsAcknowledgements;
        // The first acknowledgement says at once that this hub acknowledges (and is the right port).
        if (acknowledging) Acknowledge();
        // Dumplings are queued as they are read and the eaters woken once this kitchen's input is used
        // up; an acknowledgement then says how many were taken, so the kitchen knows what to resend.
        Stream.BeforeSocketRead = acknowledging ? OnInputUsedUp : OnInputUsedUpUnacknowledged;
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
            // A stopping hub takes nothing more: what it does not acknowledge, the kitchen sends to the next hub.
            lock (_takeLock)
            {
                // Read on, and drop: a reader that stopped would leave input unread, and closing
                // over it resets the connection before the kitchen has read our final count.
                if (_stopTaking) continue;
                Interlocked.Increment(ref _taken);
            }
            // The original's rule (JSON with metadata.chef) and ours (see DumplingHub.IsForwardable). Anything else is logged and skipped; the kitchen stays.
            if (!DumplingHub.IsForwardable(Message, out var chef, out var kitchen, out var driver, out var error))
            {
                Interlocked.Increment(ref _invalid);
                Hub.CountInvalid();
                Hub.Report(HubLogLevel.Warning, $"Skipped an invalid dumpling from {this}: {error}.");
                continue;
            }
            Interlocked.Increment(ref _received);
            var binary = MessageType == WebSocketMessageType.Binary;
            var frame = HubFrame.Create(Message, binary, chef, kitchen);
            // Once to the mesh (it holds this kitchen only while NATS is there and slower than it; NATS away
            // costs the local eaters nothing), then to the local eaters. Under backpressure each waits, and
            // the kitchen's socket is not read meanwhile.
            if (Hub.Mesh is { } mesh) await mesh.OfferAsync(frame, driver, this, cancel);
            await Hub.PublishAsync(frame, this, cancel);
        }
    }

    private void OnInputUsedUp()
    {
        Heard();
        Hub.SignalEaters();
        Acknowledge();
    }

    private void OnInputUsedUpUnacknowledged()
    {
        Heard();
        Hub.SignalEaters();
    }

    /// <summary>
    /// Tells the kitchen how many messages this hub has taken, when that changed. Written straight to
    /// the stream as a pre-built frame (serialised with the WebSocket's own writes), never awaited on
    /// the read path; one writer at a time, which re-checks before it leaves so no count is left unsent.
    /// </summary>
    private void Acknowledge(bool force = false)
    {
        if (force) Volatile.Write(ref _forceAcknowledgement, 1);
        if (Interlocked.Exchange(ref _acknowledging, 1) == 1) return;
        _ = AcknowledgeAsync();
    }

    private async Task AcknowledgeAsync()
    {
        while (true)
        {
            try
            {
                while (true)
                {
                    var taken = Interlocked.Read(ref _taken);
                    var forced = Interlocked.Exchange(ref _forceAcknowledgement, 0) == 1;
                    if ((taken == Interlocked.Read(ref _acknowledged) && !forced) || Socket.State != WebSocketState.Open) break;
                    Interlocked.Exchange(ref _acknowledged, taken);
                    var json = System.Text.Encoding.ASCII.GetBytes($"{{\"{Protocol.KitchenAnnouncement.AcknowledgementKey}\":{taken}}}");
                    await Stream.WriteAsync(WebSocketFrames.ServerFrame(json, binary: false));
                }
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException or System.Net.Sockets.SocketException)
            {
                return; // the connection is gone; nothing to tell
            }
            finally
            {
                Volatile.Write(ref _acknowledging, 0);
            }
            // Asked again while finishing: take over once more, unless another writer already has.
            if ((Interlocked.Read(ref _taken) == Interlocked.Read(ref _acknowledged) && Volatile.Read(ref _forceAcknowledgement) == 0) ||
                Interlocked.Exchange(ref _acknowledging, 1) == 1)
                return;
        }
    }

    /// <summary>
    /// For a stopping hub: take no more dumplings, and tell an acknowledging kitchen exactly what was
    /// taken, so it resends the rest to the next hub (a restart loses nothing, and duplicates nothing).
    /// </summary>
    public async Task StopTakingAsync()
    {
        lock (_takeLock) _stopTaking = true;
        if (!WantsAcknowledgements) return;
        Acknowledge(force: true);
        var deadline = DateTime.UtcNow.AddSeconds(1);
        while ((Volatile.Read(ref _acknowledging) == 1 || Volatile.Read(ref _forceAcknowledgement) == 1) && DateTime.UtcNow < deadline)
            await Task.Delay(5);
    }
}
