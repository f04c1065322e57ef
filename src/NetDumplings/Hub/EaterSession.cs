using System.Diagnostics;
using System.Net;
using System.Net.WebSockets;
using System.Text.Json;

using NetDumplings.Protocol;
using NetDumplings.WebSockets;

namespace NetDumplings.Hub;

/// <summary>
/// An eater on the out-port: a bounded queue of frames and a sender that drains it in bursts. Its
/// announcement may carry the filter extension (<c>chefs</c>, <c>kitchens</c>: names or wildcards).
/// When its queue is full the hub's overflow policy applies: hold the kitchens back until it makes
/// room or misses its deadline (the default), drop its oldest frames, or disconnect it. An eater that
/// asks for notices (an extension) is told the hub's instance and the dumplings' numbers, what was
/// dropped for it, and, when it resumes after a reconnect, is first sent what it missed from the
/// hub's replay window.
/// </summary>
internal sealed class EaterSession(DumplingHub hub, WebSocket socket, FrameStream stream, IPEndPoint remote)
    : HubPeer(hub, socket, stream, remote)
{
    private const int BatchBytes = 256 * 1024;
    private readonly EaterQueue _queue = new(hub.Options.EaterQueueDumplings, hub.Options.EaterQueueBytes);
    private EaterFilter? _chefs;
    private EaterFilter? _kitchens;
    private long _sent;
    private bool _notices;
    private EaterResumePoint? _resume;
    private long _startAfter;            // the number this eater's stream starts after
    private long _replayNext, _replayLast; // numbers still to send from the replay window (none when next > last)
    private long _replayed, _missed;
    private long _expect;                 // the number the eater takes its next numbered dumpling to have (0: unknown)
    private long _reportedDropped;
    private int _sending;                 // 1 while the sender holds frames it took and has not written
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
    public long Replayed => Interlocked.Read(ref _replayed);
    public long Missed => Interlocked.Read(ref _missed);

    /// <summary>Where the eater asked to resume (it asked for notices too); null for a fresh start.</summary>
    public EaterResumePoint? ResumePoint => _resume;

    /// <summary>
    /// Where this eater's stream starts: after dumpling number <paramref name="startAfter"/>, those up to
    /// <paramref name="replayLast"/> coming from the replay window. Set by the hub as it admits the
    /// eater, under the lock it numbers dumplings under, so replay and live frames neither overlap nor gap.
    /// </summary>
    internal void StartAfter(long startAfter, long replayLast)
    {
        _startAfter = startAfter;
        _replayNext = startAfter + 1;
        _replayLast = replayLast;
    }

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
        _notices = EaterAnnouncement.ReadNotices(announcement);
        if (_notices) _resume = EaterAnnouncement.ReadResumeAfter(announcement);
        return problem;
    }

    /// <summary>What this eater's filters ask of the mesh, as NATS subjects can say it.</summary>
    public Mesh.MeshInterest MeshInterest => new(_kitchens?.SubjectTokens, _chefs?.SubjectTokens);

    public bool Wants(HubFrame frame) =>
        (_chefs is null || _chefs.IsMatch(frame.Chef)) &&
        (_kitchens is null || _kitchens.IsMatch(frame.Kitchen));

    /// <summary>Wakes the sender for whatever was offered since the last signal.</summary>
    public void Signal() => _queue.Signal();

    /// <summary>
    /// Queues a frame, applying the overflow policy when the queue is full. Never blocks; under
    /// <see cref="EaterOverflowPolicy.Backpressure"/> a frame that does not fit is parked behind the
    /// queue (<see cref="Offered.Parked"/>), and the caller waits for <paramref name="moved"/> with
    /// <see cref="WaitForRoomAsync"/> before it offers anything more.
    /// </summary>
    public Offered Offer(HubFrame frame, out Task moved)
    {
        var policy = Hub.Options.OverflowPolicy;
        var offered = _queue.TryEnqueue(frame, dropOldest: policy == EaterOverflowPolicy.DropOldest,
            park: policy == EaterOverflowPolicy.Backpressure, out moved);
        if (offered != Offered.Full) return offered;
        CutOffFull();
        return Offered.Queued;
    }

    /// <summary>Queues one of the hub's status dumplings: never waits, whatever the policy.</summary>
    public void OfferStatus(HubFrame frame)
    {
        var policy = Hub.Options.OverflowPolicy;
        if (_queue.TryEnqueue(frame, dropOldest: policy == EaterOverflowPolicy.DropOldest, park: false, out _) == Offered.Queued) return;
        if (policy == EaterOverflowPolicy.Disconnect) CutOffFull();
        // Backpressure: past the limits by one small frame, for at most the deadline (then the eater is cut off).
        else if (IsStalled) CutOffStalled();
        else _queue.ForceEnqueue(frame);
    }

    /// <summary>
    /// Waits until a parked frame has moved into the queue. An eater that takes nothing from its full
    /// queue for <see cref="DumplingHubOptions.SlowEaterTimeout"/> is cut off instead, so a stalled
    /// eater holds the kitchens back for at most that long.
    /// </summary>
    public async Task WaitForRoomAsync(Task moved, CancellationToken cancel)
    {
        while (!moved.IsCompleted)
        {
            var left = Hub.Options.SlowEaterTimeout - Stopwatch.GetElapsedTime(_queue.ProgressMark);
            if (left <= TimeSpan.Zero)
            {
                CutOffStalled(); // closes the queue, which lets the parked frame go
                return;
            }
            try
            {
                await moved.WaitAsync(left, cancel);
                return;
            }
            catch (TimeoutException) { } // look again: the eater may have made progress just now
        }
    }

    /// <summary>
    /// For a stopping hub: waits (until <paramref name="deadline"/>) for the sender to write what this
    /// eater's queue and replay still hold, so what the hub took reaches an eater that keeps reading.
    /// </summary>
    public async Task DrainAsync(DateTime deadline)
    {
        while (DateTime.UtcNow < deadline && Socket.State == WebSocketState.Open && Volatile.Read(ref _cutOff) == 0 &&
               (_queue.Count > 0 || Volatile.Read(ref _sending) == 1 || Volatile.Read(ref _replayNext) <= _replayLast))
        {
            _queue.Signal(); // frames a stopped kitchen queued but never signalled
            await Task.Delay(5);
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

    private long _lastWritten;

    /// <summary>
    /// An eater whose writes complete is reading (TCP took them); its pongs wait behind what it has
    /// still to read. One that stops reading stops taking writes, and its silence counts from then.
    /// </summary>
    protected override bool ExcusedFromKeepAlive =>
        Stopwatch.GetElapsedTime(Interlocked.Read(ref _lastWritten)) < Hub.Options.KeepAliveTimeout;

    protected override async Task RunSessionAsync(CancellationToken cancel)
    {
        Stream.BeforeSocketRead = Heard;
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
        var writes = new List<byte[]>(80);
        try
        {
            if (_notices)
            {
                Volatile.Write(ref _sending, 1);
                writes.Add(HubFrame.Notice(new HubNotice(HubNoticeKind.Hub, Sequence: _startAfter, HubId: Hub.InstanceId)));
                await ReplayAsync(batch, writes, cancel);
                if (writes.Count > 0) await WriteAsync(batch, writes, cancel);
                Volatile.Write(ref _sending, 0);
            }
            while (await _queue.WaitAsync())
            {
                batch.Clear();
                Volatile.Write(ref _sending, 1);
                var dropped = _queue.DrainTo(batch, BatchBytes);
                if (batch.Count == 0)
                {
                    Volatile.Write(ref _sending, 0);
                    continue;
                }
                if (Socket.State != WebSocketState.Open) return;
                // Under DropOldest: say how many were dropped before the dumplings that follow them.
                if (_notices && dropped > _reportedDropped)
                {
                    writes.Add(HubFrame.Notice(new HubNotice(HubNoticeKind.Dropped, Count: dropped - _reportedDropped, Total: dropped)));
                    _reportedDropped = dropped;
                }
                await WriteAsync(batch, writes, cancel);
                Volatile.Write(ref _sending, 0);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or System.Net.Sockets.SocketException) { }
    }

    /// <summary>
    /// Sends a resuming eater what the replay window holds after its resume point (live dumplings
    /// meanwhile wait in its queue, numbered after the replay), telling it how many had already left.
    /// </summary>
    private async Task ReplayAsync(List<HubFrame> batch, List<byte[]> writes, CancellationToken cancel)
    {
        var next = _replayNext;
        while (next <= _replayLast)
        {
            batch.Clear();
            Hub.Window.CopyRange(ref next, _replayLast, BatchBytes, Wants, batch, out var missed);
            if (missed > 0)
            {
                Interlocked.Add(ref _missed, missed);
                writes.Add(HubFrame.Notice(new HubNotice(HubNoticeKind.Missed, Count: missed)));
                Hub.Report(HubLogLevel.Warning, $"{this} resumed after dumpling {_startAfter}, but {missed} dumplings after it had left the replay window; it is told so.");
            }
            Interlocked.Add(ref _replayed, batch.Count);
            await WriteAsync(batch, writes, cancel);
            Volatile.Write(ref _replayNext, next);
            // Replaying is progress: the kitchens waiting on this eater's queue meanwhile must not cut it off.
            _queue.MarkProgress();
        }
        Volatile.Write(ref _replayNext, next);
        batch.Clear();
    }

    /// <summary>
    /// Writes a batch in one burst after the notices already in <paramref name="writes"/>. An eater that
    /// asked for notices is told a dumpling's number wherever it is not the one after the last
    /// (its filters skipped some, or some were dropped), so it always knows the last one it got.
    /// </summary>
    private async Task WriteAsync(List<HubFrame> batch, List<byte[]> writes, CancellationToken cancel)
    {
        foreach (var frame in batch)
        {
            if (_notices && frame.Sequence != 0)
            {
                if (frame.Sequence != _expect) writes.Add(HubFrame.Notice(new HubNotice(HubNoticeKind.Sequence, Sequence: frame.Sequence)));
                _expect = frame.Sequence + 1;
            }
            writes.Add(frame.Bytes);
        }
        if (writes.Count == 0) return;
        await Stream.WriteFramesAsync(writes, static bytes => bytes, cancel);
        Interlocked.Exchange(ref _lastWritten, Stopwatch.GetTimestamp());
        writes.Clear();
        Interlocked.Add(ref _sent, batch.Count);
        Hub.CountOut(batch.Count);
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
