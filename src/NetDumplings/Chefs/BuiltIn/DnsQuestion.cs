using System.Buffers.Binary;
using System.Text;
using PacketDotNet;

namespace NetDumplings.Chefs;

/// <summary>
/// Reads the first question of a DNS message carried on port 53 (UDP, or TCP with its 2-byte length
/// prefix). PacketDotNet has no DNS parser, and the question is all the sample chefs need.
/// </summary>
public static class DnsQuestion
{
    public const int Port = 53;

    /// <summary>The DNS message bytes of a UDP or TCP packet to or from port 53, or an empty span.</summary>
    public static ReadOnlySpan<byte> MessageOf(TransportPacket? transport, out bool fromPort53, out bool toPort53)
    {
        fromPort53 = toPort53 = false;
        if (transport is null) return default;
        fromPort53 = transport.SourcePort == Port;
        toPort53 = transport.DestinationPort == Port;
        if ((!fromPort53 && !toPort53) || !transport.HasPayloadData) return default;
        var segment = transport.PayloadDataSegment;
        return Unframe(segment.Bytes.AsSpan(segment.Offset, Math.Min(segment.Length, segment.Bytes.Length - segment.Offset)), transport is TcpPacket);
    }

    /// <summary>The DNS message in a UDP payload, or in a TCP payload after its 2-byte length prefix.</summary>
    public static ReadOnlySpan<byte> Unframe(ReadOnlySpan<byte> payload, bool tcp)
    {
        if (tcp)
        {
            if (payload.Length < 2) return default;
            var length = BinaryPrimitives.ReadUInt16BigEndian(payload);
            payload = payload[2..];
            if (payload.Length > length) payload = payload[..length];
        }
        return payload.Length >= 12 ? payload : default;
    }

    /// <summary>True when the message is a query (QR bit clear) with at least one question.</summary>
    public static bool IsQuery(ReadOnlySpan<byte> message) =>
        message.Length >= 12 && (message[2] & 0x80) == 0 && BinaryPrimitives.ReadUInt16BigEndian(message[4..]) > 0;

    /// <summary>The first question's name without the trailing dot, or null when the message is malformed.</summary>
    public static string? ReadName(ReadOnlySpan<byte> message)
    {
        if (message.Length < 13 || BinaryPrimitives.ReadUInt16BigEndian(message[4..]) == 0) return null;
        Span<byte> name = stackalloc byte[255];
        var length = 0;
        var offset = 12;
        for (var hops = 0; hops < 128; hops++)
        {
            if (offset >= message.Length) return null;
            int label = message[offset];
            if (label == 0)
                return length == 0 ? "." : Encoding.ASCII.GetString(name[..(length - 1)]);
            if ((label & 0xC0) == 0xC0)
            {
                if (offset + 1 >= message.Length) return null;
                offset = ((label & 0x3F) << 8) | message[offset + 1];
                continue;
            }
            if ((label & 0xC0) != 0 || offset + 1 + label > message.Length || length + label + 1 > name.Length) return null;
            message.Slice(offset + 1, label).CopyTo(name[length..]);
            length += label;
            name[length++] = (byte)'.';
            offset += 1 + label;
        }
        return null;
    }
}
