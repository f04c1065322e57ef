using System.Diagnostics;

namespace NetDumplings.Hub;

/// <summary>What became of a frame offered to an eater's queue.</summary>
internal enum Offered { Queued, Full, Parked }

/// <summary>
/// One eater's bounded queue of frames, limited in count and bytes. Enqueueing never blocks: when the
/// queue is full the caller drops the oldest frames (counted), is told so (to disconnect the eater),
/// or parks the frame behind the queue (backpressure): a parked frame moves in, in the order it was
/// offered, as the sender makes room, and its kitchen waits for that (<see cref="Offered.Parked"/>). At most
/// one frame per waiting kitchen is parked, so memory stays bounded. Only this eater's sender and the
/// kitchens offering it frames take its lock, never for I/O, so eaters never wait on each other.
/// </summary>
internal sealed class EaterQueue(int maxCount, long maxBytes)
{
    private readonly object _lock = new();
    private readonly Queue<HubFrame> _frames = new();
    private readonly Queue<(HubFrame Frame, TaskCompletionSource Moved)> _parked = new();
    private long _bytes;
    private long _dropped;
    private TaskCompletionSource<bool>? _waiter;
    private long _progressMark = Stopwatch.GetTimestamp();
    private bool _closed;

    public int Count { get { lock (_lock) return _frames.Count; } }
    public long Bytes { get { lock (_lock) return _bytes; } }
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>
    /// When this eater last showed progress: its sender took frames, or frames started waiting in an
    /// empty queue. A full queue whose mark is old belongs to an eater that stopped reading.
    /// </summary>
    public long ProgressMark => Interlocked.Read(ref _progressMark);

    /// <summary>Says the eater is making progress without taking from the queue (it is being sent its replay).</summary>
    public void MarkProgress() => Interlocked.Exchange(ref _progressMark, Stopwatch.GetTimestamp());

    /// <summary>
    /// Adds a frame without waking the sender (see <see cref="Signal"/>). When the queue is full:
    /// <paramref name="dropOldest"/> drops its oldest frames to make room, <paramref name="park"/> parks
    /// the frame (<paramref name="moved"/> completes when it is in, or the queue closed); otherwise the
    /// answer is <see cref="Offered.Full"/>. A closed queue takes (and forgets) everything.
    /// </summary>
    public Offered TryEnqueue(HubFrame frame, bool dropOldest, bool park, out Task moved)
    {
        moved = Task.CompletedTask;
        lock (_lock)
        {
            if (_closed) return Offered.Queued;
            // Behind frames already parked, whatever room there is: an eater gets frames in the order offered.
            if (park && _parked.Count > 0)
                return Park(frame, out moved);
            while (IsFull(frame))
            {
                if (park) return Park(frame, out moved);
                if (!dropOldest) return Offered.Full;
                _bytes -= _frames.Dequeue().Bytes.Length;
                _dropped++;
            }
            Add(frame);
        }
        return Offered.Queued;
    }

    private Offered Park(HubFrame frame, out Task moved)
    {
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _parked.Enqueue((frame, tcs));
        moved = tcs.Task;
        return Offered.Parked;
    }

    /// <summary>Adds a frame past the limits: for the hub's own status dumplings, which must never wait.</summary>
    public void ForceEnqueue(HubFrame frame)
    {
        lock (_lock)
        {
            if (!_closed) Add(frame);
        }
    }

    private bool IsFull(HubFrame frame) =>
        _frames.Count > 0 && (_frames.Count >= maxCount || _bytes + frame.Bytes.Length > maxBytes);

    private void Add(HubFrame frame)
    {
        if (_frames.Count == 0) Interlocked.Exchange(ref _progressMark, Stopwatch.GetTimestamp());
        _frames.Enqueue(frame);
        _bytes += frame.Bytes.Length;
    }

    /// <summary>
    /// Wakes the sender if frames wait. The hub signals once a kitchen's buffered input is used up,
    /// not per frame, so a burst of dumplings goes out in one write instead of one write each.
    /// </summary>
    public void Signal()
    {
        TaskCompletionSource<bool>? wake;
        lock (_lock)
        {
            if (_frames.Count == 0) return;
            wake = _waiter;
            _waiter = null;
        }
        wake?.TrySetResult(true);
    }

    /// <summary>Waits until there is something to send; false once the queue is closed.</summary>
    public Task<bool> WaitAsync()
    {
        lock (_lock)
        {
            if (_closed) return Task.FromResult(false);
            if (_frames.Count > 0) return Task.FromResult(true);
            _waiter = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            return _waiter.Task;
        }
    }

    /// <summary>
    /// Moves frames (up to about <paramref name="maxBytes"/>) into <paramref name="batch"/>, making room,
    /// and lets parked frames in. Returns how many frames were dropped so far (for the eater's notice),
    /// read under the same lock, so every drop it counts was of a frame older than this batch.
    /// </summary>
    public long DrainTo(List<HubFrame> batch, int maxBytes)
    {
        List<TaskCompletionSource>? moved = null;
        long dropped;
        lock (_lock)
        {
            var taken = 0L;
            while (_frames.Count > 0 && (batch.Count == 0 || taken + _frames.Peek().Bytes.Length <= maxBytes))
            {
                var frame = _frames.Dequeue();
                _bytes -= frame.Bytes.Length;
                taken += frame.Bytes.Length;
                batch.Add(frame);
            }
            dropped = _dropped;
            if (batch.Count == 0) return dropped;
            Interlocked.Exchange(ref _progressMark, Stopwatch.GetTimestamp());
            while (_parked.Count > 0 && !IsFull(_parked.Peek().Frame))
            {
                var (frame, done) = _parked.Dequeue();
                Add(frame);
                (moved ??= []).Add(done);
            }
        }
        if (moved is not null)
            foreach (var done in moved) done.TrySetResult();
        return dropped;
    }

    /// <summary>Closes the queue: what it still holds is dropped (and counted), and everyone waiting on it wakes.</summary>
    public void Close()
    {
        TaskCompletionSource<bool>? wake;
        List<TaskCompletionSource> parked;
        lock (_lock)
        {
            if (!_closed) _dropped += _frames.Count + _parked.Count;
            _closed = true;
            _frames.Clear();
            _bytes = 0;
            parked = [.. _parked.Select(p => p.Moved)];
            _parked.Clear();
            wake = _waiter;
            _waiter = null;
        }
        wake?.TrySetResult(false);
        foreach (var done in parked) done.TrySetResult();
    }
}
