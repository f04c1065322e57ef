namespace NetDumplings.Kitchen;

/// <summary>Why a kitchen could not start; the cmdlets map each cause to an error category and a fix.</summary>
public enum KitchenProblem
{
    LibpcapMissing,
    PermissionDenied,
    UnknownInterface,
    InvalidFilter,
    BadCaptureFile,
    NoValidChef,
    InvalidOptions,
    CaptureFailed,
}

/// <summary>A kitchen that cannot start: the message says what was wrong, <see cref="RecommendedAction"/> what to do.</summary>
public sealed class KitchenException : Exception
{
    public KitchenException(KitchenProblem problem, string message, string? target = null, string? recommendedAction = null, Exception? inner = null)
        : base(message, inner)
    {
        Problem = problem;
        Target = target;
        RecommendedAction = recommendedAction;
    }

    public KitchenProblem Problem { get; }

    /// <summary>What the problem is about: the interface, file, filter or chef.</summary>
    public string? Target { get; }

    public string? RecommendedAction { get; }

    internal static KitchenException LibpcapMissing(Exception inner) => new(KitchenProblem.LibpcapMissing,
        "libpcap is not installed, so packets can be neither captured nor read from capture files.",
        "libpcap", "Install libpcap: sudo apt-get install libpcap0.8 (Debian/Ubuntu), or your distribution's libpcap package.", inner);

    /// <summary>True for the ways a missing native libpcap shows itself through SharpPcap.</summary>
    internal static bool IsLibpcapMissing(Exception e) => e switch
    {
        DllNotFoundException => true,
        TypeInitializationException t when t.InnerException is not null => IsLibpcapMissing(t.InnerException),
        EntryPointNotFoundException => true,
        _ => false,
    };
}
