using NetDumplings.Client;

namespace NetDumplings.PowerShell.Cmdlets;

/// <summary>
/// The one way cmdlets eat: the eater's enumerator driven from the pipeline thread, with an idle
/// timeout that counts only dumplings (reconnect reports do not reset it) and the cmdlet's
/// cancellation token, so -Timeout and Ctrl+C hold while the eater reconnects.
/// </summary>
internal sealed class EaterPump : IAsyncDisposable
{
    private readonly IAsyncEnumerator<Dumpling> _enumerator;
    private readonly CancellationTokenSource _stop;

    public EaterPump(DumplingEater eater, CancellationToken cancellationToken)
    {
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _enumerator = eater.EatAsync(_stop.Token).GetAsyncEnumerator(_stop.Token);
    }

    public Dumpling Current => _enumerator.Current;

    /// <summary>
    /// The next dumpling: true when there is one; false when the eater ended (count reached) or none
    /// came within <paramref name="idle"/> (then <see cref="TimedOut"/> is set). Throws the eater's
    /// failure; <see cref="OperationCanceledException"/> when the cmdlet was stopped.
    /// </summary>
    public bool MoveNext(TimeSpan idle, Action whileWaiting)
    {
        var next = _enumerator.MoveNextAsync();
        if (next.IsCompletedSuccessfully) return next.Result;
        var task = _pending = next.AsTask();
        var deadline = idle == Timeout.InfiniteTimeSpan ? DateTime.MaxValue : DateTime.UtcNow + idle;
        while (!task.IsCompleted)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                TimedOut = true;
                return false;
            }
            // Wake at least every 100 ms to write what the eater reported meanwhile.
            try { task.Wait(left < TimeSpan.FromMilliseconds(100) ? left : TimeSpan.FromMilliseconds(100)); }
            catch (AggregateException) { break; }
            whileWaiting();
        }
        return task.GetAwaiter().GetResult();
    }

    public bool TimedOut { get; private set; }

    private Task<bool>? _pending;

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        // An enumerator cannot be disposed while a MoveNext runs: let the cancelled one finish (it closes with 4101).
        if (_pending is { IsCompleted: false } pending)
            try { await pending.ConfigureAwait(false); }
            catch (Exception) { }
        try { await _enumerator.DisposeAsync().ConfigureAwait(false); }
        catch (Exception e) when (e is OperationCanceledException or NotSupportedException or InvalidOperationException) { }
        _stop.Dispose();
    }
}
