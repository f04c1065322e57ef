namespace NetDumplings.Kitchen;

/// <summary>A kitchen's counters at one moment. Nothing the kitchen loses goes uncounted.</summary>
public sealed record KitchenStatistics
{
    public string KitchenName { get; init; } = "";
    public TimeSpan Elapsed { get; init; }
    /// <summary>Packets the sources delivered (captured live, or read from files).</summary>
    public long PacketsCaptured { get; init; }
    /// <summary>Packets the kernel dropped before libpcap saw them (pcap_stats ps_drop + ps_ifdrop).</summary>
    public long KernelDrops { get; init; }
    /// <summary>Packets dropped because the chefs fell behind and the packet queue was full.</summary>
    public long QueueDrops { get; init; }
    public long PacketsProcessed { get; init; }
    public long Pokes { get; init; }
    public long DumplingsMade { get; init; }
    public long DumplingsSent { get; init; }
    /// <summary>Dumplings lost: outbox full, or still there when the kitchen gave up draining it.</summary>
    public long DumplingsDropped { get; init; }
    /// <summary>Dumplings made but not yet delivered: made = sent + dropped + queued.</summary>
    public long DumplingsQueued { get; init; }
    /// <summary>Notices (warnings, chef errors) nobody read in time, so the oldest were dropped.</summary>
    public long NoticesDropped { get; init; }
    /// <summary>
    /// Packets the header reader could not decode whole, by reason (Truncated, Malformed, UnknownLinkType,
    /// UnknownNetworkProtocol, Encrypted): chefs still get them, marked by <c>Headers.Status</c>.
    /// </summary>
    public IReadOnlyDictionary<string, long> Undecoded { get; init; } = new Dictionary<string, long>();
    /// <summary>All packets in <see cref="Undecoded"/>.</summary>
    public long PacketsUndecoded => Undecoded.Values.Sum();
    /// <summary>Whether the hub was connected at that moment; null for a kitchen without a hub (-NoHub).</summary>
    public bool? HubConnected { get; init; }
    public long HubConnects { get; init; }
    public IReadOnlyList<ChefStatistics> Chefs { get; init; } = [];

    /// <summary>Packets processed per second of the kitchen's run, to one decimal.</summary>
    public double PacketsPerSecond => Elapsed.TotalSeconds > 0 ? Math.Round(PacketsProcessed / Elapsed.TotalSeconds, 1) : 0;

    public override string ToString() =>
        $"{KitchenName}: {PacketsCaptured} packets captured, {PacketsProcessed} processed ({PacketsPerSecond:0} /s), " +
        $"{KernelDrops} kernel drops, {QueueDrops} queue drops" +
        (Undecoded.Count == 0 ? "" : $", undecoded {string.Join(", ", Undecoded.Select(u => $"{u.Value} {u.Key}"))}") +
        $"; dumplings {DumplingsMade} made, {DumplingsSent} sent, {DumplingsDropped} dropped, {DumplingsQueued} queued; " +
        string.Join(", ", Chefs.Select(c => $"{c.Name} {c.Packets} packets/{c.Errors} errors{(c.Dropped > 0 ? $"/{c.Dropped} dropped" : "")}"));
}

/// <summary>One chef's counters; <see cref="Dropped"/> are packets it was handed but did not cook (a scriptblock chef's full inbox).</summary>
public sealed record ChefStatistics(string Name, long Packets, long Pokes, long Dumplings, long Errors, long Dropped = 0);

/// <summary>Something a running kitchen wants its user to know (chef errors, hub connection changes).</summary>
public sealed record KitchenNotice(KitchenNoticeLevel Level, string Message, string? Chef = null, Exception? Error = null)
{
    public DateTimeOffset Time { get; init; } = DateTimeOffset.UtcNow;
}

public enum KitchenNoticeLevel { Verbose, Warning, Error }
