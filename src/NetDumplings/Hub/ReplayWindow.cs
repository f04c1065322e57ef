namespace NetDumplings.Hub;

/// <summary>
/// The hub's most recent numbered dumplings, bounded in count and bytes, from which an eater that
/// reconnects is sent what it missed. Frames are shared with the eaters' queues (the same bytes),
/// so the window costs at most its byte limit on top of them. Numbers are consecutive: the frame
/// numbered n sits n minus the oldest's number from the oldest.
/// </summary>
internal sealed class ReplayWindow(int maxCount, long maxBytes)
{
    private readonly object _lock = new();
    private readonly HubFrame?[] _ring = new HubFrame?[Math.Max(maxCount, 0)];
    private int _head;     // index of the oldest frame
    private int _count;
    private long _bytes;
    private long _first = 1; // number of the oldest frame (or of the next one, when empty)

    public int Count { get { lock (_lock) return _count; } }
    public long Bytes { get { lock (_lock) return _bytes; } }

    /// <summary>Adds the next numbered frame, forgetting the oldest ones beyond the limits.</summary>
    public void Add(HubFrame frame)
    {
        lock (_lock)
        {
            if (_ring.Length == 0 || frame.Bytes.Length > maxBytes)
            {
                // Kept nowhere: everything older goes too, so the numbers stay consecutive.
                Clear();
                _first = frame.Sequence + 1;
                return;
            }
            while (_count == _ring.Length || (_count > 0 && _bytes + frame.Bytes.Length > maxBytes)) RemoveOldest();
            _ring[(_head + _count) % _ring.Length] = frame;
            _count++;
            _bytes += frame.Bytes.Length;
            if (_count == 1) _first = frame.Sequence;
        }
    }

    private void RemoveOldest()
    {
        _bytes -= _ring[_head]!.Bytes.Length;
        _ring[_head] = null;
        _head = (_head + 1) % _ring.Length;
        _count--;
        _first++;
    }

    private void Clear()
    {
        while (_count > 0) RemoveOldest();
    }

    /// <summary>
    /// Copies frames numbered <paramref name="next"/> to <paramref name="last"/> that
    /// <paramref name="wants"/> into <paramref name="into"/>, up to about <paramref name="maxBytes"/>,
    /// and moves <paramref name="next"/> past what it looked at. <paramref name="missed"/> counts the
    /// numbers in the range that had already left the window.
    /// </summary>
    public void CopyRange(ref long next, long last, int maxBytes, Func<HubFrame, bool> wants, List<HubFrame> into, out long missed)
    {
        missed = 0;
        lock (_lock)
        {
            if (next < _first)
            {
                var gone = Math.Min(_first, last + 1) - next;
                missed = gone;
                next += gone;
            }
            var taken = 0L;
            while (next <= last && next < _first + _count && (into.Count == 0 || taken < maxBytes))
            {
                var frame = _ring[(_head + (int)(next - _first)) % _ring.Length]!;
                next++;
                if (!wants(frame)) continue;
                into.Add(frame);
                taken += frame.Bytes.Length;
            }
            // Numbers past what the window holds (cannot happen while the hub numbers under its lock) are skipped.
            if (next <= last && next >= _first + _count) next = last + 1;
        }
    }
}
