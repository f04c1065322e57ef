using NetDumplings.Protocol;
using NetDumplings.Hub;

namespace NetDumplings.Eater;

/// <summary>What a <see cref="DumplingEater"/> connects to, what it wants, and how it copes with a lost hub.</summary>
public sealed record DumplingEaterOptions
{
    /// <summary>The hub's out-port (eaters' side).</summary>
    public HubAddress Hub { get; init; } = new(HubAddress.DefaultHost, HubAddress.DefaultOutPort);

    /// <summary>The <c>eater_name</c> the hub shows in its status dumplings.</summary>
    public string EaterName { get; init; } = "netdumplings_eater";

    /// <summary>Chef names (wildcards allowed); empty = every chef.</summary>
    public IReadOnlyList<string> Chefs { get; init; } = [];

    /// <summary>Kitchen names (wildcards allowed); empty = every kitchen, including the hub's own (null) one.</summary>
    public IReadOnlyList<string> Kitchens { get; init; } = [];

    /// <summary>Only dumplings of this driver; null = both.</summary>
    public DumplingDriver? Driver { get; init; }

    /// <summary>Stop after this many matching dumplings, closing with 4102; null = never.</summary>
    public long? Count { get; init; }

    /// <summary>Reconnect when a hub we were connected to goes away.</summary>
    public bool Reconnect { get; init; } = true;

    /// <summary>Delays between reconnect attempts.</summary>
    public Backoff ReconnectBackoff { get; init; } = Backoff.Default;

    /// <summary>Give up after this many failed reconnect attempts in a row; null = keep trying.</summary>
    public int? MaxReconnectAttempts { get; init; }

    /// <summary>How long one connection attempt (TCP + WebSocket handshake) may take.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long to wait for the hub to answer our close frame before dropping the connection.</summary>
    public TimeSpan CloseTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Keepalive pings; a hub that answers none within <see cref="KeepAliveTimeout"/> counts as gone.</summary>
    public TimeSpan KeepAliveInterval { get; init; } = TimeSpan.FromSeconds(20);

    public TimeSpan KeepAliveTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>A message larger than this is reported and skipped (the original hub's limit is 1 MiB).</summary>
    public int MaxMessageBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>
    /// Send the <c>chefs</c>/<c>kitchens</c> filter extension (names and wildcards) in the
    /// announcement, so a NetDumplings hub sends only what is wanted; the eater filters on its side
    /// in every case, since an original hub ignores the extension.
    /// </summary>
    public bool HubSideFilter { get; init; } = true;
}
