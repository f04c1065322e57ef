using System.Buffers.Binary;
using System.Text;

namespace NetDumplings.Packets;

/// <summary>One question of a DNS message: the name asked for (no trailing dot), its type and class.</summary>
public sealed record DnsMessageQuestion(string Name, ushort Type, ushort Class)
{
    /// <summary>The record type's usual name (A, AAAA, MX, ...), or TYPE&lt;n&gt; for others (RFC 3597).</summary>
    public string TypeName => Type switch
    {
        1 => "A", 2 => "NS", 5 => "CNAME", 6 => "SOA", 12 => "PTR", 15 => "MX", 16 => "TXT",
        28 => "AAAA", 33 => "SRV", 35 => "NAPTR", 43 => "DS", 48 => "DNSKEY", 64 => "SVCB", 65 => "HTTPS",
        255 => "ANY", _ => "TYPE" + Type,
    };

    public override string ToString() => $"{Name} {TypeName}";
}

/// <summary>
/// The header and questions of a DNS message (RFC 1035 section 4.1): enough for chefs that watch
/// lookups. Answers are not parsed. PacketDotNet has no DNS layer, so this reads the UDP/TCP payload.
/// </summary>
public sealed class DnsMessage
{
    private const int MaxQuestions = 64;   // real messages carry one; a bound keeps garbage cheap
    private const int MaxPointerJumps = 32;

    private DnsMessage(ushort id, ushort flags, IReadOnlyList<DnsMessageQuestion> questions)
    {
        Id = id;
        Flags = flags;
        Questions = questions;
    }

    public ushort Id { get; }

    /// <summary>The header's flags word (QR, opcode, AA, TC, RD, RA, rcode).</summary>
    public ushort Flags { get; }

    /// <summary>True for a response, false for a query (the QR bit).</summary>
    public bool IsResponse => (Flags & 0x8000) != 0;

    /// <summary>The response code (0 = no error, 3 = name does not exist, ...).</summary>
    public int ResponseCode => Flags & 0x000F;

    public IReadOnlyList<DnsMessageQuestion> Questions { get; }

    /// <summary>Reads a DNS message; false when the bytes are not one (truncated, or names that do not parse).</summary>
    public static bool TryParse(ReadOnlySpan<byte> message, out DnsMessage? dns)
    {
        dns = null;
        if (message.Length < 12) return false;
        var id = BinaryPrimitives.ReadUInt16BigEndian(message);
        var flags = BinaryPrimitives.ReadUInt16BigEndian(message[2..]);
        int count = BinaryPrimitives.ReadUInt16BigEndian(message[4..]);
        if (count > MaxQuestions) return false;
        var questions = new DnsMessageQuestion[count];
        var offset = 12;
        for (var i = 0; i < count; i++)
        {
            if (!TryReadName(message, ref offset, out var name) || offset + 4 > message.Length) return false;
            questions[i] = new DnsMessageQuestion(name,
                BinaryPrimitives.ReadUInt16BigEndian(message[offset..]),
                BinaryPrimitives.ReadUInt16BigEndian(message[(offset + 2)..]));
            offset += 4;
        }
        dns = new DnsMessage(id, flags, questions);
        return true;
    }

    // Labels, possibly ending in a compression pointer; the name is returned without its trailing dot.
    private static bool TryReadName(ReadOnlySpan<byte> message, ref int offset, out string name)
    {
        name = "";
        var builder = new StringBuilder(64);
        var position = offset;
        var jumps = 0;
        var endOfName = -1;
        while (true)
        {
            if (position >= message.Length) return false;
            int length = message[position];
            if (length == 0)
            {
                position++;
                break;
            }
            if ((length & 0xC0) == 0xC0)
            {
                if (position + 1 >= message.Length || ++jumps > MaxPointerJumps) return false;
                if (endOfName < 0) endOfName = position + 2;
                position = ((length & 0x3F) << 8) | message[position + 1];
                continue;
            }
            if ((length & 0xC0) != 0 || position + 1 + length > message.Length) return false;
            if (builder.Length > 0) builder.Append('.');
            foreach (var b in message.Slice(position + 1, length))
                builder.Append(b is >= 0x21 and < 0x7F ? (char)b : '?');
            if (builder.Length > 255) return false;
            position += 1 + length;
        }
        offset = endOfName >= 0 ? endOfName : position;
        name = builder.ToString();
        return true;
    }
}
