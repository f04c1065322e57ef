using System.Security.Cryptography.X509Certificates;
using NetDumplings.Protocol;

namespace NetDumplings.Client;

/// <summary>
/// How any hub client (kitchen, Send-Dumpling, eater, Get-DumplingHubStatus) connects, keeps its
/// connection alive and comes back when the hub goes away: every timeout and the backoff in one place.
/// </summary>
public record HubClientOptions
{
    /// <summary>The hub's port for this client's role (in-port for kitchens and senders, out-port for eaters).</summary>
    public HubAddress Hub { get; init; } = new(HubAddress.DefaultHost, HubAddress.DefaultInPort);

    /// <summary>How long one connection attempt (TCP, WebSocket handshake, announcement) may take.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long to wait for the hub to answer our close frame before dropping the connection.</summary>
    public TimeSpan CloseTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Keepalive pings go out this often (the original: 20 s).</summary>
    public TimeSpan KeepAliveInterval { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>A hub that answers no ping within this long counts as gone (the original: 20 s).</summary>
    public TimeSpan KeepAliveTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Reconnect when a hub we were connected to goes away.</summary>
    public bool Reconnect { get; init; } = true;

    /// <summary>Keep trying when the very first connection fails (kitchens wait for their hub); otherwise that is an error at once.</summary>
    public bool WaitForHub { get; init; }

    /// <summary>Delays between reconnect attempts.</summary>
    public Backoff ReconnectBackoff { get; init; } = Backoff.Default;

    /// <summary>Give up after this many failed reconnect attempts in a row; null = keep trying.</summary>
    public int? MaxReconnectAttempts { get; init; }

    /// <summary>A message from the hub larger than this is skipped and reported (the original hub's own limit is 1 MiB).</summary>
    public int MaxMessageBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>The token, TLS trust and client certificate this client connects with.</summary>
    public HubClientSecurity Security { get; init; } = HubClientSecurity.None;
}

/// <summary>
/// How a client proves itself to a hub and checks the hub (PROTOCOL.md, "Authentication"): one
/// record, which every client (kitchen, Send-Dumpling, eaters, Get-DumplingHubStatus) takes.
/// </summary>
public sealed record HubClientSecurity
{
    public static readonly HubClientSecurity None = new();

    /// <summary>The token presented as <c>Authorization: Bearer</c> (a <c>?token=</c> in the hub address's path is sent as well, as typed).</summary>
    public AccessToken? Token { get; init; }

    /// <summary>Over wss://: trust hub certificates that chain to these authorities; null = the system's trusted authorities.</summary>
    public X509Certificate2Collection? CertificateAuthority { get; init; }

    /// <summary>Over wss://: accept any certificate. For tests only: anyone on the path can then read and change the traffic.</summary>
    public bool SkipCertificateCheck { get; init; }

    /// <summary>Over wss://: the certificate (with its private key) this client presents to a hub that requires one (mutual TLS).</summary>
    public X509Certificate2? ClientCertificate { get; init; }
}
