using System.Text;
using System.Text.Json;

namespace NetDumplings.Protocol;

/// <summary>What a hub's notice to an eater says (an extension; see <see cref="HubNotice"/>).</summary>
public enum HubNoticeKind
{
    /// <summary><c>{"notice":"hub","hub_id":id,"seq":s}</c>: first on every connection: the hub's instance, and that the stream starts after dumpling number s.</summary>
    Hub,

    /// <summary><c>{"notice":"seq","seq":s}</c>: the next dumpling is number s, those after it s+1, s+2, ... (the hub's status dumplings take no number).</summary>
    Sequence,

    /// <summary><c>{"notice":"dropped","count":n,"total":t}</c>: the hub dropped n dumplings for this eater since the last notice (its queue was full), t on this connection.</summary>
    Dropped,

    /// <summary><c>{"notice":"missed","count":n}</c>: n dumplings the hub took after the resume point had left its replay window before they could be replayed.</summary>
    Missed,
}

/// <summary>
/// A message a NetDumplings hub sends only to eaters that asked for notices in their announcement
/// (<see cref="EaterAnnouncement.Notices"/>), between dumplings. A notice is a JSON object with a
/// <c>notice</c> key and no <c>metadata</c>, so it can never be a dumpling: no hub forwards a message
/// without <c>metadata.chef</c>, which is also why an eater cannot be handed a forged one.
/// </summary>
public readonly record struct HubNotice(HubNoticeKind Kind, long Sequence = 0, long Count = 0, long Total = 0, string? HubId = null)
{
    public const string Key = "notice";

    private static ReadOnlySpan<byte> Prefix => "{\"notice\":\""u8;

    /// <summary>The notice as the hub writes it.</summary>
    public byte[] ToUtf8Json() => Encoding.UTF8.GetBytes(Kind switch
    {
        HubNoticeKind.Hub => $"{{\"notice\":\"hub\",\"hub_id\":{JsonSerializer.Serialize(HubId ?? "")},\"seq\":{Sequence}}}",
        HubNoticeKind.Sequence => $"{{\"notice\":\"seq\",\"seq\":{Sequence}}}",
        HubNoticeKind.Dropped => $"{{\"notice\":\"dropped\",\"count\":{Count},\"total\":{Total}}}",
        HubNoticeKind.Missed => $"{{\"notice\":\"missed\",\"count\":{Count}}}",
        _ => throw new InvalidOperationException($"Unknown notice kind {Kind}."),
    });

    /// <summary>
    /// True when a message is a notice rather than a dumpling; <paramref name="notice"/> is then what it
    /// says, or null for a kind this version does not know (an eater skips it). Cheap for a dumpling:
    /// the hub writes notices with <c>notice</c> first, so a dumpling is told apart by its first bytes.
    /// </summary>
    public static bool IsNotice(ReadOnlySpan<byte> message, out HubNotice? notice)
    {
        notice = null;
        if (!message.StartsWith(Prefix)) return false;
        string? kind = null, hubId = null;
        long seq = 0, count = 0, total = 0;
        try
        {
            var reader = new Utf8JsonReader(message);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString();
                if (!reader.Read()) return false;
                switch (name)
                {
                    case "metadata": return false; // a dumpling that happens to start this way
                    case Key when reader.TokenType == JsonTokenType.String: kind = reader.GetString(); break;
                    case "hub_id" when reader.TokenType == JsonTokenType.String: hubId = reader.GetString(); break;
                    case "seq" when reader.TokenType == JsonTokenType.Number: seq = reader.GetInt64(); break;
                    case "count" when reader.TokenType == JsonTokenType.Number: count = reader.GetInt64(); break;
                    case "total" when reader.TokenType == JsonTokenType.Number: total = reader.GetInt64(); break;
                    default: reader.Skip(); break;
                }
            }
            if (reader.TokenType != JsonTokenType.EndObject) return false;
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            return false;
        }
        HubNoticeKind? known = kind switch
        {
            "hub" when hubId is not null => HubNoticeKind.Hub,
            "seq" => HubNoticeKind.Sequence,
            "dropped" => HubNoticeKind.Dropped,
            "missed" => HubNoticeKind.Missed,
            _ => null,
        };
        if (known is not null) notice = new HubNotice(known.Value, seq, count, total, hubId);
        return true;
    }
}
