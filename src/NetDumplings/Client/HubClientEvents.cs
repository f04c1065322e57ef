using NetDumplings.WebSockets;

namespace NetDumplings.Client;

/// <summary>What happened to a hub client, beside the dumplings it sends or eats.</summary>
public enum HubClientEventKind
{
    /// <summary>Connected (or reconnected) and announced.</summary>
    Connected,
    /// <summary>The hub closed the connection or it broke; <see cref="HubClientEventArgs.Exception"/> may say why.</summary>
    Disconnected,
    /// <summary>About to wait <see cref="HubClientEventArgs.Delay"/> and try again (attempt <see cref="HubClientEventArgs.Attempt"/>).</summary>
    Reconnecting,
    /// <summary>A connection attempt failed.</summary>
    ReconnectFailed,
    /// <summary>The hub sent a message that is not a dumpling; it was skipped.</summary>
    MalformedMessage,
    /// <summary>Dumplings were not delivered and are counted (outbox full, too large, given up on); <see cref="HubClientEventArgs.Count"/> says how many.</summary>
    DumplingsLost,
}

public sealed class HubClientEventArgs(HubClientEventKind kind, string message) : EventArgs
{
    public HubClientEventKind Kind { get; } = kind;

    /// <summary>A sentence for a person.</summary>
    public string Message { get; } = message;

    public Exception? Exception { get; init; }

    /// <summary>The offending message's text (for <see cref="HubClientEventKind.MalformedMessage"/>), cut to a readable length.</summary>
    public string? RawMessage { get; init; }

    public int Attempt { get; init; }

    public TimeSpan Delay { get; init; }

    /// <summary>How many dumplings an event is about (for <see cref="HubClientEventKind.DumplingsLost"/>).</summary>
    public long Count { get; init; }

    public override string ToString() => Message;
}

/// <summary>The hub could not be reached (the first connection, or every reconnect allowed).</summary>
public sealed class DumplingHubUnreachableException(string address, string message, Exception? inner = null)
    : IOException(message, inner)
{
    public string Address { get; } = address;
}

/// <summary>The hub went away and the client was told not to reconnect.</summary>
public sealed class DumplingHubConnectionLostException(string address, string message, Exception? inner = null)
    : IOException(message, inner)
{
    public string Address { get; } = address;
}

/// <summary>
/// The hub refused this client for good (a wrong port for its role, or a missing or wrong token):
/// retrying cannot help, so the client stops at once and says what to change.
/// </summary>
public class DumplingHubRefusedException(string address, string message, string? hubReason = null, Exception? inner = null)
    : IOException(message, inner)
{
    public string Address { get; } = address;

    /// <summary>The hub's own words (its close reason or HTTP answer).</summary>
    public string? HubReason { get; } = hubReason;
}

/// <summary>
/// The hub's TLS certificate failed this client's check (untrusted, expired, for another name):
/// final, as a refusal is, since retrying cannot change the certificate.
/// </summary>
public sealed class DumplingHubCertificateException(string address, CertificateProblem problem, string reason, Exception? inner = null)
    : DumplingHubRefusedException(address, $"The certificate of the hub at {address} was not accepted: {reason}.", reason, inner)
{
    /// <summary>What is wrong with the certificate.</summary>
    public CertificateProblem Problem { get; } = problem;
}

/// <summary>A dumpling larger than the hub accepts: refused here, before it costs the connection.</summary>
public sealed class DumplingTooLargeException : InvalidOperationException
{
    public DumplingTooLargeException(int bytes, int limit)
        : base($"The dumpling is {bytes:N0} bytes; the hub accepts at most {limit:N0} (a larger one would close the connection with 1009). It was not sent.")
    {
        Bytes = bytes;
        Limit = limit;
    }

    /// <summary>Refused while it was being made (its size is past the limit, not known whole).</summary>
    public DumplingTooLargeException(string message) : base(message) { }

    public int Bytes { get; }
    public int Limit { get; }
}
