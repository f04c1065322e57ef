using System.Text.Json;

namespace NetDumplings.Protocol;

/// <summary>A kitchen as a hub's status dumpling describes it.</summary>
public sealed record HubStatusKitchen(
    string? Name, string? Interface, string? Filter, IReadOnlyList<string> Chefs, double? PokeInterval,
    string? Host, int? Port, long? DumplingsReceived, long? InvalidDumplings)
{
    /// <summary>Seconds the hub held this kitchen back (did not read it) for full eaters.</summary>
    public double? HeldSeconds { get; init; }
}

/// <summary>An eater as a hub's status dumpling describes it.</summary>
public sealed record HubStatusEater(
    string? Name, string? Host, int? Port, long? DumplingsSent, long? DumplingsDropped, long? QueueDumplings, long? QueueBytes)
{
    /// <summary>Seconds kitchens waited for this eater to make room (summed over kitchens).</summary>
    public double? KitchensHeldSeconds { get; init; }

    /// <summary>Dumplings it was sent from the hub's replay window when it resumed after a reconnect.</summary>
    public long? DumplingsReplayed { get; init; }

    /// <summary>Dumplings after its resume point that had left the replay window (it was told).</summary>
    public long? DumplingsMissed { get; init; }
}

/// <summary>An eater the hub cut off for reading too slowly, as its status dumpling lists it.</summary>
public sealed record HubStatusCutOffEater(string? Name, string? Host, int? Port, DateTimeOffset? Time, string? Reason, double? KitchensHeldSeconds);

/// <summary>Another hub of the mesh, as a hub's status dumpling lists it: its name, what came from it, and its kitchens.</summary>
public sealed record HubStatusRemoteHub(string? HubName, long? Dumplings, long? Gap, DateTimeOffset? LastSeen, IReadOnlyList<string> Kitchens);

/// <summary>A hub's part in a mesh of hubs joined through NATS, as its status dumpling says it.</summary>
public sealed record HubStatusMesh(
    string? HubName, string? NatsServers, bool Connected, long? Published, long? PublishLost, long? Received,
    long? Dropped, long? SlowConsumerEvents, long? RemoteGap, IReadOnlyList<HubStatusRemoteHub> RemoteHubs)
{
    /// <summary>Why the hub could not join the mesh, while it cannot.</summary>
    public string? LastError { get; init; }

    /// <summary>Times the hub lost its NATS connection.</summary>
    public long? Disconnects { get; init; }

    /// <summary>Taking remote dumplings: the hub has eaters, or had them within the last minute.</summary>
    public bool? Subscribed { get; init; }

    /// <summary>Times a local kitchen was held because NATS took its dumplings more slowly than it sent them.</summary>
    public long? PublishWaits { get; init; }

    /// <summary>Remote dumplings refused as invalid (not a dumpling, or a message that did not add up).</summary>
    public long? Invalid { get; init; }

    /// <summary>Copies of remote dumplings known and not delivered again (brought by a second subscription while they changed).</summary>
    public long? Duplicates { get; init; }

    /// <summary>The NATS subjects the hub takes remote dumplings from: what its eaters' filters ask for, the whole mesh (netdumplings.v1.&gt;) when they ask for all of it.</summary>
    public IReadOnlyList<string> Subjects { get; init; } = [];

    /// <summary>
    /// Dumplings lost on the way between hubs, as this hub knows: its own it could not publish (NATS away)
    /// plus the holes in the other hubs' numbers (which include what NATS.Net dropped here, <see cref="Dropped"/>).
    /// </summary>
    public long Lost => (PublishLost ?? 0) + (RemoteGap ?? 0);

    /// <summary>The remote hubs' kitchens, as hub/kitchen.</summary>
    public IEnumerable<string> RemoteKitchens => RemoteHubs.SelectMany(h => h.Kitchens.Select(k => $"{h.HubName}/{k}"));

    public override string ToString() =>
        $"{HubName} via {NatsServers}: {(Connected ? "connected" : "not connected")}, {Published ?? 0} published, {Received ?? 0} received, {Lost} lost, {RemoteHubs.Count} remote hubs";
}

/// <summary>
/// A hub's SystemStatusChef dumpling, read into typed fields (the nd-hubdetails job). Works for the
/// original hub's status too: our extension fields are then null.
/// </summary>
public sealed record HubStatusReport(
    DateTimeOffset Time, long TotalDumplingsIn, long TotalDumplingsOut, TimeSpan Uptime,
    int KitchenCount, int EaterCount, IReadOnlyList<HubStatusKitchen> Kitchens, IReadOnlyList<HubStatusEater> Eaters,
    string? HubVersion, long? TotalDumplingsDropped, long? TotalInvalidDumplings, long? TotalRefusedConnections)
{
    public const string ChefName = "SystemStatusChef";

    /// <summary>What the hub does when an eater's queue is full (Backpressure, DropOldest or Disconnect).</summary>
    public string? OverflowPolicy { get; init; }

    /// <summary>Seconds kitchens were held back for full eaters, summed over kitchens.</summary>
    public double? TotalKitchenHeldSeconds { get; init; }

    /// <summary>Eaters cut off for reading too slowly since the hub started.</summary>
    public long? TotalEatersCutOff { get; init; }

    /// <summary>The latest eaters cut off (a few), oldest first.</summary>
    public IReadOnlyList<HubStatusCutOffEater> EatersCutOff { get; init; } = [];

    /// <summary>The hub's instance: a restarted hub has a new one (resuming eaters are then sent its whole replay window).</summary>
    public string? HubId { get; init; }

    /// <summary>The number of the last dumpling the hub took.</summary>
    public long? LastDumplingSeq { get; init; }

    /// <summary>Dumplings and bytes the hub's replay window holds now.</summary>
    public long? ReplayWindowDumplings { get; init; }
    public long? ReplayWindowBytes { get; init; }

    /// <summary>The hub's part in a mesh of hubs through NATS; null when it stands alone.</summary>
    public HubStatusMesh? Mesh { get; init; }

    /// <summary>True for a hub's status dumpling (chef SystemStatusChef, no kitchen).</summary>
    public static bool IsStatus(Dumpling dumpling) => IsStatus(dumpling.Chef, dumpling.Kitchen);

    /// <summary>True for the chef and kitchen of a hub's status dumpling: only a hub may send these.</summary>
    public static bool IsStatus(string? chef, string? kitchen) => chef == ChefName && kitchen is null;

    /// <summary>Reads a status dumpling. Throws <see cref="DumplingFormatException"/> when it is not one.</summary>
    public static HubStatusReport From(Dumpling dumpling)
    {
        if (!IsStatus(dumpling))
            throw new DumplingFormatException($"This is a dumpling from chef '{dumpling.Chef}' of kitchen '{dumpling.Kitchen}', not a hub's {ChefName} dumpling.");
        var p = dumpling.PayloadElement;
        if (p.ValueKind != JsonValueKind.Object)
            throw new DumplingFormatException($"A {ChefName} payload must be an object.");
        try
        {
            return new HubStatusReport(
                dumpling.CreationTime,
                Long(p, "total_dumplings_in") ?? 0,
                Long(p, "total_dumplings_out") ?? 0,
                TimeSpan.FromSeconds(Double(p, "server_uptime") ?? 0),
                (int)(Long(p, "dumpling_kitchen_count") ?? 0),
                (int)(Long(p, "dumpling_eater_count") ?? 0),
                Items(p, "dumpling_kitchens").Select(Kitchen).ToArray(),
                Items(p, "dumpling_eaters").Select(Eater).ToArray(),
                String(p, "hub_version"),
                Long(p, "total_dumplings_dropped"),
                Long(p, "total_invalid_dumplings"),
                Long(p, "total_refused_connections"))
            {
                OverflowPolicy = String(p, "overflow_policy"),
                TotalKitchenHeldSeconds = Double(p, "total_kitchen_held_seconds"),
                TotalEatersCutOff = Long(p, "total_eaters_cut_off"),
                EatersCutOff = Items(p, "eaters_cut_off").Select(CutOff).ToArray(),
                HubId = String(p, "hub_id"),
                LastDumplingSeq = Long(p, "last_dumpling_seq"),
                ReplayWindowDumplings = Long(p, "replay_window_dumplings"),
                ReplayWindowBytes = Long(p, "replay_window_bytes"),
                Mesh = Child(p, "mesh") is { } m ? ReadMesh(m) : null,
            };
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            throw new DumplingFormatException($"The {ChefName} payload has a field of the wrong type: {e.Message}", e);
        }
    }

    private static HubStatusKitchen Kitchen(JsonElement k)
    {
        var info = Child(k, "info_from_kitchen");
        var hub = Child(k, "info_from_hub");
        var chefs = info is { } i && i.TryGetProperty("chefs", out var c) && c.ValueKind == JsonValueKind.Array
            ? c.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!).ToArray()
            : [];
        return new HubStatusKitchen(String(info, "kitchen_name"), String(info, "interface"), String(info, "filter"), chefs,
            Double(info, "poke_interval"), String(hub, "host"), (int?)Long(hub, "port"), Long(hub, "dumplings_received"), Long(hub, "invalid_dumplings"))
        {
            HeldSeconds = Double(hub, "held_seconds"),
        };
    }

    private static HubStatusMesh ReadMesh(JsonElement m) =>
        new(String(m, "hub_name"), String(m, "nats_servers"), m.TryGetProperty("connected", out var c) && c.ValueKind == JsonValueKind.True,
            Long(m, "published"), Long(m, "publish_lost"), Long(m, "received"), Long(m, "dropped"), Long(m, "slow_consumer_events"),
            Long(m, "remote_gap"), Items(m, "remote_hubs").Select(RemoteHub).ToArray())
        {
            LastError = String(m, "last_error"),
            Disconnects = Long(m, "disconnects"),
            Subscribed = m.TryGetProperty("subscribed", out var subscribed) && subscribed.ValueKind is JsonValueKind.True or JsonValueKind.False
                ? subscribed.ValueKind == JsonValueKind.True : null,
            PublishWaits = Long(m, "publish_waits"),
            Invalid = Long(m, "invalid"),
            Duplicates = Long(m, "duplicates"),
            Subjects = m.TryGetProperty("subjects", out var subjects) && subjects.ValueKind == JsonValueKind.Array
                ? subjects.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!).ToArray()
                : [],
        };

    private static HubStatusRemoteHub RemoteHub(JsonElement r) =>
        new(String(r, "hub_name"), Long(r, "dumplings"), Long(r, "gap"), Double(r, "last_seen") is { } t ? Dumpling.FromEpochSeconds(t) : null,
            r.TryGetProperty("kitchens", out var k) && k.ValueKind == JsonValueKind.Array
                ? k.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!).ToArray()
                : []);

    private static HubStatusCutOffEater CutOff(JsonElement c) =>
        new(String(c, "eater_name"), String(c, "host"), (int?)Long(c, "port"),
            Double(c, "time") is { } t ? Dumpling.FromEpochSeconds(t) : null, String(c, "reason"), Double(c, "kitchens_held_seconds"));

    private static HubStatusEater Eater(JsonElement e)
    {
        var info = Child(e, "info_from_eater");
        var hub = Child(e, "info_from_hub");
        return new HubStatusEater(String(info, "eater_name"), String(hub, "host"), (int?)Long(hub, "port"),
            Long(hub, "dumplings_sent"), Long(hub, "dumplings_dropped"), Long(hub, "queue_dumplings"), Long(hub, "queue_bytes"))
        {
            KitchensHeldSeconds = Double(hub, "kitchens_held_seconds"),
            DumplingsReplayed = Long(hub, "dumplings_replayed"),
            DumplingsMissed = Long(hub, "dumplings_missed"),
        };
    }

    private static JsonElement? Child(JsonElement? e, string name) =>
        e is { ValueKind: JsonValueKind.Object } o && o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Object ? v : null;

    private static IEnumerable<JsonElement> Items(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Array ? v.EnumerateArray() : [];

    private static string? String(JsonElement? e, string name) =>
        e is { ValueKind: JsonValueKind.Object } o && o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static long? Long(JsonElement? e, string name) =>
        e is { ValueKind: JsonValueKind.Object } o && o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number
            ? (v.TryGetInt64(out var l) ? l : (long)v.GetDouble()) : null;

    private static double? Double(JsonElement? e, string name) =>
        e is { ValueKind: JsonValueKind.Object } o && o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;
}
