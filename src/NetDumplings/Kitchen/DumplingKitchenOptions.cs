using NetDumplings.Protocol;
using NetDumplings.Hub;

namespace NetDumplings.Kitchen;

/// <summary>How a kitchen runs: where packets come from, how often chefs are poked, how big its queues are.</summary>
public sealed record DumplingKitchenOptions
{
    public const string DefaultFilter = "tcp or udp or arp";

    /// <summary><c>metadata.kitchen</c> of every dumpling, and the announced <c>kitchen_name</c>.</summary>
    public string Name { get; init; } = "default_kitchen";

    /// <summary>Interfaces to capture live (<c>any</c> for all). Empty with no <see cref="Files"/>: <c>any</c>.</summary>
    public IReadOnlyList<string> Interfaces { get; init; } = [];

    /// <summary>BPF filter for live capture and capture files; null or empty for none.</summary>
    public string? Filter { get; init; } = DefaultFilter;

    /// <summary>Capture files (pcap or pcapng) to replay, in order.</summary>
    public IReadOnlyList<string> Files { get; init; } = [];

    /// <summary>Replay capture files at the pace of their timestamps instead of as fast as possible.</summary>
    public bool PaceFiles { get; init; }

    /// <summary>How often chefs' interval handlers run; zero turns pokes off.</summary>
    public TimeSpan PokeInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Poke every chef once more after the last packet, so interval chefs report the final counts.</summary>
    public bool FinalPoke { get; init; } = true;

    /// <summary>Packets waiting for the chefs. When full, live capture drops (counted); file replay waits.</summary>
    public int QueueCapacity { get; init; } = 1 << 18;

    /// <summary>Dumplings waiting for the hub (or the local consumer).</summary>
    public int OutboxCapacity { get; init; } = 100_000;

    /// <summary>Live capture: libpcap's buffer; 64 MiB rode out bursts here with zero drops.</summary>
    public int CaptureBufferBytes { get; init; } = 64 << 20;

    /// <summary>Bytes kept of each live packet; libpcap sizes its ring's blocks by it, so smaller means more blocks.</summary>
    public int SnapLength { get; init; } = 65_535;

    /// <summary>Largest dumpling the kitchen sends: a hub closes a sender over its limit (1 MiB in the original).</summary>
    public int MaxDumplingBytes { get; init; } = 1_048_576;

    /// <summary>Promiscuous mode on named interfaces (not on <c>any</c>, where libpcap does not offer it).</summary>
    public bool Promiscuous { get; init; } = true;

    /// <summary>Reconnect delays when the hub goes away.</summary>
    public Backoff Backoff { get; init; } = Backoff.Default;

    /// <summary>How long a stopping kitchen waits for its outbox to reach the hub.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Chef errors reported one by one per chef before only counting them.</summary>
    public int ChefErrorsReported { get; init; } = 5;

    /// <summary>True when the kitchen captures live (no capture files).</summary>
    public bool IsLiveCapture => Files.Count == 0;

    internal bool IsLive => IsLiveCapture;

    /// <summary>The interfaces a live kitchen captures on.</summary>
    public IReadOnlyList<string> LiveInterfaceNames => LiveInterfaces;

    internal IReadOnlyList<string> LiveInterfaces => Interfaces.Count == 0 ? ["any"] : Interfaces;

    /// <summary>The <c>interface</c> value of the announcement, as the original: <c>all</c> for every interface.</summary>
    internal string AnnouncedInterface => IsLive
        ? string.Join(",", LiveInterfaces.Select(i => i == "any" ? "all" : i))
        : string.Join(",", Files.Select(Path.GetFileName));
}
