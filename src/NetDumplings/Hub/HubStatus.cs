using NetDumplings.Protocol;
using System.Buffers;
using System.Net;
using System.Reflection;
using System.Text.Json;

namespace NetDumplings.Hub;

/// <summary>A kitchen or eater as the hub sees it.</summary>
public sealed record HubPeerStatus(
    string Name, IPEndPoint Remote, JsonElement Announcement,
    long Dumplings, long Dropped, int QueuedDumplings, long QueuedBytes, long Invalid)
{
    /// <summary>A kitchen: how long the hub held it back for full eaters. An eater: how long kitchens waited for it.</summary>
    public TimeSpan HeldBack { get; init; }

    /// <summary>An eater: dumplings it was sent from the replay window when it resumed.</summary>
    public long Replayed { get; init; }

    /// <summary>An eater: dumplings after its resume point that had left the replay window (it was told).</summary>
    public long Missed { get; init; }
}

/// <summary>An eater the hub cut off for reading too slowly, and how long kitchens had waited for it.</summary>
public sealed record HubCutOffEater(string Name, IPEndPoint Remote, DateTimeOffset Time, string Reason, TimeSpan HeldKitchens);

/// <summary>What a hub's status dumpling reports, as a snapshot.</summary>
public sealed record HubStatusSnapshot(
    long DumplingsIn, long DumplingsOut, TimeSpan Uptime, long InvalidDumplings, long RefusedConnections,
    long DroppedDumplings, IReadOnlyList<HubPeerStatus> Kitchens, IReadOnlyList<HubPeerStatus> Eaters)
{
    public EaterOverflowPolicy OverflowPolicy { get; init; }

    /// <summary>How long kitchens were held back for full eaters, summed over kitchens (the current holds included).</summary>
    public TimeSpan KitchensHeldBack { get; init; }

    /// <summary>Eaters cut off for reading too slowly since the hub started.</summary>
    public long EatersCutOff { get; init; }

    /// <summary>The latest eaters cut off (a few), oldest first.</summary>
    public IReadOnlyList<HubCutOffEater> RecentCutOffs { get; init; } = [];

    /// <summary>The hub's instance (see <see cref="DumplingHub.InstanceId"/>).</summary>
    public string HubId { get; init; } = "";

    /// <summary>The number of the last dumpling taken (0 before the first).</summary>
    public long LastSequence { get; init; }

    /// <summary>Dumplings and bytes the replay window holds now.</summary>
    public int ReplayWindowDumplings { get; init; }
    public long ReplayWindowBytes { get; init; }

    /// <summary>The hub's part in a mesh of hubs; null when it stands alone.</summary>
    public Mesh.MeshStatus? Mesh { get; init; }
}

/// <summary>The payload of the hub's SystemStatusChef dumpling: every key of the original, plus ours beside them.</summary>
internal static class HubStatus
{
    public const string ChefName = NetDumplings.Protocol.HubStatusReport.ChefName;

    public static readonly string Version =
        typeof(DumplingHub).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    /// <summary>The status dumpling itself (what eaters and the dashboard's status.json get).</summary>
    public static Dumpling CreateDumpling(DumplingHub hub) => DumplingCodec.Create(ChefName, null, DumplingDriver.Interval, Build(hub));

    public static RawJsonPayload Build(DumplingHub hub)
    {
        var s = hub.GetStatus();
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            // The original's keys (compat).
            w.WriteNumber("total_dumplings_in", s.DumplingsIn);
            w.WriteNumber("total_dumplings_out", s.DumplingsOut);
            w.WriteNumber("server_uptime", Math.Round(s.Uptime.TotalSeconds, 3));
            w.WriteNumber("dumpling_kitchen_count", s.Kitchens.Count);
            w.WriteNumber("dumpling_eater_count", s.Eaters.Count);
            var omittedKitchens = WritePeers(w, "dumpling_kitchens", "info_from_kitchen", s.Kitchens, eater: false, MaxStatusBytes / 2);
            var omittedEaters = WritePeers(w, "dumpling_eaters", "info_from_eater", s.Eaters, eater: true, MaxStatusBytes);
            // Extensions (PROTOCOL.md allows keys beside the original's).
            w.WriteString("hub_version", $"NetDumplings {Version}");
            w.WriteNumber("total_dumplings_dropped", s.DroppedDumplings);
            w.WriteNumber("total_invalid_dumplings", s.InvalidDumplings);
            w.WriteNumber("total_refused_connections", s.RefusedConnections);
            w.WriteString("overflow_policy", s.OverflowPolicy.ToString());
            w.WriteNumber("total_kitchen_held_seconds", Seconds(s.KitchensHeldBack));
            w.WriteNumber("total_eaters_cut_off", s.EatersCutOff);
            w.WriteStartArray("eaters_cut_off");
            foreach (var c in s.RecentCutOffs)
            {
                w.WriteStartObject();
                w.WriteString("eater_name", c.Name);
                w.WriteString("host", c.Remote.Address.ToString());
                w.WriteNumber("port", c.Remote.Port);
                w.WriteNumber("time", Math.Round(Dumpling.ToEpochSeconds(c.Time), 3));
                w.WriteString("reason", c.Reason);
                w.WriteNumber("kitchens_held_seconds", Seconds(c.HeldKitchens));
                w.WriteEndObject();
            }
            w.WriteEndArray();
            if (omittedKitchens > 0) w.WriteNumber("dumpling_kitchens_omitted", omittedKitchens);
            if (omittedEaters > 0) w.WriteNumber("dumpling_eaters_omitted", omittedEaters);
            w.WriteString("hub_id", s.HubId);
            w.WriteNumber("last_dumpling_seq", s.LastSequence);
            w.WriteNumber("replay_window_dumplings", s.ReplayWindowDumplings);
            w.WriteNumber("replay_window_bytes", s.ReplayWindowBytes);
            if (s.Mesh is { } mesh) WriteMesh(w, mesh);
            w.WriteEndObject();
        }
        return new RawJsonPayload(buffer.WrittenMemory);
    }

    private static void WriteMesh(Utf8JsonWriter w, Mesh.MeshStatus m)
    {
        w.WriteStartObject("mesh");
        w.WriteString("hub_name", m.HubName);
        w.WriteString("nats_servers", m.Servers);
        w.WriteBoolean("connected", m.Connected);
        w.WriteBoolean("subscribed", m.Subscribed);
        if (m.LastError is not null) w.WriteString("last_error", m.LastError);
        w.WriteNumber("published", m.Published);
        w.WriteNumber("publish_lost", m.PublishLost);
        w.WriteNumber("publish_waits", m.PublishWaits);
        w.WriteNumber("received", m.Received);
        w.WriteNumber("dropped", m.Dropped);
        w.WriteNumber("slow_consumer_events", m.SlowConsumerEvents);
        w.WriteNumber("remote_gap", m.RemoteGap);
        w.WriteNumber("disconnects", m.Disconnects);
        w.WriteNumber("invalid", m.Invalid);
        w.WriteNumber("duplicates", m.Duplicates);
        w.WriteStartArray("subjects");
        foreach (var subject in m.Subjects) w.WriteStringValue(subject);
        w.WriteEndArray();
        w.WriteStartArray("remote_hubs");
        foreach (var r in m.RemoteHubs)
        {
            w.WriteStartObject();
            w.WriteString("hub_name", r.HubName);
            w.WriteNumber("dumplings", r.Dumplings);
            w.WriteNumber("gap", r.Gap);
            w.WriteNumber("last_seen", Math.Round(Dumpling.ToEpochSeconds(r.LastSeen), 3));
            w.WriteStartArray("kitchens");
            foreach (var k in r.Kitchens) w.WriteStringValue(k.Length > MaxStatusString ? k[..MaxStatusString] : k);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static double Seconds(TimeSpan time) => Math.Round(time.TotalSeconds, 3);

    /// <summary>
    /// Bytes of a peer's announcement a status dumpling copies: keys in order until this is used,
    /// strings cut to <see cref="MaxStatusString"/> characters. A peer may announce up to the message
    /// limit (1 MiB); copied whole, two such peers pushed every status past the original eaters' own
    /// 1 MiB limit (they closed with 1009), and twenty made 20 MiB of status a second.
    /// </summary>
    internal const int MaxAnnouncementBytes = 4096;

    internal const int MaxStatusString = 256;

    /// <summary>Peers are listed until the status dumpling reaches this size (well under the original eaters' 1 MiB); the rest are counted.</summary>
    internal const int MaxStatusBytes = 512 * 1024;

    private static int WritePeers(Utf8JsonWriter w, string name, string infoKey, IReadOnlyList<HubPeerStatus> peers, bool eater, int upTo)
    {
        w.WriteStartArray(name);
        var written = 0;
        foreach (var peer in peers)
        {
            if (w.BytesCommitted + w.BytesPending > upTo) break;
            w.WriteStartObject();
            w.WritePropertyName(infoKey);
            var limit = w.BytesCommitted + w.BytesPending + MaxAnnouncementBytes;
            var cut = !WriteBounded(w, peer.Announcement, limit, depth: 0);
            WriteInfoFromHub(w, peer, eater, cut);
            w.WriteEndObject();
            written++;
        }
        w.WriteEndArray();
        return peers.Count - written;
    }

    /// <summary>Copies a JSON value while the writer stays under <paramref name="limit"/> bytes; false when anything was left out or cut.</summary>
    private static bool WriteBounded(Utf8JsonWriter w, JsonElement value, long limit, int depth)
    {
        var whole = true;
        switch (value.ValueKind)
        {
            case JsonValueKind.Object when depth < 4:
                w.WriteStartObject();
                foreach (var property in value.EnumerateObject())
                {
                    if (w.BytesCommitted + w.BytesPending >= limit || property.Name.Length > MaxStatusString) { whole = false; continue; }
                    w.WritePropertyName(property.Name);
                    whole &= WriteBounded(w, property.Value, limit, depth + 1);
                }
                w.WriteEndObject();
                return whole;
            case JsonValueKind.Array when depth < 4:
                w.WriteStartArray();
                foreach (var item in value.EnumerateArray())
                {
                    if (w.BytesCommitted + w.BytesPending >= limit) { whole = false; break; }
                    whole &= WriteBounded(w, item, limit, depth + 1);
                }
                w.WriteEndArray();
                return whole;
            case JsonValueKind.Object or JsonValueKind.Array:
                w.WriteNullValue();
                return false;
            case JsonValueKind.String:
                var text = value.GetString()!;
                if (text.Length <= MaxStatusString)
                {
                    w.WriteStringValue(text);
                    return true;
                }
                var keep = char.IsHighSurrogate(text[MaxStatusString - 1]) ? MaxStatusString - 1 : MaxStatusString;
                w.WriteStringValue(text[..keep] + "...");
                return false;
            case JsonValueKind.Number when value.GetRawText() is { Length: > 32 }:
                w.WriteNullValue();
                return false;
            default:
                value.WriteTo(w);
                return true;
        }
    }

    private static void WriteInfoFromHub(Utf8JsonWriter w, HubPeerStatus peer, bool eater, bool cut)
    {
        w.WriteStartObject("info_from_hub");
        w.WriteString("host", peer.Remote.Address.ToString());
        w.WriteNumber("port", peer.Remote.Port);
        if (eater)
        {
            w.WriteNumber("dumplings_sent", peer.Dumplings);
            w.WriteNumber("dumplings_dropped", peer.Dropped);
            w.WriteNumber("queue_dumplings", peer.QueuedDumplings);
            w.WriteNumber("queue_bytes", peer.QueuedBytes);
            w.WriteNumber("kitchens_held_seconds", Seconds(peer.HeldBack));
            w.WriteNumber("dumplings_replayed", peer.Replayed);
            w.WriteNumber("dumplings_missed", peer.Missed);
        }
        else
        {
            w.WriteNumber("dumplings_received", peer.Dumplings);
            w.WriteNumber("invalid_dumplings", peer.Invalid);
            w.WriteNumber("held_seconds", Seconds(peer.HeldBack));
        }
        if (cut) w.WriteBoolean("announcement_truncated", true);
        w.WriteEndObject();
    }
}
