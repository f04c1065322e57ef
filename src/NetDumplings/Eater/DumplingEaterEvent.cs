namespace NetDumplings.Eater;

/// <summary>What happened to an eater, beside the dumplings it yields.</summary>
public enum DumplingEaterEventKind
{
    /// <summary>Connected (or reconnected) and announced.</summary>
    Connected,
    /// <summary>The hub closed the connection or it broke; <see cref="DumplingEaterEventArgs.Exception"/> may say why.</summary>
    Disconnected,
    /// <summary>About to wait <see cref="DumplingEaterEventArgs.Delay"/> and try again (attempt <see cref="DumplingEaterEventArgs.Attempt"/>).</summary>
    Reconnecting,
    /// <summary>A reconnect attempt failed.</summary>
    ReconnectFailed,
    /// <summary>The hub sent a message that is not a dumpling; it was skipped.</summary>
    MalformedMessage,
}

public sealed class DumplingEaterEventArgs(DumplingEaterEventKind kind, string message) : EventArgs
{
    public DumplingEaterEventKind Kind { get; } = kind;

    /// <summary>A sentence for a person.</summary>
    public string Message { get; } = message;

    public Exception? Exception { get; init; }

    /// <summary>The offending message's text (for <see cref="DumplingEaterEventKind.MalformedMessage"/>), cut to a readable length.</summary>
    public string? RawMessage { get; init; }

    public int Attempt { get; init; }

    public TimeSpan Delay { get; init; }

    public override string ToString() => Message;
}

/// <summary>The hub could not be reached (the first connection, or every reconnect attempt allowed).</summary>
public sealed class DumplingHubUnreachableException(string address, string message, Exception? inner = null)
    : IOException(message, inner)
{
    public string Address { get; } = address;
}

/// <summary>The hub went away and the eater was told not to reconnect.</summary>
public sealed class DumplingHubConnectionLostException(string address, string message, Exception? inner = null)
    : IOException(message, inner)
{
    public string Address { get; } = address;
}
