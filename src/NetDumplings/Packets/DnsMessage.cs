using System.Runtime.CompilerServices;
using System.Buffers.Binary;
using System.Text;
using PacketDotNet;

namespace NetDumplings.Packets;

/// <summary>One question of a DNS message: the name asked for (no trailing dot), its type and class.</summary>
public sealed record DnsMessageQuestion(string Name, ushort Type, ushort Class)
{
    /// <summary>The record type's usual name (A, AAAA, MX, ...), or TYPE&lt;n&gt; for others (RFC 3597).</summary>
    public string TypeName => DnsMessage.NameOfType(Type);

    public override string ToString() => $"{Name} {TypeName}";
}

/// <summary>
/// The DNS parser: which packets carry DNS, and the header, questions and resource records of a
/// message (RFC 1035 section 4.1). PacketDotNet has no
/// DNS layer, so this reads the UDP/TCP payload. The static methods read a message in place without
/// allocating (the built-in chefs and the packet counts use them); <see cref="TryParse"/> builds the
/// object a script reads, from the same methods.
/// </summary>
public sealed class DnsMessage
{
    public const int Port = 53;
    public const int MulticastPort = 5353;

    /// <summary>The longest name in text: 255 bytes on the wire (RFC 1035 section 2.3.4) less the first length byte and the root.</summary>
    public const int MaxNameLength = 253;

    private const int HeaderLength = 12;
    private const int MaxQuestions = 64;   // real messages carry one; a bound keeps garbage cheap

    private DnsMessage(ushort id, ushort flags, IReadOnlyList<DnsMessageQuestion> questions)
    {
        Id = id;
        Flags = flags;
        Questions = questions;
    }

    /// <summary>A record type's usual name, or TYPE&lt;n&gt; (RFC 3597).</summary>
    public static string NameOfType(ushort type) => type switch
    {
        1 => "A", 2 => "NS", 5 => "CNAME", 6 => "SOA", 12 => "PTR", 15 => "MX", 16 => "TXT",
        28 => "AAAA", 33 => "SRV", 35 => "NAPTR", 43 => "DS", 48 => "DNSKEY", 64 => "SVCB", 65 => "HTTPS",
        41 => "OPT", 46 => "RRSIG", 47 => "NSEC", 99 => "SPF", 255 => "ANY", 257 => "CAA", _ => "TYPE" + type,
    };

    public ushort Id { get; }

    /// <summary>The header's flags word (QR, opcode, AA, TC, RD, RA, rcode).</summary>
    public ushort Flags { get; }

    /// <summary>True for a response, false for a query (the QR bit).</summary>
    public bool IsResponse => (Flags & 0x8000) != 0;

    /// <summary>The response code (0 = no error, 3 = name does not exist, ...).</summary>
    public int ResponseCode => Flags & 0x000F;

    public IReadOnlyList<DnsMessageQuestion> Questions { get; }

    /// <summary>
    /// The one rule for which packets carry DNS, the rule of scapy's DNS layer (and so of the original
    /// netdumplings): UDP to or from port 53, or 5353 (multicast DNS, RFC 6762); TCP to or from port 53
    /// only, since multicast DNS never falls back to TCP. LLMNR (5355) is not DNS here, as in scapy.
    /// </summary>
    public static bool IsDnsPort(int ipProtocol, int sourcePort, int destinationPort) => ipProtocol switch
    {
        PacketHeaders.ProtocolUdp => sourcePort is Port or MulticastPort || destinationPort is Port or MulticastPort,
        PacketHeaders.ProtocolTcp => sourcePort == Port || destinationPort == Port,
        _ => false,
    };

    /// <summary>The DNS message a frame carries by <see cref="IsDnsPort"/>, or an empty span.</summary>
    public static ReadOnlySpan<byte> FindMessage(ReadOnlySpan<byte> frame, in PacketHeaders headers) =>
        headers.TransportLayer is PacketLayer.Tcp or PacketLayer.Udp
        && IsDnsPort(headers.IPProtocol!.Value, headers.SourcePort!.Value, headers.DestinationPort!.Value)
            ? Unframe(headers.Payload(frame), tcp: headers.TransportLayer == PacketLayer.Tcp)
            : default;

    /// <summary>The DNS message in a layer PacketDotNet parsed (for link types <see cref="PacketHeaders"/> does not know), or an empty span.</summary>
    public static ReadOnlySpan<byte> FindMessage(TransportPacket? transport)
    {
        var protocol = transport switch
        {
            TcpPacket => PacketHeaders.ProtocolTcp,
            UdpPacket => PacketHeaders.ProtocolUdp,
            _ => 0,
        };
        if (protocol == 0 || !IsDnsPort(protocol, transport!.SourcePort, transport.DestinationPort) || !transport.HasPayloadData) return default;
        var segment = transport.PayloadDataSegment;
        var payload = segment.Bytes.AsSpan(segment.Offset, Math.Clamp(segment.Length, 0, segment.Bytes.Length - segment.Offset));
        return Unframe(payload, tcp: protocol == PacketHeaders.ProtocolTcp);
    }

    // DNS over TCP prefixes each message with its 2-byte length.
    private static ReadOnlySpan<byte> Unframe(ReadOnlySpan<byte> payload, bool tcp)
    {
        if (!tcp) return payload;
        if (payload.Length < 2) return default;
        var length = BinaryPrimitives.ReadUInt16BigEndian(payload);
        payload = payload[2..];
        return payload.Length > length ? payload[..length] : payload;
    }

    /// <summary>Reads the header; false when the bytes are too short or claim more questions than a message carries.</summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> message, out ushort id, out ushort flags, out int questionCount)
    {
        id = flags = 0;
        questionCount = 0;
        if (message.Length < HeaderLength) return false;
        id = BinaryPrimitives.ReadUInt16BigEndian(message);
        flags = BinaryPrimitives.ReadUInt16BigEndian(message[2..]);
        questionCount = BinaryPrimitives.ReadUInt16BigEndian(message[4..]);
        return questionCount <= MaxQuestions;
    }

    /// <summary>True when the header and every question read cleanly: what makes a payload count as DNS.</summary>
    public static bool IsWellFormed(ReadOnlySpan<byte> message)
    {
        Span<byte> name = stackalloc byte[MaxNameLength];
        return TryReadQuestions(message, name, out _, out _, out _);
    }

    /// <summary>
    /// The first question's name (dotted, no trailing dot) of a well-formed query (QR bit clear, one
    /// question or more) into <paramref name="name"/>, at least <see cref="MaxNameLength"/> long.
    /// </summary>
    public static bool TryReadQueryName(ReadOnlySpan<byte> message, Span<byte> name, out int nameLength)
        => TryReadQuestions(message, name, out var flags, out var count, out nameLength) && (flags & 0x8000) == 0 && count > 0;

    // Reads every question, leaving the first one's name in the buffer.
    private static bool TryReadQuestions(ReadOnlySpan<byte> message, Span<byte> firstName, out ushort flags, out int count, out int firstNameLength)
    {
        firstNameLength = 0;
        if (!TryReadHeader(message, out _, out flags, out count)) return false;
        Span<byte> later = stackalloc byte[MaxNameLength];
        var offset = HeaderLength;
        for (var i = 0; i < count; i++)
        {
            var name = i == 0 ? firstName : later;
            if (!TryReadQuestion(message, ref offset, name, out var nameLength, out _, out _)) return false;
            if (i == 0) firstNameLength = nameLength;
        }
        return true;
    }

    /// <summary>The header's four section counts (questions, answers, authority, additional records); false when the bytes are too short.</summary>
    public static bool TryReadCounts(ReadOnlySpan<byte> message, out int questions, out int answers, out int authorities, out int additionals)
    {
        questions = answers = authorities = additionals = 0;
        if (message.Length < HeaderLength) return false;
        questions = BinaryPrimitives.ReadUInt16BigEndian(message[4..]);
        answers = BinaryPrimitives.ReadUInt16BigEndian(message[6..]);
        authorities = BinaryPrimitives.ReadUInt16BigEndian(message[8..]);
        additionals = BinaryPrimitives.ReadUInt16BigEndian(message[10..]);
        return true;
    }

    /// <summary>Where the first question starts.</summary>
    public const int FirstQuestionOffset = HeaderLength;

    /// <summary>
    /// Reads the resource record at <paramref name="offset"/> (RFC 1035 section 4.1.3) and moves past it: its owner
    /// name into <paramref name="name"/> (at least <see cref="MaxNameLength"/> long), type, class, TTL and where its
    /// data is in the message. False when the record does not fit or its name does not parse.
    /// </summary>
    public static bool TryReadRecord(ReadOnlySpan<byte> message, ref int offset, Span<byte> name, out int nameLength,
        out ushort type, out ushort @class, out uint ttl, out int dataOffset, out int dataLength)
    {
        type = @class = 0;
        ttl = 0;
        dataOffset = dataLength = 0;
        var position = offset;
        if (!TryReadName(message, ref position, name, out nameLength) || position + 10 > message.Length) return false;
        type = BinaryPrimitives.ReadUInt16BigEndian(message[position..]);
        @class = BinaryPrimitives.ReadUInt16BigEndian(message[(position + 2)..]);
        ttl = BinaryPrimitives.ReadUInt32BigEndian(message[(position + 4)..]);
        dataLength = BinaryPrimitives.ReadUInt16BigEndian(message[(position + 8)..]);
        dataOffset = position + 10;
        if (dataOffset + dataLength > message.Length) return false;
        offset = dataOffset + dataLength;
        return true;
    }

    /// <summary>Reads a (possibly compressed) name at <paramref name="offset"/> of the message, as in a record's data (CNAME, NS, PTR, MX).</summary>
    public static bool TryReadNameAt(ReadOnlySpan<byte> message, int offset, Span<byte> name, out int nameLength) =>
        TryReadName(message, ref offset, name, out nameLength);

    /// <summary>The response code's name (RFC 1035, 2136, 6895): NOERROR, NXDOMAIN, ...; RCODE&lt;n&gt; for others.</summary>
    public static string ResponseCodeName(int rcode) => rcode switch
    {
        0 => "NOERROR", 1 => "FORMERR", 2 => "SERVFAIL", 3 => "NXDOMAIN", 4 => "NOTIMP", 5 => "REFUSED",
        6 => "YXDOMAIN", 7 => "YXRRSET", 8 => "NXRRSET", 9 => "NOTAUTH", 10 => "NOTZONE",
        _ => "RCODE" + rcode,
    };

    /// <summary>Reads the question at <paramref name="offset"/> and moves past it; the name goes into <paramref name="name"/> (at least <see cref="MaxNameLength"/> long).</summary>
    public static bool TryReadQuestion(ReadOnlySpan<byte> message, ref int offset, Span<byte> name, out int nameLength, out ushort type, out ushort @class)
    {
        type = @class = 0;
        var position = offset;
        if (!TryReadName(message, ref position, name, out nameLength) || position + 4 > message.Length) return false;
        type = BinaryPrimitives.ReadUInt16BigEndian(message[position..]);
        @class = BinaryPrimitives.ReadUInt16BigEndian(message[(position + 2)..]);
        offset = position + 4;
        return true;
    }

    // Labels, possibly ending in a compression pointer. A pointer must lead to before where the labels it
    // ends began, so every jump goes further back and no chain of pointers can loop; the 255-byte limit
    // on a name bounds the rest.
    private static bool TryReadName(ReadOnlySpan<byte> message, ref int offset, Span<byte> name, out int nameLength)
    {
        if (name.Length < MaxNameLength) throw new ArgumentException($"A name needs a buffer of {MaxNameLength} bytes.", nameof(name));
        nameLength = 0;
        var position = offset;
        var labelsStart = offset;
        var afterPointer = -1;
        var wireLength = 1;   // the root label's length byte
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
                if (position + 1 >= message.Length) return false;
                var target = ((length & 0x3F) << 8) | message[position + 1];
                if (target >= labelsStart || target < HeaderLength) return false;
                if (afterPointer < 0) afterPointer = position + 2;
                position = labelsStart = target;
                continue;
            }
            // 0x40 and 0x80: the extended label type RFC 6891 deprecated, and a reserved one.
            if ((length & 0xC0) != 0) return false;
            wireLength += 1 + length;
            if (wireLength > MaxNameLength + 2 || position + 1 + length > message.Length) return false;
            if (nameLength > 0) name[nameLength++] = (byte)'.';
            message.Slice(position + 1, length).CopyTo(name[nameLength..]);
            nameLength += length;
            position += 1 + length;
        }
        offset = afterPointer >= 0 ? afterPointer : position;
        return true;
    }

    /// <summary>
    /// A name read by this parser as text: UTF-8, as names are in practice (multicast DNS service names
    /// carry spaces and any language, RFC 6763 section 4.1.3), with control characters shown as '?' so a
    /// name cannot drive a terminal.
    /// </summary>
    public static string NameText(ReadOnlySpan<byte> name)
    {
        var text = Encoding.UTF8.GetString(name);
        foreach (var c in text)
            if (char.IsControl(c))
                return string.Create(text.Length, text, static (chars, source) =>
                {
                    for (var i = 0; i < chars.Length; i++) chars[i] = char.IsControl(source[i]) ? '?' : source[i];
                });
        return text;
    }

    /// <summary>Reads a DNS message's header and questions; false when the bytes are not one (truncated, or names that do not parse).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool TryParse(ReadOnlySpan<byte> message, out DnsMessage? dns)
    {
        dns = null;
        if (!TryReadHeader(message, out var id, out var flags, out var count)) return false;
        var questions = new DnsMessageQuestion[count];
        Span<byte> name = stackalloc byte[MaxNameLength];
        var offset = HeaderLength;
        for (var i = 0; i < count; i++)
        {
            if (!TryReadQuestion(message, ref offset, name, out var nameLength, out var type, out var @class)) return false;
            questions[i] = new DnsMessageQuestion(NameText(name[..nameLength]), type, @class);
        }
        dns = new DnsMessage(id, flags, questions);
        return true;
    }
}
