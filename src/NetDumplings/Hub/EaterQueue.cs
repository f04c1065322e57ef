namespace NetDumplings.Hub;

/// <summary>
/// One eater's bounded queue of frames, limited in count and bytes. Enqueueing never blocks: a slow
/// eater never slows a kitchen or another eater. When full, the oldest frames are dropped (and
/// counted), or the caller is told so it can disconnect the eater.
/// </summary>
internal sealed class EaterQueue(int maxCount, long maxBytes)
{
    private readonly object _lock = new();
    private readonly Queue<HubFrame> _frames = new();
    private long _bytes;
    private long _dropped;
    private TaskCompletionSource<bool>? _waiter;
    private bool _closed;

    public int Count { get { lock (_lock) return _frames.Count; } }
    public long Bytes { get { lock (_lock) return _bytes; } }
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>
    /// Adds a frame without waking the sender (see <see cref="Signal"/>); false when the queue is full
    /// and <paramref name="dropOldest"/> is off.
    /// </summary>
    public bool TryEnqueue(HubFrame frame, bool dropOldest)
    {
        lock (_lock)
        {
            if (_closed) return true;
            while (_frames.Count > 0 && (_frames.Count >= maxCount || _bytes + frame.Bytes.Length > maxBytes))
            {
                if (!dropOldest) return false;
                _bytes -= _frames.Dequeue().Bytes.Length;
                _dropped++;
            }
            _frames.Enqueue(frame);
            _bytes += frame.Bytes.Length;
        }
        return true;
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

    /// <summary>Moves frames (up to about <paramref name="maxBytes"/>) into <paramref name="batch"/>.</summary>
    public void DrainTo(List<HubFrame> batch, int maxBytes)
    {
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
        }
    }

    public void Close()
    {
        TaskCompletionSource<bool>? wake;
        lock (_lock)
        {
            _closed = true;
            _frames.Clear();
            _bytes = 0;
            wake = _waiter;
            _waiter = null;
        }
        wake?.TrySetResult(false);
    }
}
