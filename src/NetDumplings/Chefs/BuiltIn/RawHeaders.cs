using System.Buffers.Binary;
using PacketDotNet;

namespace NetDumplings.Chefs;

/// <summary>
/// A fast look at the common headers (Ethernet or Linux cooked capture; IPv4 or IPv6; TCP, UDP,
/// ICMP) straight from a packet's bytes, so the sample chefs need PacketDotNet's full parse only for
/// the packets they care about or cannot place. Anything unusual (VLAN tags, IPv6 extension headers,
/// fragments, truncated headers) answers "unknown" and the chef falls back to PacketDotNet.
/// </summary>
internal readonly ref struct RawHeaders
{
    public const int EtherTypeIPv4 = 0x0800, EtherTypeArp = 0x0806, EtherTypeIPv6 = 0x86DD;
    public const int ProtocolIcmp = 1, ProtocolTcp = 6, ProtocolUdp = 17, ProtocolIcmpV6 = 58;

    public readonly bool Known;          // link layer and network layer found
    public readonly bool LinkIsEthernet;
    public readonly int EtherType;
    public readonly int Protocol;        // IP protocol, -1 when not IP
    public readonly bool TransportKnown; // TCP/UDP/ICMP header found, payload located
    public readonly int SourcePort, DestinationPort;
    public readonly ReadOnlySpan<byte> Payload; // the transport's payload (TCP/UDP data, ICMP body after 8 bytes)

    public RawHeaders(ReadOnlySpan<byte> data, LinkLayers link)
    {
        Protocol = -1;
        int offset;
        if (link == LinkLayers.Ethernet && data.Length >= 14)
        {
            LinkIsEthernet = true;
            EtherType = BinaryPrimitives.ReadUInt16BigEndian(data[12..]);
            offset = 14;
        }
        else if (link == LinkLayers.LinuxSll && data.Length >= 16)
        {
            EtherType = BinaryPrimitives.ReadUInt16BigEndian(data[14..]);
            offset = 16;
        }
        else return;

        if (EtherType == EtherTypeArp) { Known = true; return; }
        int l4, end;
        if (EtherType == EtherTypeIPv4)
        {
            if (data.Length < offset + 20 || data[offset] >> 4 != 4) return;
            var ihl = (data[offset] & 0x0F) * 4;
            var total = BinaryPrimitives.ReadUInt16BigEndian(data[(offset + 2)..]);
            var fragment = BinaryPrimitives.ReadUInt16BigEndian(data[(offset + 6)..]) & 0x3FFF; // MF flag or offset
            if (ihl < 20 || total < ihl || fragment != 0) return;
            Protocol = data[offset + 9];
            l4 = offset + ihl;
            end = Math.Min(data.Length, offset + total);
        }
        else if (EtherType == EtherTypeIPv6)
        {
            if (data.Length < offset + 40 || data[offset] >> 4 != 6) return;
            Protocol = data[offset + 6];
            if (Protocol is not (ProtocolTcp or ProtocolUdp or ProtocolIcmpV6)) return; // extension headers: let PacketDotNet walk them
            l4 = offset + 40;
            end = Math.Min(data.Length, l4 + BinaryPrimitives.ReadUInt16BigEndian(data[(offset + 4)..]));
        }
        else return;
        Known = true;

        if (Protocol == ProtocolTcp && end >= l4 + 20)
        {
            var dataOffset = (data[l4 + 12] >> 4) * 4;
            if (dataOffset < 20 || l4 + dataOffset > end) return;
            SourcePort = BinaryPrimitives.ReadUInt16BigEndian(data[l4..]);
            DestinationPort = BinaryPrimitives.ReadUInt16BigEndian(data[(l4 + 2)..]);
            Payload = data[(l4 + dataOffset)..end];
            TransportKnown = true;
        }
        else if (Protocol == ProtocolUdp && end >= l4 + 8)
        {
            var length = BinaryPrimitives.ReadUInt16BigEndian(data[(l4 + 4)..]);
            if (length < 8 || l4 + length > end) return;
            SourcePort = BinaryPrimitives.ReadUInt16BigEndian(data[l4..]);
            DestinationPort = BinaryPrimitives.ReadUInt16BigEndian(data[(l4 + 2)..]);
            Payload = data[(l4 + 8)..(l4 + length)];
            TransportKnown = true;
        }
        else if ((Protocol == ProtocolIcmp || Protocol == ProtocolIcmpV6) && end >= l4 + 8)
        {
            Payload = data[(l4 + 8)..end];
            TransportKnown = true;
        }
    }

    public bool IsPort(int port) => SourcePort == port || DestinationPort == port;
}
