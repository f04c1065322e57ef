using NetDumplings.Protocol;

namespace NetDumplings.Client;

/// <summary>What a <see cref="DumplingEater"/> wants from the hub; how it connects is in <see cref="HubClientOptions"/>.</summary>
public sealed record DumplingEaterOptions : HubClientOptions
{
    public DumplingEaterOptions() => Hub = new HubAddress(HubAddress.DefaultHost, HubAddress.DefaultOutPort);

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

    /// <summary>
    /// Send the <c>chefs</c>/<c>kitchens</c> filter extension (names and wildcards) in the
    /// announcement, so a NetDumplings hub sends only what is wanted; the eater filters on its side
    /// in every case, since an original hub ignores the extension.
    /// </summary>
    public bool HubSideFilter { get; init; } = true;

    /// <summary>
    /// Ask a NetDumplings hub for its notices (an extension an original hub ignores): how many
    /// dumplings it dropped for this eater, reported as <see cref="HubClientEventKind.DumplingsLost"/>,
    /// and the numbers that make <see cref="Resume"/> work.
    /// </summary>
    public bool Notices { get; init; } = true;

    /// <summary>
    /// After a reconnect, ask the hub to send first what it still holds after the last dumpling this
    /// eater got (with <see cref="Notices"/>); what it no longer holds is reported as lost. Nothing
    /// comes twice.
    /// </summary>
    public bool Resume { get; init; } = true;

    /// <summary>
    /// Dumplings decoded ahead of the consumer. When it is full the eater stops reading the socket,
    /// so a slow consumer slows the hub's sending to it (TCP) instead of losing anything here.
    /// </summary>
    public int ReadAhead { get; init; } = 4096;

    /// <summary>Decode each dumpling's JSON text ahead of the consumer (for one that writes the text, such as Receive-Dumpling -Raw).</summary>
    public bool DecodeText { get; init; }
}
