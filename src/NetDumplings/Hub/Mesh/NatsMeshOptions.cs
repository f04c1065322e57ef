namespace NetDumplings.Hub.Mesh;

/// <summary>How a hub joins the mesh: the NATS servers, the credentials and TLS a deployment uses, and this hub's name.</summary>
public sealed record NatsMeshOptions
{
    /// <summary>NATS server URLs, e.g. <c>nats://host:4222</c>; several (a cluster) separated by commas.</summary>
    public required string Servers { get; init; }

    /// <summary>This hub's name in the mesh (shown by the other hubs' status); the host name by default.</summary>
    public string HubName { get; init; } = Environment.MachineName;

    /// <summary>A NATS token (authorization { token: ... }).</summary>
    public string? Token { get; init; }

    /// <summary>A NATS user name; with <see cref="Password"/>.</summary>
    public string? User { get; init; }

    public string? Password { get; init; }

    /// <summary>A NATS credentials file (a JWT and its nkey seed).</summary>
    public string? CredentialsFile { get; init; }

    /// <summary>An nkey seed file.</summary>
    public string? NKeyFile { get; init; }

    /// <summary>Require TLS to NATS (also implied by a tls:// URL or any TLS file below).</summary>
    public bool RequireTls { get; init; }

    /// <summary>The CA (PEM) NATS servers' certificates are checked against; the system's by default.</summary>
    public string? TlsCaFile { get; init; }

    /// <summary>A client certificate (PEM) and its key, when the NATS server asks for one.</summary>
    public string? TlsCertFile { get; init; }

    public string? TlsKeyFile { get; init; }

    /// <summary>
    /// How long the hub keeps taking remote dumplings after its last eater left: an eater that comes back within it
    /// is replayed what it missed, remote dumplings included. A hub without eaters takes none (it would only parse
    /// and forget them); it still publishes its kitchens' dumplings.
    /// </summary>
    public TimeSpan IdleSubscription { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Dumplings waiting to be published to NATS; while NATS is there a full queue holds the kitchens, while it is away they are counted lost.</summary>
    public int PublishQueueDumplings { get; init; } = 65_536;

    /// <summary>
    /// Remote dumplings that may wait while a local eater holds the hub back (under backpressure) before the hub drops
    /// (and counts) more: NATS core keeps nothing for a subscriber that does not read, so the hub reads on and keeps them
    /// (up to <see cref="ReceiveQueueBytes"/> too). A burst from the mesh faster than the eaters read rides on this.
    /// </summary>
    public int ReceiveQueueDumplings { get; init; } = 1_048_576;

    /// <summary>The bytes of remote dumplings that may wait so (as nats-server's own default for what waits for one client).</summary>
    public long ReceiveQueueBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>How long to wait between attempts while NATS cannot be reached at start.</summary>
    public TimeSpan RetryInterval { get; init; } = TimeSpan.FromSeconds(2);

    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(Servers)) throw new ArgumentException("The mesh needs at least one NATS server URL, e.g. nats://host:4222.");
        foreach (var url in Servers.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            if (!Uri.TryCreate(url.Contains("://") ? url : "nats://" + url, UriKind.Absolute, out var uri) || uri.Scheme is not ("nats" or "tls" or "ws" or "wss"))
                throw new ArgumentException($"'{url}' is not a NATS server URL: use nats://host:4222 (or tls://host:4222).");
        if (string.IsNullOrWhiteSpace(HubName)) throw new ArgumentException("The hub's mesh name may not be empty.");
        if (User is null != Password is null) throw new ArgumentException("A NATS user needs a password, and a password a user.");
        if (IdleSubscription < TimeSpan.Zero || IdleSubscription > TimeSpan.FromDays(1))
            throw new ArgumentException($"The mesh's idle subscription time must be between 0 and 1 day, not {IdleSubscription}.");
        if (PublishQueueDumplings < 1 || ReceiveQueueDumplings < 1 || ReceiveQueueBytes < 1) throw new ArgumentException("The mesh queues need room for at least one dumpling.");
    }

    /// <summary>The servers as shown in status and logs: without any credentials a URL carries.</summary>
    internal string ServersForDisplay => string.Join(",", Servers.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(url =>
    {
        var at = url.LastIndexOf('@');
        var scheme = url.IndexOf("://", StringComparison.Ordinal);
        return at < 0 ? url : (scheme < 0 ? "" : url[..(scheme + 3)]) + url[(at + 1)..];
    }));
}
