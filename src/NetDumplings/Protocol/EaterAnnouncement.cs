using System.Buffers;
using System.Text.Json;

namespace NetDumplings.Protocol;

/// <summary>Where an eater of ours left off: the hub instance it was reading from and the last dumpling number it got.</summary>
public sealed record EaterResumePoint(string HubId, long Sequence);

/// <summary>
/// An eater's first message to the hub's out-port (PROTOCOL.md: hub -> eater): its name and, as
/// extensions an original hub ignores, the chefs and kitchens (names or wildcards) it wants, whether
/// it wants the hub's notices (<see cref="HubNotice"/>), and where to resume after a reconnect.
/// </summary>
public sealed record EaterAnnouncement(string EaterName)
{
    /// <summary>The key that asks for notices: <c>"notices": true</c>.</summary>
    public const string NoticesKey = "notices";

    /// <summary>The key that asks to resume: <c>"resume_after": {"hub_id": "...", "seq": n}</c>.</summary>
    public const string ResumeAfterKey = "resume_after";

    /// <summary>Chef names or wildcards; empty for every chef.</summary>
    public IReadOnlyList<string> Chefs { get; init; } = [];

    /// <summary>Kitchen names or wildcards; empty for every kitchen.</summary>
    public IReadOnlyList<string> Kitchens { get; init; } = [];

    /// <summary>
    /// Ask for the hub's notices (dumplings dropped for this eater, the hub's instance and dumpling
    /// numbers). Only an eater that asks gets them, so the original eaters see exactly what they did.
    /// </summary>
    public bool Notices { get; init; }

    /// <summary>After a reconnect: send what the hub still holds after this point (needs <see cref="Notices"/>).</summary>
    public EaterResumePoint? ResumeAfter { get; init; }

    public byte[] ToUtf8Json()
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("eater_name", EaterName);
            WriteNames(writer, "chefs", Chefs);
            WriteNames(writer, "kitchens", Kitchens);
            if (Notices) writer.WriteBoolean(NoticesKey, true);
            if (ResumeAfter is { } resume)
            {
                writer.WriteStartObject(ResumeAfterKey);
                writer.WriteString("hub_id", resume.HubId);
                writer.WriteNumber("seq", resume.Sequence);
                writer.WriteEndObject();
            }
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Reads <see cref="ResumeAfterKey"/> of an announcement; null when absent or not as written above.</summary>
    public static EaterResumePoint? ReadResumeAfter(JsonElement announcement)
    {
        if (!announcement.TryGetProperty(ResumeAfterKey, out var resume) || resume.ValueKind != JsonValueKind.Object) return null;
        if (!resume.TryGetProperty("hub_id", out var id) || id.ValueKind != JsonValueKind.String) return null;
        if (!resume.TryGetProperty("seq", out var seq) || !seq.TryGetInt64(out var n) || n < 0) return null;
        return new EaterResumePoint(id.GetString()!, n);
    }

    /// <summary>True when an announcement asks for notices.</summary>
    public static bool ReadNotices(JsonElement announcement) =>
        announcement.TryGetProperty(NoticesKey, out var notices) && notices.ValueKind == JsonValueKind.True;

    private static void WriteNames(Utf8JsonWriter writer, string key, IReadOnlyList<string> names)
    {
        if (names.Count == 0) return;
        writer.WriteStartArray(key);
        foreach (var name in names) writer.WriteStringValue(name);
        writer.WriteEndArray();
    }
}
