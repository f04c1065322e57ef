namespace NetDumplings.Protocol;

/// <summary>
/// Reconnect delays for kitchens and eaters that lose their hub: exponential from
/// <see cref="Initial"/> up to <see cref="Maximum"/>, with jitter so many peers do not return at once.
/// </summary>
public sealed record Backoff(TimeSpan Initial, TimeSpan Maximum, double Factor = 2.0, double Jitter = 0.2)
{
    public static Backoff Default { get; } = new(TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(10));

    /// <summary>The delay before reconnect attempt <paramref name="attempt"/> (0 = the first).</summary>
    public TimeSpan Delay(int attempt)
    {
        var ms = Initial.TotalMilliseconds * Math.Pow(Factor, Math.Min(attempt, 30));
        ms = Math.Min(ms, Maximum.TotalMilliseconds);
        ms *= 1 + (Random.Shared.NextDouble() * 2 - 1) * Jitter;
        return TimeSpan.FromMilliseconds(Math.Max(0, ms));
    }
}
