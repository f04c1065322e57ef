using System.Diagnostics;
using System.Net;
using System.Net.WebSockets;
using System.Text.Json;

using NetDumplings.WebSockets;

namespace NetDumplings.Hub;

/// <summary>
/// An eater on the out-port: a bounded queue of frames and a sender that drains it in bursts. Its
/// announcement may carry the filter extension (<c>chefs</c>, <c>kitchens</c>: names or wildcards).
/// When its queue is full the hub's overflow policy applies: hold the kitchens back until it makes
/// room or misses its deadline (the default), drop its oldest frames, or disconnect it.
/// </summary>
internal sealed class EaterSession(DumplingHub hub, WebSocket socket, FrameStream stream, IPEndPoint remote)
    : HubPeer(hub, socket, stream, remote)
{
    private const int BatchBytes = 256 * 1024;
    private readonly EaterQueue _queue = new(hub.Options.EaterQueueDumplings, hub.Options.EaterQueueBytes);
    private EaterFilter? _chefs;
    private EaterFilter? _kitchens;
    private long _sent;
    private readonly object _holdLock = new();
    private long _heldTicks, _holders, _holdStarts;
    private int _cutOff;
    private Task? _closing;

    public override string Role => "eater";

    protected override string NameKey => "eater_name";

    public long Sent => Interlocked.Read(ref _sent);
    public long Dropped => _queue.Dropped;
    public int QueuedDumplings => _queue.Count;
    public long QueuedBytes => _queue.Bytes;

    /// <summary>How long kitchens waited for this eater to make room (summed over kitchens), the current waits included.</summary>
    public TimeSpan HeldKitchens
    {
        get
        {
            lock (_holdLock)
            {
                var now = Stopwatch.GetTimestamp();
                return Stopwatch.GetElapsedTime(0, _heldTicks + Math.Max(0, _holders * now - _holdStarts));
            }
        }
    }

    // Several kitchens may wait for this eater at once; this lock is only ever taken for these sums.
    internal void HoldStarted(long start)
    {
        lock (_holdLock)
        {
            _holders++;
            _holdStarts += start;
        }
    }

    internal void HoldEnded(long start, long held)
    {
        lock (_holdLock)
        {
            _holders--;
            _holdStarts -= start;
            _heldTicks += held;
        }
    }

    /// <summary>Why the hub cut this eater off for reading too slowly; null while it was not.</summary>
    public string? CutOffReason { get; private set; }
    public DateTimeOffset CutOffTime { get; private set; }

    protected override string WrongPortHint => $"is this the out-port? kitchens connect to the in-port, {Hub.InEndPoint.Port}";

    /// <summary>Reads the filter extension (an original eater sends none), within the hub's limits.</summary>
    protected override string? ReadAnnouncement(JsonElement announcement)
    {
        _chefs = EaterFilter.Read(announcement, "chefs", Hub.Options, out var problem);
        if (problem is null) _kitchens = EaterFilter.Read(announcement, "kitchens", Hub.Options, out problem);
        return problem;
    }

    public bool Wants(HubFrame frame) =>
        (_chefs is null || _chefs.IsMatch(frame.Chef)) &&
        (_kitchens is null || _kitchens.IsMatch(frame.Kitchen));

    /// <summary>Wakes the sender for whatever was offered since the last signal.</summary>
    public void Signal() => _queue.Signal();

    /// <summary>
    /// Queues a frame, applying the overflow policy when the queue is full. Never blocks; false only
    /// under <see cref="EaterOverflowPolicy.Backpressure"/>, when the caller must wait for room
    /// (<see cref="WaitForRoomAsync"/>) and offer again.
    /// </summary>
    public bool Offer(HubFrame frame)
    {
        var policy = Hub.Options.OverflowPolicy;
        if (_queue.TryEnqueue(frame, dropOldest: policy == EaterOverflowPolicy.DropOldest)) return true;
        if (policy == EaterOverflowPolicy.Backpressure) return false;
        CutOffFull();
        return true;
    }

    /// <summary>Queues one of the hub's status dumplings: never waits, whatever the policy.</summary>
    public void OfferStatus(HubFrame frame)
    {
        var policy = Hub.Options.OverflowPolicy;
        if (_queue.TryEnqueue(frame, dropOldest: policy == EaterOverflowPolicy.DropOldest)) return;
        if (policy == EaterOverflowPolicy.Disconnect) CutOffFull();
        // Backpressure: past the limits by one small frame, for at most the deadline (then the eater is cut off).
        else if (IsStalled) CutOffStalled();
        else _queue.ForceEnqueue(frame);
    }

    /// <summary>
    /// Waits until <paramref name="frame"/> may fit in the queue. An eater that takes nothing from its
    /// full queue for <see cref="DumplingHubOptions.SlowEaterTimeout"/> is cut off instead, so a stalled
    /// eater holds the kitchens back for at most that long.
    /// </summary>
    public async Task WaitForRoomAsync(HubFrame frame, CancellationToken cancel)
    {
        while (true)
        {
            var room = _queue.WaitForRoomAsync(frame);
            if (room.IsCompleted) return;
            var left = Hub.Options.SlowEaterTimeout - Stopwatch.GetElapsedTime(_queue.ProgressMark);
            if (left <= TimeSpan.Zero)
            {
                CutOffStalled();
                return;
            }
            try
            {
                await room.WaitAsync(left, cancel);
                return;
            }
            catch (TimeoutException) { } // look again: the eater may have made room just now
        }
    }

    private bool IsStalled => Stopwatch.GetElapsedTime(_queue.ProgressMark) >= Hub.Options.SlowEaterTimeout;

    private void CutOffFull() => CutOff(
        "dumpling eater too slow: its queue was full",
        $"its queue is full ({Hub.Options.EaterQueueDumplings} dumplings / {Hub.Options.EaterQueueBytes} bytes); it reads too slowly");

    private void CutOffStalled() => CutOff(
        $"dumpling eater too slow: it read nothing for {Hub.Options.SlowEaterTimeout.TotalSeconds:0.###} s while its queue was full",
        $"it took nothing from its full queue for {Hub.Options.SlowEaterTimeout.TotalSeconds:0.###} s, holding the kitchens back");

    /// <summary>Closes the eater with 1008 and counts it; whoever waits on its queue goes on at once.</summary>
    private void CutOff(string reason, string why)
    {
        if (Interlocked.Exchange(ref _cutOff, 1) != 0) return;
        CutOffTime = DateTimeOffset.UtcNow;
        CutOffReason = reason;
        Hub.Report(HubLogLevel.Warning, $"Disconnecting {this}: {why}.");
        Hub.CountCutOff();
        // The close frame goes out once the sender's current write is done (a stalled socket: never,
        // and CloseAsync aborts it after a second); RunAsync waits for it before dropping the connection.
        Volatile.Write(ref _closing, CloseAsync(WebSocketCloseStatus.PolicyViolation, reason));
        _queue.Close();
    }

    public override async Task RunAsync(CancellationToken cancel)
    {
        var sender = SendLoopAsync(cancel);
        var receiver = ReceiveLoopAsync(cancel);
        await Task.WhenAny(sender, receiver);
        _queue.Close();
        if (Volatile.Read(ref _closing) is { } closing) await closing;
        // An eater that closed gets its close echoed (RFC 6455) before the connection drops.
        if (Socket.State == WebSocketState.CloseReceived)
            await CloseAsync(Socket.CloseStatus ?? WebSocketCloseStatus.NormalClosure, Socket.CloseStatusDescription ?? "");
        Socket.Abort();
        try { await Task.WhenAll(sender, receiver); }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException) { }
    }

    private async Task SendLoopAsync(CancellationToken cancel)
    {
        var batch = new List<HubFrame>(64);
        try
        {
            while (await _queue.WaitAsync())
            {
                batch.Clear();
                _queue.DrainTo(batch, BatchBytes);
                if (batch.Count == 0) continue;
                if (Socket.State != WebSocketState.Open) return;
                await Stream.WriteFramesAsync(batch, static f => f.Bytes, cancel);
                Interlocked.Add(ref _sent, batch.Count);
                Hub.CountOut(batch.Count);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or System.Net.Sockets.SocketException) { }
    }

    private async Task ReceiveLoopAsync(CancellationToken cancel)
    {
        // An eater has nothing more to say after its announcement; reading keeps pings, pongs and
        // its close flowing, and enforces the message limit.
        try
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
            }
        }
        catch (Exception e) when (e is WebSocketException or IOException or OperationCanceledException or ObjectDisposedException) { }
    }
}
