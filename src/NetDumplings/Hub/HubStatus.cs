using NetDumplings.Protocol;
using System.Buffers;
using System.Net;
using System.Reflection;
using System.Text.Json;

namespace NetDumplings.Hub;

/// <summary>A kitchen or eater as the hub sees it.</summary>
public sealed record HubPeerStatus(
    string Name, IPEndPoint Remote, JsonElement Announcement,
    long Dumplings, long Dropped, int QueuedDumplings, long QueuedBytes, long Invalid);

/// <summary>What a hub's status dumpling reports, as a snapshot.</summary>
public sealed record HubStatusSnapshot(
    long DumplingsIn, long DumplingsOut, TimeSpan Uptime, long InvalidDumplings, long RefusedConnections,
    long DroppedDumplings, IReadOnlyList<HubPeerStatus> Kitchens, IReadOnlyList<HubPeerStatus> Eaters);

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
            w.WriteEndObject();
        }
        return new RawJsonPayload(buffer.WrittenMemory);
    }

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
        }
        else
        {
            w.WriteNumber("dumplings_received", peer.Dumplings);
            w.WriteNumber("invalid_dumplings", peer.Invalid);
        }
        w.WriteEndObject();
    }
}
