using System.Security.Cryptography.X509Certificates;
using NetDumplings.Protocol;
namespace NetDumplings.Hub;

/// <summary>What a hub does when an eater's queue is full.</summary>
public enum EaterOverflowPolicy
{
    /// <summary>Drop the eater's oldest queued dumplings to make room, and count them.</summary>
    DropOldest,

    /// <summary>Close the eater (1008, with a reason saying its queue was full); others go on.</summary>
    Disconnect,

    /// <summary>
    /// The default, lossless for eaters that read: stop reading the kitchens (TCP pushes back) until
    /// the eater makes room; an eater that takes nothing for <see cref="DumplingHubOptions.SlowEaterTimeout"/>
    /// is closed (1008) and counted, so it holds the others back for at most that long.
    /// </summary>
    Backpressure,
}

/// <summary>A hub's address, ports and limits. The defaults are the original's, plus bounds it lacked.</summary>
public sealed record DumplingHubOptions
{
    /// <summary>Where to listen: <c>localhost</c> (loopback only, the default), an IP address, a host name, or <c>*</c> for all.</summary>
    public string Address { get; init; } = HubAddress.DefaultHost;

    /// <summary>The kitchens' port; 0 picks a free one (read it from <see cref="DumplingHub.InEndPoint"/>).</summary>
    public int InPort { get; init; } = HubAddress.DefaultInPort;

    /// <summary>The eaters' port; 0 picks a free one (read it from <see cref="DumplingHub.OutEndPoint"/>).</summary>
    public int OutPort { get; init; } = HubAddress.DefaultOutPort;

    /// <summary>Join a mesh of hubs through NATS: share local kitchens' dumplings with the other hubs and deliver theirs to local eaters. Null: this hub stands alone.</summary>
    public Mesh.NatsMeshOptions? Mesh { get; init; }

    /// <summary>How often eaters get a SystemStatusChef dumpling; zero or less turns them off.</summary>
    public TimeSpan StatusInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Largest message accepted from a peer; a bigger one closes its sender with 1009.</summary>
    public int MaxMessageBytes { get; init; } = 1024 * 1024;

    /// <summary>Dumplings an eater may have waiting before the overflow policy applies.</summary>
    public int EaterQueueDumplings { get; init; } = 10_000;

    /// <summary>Bytes an eater may have waiting before the overflow policy applies.</summary>
    public long EaterQueueBytes { get; init; } = 16L * 1024 * 1024;

    /// <summary>What to do when an eater's queue is full.</summary>
    public EaterOverflowPolicy OverflowPolicy { get; init; } = EaterOverflowPolicy.Backpressure;

    /// <summary>
    /// With <see cref="EaterOverflowPolicy.Backpressure"/>: how long an eater may take nothing from its
    /// full queue (holding the kitchens back) before it is cut off with 1008, as nats-server's write
    /// deadline. Keep it below the kitchens' own keepalive timeout (20 s in ours and the original's): a
    /// held kitchen's pings are not read, so not answered, meanwhile.
    /// </summary>
    public TimeSpan SlowEaterTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Dumplings the hub keeps after sending them, so that an eater of ours that reconnects (a network
    /// blip, a hub restart) is sent what it missed; 0 keeps none. Costs at most
    /// <see cref="ReplayWindowBytes"/> beyond the eaters' queues (the same bytes are shared).
    /// </summary>
    public int ReplayWindowDumplings { get; init; } = 10_000;

    /// <summary>Bytes of dumplings the replay window keeps at most.</summary>
    public long ReplayWindowBytes { get; init; } = 16L * 1024 * 1024;

    /// <summary>
    /// How long a stopping hub waits for its eaters to be sent what it already took (and acknowledged to
    /// kitchens) before it closes them with 1001; an eater that does not read is not waited for longer.
    /// </summary>
    public TimeSpan StopDrainTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Keepalive pings go out this often, in both directions' interest (the original: 20 s).</summary>
    public TimeSpan KeepAliveInterval { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>A peer that does not answer a ping within this long is closed (the original: 20 s).</summary>
    public TimeSpan KeepAliveTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Time a new connection has to finish the WebSocket handshake and send its announcement.</summary>
    public TimeSpan AnnounceTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Connections (kitchens and eaters together, including ones still handshaking) the hub keeps at once; more are refused with 503.</summary>
    public int MaxConnections { get; init; } = 512;

    /// <summary>
    /// Names or wildcards an eater may list in each of its announcement's <c>chefs</c> and <c>kitchens</c>
    /// (the filter extension); more are refused with 1008. Bounds what matching costs per dumpling.
    /// </summary>
    public int MaxEaterPatterns { get; init; } = 64;

    /// <summary>Characters each of an eater's chef or kitchen names or wildcards may have; a longer one is refused with 1008.</summary>
    public int MaxEaterPatternLength { get; init; } = 128;

    /// <summary>
    /// Bytes an announcement may have; a larger one is refused with 1008. The hub keeps each peer's
    /// announcement while it is connected (real ones are a few hundred bytes), so this bounds that memory.
    /// </summary>
    public int MaxAnnouncementBytes { get; init; } = 64 * 1024;

    // ---- Who may connect: TLS, tokens per role, browser origins, connection limits (PROTOCOL.md, "Authentication") ----

    /// <summary>Serve both ports over TLS (wss://) with this certificate, which must hold its private key; null = plain ws://.</summary>
    public X509Certificate2? Certificate { get; init; }

    /// <summary>Intermediate certificates sent along with <see cref="Certificate"/>.</summary>
    public X509Certificate2Collection? CertificateChain { get; init; }

    /// <summary>With <see cref="Certificate"/>: require every peer to present a certificate that chains to one of these (mutual TLS).</summary>
    public X509Certificate2Collection? ClientCertificateAuthority { get; init; }

    /// <summary>The token kitchens must present on the in-port (Authorization: Bearer, or ?token= in the path); null = none required.</summary>
    public AccessToken? KitchenToken { get; init; }

    /// <summary>The token eaters must present on the out-port; null = none required.</summary>
    public AccessToken? EaterToken { get; init; }

    /// <summary>
    /// Browser origins (<c>https://host:port</c>, or <c>null</c> for a page opened from a file, or <c>*</c>
    /// for any) whose pages may connect. A request with an Origin header from anywhere else gets 403;
    /// the hub's own origin is always allowed; a request without Origin (not a browser) is judged by its token.
    /// </summary>
    public IReadOnlyList<string> AllowedOrigins { get; init; } = [];

    /// <summary>Kitchens (including ones still handshaking) the in-port keeps at once; more get 503. Eaters cannot use these places up.</summary>
    public int MaxKitchenConnections { get; init; } = 256;

    /// <summary>Eaters (including ones still handshaking) the out-port keeps at once; more get 503.</summary>
    public int MaxEaterConnections { get; init; } = 256;

    /// <summary>Connections one IP address may have open on both ports together; more get 503, so one host cannot lock out the others.</summary>
    public int MaxConnectionsPerAddress { get; init; } = 64;

    internal void Validate()
    {
        if (InPort is < 0 or > 65535) throw new ArgumentOutOfRangeException(nameof(InPort), InPort, $"The in-port must be 0 to 65535; {InPort} is not a port.");
        if (OutPort is < 0 or > 65535) throw new ArgumentOutOfRangeException(nameof(OutPort), OutPort, $"The out-port must be 0 to 65535; {OutPort} is not a port.");
        if (InPort != 0 && InPort == OutPort) throw new ArgumentException($"The in-port and out-port must differ; both are {InPort}.");
        if (MaxMessageBytes < 1024) throw new ArgumentOutOfRangeException(nameof(MaxMessageBytes), MaxMessageBytes, "The message limit must be at least 1024 bytes.");
        Mesh?.Validate();
        if (EaterQueueDumplings < 1) throw new ArgumentOutOfRangeException(nameof(EaterQueueDumplings), EaterQueueDumplings, "An eater's queue must hold at least one dumpling.");
        if (EaterQueueBytes < MaxMessageBytes) throw new ArgumentOutOfRangeException(nameof(EaterQueueBytes), EaterQueueBytes, $"An eater's queue must hold at least one largest message ({MaxMessageBytes} bytes).");
        if (SlowEaterTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(SlowEaterTimeout), SlowEaterTimeout, "The slow eater timeout must be more than zero.");
        if (MaxEaterPatterns < 1) throw new ArgumentOutOfRangeException(nameof(MaxEaterPatterns), MaxEaterPatterns, "An eater must be allowed at least one name or wildcard.");
        if (MaxEaterPatternLength < 1) throw new ArgumentOutOfRangeException(nameof(MaxEaterPatternLength), MaxEaterPatternLength, "An eater's names or wildcards must be allowed at least one character.");
        if (ReplayWindowDumplings < 0) throw new ArgumentOutOfRangeException(nameof(ReplayWindowDumplings), ReplayWindowDumplings, "The replay window cannot hold fewer than 0 dumplings.");
        if (ReplayWindowBytes < 0) throw new ArgumentOutOfRangeException(nameof(ReplayWindowBytes), ReplayWindowBytes, "The replay window cannot hold fewer than 0 bytes.");
        if (StopDrainTimeout < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(StopDrainTimeout), StopDrainTimeout, "The stop drain timeout cannot be negative.");
        if (MaxConnections < 1) throw new ArgumentOutOfRangeException(nameof(MaxConnections), MaxConnections, "The hub must allow at least one connection.");
        if (MaxKitchenConnections < 1) throw new ArgumentOutOfRangeException(nameof(MaxKitchenConnections), MaxKitchenConnections, "The in-port must allow at least one connection.");
        if (MaxEaterConnections < 1) throw new ArgumentOutOfRangeException(nameof(MaxEaterConnections), MaxEaterConnections, "The out-port must allow at least one connection.");
        if (MaxConnectionsPerAddress < 1) throw new ArgumentOutOfRangeException(nameof(MaxConnectionsPerAddress), MaxConnectionsPerAddress, "An address must be allowed at least one connection.");
        if (Certificate is { HasPrivateKey: false }) throw new ArgumentException("The hub's certificate has no private key: give the key file too.", nameof(Certificate));
        if (ClientCertificateAuthority is not null && Certificate is null)
            throw new ArgumentException("Client certificates (mutual TLS) need TLS: give the hub a certificate too.", nameof(ClientCertificateAuthority));
    }
}
