using System.Buffers;
using System.Text.Json;

namespace NetDumplings.Protocol;

/// <summary>
/// An eater's first message to the hub's out-port (PROTOCOL.md: hub -> eater): its name and, as an
/// extension an original hub ignores, the chefs and kitchens (names or wildcards) it wants.
/// </summary>
public sealed record EaterAnnouncement(string EaterName)
{
    /// <summary>Chef names or wildcards; empty for every chef.</summary>
    public IReadOnlyList<string> Chefs { get; init; } = [];

    /// <summary>Kitchen names or wildcards; empty for every kitchen.</summary>
    public IReadOnlyList<string> Kitchens { get; init; } = [];

    public byte[] ToUtf8Json()
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("eater_name", EaterName);
            WriteNames(writer, "chefs", Chefs);
            WriteNames(writer, "kitchens", Kitchens);
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteNames(Utf8JsonWriter writer, string key, IReadOnlyList<string> names)
    {
        if (names.Count == 0) return;
        writer.WriteStartArray(key);
        foreach (var name in names) writer.WriteStringValue(name);
        writer.WriteEndArray();
    }
}
