namespace NetDumplings.Hub.Mesh;

/// <summary>
/// At most one log line a second for one kind of trouble, the next one saying how many were not logged: the mesh
/// hears from anyone with its NATS credentials, and junk or a failing connection must not flood the hub's log.
/// </summary>
internal sealed class SparseLog
{
    private long _lastAt;
    private long _unlogged;

    /// <summary>True when this one may be logged; then <paramref name="unlogged"/> is how many were not since the last.</summary>
    public bool TryLog(out long unlogged)
    {
        unlogged = 0;
        var now = Environment.TickCount64;
        var last = Volatile.Read(ref _lastAt);
        if ((last != 0 && now - last < 1000) || Interlocked.CompareExchange(ref _lastAt, now, last) != last)
        {
            Interlocked.Increment(ref _unlogged);
            return false;
        }
        unlogged = Interlocked.Exchange(ref _unlogged, 0);
        return true;
    }

    public static string More(long unlogged, string what) => unlogged > 0 ? $" {unlogged} more {what} since the last such line." : "";
}
