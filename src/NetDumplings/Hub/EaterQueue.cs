using System.Diagnostics;

namespace NetDumplings.Hub;

/// <summary>
/// One eater's bounded queue of frames, limited in count and bytes. Enqueueing never blocks: when the
/// queue is full the caller drops the oldest frames (counted), is told so (to disconnect the eater,
/// or to wait for room with <see cref="WaitForRoomAsync"/>: backpressure). Only this eater's sender and
/// the kitchens offering it frames take its lock, never for I/O, so eaters never wait on each other.
/// </summary>
internal sealed class EaterQueue(int maxCount, long maxBytes)
{
    private readonly object _lock = new();
    private readonly Queue<HubFrame> _frames = new();
    private long _bytes;
    private long _dropped;
    private TaskCompletionSource<bool>? _waiter;
    private TaskCompletionSource? _room;
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

    /// <summary>
    /// Adds a frame without waking the sender (see <see cref="Signal"/>); false when the queue is full
    /// and <paramref name="dropOldest"/> is off. A closed queue takes (and forgets) everything.
    /// </summary>
    public bool TryEnqueue(HubFrame frame, bool dropOldest)
    {
        lock (_lock)
        {
            if (_closed) return true;
            while (IsFull(frame))
            {
                if (!dropOldest) return false;
                _bytes -= _frames.Dequeue().Bytes.Length;
                _dropped++;
            }
            Add(frame);
        }
        return true;
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
    /// Completes when <paramref name="frame"/> may fit: the sender took frames, or the queue closed.
    /// Checked under the lock that the sender drains under, so a drain cannot slip between a failed
    /// <see cref="TryEnqueue"/> and this wait unnoticed.
    /// </summary>
    public Task WaitForRoomAsync(HubFrame frame)
    {
        lock (_lock)
        {
            if (_closed || !IsFull(frame)) return Task.CompletedTask;
            return (_room ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
        }
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

    /// <summary>Moves frames (up to about <paramref name="maxBytes"/>) into <paramref name="batch"/>, making room.</summary>
    public void DrainTo(List<HubFrame> batch, int maxBytes)
    {
        TaskCompletionSource? room;
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
            if (batch.Count == 0) return;
            Interlocked.Exchange(ref _progressMark, Stopwatch.GetTimestamp());
            room = _room;
            _room = null;
        }
        room?.TrySetResult();
    }

    /// <summary>Closes the queue: what it still holds is dropped (and counted), and everyone waiting on it wakes.</summary>
    public void Close()
    {
        TaskCompletionSource<bool>? wake;
        TaskCompletionSource? room;
        lock (_lock)
        {
            if (!_closed) _dropped += _frames.Count;
            _closed = true;
            _frames.Clear();
            _bytes = 0;
            wake = _waiter;
            _waiter = null;
            room = _room;
            _room = null;
        }
        wake?.TrySetResult(false);
        room?.TrySetResult();
    }
}
