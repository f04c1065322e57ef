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
}

/// <summary>The payload of the hub's SystemStatusChef dumpling: every key of the original, plus ours beside them.</summary>
internal static class HubStatus
{
    public const string ChefName = NetDumplings.Protocol.HubStatusReport.ChefName;

    public static readonly string Version =
        typeof(DumplingHub).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

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
            w.WriteStartArray("dumpling_kitchens");
            foreach (var k in s.Kitchens)
            {
                w.WriteStartObject();
                w.WritePropertyName("info_from_kitchen");
                k.Announcement.WriteTo(w);
                WriteInfoFromHub(w, k, eater: false);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("dumpling_eaters");
            foreach (var e in s.Eaters)
            {
                w.WriteStartObject();
                w.WritePropertyName("info_from_eater");
                e.Announcement.WriteTo(w);
                WriteInfoFromHub(w, e, eater: true);
                w.WriteEndObject();
            }
            w.WriteEndArray();
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
            w.WriteString("hub_id", s.HubId);
            w.WriteNumber("last_dumpling_seq", s.LastSequence);
            w.WriteNumber("replay_window_dumplings", s.ReplayWindowDumplings);
            w.WriteNumber("replay_window_bytes", s.ReplayWindowBytes);
            w.WriteEndObject();
        }
        return new RawJsonPayload(buffer.WrittenMemory);
    }

    private static double Seconds(TimeSpan time) => Math.Round(time.TotalSeconds, 3);

    private static void WriteInfoFromHub(Utf8JsonWriter w, HubPeerStatus peer, bool eater)
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
        w.WriteEndObject();
    }
}
