using System.Buffers.Binary;
using System.Net;
using PacketDotNet;

namespace NetDumplings.Packets;

/// <summary>How far <see cref="PacketHeaders.Read"/> got through a frame.</summary>
public enum PacketDecodeStatus : byte
{
    /// <summary>Every header the reader knows was read; what follows is payload.</summary>
    Decoded,
    /// <summary>The capture ends inside a header (a short snap length, a cut-off file).</summary>
    Truncated,
    /// <summary>A header contradicts itself: a wrong IP version, a length shorter than its header, too many VLAN tags.</summary>
    Malformed,
    /// <summary>A link type the reader does not know (802.11, PPP, ...).</summary>
    UnknownLinkType,
    /// <summary>A network protocol other than IPv4, IPv6 and ARP (LLDP, MPLS, an 802.3 length field, ...).</summary>
    UnknownNetworkProtocol,
}

/// <summary>
/// Where the headers of a captured frame are, read once straight from its bytes: what chefs ask most
/// (addresses, ports, protocol, layers, DNS) without building PacketDotNet's object graph, which costs
/// several microseconds a packet. Knows Ethernet, Linux cooked capture v1 and v2, raw IP (every DLT
/// number for it) and BSD loopback framing; any stack of 802.1Q/802.1ad tags; IPv4; IPv6 with its
/// hop-by-hop, routing, fragment, destination options and authentication headers; ARP of any address
/// sizes; TCP, UDP, ICMP and ICMPv6. Offsets index the frame passed to <see cref="Read"/>; pass the
/// same frame to the methods that take one. Reading never throws: whatever cannot be read is reported
/// in <see cref="Status"/>, and the layers read before it stay readable.
/// </summary>
public readonly struct PacketHeaders
{
    public const int EtherTypeIPv4 = 0x0800, EtherTypeArp = 0x0806, EtherTypeIPv6 = 0x86DD;
    public const int ProtocolIcmp = 1, ProtocolTcp = 6, ProtocolUdp = 17, ProtocolIcmpV6 = 58;

    /// <summary>More tags than a real network stacks; a frame with more is called malformed.</summary>
    public const int MaxVlanTags = 8;

    /// <summary>The most layers <see cref="TryCopyLayers"/> writes: link, every tag, network, transport, payload.</summary>
    public const int MaxLayers = MaxVlanTags + 4;

    // DLT_RAW as OpenBSD numbers it; PacketDotNet's enum has no name for it.
    private const LinkLayers RawOpenBsd = (LinkLayers)14;

    public PacketDecodeStatus Status { get; private init; }

    /// <summary>Ethernet, LinuxCooked, LinuxCookedV2, Loopback, or None (raw IP, or an unknown link type).</summary>
    public PacketLayer LinkLayer { get; private init; }

    /// <summary>How many VLAN tags were skipped between the link header and the network header.</summary>
    public int VlanTagCount { get; private init; }

    // Bit i set: tag i (outermost first) is an 802.1ad service tag rather than an 802.1Q tag.
    private byte ServiceTags { get; init; }

    /// <summary>The network protocol's EtherType (0x0800 IPv4, 0x86DD IPv6, 0x0806 ARP, ...), or 0 when the link header was not read.</summary>
    public int EtherType { get; private init; }

    /// <summary>IPv4, IPv6 or Arp once its header was read whole, else None.</summary>
    public PacketLayer NetworkLayer { get; private init; }

    /// <summary>Where the IP header or ARP message starts.</summary>
    public int NetworkOffset { get; private init; }

    /// <summary>Where the IP packet or ARP message ends by its own length, before any link-layer padding.</summary>
    public int NetworkEnd { get; private init; }

    /// <summary>The IP protocol after any IPv6 extension headers (6 TCP, 17 UDP, 47 GRE, ...), also in a later fragment; null when not IP.</summary>
    public int? IPProtocol { get; private init; }

    /// <summary>True for any fragment of an IP packet, the first one included.</summary>
    public bool IsFragment { get; private init; }

    /// <summary>True for a fragment other than the first: it carries no transport header, only data.</summary>
    public bool IsLaterFragment { get; private init; }

    public bool HasIPv6ExtensionHeaders { get; private init; }

    /// <summary>Tcp, Udp, Icmp or IcmpV6 once its header was read whole, else None.</summary>
    public PacketLayer TransportLayer { get; private init; }

    public int TransportOffset { get; private init; }

    /// <summary>The TCP or UDP source port (read even when the rest of the header is cut off), or null.</summary>
    public int? SourcePort { get; private init; }

    public int? DestinationPort { get; private init; }

    /// <summary>Where the bytes after the last header read begin (transport payload, fragment data, or what could not be read).</summary>
    public int PayloadOffset { get; private init; }

    public int PayloadLength { get; private init; }

    public static PacketHeaders Read(ReadOnlySpan<byte> frame, LinkLayers link)
    {
        // Where the link header ends and where its EtherType is (-1: none; the IP version nibble says).
        var (linkLayer, at, etherTypeAt) = link switch
        {
            LinkLayers.Ethernet => (PacketLayer.Ethernet, 14, 12),
            LinkLayers.LinuxSll => (PacketLayer.LinuxCooked, 16, 14),
            LinkLayers.LinuxSll2 => (PacketLayer.LinuxCookedV2, 20, 0),
            LinkLayers.Raw or LinkLayers.RawLegacy or RawOpenBsd or LinkLayers.IPv4 or LinkLayers.IPv6 => (PacketLayer.None, 0, -1),
            // The 4-byte address family is in the capturing host's byte order (Null) or big-endian
            // (Loop), and its IPv6 value differs between BSDs: the IP version nibble is plainer.
            LinkLayers.Null or LinkLayers.Loop => (PacketLayer.Loopback, 4, -1),
            _ => (PacketLayer.None, -1, -1),
        };
        var headers = new PacketHeaders { LinkLayer = linkLayer };
        if (at < 0) return headers.Stop(PacketDecodeStatus.UnknownLinkType, 0, frame.Length);
        if (frame.Length < (etherTypeAt < 0 ? at + 1 : at)) return (headers with { LinkLayer = PacketLayer.None }).Stop(PacketDecodeStatus.Truncated, 0, frame.Length);
        var etherType = etherTypeAt >= 0 ? BinaryPrimitives.ReadUInt16BigEndian(frame[etherTypeAt..]) : link switch
        {
            LinkLayers.IPv4 => EtherTypeIPv4,
            LinkLayers.IPv6 => EtherTypeIPv6,
            _ => (frame[at] >> 4) switch { 4 => EtherTypeIPv4, 6 => EtherTypeIPv6, _ => 0 },
        };

        // VLAN tags: 2 bytes of tag control, then the next EtherType; Ethernet and cooked captures alike.
        var tags = 0;
        byte serviceTags = 0;
        PacketDecodeStatus? stopped = null;
        while (etherType is 0x8100 or 0x88A8 or 0x9100)
        {
            stopped = tags == MaxVlanTags ? PacketDecodeStatus.Malformed : frame.Length < at + 4 ? PacketDecodeStatus.Truncated : null;
            if (stopped is not null) break;
            if (etherType == 0x88A8) serviceTags |= (byte)(1 << tags);
            tags++;
            etherType = BinaryPrimitives.ReadUInt16BigEndian(frame[(at + 2)..]);
            at += 4;
        }
        headers = headers with { VlanTagCount = tags, ServiceTags = serviceTags };
        if (stopped is { } status) return headers.Stop(status, at, frame.Length);
        headers = headers with { EtherType = etherType, NetworkOffset = at };

        return etherType switch
        {
            EtherTypeIPv4 => headers.ReadIPv4(frame),
            EtherTypeIPv6 => headers.ReadIPv6(frame),
            EtherTypeArp => headers.ReadArp(frame),
            _ => headers.Stop(PacketDecodeStatus.UnknownNetworkProtocol, at, frame.Length),
        };
    }

    private PacketHeaders ReadIPv4(ReadOnlySpan<byte> frame)
    {
        var ip = frame[NetworkOffset..];
        if (ip.Length < 20) return Stop(PacketDecodeStatus.Truncated, NetworkOffset, frame.Length);
        var headerLength = (ip[0] & 0x0F) * 4;
        if (ip[0] >> 4 != 4 || headerLength < 20) return Stop(PacketDecodeStatus.Malformed, NetworkOffset, frame.Length);
        if (ip.Length < headerLength) return Stop(PacketDecodeStatus.Truncated, NetworkOffset, frame.Length);
        int totalLength = BinaryPrimitives.ReadUInt16BigEndian(ip[2..]);
        // 0: captured on the sending host before the NIC split a large segment (TSO); the capture holds it all.
        if (totalLength == 0) totalLength = ip.Length;
        if (totalLength < headerLength) return Stop(PacketDecodeStatus.Malformed, NetworkOffset, frame.Length);

        var fragment = BinaryPrimitives.ReadUInt16BigEndian(ip[6..]);
        var later = (fragment & 0x1FFF) != 0;
        var headers = this with
        {
            NetworkLayer = PacketLayer.IPv4,
            NetworkEnd = NetworkOffset + Math.Min(totalLength, ip.Length),
            IPProtocol = ip[9],
            IsFragment = later || (fragment & 0x2000) != 0,
            IsLaterFragment = later,
        };
        return later
            ? headers.Stop(PacketDecodeStatus.Decoded, NetworkOffset + headerLength, headers.NetworkEnd)
            : headers.ReadTransport(frame, NetworkOffset + headerLength);
    }

    private PacketHeaders ReadIPv6(ReadOnlySpan<byte> frame)
    {
        var ip = frame[NetworkOffset..];
        if (ip.Length < 40) return Stop(PacketDecodeStatus.Truncated, NetworkOffset, frame.Length);
        if (ip[0] >> 4 != 6) return Stop(PacketDecodeStatus.Malformed, NetworkOffset, frame.Length);
        int payloadLength = BinaryPrimitives.ReadUInt16BigEndian(ip[4..]);
        // 0: a jumbogram, or a segment captured before the NIC split it (TSO); the capture holds it all.
        var length = payloadLength == 0 ? ip.Length : 40 + payloadLength;
        var end = NetworkOffset + Math.Min(length, ip.Length);
        var headers = this with { NetworkLayer = PacketLayer.IPv6, NetworkEnd = end };

        int next = ip[6];
        var at = NetworkOffset + 40;
        // Every extension header is at least 8 bytes and must fit before the end, so the walk ends.
        while (next is 0 or 43 or 44 or 51 or 60)
        {
            headers = headers with { HasIPv6ExtensionHeaders = true };
            if (end < at + 8) return (headers with { IPProtocol = next }).Stop(PacketDecodeStatus.Truncated, at, end);
            if (next == 44)
            {
                var later = (BinaryPrimitives.ReadUInt16BigEndian(frame[(at + 2)..]) & 0xFFF8) != 0;
                headers = headers with { IsFragment = true, IsLaterFragment = later };
                next = frame[at];
                at += 8;
                if (later) return (headers with { IPProtocol = next }).Stop(PacketDecodeStatus.Decoded, at, end);
                continue;
            }
            // The authentication header counts its length in 4-byte words less two; the others in 8-byte words less one.
            var headerLength = next == 51 ? (frame[at + 1] + 2) * 4 : (frame[at + 1] + 1) * 8;
            if (end < at + headerLength) return (headers with { IPProtocol = next }).Stop(PacketDecodeStatus.Truncated, at, end);
            next = frame[at];
            at += headerLength;
        }
        return (headers with { IPProtocol = next }).ReadTransport(frame, at);
    }

    private PacketHeaders ReadTransport(ReadOnlySpan<byte> frame, int at)
    {
        var available = NetworkEnd - at;
        var protocol = IPProtocol;
        var headers = this;
        if (protocol is ProtocolTcp or ProtocolUdp && available >= 4)
            headers = headers with
            {
                SourcePort = BinaryPrimitives.ReadUInt16BigEndian(frame[at..]),
                DestinationPort = BinaryPrimitives.ReadUInt16BigEndian(frame[(at + 2)..]),
            };
        switch (protocol)
        {
            case ProtocolTcp:
            {
                if (available < 20) return headers.Stop(PacketDecodeStatus.Truncated, at, NetworkEnd);
                var headerLength = (frame[at + 12] >> 4) * 4;
                if (headerLength < 20) return headers.Stop(PacketDecodeStatus.Malformed, at, NetworkEnd);
                if (available < headerLength) return headers.Stop(PacketDecodeStatus.Truncated, at, NetworkEnd);
                return (headers with { TransportLayer = PacketLayer.Tcp, TransportOffset = at })
                    .Stop(PacketDecodeStatus.Decoded, at + headerLength, NetworkEnd);
            }
            case ProtocolUdp:
            {
                if (available < 8) return headers.Stop(PacketDecodeStatus.Truncated, at, NetworkEnd);
                int length = BinaryPrimitives.ReadUInt16BigEndian(frame[(at + 4)..]);
                if (length == 0) length = available;   // a jumbogram's UDP length (RFC 2675)
                if (length < 8) return headers.Stop(PacketDecodeStatus.Malformed, at, NetworkEnd);
                // The UDP length leaves out the padding short Ethernet frames carry; a first fragment holds less than it says.
                return (headers with { TransportLayer = PacketLayer.Udp, TransportOffset = at })
                    .Stop(PacketDecodeStatus.Decoded, at + 8, at + Math.Min(length, available));
            }
            case ProtocolIcmp when NetworkLayer == PacketLayer.IPv4:
            case ProtocolIcmpV6 when NetworkLayer == PacketLayer.IPv6:
                if (available < 8) return headers.Stop(PacketDecodeStatus.Truncated, at, NetworkEnd);
                return (headers with { TransportLayer = protocol == ProtocolIcmp ? PacketLayer.Icmp : PacketLayer.IcmpV6, TransportOffset = at })
                    .Stop(PacketDecodeStatus.Decoded, at + 8, NetworkEnd);
            default:
                return headers.Stop(PacketDecodeStatus.Decoded, at, NetworkEnd);
        }
    }

    private PacketHeaders ReadArp(ReadOnlySpan<byte> frame)
    {
        var arp = frame[NetworkOffset..];
        if (!ArpMessage.TryRead(arp, out var message)) return Stop(PacketDecodeStatus.Truncated, NetworkOffset, frame.Length);
        return (this with { NetworkLayer = PacketLayer.Arp, NetworkEnd = NetworkOffset + message.Length })
            .Stop(PacketDecodeStatus.Decoded, NetworkOffset + message.Length, NetworkOffset + message.Length);
    }

    private PacketHeaders Stop(PacketDecodeStatus status, int payloadOffset, int payloadEnd) =>
        this with { Status = status, PayloadOffset = payloadOffset, PayloadLength = Math.Max(0, payloadEnd - payloadOffset) };

    /// <summary>The bytes after the last header read: the transport's payload, a later fragment's data, or what could not be read.</summary>
    public ReadOnlySpan<byte> Payload(ReadOnlySpan<byte> frame) => frame.Slice(PayloadOffset, PayloadLength);

    /// <summary>The ARP message, when <see cref="NetworkLayer"/> is Arp (else an empty one).</summary>
    public ArpMessage Arp(ReadOnlySpan<byte> frame) =>
        NetworkLayer == PacketLayer.Arp && ArpMessage.TryRead(frame[NetworkOffset..NetworkEnd], out var arp) ? arp : default;

    /// <summary>The IP source address, or the ARP sender's protocol address; null when neither was read.</summary>
    public IPAddress? SourceAddress(ReadOnlySpan<byte> frame) => Address(frame, source: true);

    /// <summary>The IP destination address, or the ARP target's protocol address; null when neither was read.</summary>
    public IPAddress? DestinationAddress(ReadOnlySpan<byte> frame) => Address(frame, source: false);

    private IPAddress? Address(ReadOnlySpan<byte> frame, bool source)
    {
        var network = frame[NetworkOffset..];
        switch (NetworkLayer)
        {
            case PacketLayer.IPv4: return new IPAddress(network.Slice(source ? 12 : 16, 4));
            case PacketLayer.IPv6: return new IPAddress(network.Slice(source ? 8 : 24, 16));
            case PacketLayer.Arp:
                var arp = Arp(frame);
                var address = source ? arp.SenderProtocolAddress : arp.TargetProtocolAddress;
                return address.Length is 4 or 16 ? new IPAddress(address) : null;
            default: return null;
        }
    }

    /// <summary>
    /// Writes the layers read, outermost first, into <paramref name="layers"/> (at least <see cref="MaxLayers"/>
    /// long); the last is DNS (by <see cref="DnsMessage.FindMessage(ReadOnlySpan{byte}, in PacketHeaders)"/>) or Raw
    /// when bytes follow the last header. False, writing nothing, when the frame holds a protocol this reader
    /// does not decode (an unknown link type or EtherType, an IP protocol such as GRE or ESP), which
    /// PacketDotNet may know by name.
    /// </summary>
    public bool TryCopyLayers(ReadOnlySpan<byte> frame, Span<PacketLayer> layers, out int count)
    {
        count = 0;
        if (Status is PacketDecodeStatus.UnknownLinkType or PacketDecodeStatus.UnknownNetworkProtocol
            || (Status == PacketDecodeStatus.Decoded && IPProtocol is not null && TransportLayer == PacketLayer.None && !IsLaterFragment))
            return false;
        if (LinkLayer != PacketLayer.None) layers[count++] = LinkLayer;
        for (var tag = 0; tag < VlanTagCount; tag++)
            layers[count++] = (ServiceTags & (1 << tag)) != 0 ? PacketLayer.Dot1AD : PacketLayer.Dot1Q;
        if (NetworkLayer != PacketLayer.None) layers[count++] = NetworkLayer;
        if (TransportLayer != PacketLayer.None) layers[count++] = TransportLayer;
        if (PayloadLength > 0)
            layers[count++] = DnsMessage.IsWellFormed(DnsMessage.FindMessage(frame, this)) ? PacketLayer.Dns : PacketLayer.Raw;
        return true;
    }
}
