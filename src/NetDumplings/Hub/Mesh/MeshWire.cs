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
    /// Where the dumplings of a NATS message came from, in one header:
    /// <c>&lt;instance&gt; &lt;first&gt; &lt;count&gt; &lt;t|b&gt; &lt;subject first&gt; &lt;hub name&gt;</c> (the origin hub's instance;
    /// the number of the message's first dumpling in all that hub published, which only grows, so a copy that a second
    /// subscription brings is known; how many it holds; text or binary frames; the number of its first dumpling in what
    /// that hub published to this subject, so a hub that takes only some subjects still sees every hole; the hub's name).
    /// A message of one dumpling is its bytes as the kitchen sent them; of several (a backlog of one subject, published
    /// together), each is its bytes after a 4-byte big-endian length. One header, and many dumplings a message under
    /// load: a message per dumpling with four headers held the mesh to a quarter of one hub's rate.
    /// </summary>
    public const string OriginHeader = "Nd-Origin";

    /// <summary>The most dumplings, and bytes, one NATS message gathers (a larger dumpling goes alone); well under NATS's 1 MB default.</summary>
    public const int MaxBatchDumplings = 256, MaxBatchBytes = 64 * 1024;

    /// <summary>The longest subject token; a longer one is written <c>~</c> and a hash (NATS refuses control lines over 4 KiB, and closes the connection that sent one).</summary>
    public const int MaxTokenLength = 64;

    /// <summary>
    /// A subject token for a name. ASCII letters in lower case (eaters' filters compare names without regard to ASCII
    /// case, and .NET's OrdinalIgnoreCase folds no other character into ASCII), digits, '-' and '_' as they are,
    /// anything else (., *, &gt;, spaces, %, any non-ASCII...) as %XX of its UTF-8, unfolded: how other scripts fold
    /// depends on the Unicode tables of each machine, so a filter naming such a name does not narrow what its hub
    /// subscribes to (<see cref="IsFoldable"/>). A token over <see cref="MaxTokenLength"/> characters becomes
    /// <c>~</c> and 32 hex digits of its SHA-256, the same on every hub.
    /// </summary>
    public static string SubjectToken(string? name)
    {
        if (string.IsNullOrEmpty(name)) return "_";
        var b = new StringBuilder(name.Length);
        foreach (var c in Encoding.UTF8.GetBytes(name))
        {
            if (c is >= (byte)'A' and <= (byte)'Z') b.Append((char)(c | 0x20));
            else if (c is >= (byte)'a' and <= (byte)'z' or >= (byte)'0' and <= (byte)'9' or (byte)'-' or (byte)'_') b.Append((char)c);
            else b.Append('%').Append(c.ToString("X2", CultureInfo.InvariantCulture));
        }
        if (b.Length <= MaxTokenLength) return b.ToString();
        var hash = System.Security.Cryptography.SHA256.HashData(Encoding.ASCII.GetBytes(b.ToString()));
        return "~" + Convert.ToHexStringLower(hash.AsSpan(0, 16));
    }

    /// <summary>A name whose token every hub makes alike for every spelling a filter takes for it: ASCII only.</summary>
    public static bool IsFoldable(string name) => Ascii.IsValid(name);

    public static string Subject(string? kitchen, string chef, DumplingDriver driver) =>
        $"{SubjectPrefix}.{SubjectToken(kitchen)}.{SubjectToken(chef)}.{(driver == DumplingDriver.Packet ? "packet" : "interval")}";

    /// <summary>What a hub subscribes to for some kitchens' and chefs' dumplings (a null name: any).</summary>
    public static string SubjectFilter(string? kitchenToken, string? chefToken) =>
        kitchenToken is null && chefToken is null ? SubjectPrefix + ".>" : $"{SubjectPrefix}.{kitchenToken ?? "*"}.{chefToken ?? "*"}.*";

    /// <summary>Whether a NATS subject filter (tokens, <c>*</c> for one, <c>&gt;</c> for the rest) takes a subject.</summary>
    public static bool Matches(string filter, string subject)
    {
        var f = filter.Split('.');
        var t = subject.Split('.');
        for (var i = 0; i < f.Length; i++)
        {
            if (f[i] == ">") return t.Length > i;
            if (i >= t.Length || (f[i] != "*" && f[i] != t[i])) return false;
        }
        return f.Length == t.Length;
    }

    public static string Origin(string instance, long first, int count, bool binary, long subjectFirst, string hubName) =>
        string.Create(CultureInfo.InvariantCulture, $"{instance} {first} {count} {(binary ? 'b' : 't')} {subjectFirst} {hubName}");

    /// <summary>The largest number a hub's header may carry: far beyond any real count, and far from overflowing when counted on.</summary>
    public const long MaxNumber = 1L << 53;

    /// <summary>Reads an <see cref="OriginHeader"/> value; false when it is not one.</summary>
    public static bool TryParseOrigin(ReadOnlySpan<char> value, out MeshOrigin origin)
    {
        origin = default;
        Span<Range> parts = stackalloc Range[7];
        if (value.Split(parts, ' ') < 6) return false;
        var hubName = value[parts[5].Start..]; // the rest: a hub's name may hold spaces
        var binary = value[parts[3]];
        if (value[parts[0]].IsEmpty || binary is not ("t" or "b")) return false;
        if (!long.TryParse(value[parts[1]], NumberStyles.None, CultureInfo.InvariantCulture, out var first) || first < 1
            || !int.TryParse(value[parts[2]], NumberStyles.None, CultureInfo.InvariantCulture, out var count) || count is < 1 or > MaxBatchDumplings
            || !long.TryParse(value[parts[4]], NumberStyles.None, CultureInfo.InvariantCulture, out var subjectFirst) || subjectFirst < 1
            || first > MaxNumber || subjectFirst > MaxNumber)
            return false;
        origin = new MeshOrigin(value[parts[0]].ToString(), first, count, binary is "b", subjectFirst, hubName.ToString());
        return true;
    }

    /// <summary>
    /// Finds the <see cref="OriginHeader"/> in a NATS message's raw headers (<c>NATS/1.0\r\nName: value\r\n...</c>), as
    /// NATS.Net hands them to a subscription, without building its header dictionary for every message.
    /// </summary>
    public static OriginRead ReadOrigin(in ReadOnlySequence<byte> headers, out MeshOrigin origin)
    {
        origin = default;
        if (headers.Length > 4096) return OriginRead.Malformed;
        Span<byte> bytes = stackalloc byte[(int)headers.Length];
        headers.CopyTo(bytes);
        var name = "Nd-Origin:"u8;
        foreach (var range in ((ReadOnlySpan<byte>)bytes).Split("\r\n"u8))
        {
            var line = bytes[range];
            if (line.Length < name.Length || !Ascii.EqualsIgnoreCase(line[..name.Length], name)) continue;
            var value = line[name.Length..].Trim((byte)' ');
            Span<char> text = stackalloc char[value.Length];
            return Encoding.UTF8.TryGetChars(value, text, out var written) && TryParseOrigin(text[..written], out origin) ? OriginRead.Found : OriginRead.Malformed;
        }
        return OriginRead.Absent;
    }

    /// <summary>Adds one dumpling to a message of several: its length, then its bytes.</summary>
    public static void Append(ArrayBufferWriter<byte> message, ReadOnlySpan<byte> dumpling)
    {
        BinaryPrimitives.WriteUInt32BigEndian(message.GetSpan(4), (uint)dumpling.Length);
        message.Advance(4);
        message.Write(dumpling);
    }

    /// <summary>Reads the dumpling at <paramref name="at"/> of a message of several and moves past it; false when it runs past the end.</summary>
    public static bool TryReadNext(ReadOnlySpan<byte> message, scoped ref int at, out ReadOnlySpan<byte> dumpling)
    {
        dumpling = default;
        if (message.Length - at < 4 || BinaryPrimitives.ReadUInt32BigEndian(message[at..]) > (uint)(message.Length - at - 4)) return false;
        var length = (int)BinaryPrimitives.ReadUInt32BigEndian(message[at..]);
        dumpling = message.Slice(at + 4, length);
        at += 4 + length;
        return true;
    }
}

/// <summary>Whether a mesh message has an <see cref="MeshWire.OriginHeader"/>: none (another NATS client's), a good one, or one that is not.</summary>
internal enum OriginRead { Absent, Found, Malformed }

/// <summary>What a mesh message's <see cref="MeshWire.OriginHeader"/> says.</summary>
internal readonly record struct MeshOrigin(string Instance, long First, int Count, bool Binary, long SubjectFirst, string HubName);
