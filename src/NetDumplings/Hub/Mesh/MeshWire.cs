using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace NetDumplings.Hub.Mesh;

/// <summary>
/// What hubs write to each other through NATS, in one place: the subjects, the origin header, and the framing of a
/// message that holds several dumplings.
/// </summary>
internal static class MeshWire
{
    public const string SubjectPrefix = "netdumplings.v1";

    /// <summary>
    /// Where the dumplings of a NATS message came from, in one header: <c>&lt;instance&gt; &lt;first&gt; &lt;count&gt; &lt;t|b&gt; &lt;hub name&gt;</c>
    /// (the origin hub's instance, the number of the message's first dumpling in what that hub published, how many it
    /// holds, text or binary frames, the hub's name). A message of one dumpling is its bytes as the kitchen sent them;
    /// of several (a backlog of one subject, published together), each is its bytes after a 4-byte big-endian length.
    /// One header, and many dumplings a message under load: NATS.Net builds and parses headers per message, and a
    /// message per dumpling with four headers held the mesh to a quarter of one hub's rate.
    /// </summary>
    public const string OriginHeader = "Nd-Origin";

    /// <summary>The most dumplings, and bytes, one NATS message gathers (a larger dumpling goes alone); well under NATS's 1 MB default.</summary>
    public const int MaxBatchDumplings = 256, MaxBatchBytes = 64 * 1024;

    /// <summary>A subject token for a name: ASCII letters, digits, '-' and '_' as they are, anything else (., *, &gt;, spaces, %...) as %XX of its UTF-8.</summary>
    public static string SubjectToken(string? name)
    {
        if (string.IsNullOrEmpty(name)) return "_";
        var b = new StringBuilder(name.Length);
        foreach (var c in Encoding.UTF8.GetBytes(name))
        {
            if (c is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or >= (byte)'0' and <= (byte)'9' or (byte)'-' or (byte)'_')
                b.Append((char)c);
            else
                b.Append('%').Append(c.ToString("X2", CultureInfo.InvariantCulture));
        }
        return b.ToString();
    }

    public static string Subject(string? kitchen, string chef, DumplingDriver driver) =>
        $"{SubjectPrefix}.{SubjectToken(kitchen)}.{SubjectToken(chef)}.{(driver == DumplingDriver.Packet ? "packet" : "interval")}";

    public static string Origin(string instance, long first, int count, bool binary, string hubName) =>
        string.Create(CultureInfo.InvariantCulture, $"{instance} {first} {count} {(binary ? 'b' : 't')} {hubName}");

    /// <summary>Reads an <see cref="OriginHeader"/> value; false when it is not one.</summary>
    public static bool TryParseOrigin(string value, out string instance, out long first, out int count, out bool binary, out string hubName)
    {
        (instance, first, count, binary, hubName) = ("", 0, 0, false, "");
        var parts = value.Split(' ', 5);
        if (parts.Length < 5 || parts[0].Length == 0 || parts[3] is not ("t" or "b")) return false;
        (instance, binary, hubName) = (parts[0], parts[3] == "b", parts[4]);
        return long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out first) && first > 0
            && int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out count) && count is > 0 and <= MaxBatchDumplings;
    }

    /// <summary>Adds one dumpling to a message of several: its length, then its bytes.</summary>
    public static void Append(ArrayBufferWriter<byte> message, ReadOnlySpan<byte> dumpling)
    {
        BinaryPrimitives.WriteUInt32BigEndian(message.GetSpan(4), (uint)dumpling.Length);
        message.Advance(4);
        message.Write(dumpling);
    }

    /// <summary>Reads the dumpling at <paramref name="at"/> of a message of several and moves past it; false when it runs past the end.</summary>
    public static bool TryReadNext(ReadOnlyMemory<byte> message, ref int at, out ReadOnlyMemory<byte> dumpling)
    {
        dumpling = default;
        if (message.Length - at < 4 || BinaryPrimitives.ReadUInt32BigEndian(message.Span[at..]) > (uint)(message.Length - at - 4)) return false;
        var length = (int)BinaryPrimitives.ReadUInt32BigEndian(message.Span[at..]);
        dumpling = message.Slice(at + 4, length);
        at += 4 + length;
        return true;
    }
}
