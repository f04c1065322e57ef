using System.Buffers.Binary;
using System.Net;
using PacketDotNet;

namespace NetDumplings.Packets;

/// <summary>
/// Where the network and transport headers of a captured frame are, read straight from its bytes:
/// what most chefs ask (addresses, ports, protocol, DNS) without building PacketDotNet's object graph,
/// which costs several microseconds a packet. Knows Ethernet (with VLAN tags), Linux cooked capture
/// (v1 and v2), raw IP and BSD loopback framing, IPv4, IPv6 (with the common extension headers), ARP,
/// TCP, UDP, ICMP. <see cref="Known"/> is false for anything else; callers then ask PacketDotNet.
/// </summary>
internal readonly struct PacketHeaders
{
    public const int EtherTypeIPv4 = 0x0800, EtherTypeArp = 0x0806, EtherTypeIPv6 = 0x86DD;
    public const byte Icmp = 1, Tcp = 6, Udp = 17, IcmpV6 = 58;

    /// <summary>The frame was understood (its network layer is IPv4, IPv6 or ARP).</summary>
    public bool Known { get; init; }
    public bool HasEthernet { get; init; }
    public int EtherType { get; init; }
    /// <summary>Offset of the IP header or ARP message.</summary>
    public int NetworkOffset { get; init; }
    /// <summary>The IP protocol of the transport header (6 TCP, 17 UDP, ...), or -1.</summary>
    public int TransportProtocol { get; init; }
    /// <summary>Offset of the transport header, or -1 (not IP, a later fragment, or truncated).</summary>
    public int TransportOffset { get; init; }
    /// <summary>Where the IP packet ends (its length field), before any link-layer padding.</summary>
    public int NetworkEnd { get; init; }

    public bool IsIPv4 => Known && EtherType == EtherTypeIPv4;
    public bool IsIPv6 => Known && EtherType == EtherTypeIPv6;
    public bool IsArp => Known && EtherType == EtherTypeArp;

    public static PacketHeaders Read(ReadOnlySpan<byte> frame, LinkLayers link)
    {
        int etherType, offset;
        var ethernet = false;
        switch (link)
        {
            case LinkLayers.Ethernet:
                if (frame.Length < 14) return default;
                ethernet = true;
                etherType = BinaryPrimitives.ReadUInt16BigEndian(frame[12..]);
                offset = 14;
                while (etherType is 0x8100 or 0x88A8 && frame.Length >= offset + 4)
                {
                    etherType = BinaryPrimitives.ReadUInt16BigEndian(frame[(offset + 2)..]);
                    offset += 4;
                }
                break;
            case LinkLayers.LinuxSll:
                if (frame.Length < 16) return default;
                etherType = BinaryPrimitives.ReadUInt16BigEndian(frame[14..]);
                offset = 16;
                break;
            case LinkLayers.LinuxSll2:
                if (frame.Length < 20) return default;
                etherType = BinaryPrimitives.ReadUInt16BigEndian(frame);
                offset = 20;
                break;
            case LinkLayers.Raw or LinkLayers.RawLegacy:
                if (frame.Length < 1) return default;
                etherType = (frame[0] >> 4) == 6 ? EtherTypeIPv6 : EtherTypeIPv4;
                offset = 0;
                break;
            case LinkLayers.Null or LinkLayers.Loop:
                if (frame.Length < 5) return default;
                etherType = (frame[4] >> 4) == 6 ? EtherTypeIPv6 : EtherTypeIPv4;
                offset = 4;
                break;
            default:
                return default;
        }

        var headers = new PacketHeaders { HasEthernet = ethernet, EtherType = etherType, NetworkOffset = offset, TransportProtocol = -1, TransportOffset = -1 };
        var ip = frame[offset..];
        switch (etherType)
        {
            case EtherTypeArp:
                return ip.Length >= 28 && BinaryPrimitives.ReadUInt16BigEndian(ip[2..]) == EtherTypeIPv4 && ip[4] == 6 && ip[5] == 4
                    ? headers with { Known = true }
                    : default;
            case EtherTypeIPv4:
            {
                if (ip.Length < 20 || (ip[0] >> 4) != 4) return default;
                var headerLength = (ip[0] & 0x0F) * 4;
                var fragmentOffset = BinaryPrimitives.ReadUInt16BigEndian(ip[6..]) & 0x1FFF;
                var transport = fragmentOffset == 0 && headerLength >= 20 && ip.Length > headerLength ? offset + headerLength : -1;
                var end = offset + Math.Clamp((int)BinaryPrimitives.ReadUInt16BigEndian(ip[2..]), headerLength, ip.Length);
                return headers with { Known = true, TransportProtocol = ip[9], TransportOffset = transport, NetworkEnd = end };
            }
            case EtherTypeIPv6:
            {
                if (ip.Length < 40 || (ip[0] >> 4) != 6) return default;
                headers = headers with { NetworkEnd = offset + Math.Min(40 + BinaryPrimitives.ReadUInt16BigEndian(ip[4..]), ip.Length) };
                int next = ip[6], at = 40;
                // Hop-by-hop, routing and destination options; a fragment header ends the walk unless it is the first fragment.
                for (var hops = 0; hops < 8 && next is 0 or 43 or 60 or 44; hops++)
                {
                    if (ip.Length < at + 8) return headers with { Known = true, TransportProtocol = next };
                    if (next == 44)
                    {
                        if ((BinaryPrimitives.ReadUInt16BigEndian(ip[(at + 2)..]) & 0xFFF8) != 0)
                            return headers with { Known = true, TransportProtocol = ip[at] };
                        next = ip[at];
                        at += 8;
                        continue;
                    }
                    next = ip[at];
                    at += (ip[at + 1] + 1) * 8;
                }
                return headers with { Known = true, TransportProtocol = next, TransportOffset = ip.Length > at ? offset + at : -1 };
            }
            default:
                return default;
        }
    }

    public IPAddress? SourceAddress(ReadOnlySpan<byte> frame) => Address(frame, source: true);

    public IPAddress? DestinationAddress(ReadOnlySpan<byte> frame) => Address(frame, source: false);

    private IPAddress? Address(ReadOnlySpan<byte> frame, bool source)
    {
        var net = frame[NetworkOffset..];
        if (IsIPv4) return new IPAddress(net.Slice(source ? 12 : 16, 4));
        if (IsIPv6) return new IPAddress(net.Slice(source ? 8 : 24, 16));
        if (IsArp) return new IPAddress(net.Slice(source ? 14 : 24, 4));
        return null;
    }

    /// <summary>The TCP or UDP port (source or destination), or null.</summary>
    public int? Port(ReadOnlySpan<byte> frame, bool source)
    {
        if (TransportOffset < 0 || TransportProtocol is not (Tcp or Udp)) return null;
        var transport = frame[TransportOffset..];
        if (transport.Length < 4) return null;
        return BinaryPrimitives.ReadUInt16BigEndian(transport[(source ? 0 : 2)..]);
    }

    /// <summary>The TCP or UDP payload (without link-layer padding), or an empty span.</summary>
    public ReadOnlySpan<byte> TransportPayload(ReadOnlySpan<byte> frame)
    {
        if (TransportOffset < 0 || NetworkEnd <= TransportOffset) return default;
        var transport = frame[TransportOffset..NetworkEnd];
        if (TransportProtocol == Udp)
        {
            // The UDP length excludes the padding that short Ethernet frames carry.
            if (transport.Length < 8) return default;
            var length = BinaryPrimitives.ReadUInt16BigEndian(transport[4..]);
            return transport[8..Math.Clamp(length, 8, transport.Length)];
        }
        if (TransportProtocol == Tcp && transport.Length >= 20)
        {
            var dataOffset = (transport[12] >> 4) * 4;
            return dataOffset >= 20 && transport.Length >= dataOffset ? transport[dataOffset..] : default;
        }
        return default;
    }

    /// <summary>True when bytes follow the transport header (TCP/UDP data, an ICMP message's body).</summary>
    public bool HasTransportPayload(ReadOnlySpan<byte> frame) => TransportProtocol switch
    {
        Tcp or Udp => !TransportPayload(frame).IsEmpty,
        Icmp or IcmpV6 => TransportOffset >= 0 && NetworkEnd - TransportOffset > 8,
        _ => false,
    };

    public string? ProtocolName => !Known ? null : IsArp ? "ARP" : TransportProtocol switch
    {
        Tcp => "TCP",
        Udp => "UDP",
        Icmp when IsIPv4 => "ICMP",
        IcmpV6 => "ICMPv6",
        _ => null,
    };
}
