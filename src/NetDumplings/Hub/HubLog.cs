using System.Net;

namespace NetDumplings.Hub;

public enum HubLogLevel { Verbose, Information, Warning, Error }

/// <summary>One line of the hub's log: connections, disconnections and problems, as nd-hub logs them.</summary>
public sealed class HubLogEventArgs(HubLogLevel level, string message) : EventArgs
{
    public HubLogLevel Level { get; } = level;
    public string Message { get; } = message;
    public DateTimeOffset Time { get; } = DateTimeOffset.Now;
    public override string ToString() => $"{Time:HH:mm:ss.fff} {Level}: {Message}";
}

/// <summary>The hub could not start: the message says why and what to do.</summary>
public sealed class HubStartException(string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>The endpoint that could not be used, when there is one.</summary>
    public IPEndPoint? EndPoint { get; init; }
}
