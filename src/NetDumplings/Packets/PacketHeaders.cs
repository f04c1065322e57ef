using System.Runtime.CompilerServices;
using System.Buffers.Binary;
using System.Net;
using PacketDotNet;

namespace NetDumplings.Packets;

/// <summary>How far <see cref="PacketHeaders.Read"/> got through a frame; every value but Decoded is a reason the kitchen counts.</summary>
public enum PacketDecodeStatus : byte
{
    /// <summary>Every header the reader knows was read; what follows is payload.</summary>
    Decoded,
    /// <summary>The capture ends inside a header (a short snap length, a cut-off file).</summary>
    Truncated,
    /// <summary>A header contradicts itself: a wrong IP version, a length shorter than its header, too many VLAN tags or tunnels.</summary>
    Malformed,
    /// <summary>A link type the reader does not know (IEEE 802.15.4, InfiniBand, ...).</summary>
    UnknownLinkType,
    /// <summary>A frame carrying neither IPv4, IPv6 nor ARP (LLDP, MPLS, spanning tree, 802.11 management and control frames, ...).</summary>
    UnknownNetworkProtocol,
    /// <summary>An encrypted 802.11 data frame: what it carries cannot be read.</summary>
    Encrypted,
}

/// <summary>The encapsulation a tunnelled packet arrived in (the outermost, when tunnels nest).</summary>
public enum PacketTunnel : byte
{
    None,
    /// <summary>VXLAN (RFC 7348), UDP port 4789: an Ethernet frame inside.</summary>
    Vxlan,
    /// <summary>Geneve (RFC 8926), UDP port 6081: an Ethernet frame or an IP packet inside.</summary>
    Geneve,
    /// <summary>GRE (RFC 2784/2890), IP protocol 47: an IP packet, or an Ethernet frame (transparent Ethernet bridging).</summary>
    Gre,
    /// <summary>ERSPAN types I, II and III, inside GRE: a mirrored Ethernet frame.</summary>
    Erspan,
    /// <summary>IP in IP: IPv4 or IPv6 (IP protocol 4 or 41) inside IPv4 or IPv6; 6in4 is IPv6 inside IPv4.</summary>
    IPInIP,
}

/// <summary>
/// Where the headers of a captured frame are, read once straight from its bytes: what chefs ask most
/// (addresses, ports, protocol, layers, DNS) without building PacketDotNet's object graph, which costs
/// several microseconds a packet. Knows Ethernet (with 802.2 LLC/SNAP), Linux cooked capture v1 and v2,
/// raw IP (every DLT number for it), BSD loopback, PPP, Cisco HDLC, PKTAP, PPI, and 802.11 data frames
/// with or without radiotap; any stack of 802.1Q/802.1ad tags; IPv4; IPv6 with its hop-by-hop, routing,
/// fragment, destination options and authentication headers; ARP of any address sizes; TCP, UDP, ICMP
/// and ICMPv6; and the tunnels VXLAN, Geneve, GRE, ERSPAN and IP in IP (6in4 included), whose inner
/// packet is the one described (as tshark's fields show the innermost layer), with <see cref="Tunnel"/>
/// and the outer addresses telling that it was tunnelled. Offsets index the frame passed to
/// <see cref="Read"/>; pass the same frame to the methods that take one. Reading never throws:
/// whatever cannot be read is reported in <see cref="Status"/>, and the layers read before it stay readable.
/// </summary>
public readonly struct PacketHeaders
{
    public const int EtherTypeIPv4 = 0x0800, EtherTypeArp = 0x0806, EtherTypeIPv6 = 0x86DD;
    public const int ProtocolIcmp = 1, ProtocolTcp = 6, ProtocolUdp = 17, ProtocolIcmpV6 = 58;
    public const int ProtocolIPv4InIP = 4, ProtocolIPv6InIP = 41, ProtocolGre = 47;
    public const int VxlanPort = 4789, GenevePort = 6081;

    /// <summary>More tags than a real network stacks; a frame with more is called malformed.</summary>
    public const int MaxVlanTags = 8;

    /// <summary>More tunnels inside one another than real networks build; a packet with more is called malformed.</summary>
    public const int MaxTunnels = 4;

    /// <summary>The most layers <see cref="TryCopyLayers"/> writes: the link headers, and per tunnel level its tags, network, transport and tunnel headers.</summary>
    public const int MaxLayers = 2 + (MaxTunnels + 1) * (MaxVlanTags + 7);

    // Link types PacketDotNet's enum has no name for.
    private const LinkLayers RawOpenBsd = (LinkLayers)14, Pktap = (LinkLayers)258;

    private const int EtherTypeTransparentBridging = 0x6558, EtherTypeErspan2 = 0x88BE, EtherTypeErspan3 = 0x22EB;

    public PacketDecodeStatus Status { get; private init; }

    /// <summary>The capture's own link header: Ethernet, LinuxCooked, LinuxCookedV2, Loopback, Ppp, Ieee80211, Pktap, ... or None (raw IP, or an unknown link type).</summary>
    public PacketLayer LinkLayer { get; private init; }

    /// <summary>The link type the frame was read as.</summary>
    public LinkLayers LinkType { get; private init; }

    /// <summary>How many VLAN tags were skipped between the (innermost) link header and the network header.</summary>
    public int VlanTagCount { get; private init; }

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

    /// <summary>The outermost tunnel the packet came through, or None; the other properties describe the packet inside it.</summary>
    public PacketTunnel Tunnel { get; private init; }

    /// <summary>How many tunnels the packet is inside (0 when not tunnelled).</summary>
    public int TunnelDepth { get; private init; }

    /// <summary>The outermost tunnel's identifier: the VXLAN or Geneve VNI, the GRE key, the ERSPAN session; null when it has none.</summary>
    public long? TunnelId { get; private init; }

    /// <summary>IPv4 or IPv6: the outermost IP header of a tunnelled packet (the tunnel's endpoints), else None.</summary>
    public PacketLayer OuterNetworkLayer { get; private init; }

    /// <summary>Where the outermost IP header of a tunnelled packet starts.</summary>
    public int OuterNetworkOffset { get; private init; }

    /// <summary>True when every header was read (<see cref="Status"/> is Decoded).</summary>
    public bool IsDecoded => Status == PacketDecodeStatus.Decoded;

    // Bit i set: tag i (outermost first) of the innermost level is an 802.1ad service tag rather than an 802.1Q tag.
    private byte ServiceTags { get; init; }

    // True when the layers are the link layer, the tags, network and transport alone (no SNAP, radiotap, PKTAP or
    // tunnel), so TryCopyLayers can list them from these properties instead of walking the frame again.
    private bool PlainLayers { get; init; }

    // The kitchen's per-packet paths (this reader, the built-in chefs, the codec) are compiled optimised from their
    // first call: otherwise a fresh process runs them in the runtime's profiling tier for much of a first run.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static PacketHeaders Read(ReadOnlySpan<byte> frame, LinkLayers link)
    {
        var count = 0;
        return Walk(frame, link, default, ref count);
    }

    /// <summary>
    /// The one walk through a frame, writing the layers it passes into <paramref name="layers"/> when that is
    /// long enough (<see cref="Read"/> passes none): the capture's link headers, then per tunnel level its tags,
    /// network, transport and tunnel headers, then the inner packet's.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static PacketHeaders Walk(ReadOnlySpan<byte> frame, LinkLayers link, Span<PacketLayer> layers, ref int count)
    {
        var headers = new PacketHeaders { LinkType = link };
        if (!ReadLink(frame, link, layers, ref count, out var linkLayer, out var at, out var etherType, out var stopped))
            return headers.Stop(stopped, at, frame.Length);
        // The link layers the walk has listed so far: exactly the link layer itself when the framing is plain.
        headers = headers with { LinkLayer = linkLayer, PlainLayers = count == (linkLayer == PacketLayer.None ? 0 : 1) };

        for (var depth = 0; ; depth++)
        {
            headers = headers.ReadTags(frame, ref at, ref etherType, layers, ref count);
            if (headers.Status != PacketDecodeStatus.Decoded) return headers;
            headers = headers with { EtherType = etherType, NetworkOffset = at };
            headers = etherType switch
            {
                EtherTypeIPv4 => headers.ReadIPv4(frame),
                EtherTypeIPv6 => headers.ReadIPv6(frame),
                EtherTypeArp => headers.ReadArp(frame),
                _ => headers.Stop(PacketDecodeStatus.UnknownNetworkProtocol, at, frame.Length),
            };
            Add(layers, ref count, headers.NetworkLayer);
            Add(layers, ref count, headers.TransportLayer);
            if (headers.Status != PacketDecodeStatus.Decoded || headers.IsLaterFragment || headers.NetworkLayer is PacketLayer.Arp or PacketLayer.None)
                return headers;

            // A tunnel: read its header, then the packet inside it as if it were the frame (bounded by the outer payload).
            var tunnel = headers.ReadTunnel(frame, layers, ref count, out var inner, out var innerEtherType, out var id, out var tunnelStatus);
            if (tunnel == PacketTunnel.None) return headers;
            if (tunnelStatus != PacketDecodeStatus.Decoded) return headers.Stop(tunnelStatus, headers.PayloadOffset, headers.PayloadOffset + headers.PayloadLength);
            if (depth + 1 > MaxTunnels) return headers.Stop(PacketDecodeStatus.Malformed, inner, headers.PayloadOffset + headers.PayloadLength);

            frame = frame[..(headers.PayloadOffset + headers.PayloadLength)];
            headers = new PacketHeaders
            {
                PlainLayers = false,
                LinkType = link,
                LinkLayer = headers.LinkLayer,
                Tunnel = headers.Tunnel == PacketTunnel.None ? tunnel : headers.Tunnel,
                TunnelDepth = headers.TunnelDepth + 1,
                TunnelId = headers.Tunnel == PacketTunnel.None ? id : headers.TunnelId,
                OuterNetworkLayer = headers.Tunnel == PacketTunnel.None ? headers.NetworkLayer : headers.OuterNetworkLayer,
                OuterNetworkOffset = headers.Tunnel == PacketTunnel.None ? headers.NetworkOffset : headers.OuterNetworkOffset,
            };
            at = inner;
            etherType = innerEtherType;
            if (etherType == 0)
            {
                // An Ethernet frame inside (VXLAN, transparent bridging, ERSPAN).
                if (!ReadEthernet(frame, ref at, out etherType, out var snap))
                    return headers.Stop(PacketDecodeStatus.Truncated, at, frame.Length);
                Add(layers, ref count, PacketLayer.Ethernet);
                if (snap) AddSnap(layers, ref count);
            }
            else if (etherType < 0)
            {
                // IP of either version (ERSPAN III's IP frames): the version nibble says which.
                if (frame.Length <= at) return headers.Stop(PacketDecodeStatus.Truncated, at, frame.Length);
                etherType = VersionEtherType(frame[at]);
            }
        }
    }

    private static void Add(Span<PacketLayer> layers, ref int count, PacketLayer layer)
    {
        if (layer == PacketLayer.None) return;
        if (count < layers.Length) layers[count] = layer;
        count++;
    }

    private static int VersionEtherType(byte first) => (first >> 4) switch { 4 => EtherTypeIPv4, 6 => EtherTypeIPv6, _ => 0 };

    /// <summary>
    /// Reads the capture's link headers: where the network header (or the VLAN tags before it) starts and its
    /// EtherType. False with the reason when the link type is unknown or its header is cut or wrong.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool ReadLink(ReadOnlySpan<byte> frame, LinkLayers link, Span<PacketLayer> layers, ref int count,
        out PacketLayer linkLayer, out int at, out int etherType, out PacketDecodeStatus stopped)
    {
        linkLayer = PacketLayer.None;
        at = etherType = 0;
        stopped = PacketDecodeStatus.Truncated;
        switch (link)
        {
            case LinkLayers.Ethernet:
                linkLayer = PacketLayer.Ethernet;
                if (!ReadEthernet(frame, ref at, out etherType, out var snap)) return Fail(out linkLayer);
                Add(layers, ref count, linkLayer);
                if (snap) AddSnap(layers, ref count);
                return true;
            case LinkLayers.LinuxSll:
                linkLayer = PacketLayer.LinuxCooked;
                if (frame.Length < 16) return Fail(out linkLayer);
                (at, etherType) = (16, BinaryPrimitives.ReadUInt16BigEndian(frame[14..]));
                break;
            case LinkLayers.LinuxSll2:
                linkLayer = PacketLayer.LinuxCookedV2;
                if (frame.Length < 20) return Fail(out linkLayer);
                (at, etherType) = (20, BinaryPrimitives.ReadUInt16BigEndian(frame));
                break;
            case LinkLayers.Raw or LinkLayers.RawLegacy or RawOpenBsd or LinkLayers.IPv4 or LinkLayers.IPv6:
                if (frame.Length < 1) return Fail(out linkLayer);
                etherType = link switch
                {
                    LinkLayers.IPv4 => EtherTypeIPv4,
                    LinkLayers.IPv6 => EtherTypeIPv6,
                    _ => VersionEtherType(frame[0]),
                };
                return true;
            case LinkLayers.Null or LinkLayers.Loop:
                // The 4-byte address family is in the capturing host's byte order (Null) or big-endian
                // (Loop), and its IPv6 value differs between BSDs: the IP version nibble is plainer.
                linkLayer = PacketLayer.Loopback;
                if (frame.Length < 5) return Fail(out linkLayer);
                (at, etherType) = (4, VersionEtherType(frame[4]));
                break;
            case LinkLayers.Ppp or LinkLayers.PppHdlc or LinkLayers.PppWithDir:
            {
                // [direction byte] [address 0xFF, control 0x03] protocol (1 byte when odd, else 2).
                linkLayer = PacketLayer.Ppp;
                at = link == LinkLayers.PppWithDir ? 1 : 0;
                if (frame.Length >= at + 2 && frame[at] == 0xFF && frame[at + 1] == 0x03) at += 2;
                if (frame.Length < at + 1) return Fail(out linkLayer);
                int protocol = frame[at];
                if ((protocol & 1) == 0)
                {
                    if (frame.Length < at + 2) return Fail(out linkLayer);
                    protocol = BinaryPrimitives.ReadUInt16BigEndian(frame[at..]);
                    at++;
                }
                at++;
                etherType = protocol switch { 0x21 => EtherTypeIPv4, 0x57 => EtherTypeIPv6, _ => 0 };
                break;
            }
            case LinkLayers.CiscoHdlc:
                linkLayer = PacketLayer.CiscoHdlc;
                if (frame.Length < 4) return Fail(out linkLayer);
                (at, etherType) = (4, BinaryPrimitives.ReadUInt16BigEndian(frame[2..]));
                break;
            case Pktap or LinkLayers.Ppi:
            {
                // A header that names the link type of the frame after it: PKTAP (macOS, little-endian:
                // length, type, link type) and PPI (version, flags, length, link type).
                linkLayer = link == Pktap ? PacketLayer.Pktap : PacketLayer.Ppi;
                if (frame.Length < (link == Pktap ? 12 : 8)) return Fail(out linkLayer);
                int length = link == Pktap ? (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(frame), int.MaxValue) : BinaryPrimitives.ReadUInt16LittleEndian(frame[2..]);
                var innerLink = (LinkLayers)BinaryPrimitives.ReadUInt32LittleEndian(frame[(link == Pktap ? 8 : 4)..]);
                if (length < (link == Pktap ? 12 : 8) || innerLink is Pktap or LinkLayers.Ppi)
                {
                    stopped = PacketDecodeStatus.Malformed;
                    return false;
                }
                if (frame.Length < length) return Fail(out linkLayer);
                Add(layers, ref count, linkLayer);
                // The inner link's offsets are relative to its own start: read it as a frame of its own, then shift.
                var ok = ReadLink(frame[length..], innerLink, layers, ref count, out _, out at, out etherType, out stopped);
                at += length;
                return ok;
            }
            case LinkLayers.Ieee80211RadioTap or LinkLayers.Ieee80211:
                linkLayer = link == LinkLayers.Ieee80211 ? PacketLayer.Ieee80211 : PacketLayer.Radiotap;
                return ReadIeee80211(frame, link == LinkLayers.Ieee80211RadioTap, layers, ref count, out at, out etherType, out stopped);
            default:
                stopped = PacketDecodeStatus.UnknownLinkType;
                return false;
        }
        Add(layers, ref count, linkLayer);
        return true;

        // A link header cut short is not a layer that was read.
        static bool Fail(out PacketLayer layer)
        {
            layer = PacketLayer.None;
            return false;
        }
    }

    /// <summary>An Ethernet header at <paramref name="at"/>, and an 802.2 LLC/SNAP header after it when the type field is a length.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool ReadEthernet(ReadOnlySpan<byte> frame, ref int at, out int etherType, out bool snap)
    {
        etherType = 0;
        snap = false;
        if (frame.Length < at + 14) return false;
        etherType = BinaryPrimitives.ReadUInt16BigEndian(frame[(at + 12)..]);
        at += 14;
        if (etherType <= 1500 && IsSnap(frame, at))
        {
            etherType = BinaryPrimitives.ReadUInt16BigEndian(frame[(at + 6)..]);
            at += 8;
            snap = true;
        }
        return true;
    }

    // LLC with SNAP (DSAP and SSAP 0xAA, UI frame) and an EtherType under the zero OUI (or 00-00-F8, as 802.11 bridges write it).
    private static bool IsSnap(ReadOnlySpan<byte> frame, int at) =>
        frame.Length >= at + 8 && frame[at] == 0xAA && frame[at + 1] == 0xAA && frame[at + 2] == 0x03
        && frame[at + 3] == 0 && frame[at + 4] == 0 && frame[at + 5] is 0 or 0xF8;

    private static void AddSnap(Span<PacketLayer> layers, ref int count)
    {
        Add(layers, ref count, PacketLayer.Llc);
        Add(layers, ref count, PacketLayer.Snap);
    }

    /// <summary>An 802.11 data frame, after a radiotap header when there is one, to the EtherType in its LLC/SNAP header.</summary>
    private static bool ReadIeee80211(ReadOnlySpan<byte> frame, bool radiotap, Span<PacketLayer> layers, ref int count,
        out int at, out int etherType, out PacketDecodeStatus stopped)
    {
        at = etherType = 0;
        stopped = PacketDecodeStatus.Truncated;
        var dataPad = false;
        if (radiotap)
        {
            if (frame.Length < 8) return false;
            int length = BinaryPrimitives.ReadUInt16LittleEndian(frame[2..]);
            if (frame[0] != 0 || length < 8)
            {
                stopped = PacketDecodeStatus.Malformed;
                return false;
            }
            if (frame.Length < length) return false;
            var flags = RadiotapFlags(frame[..length]);
            // Flags: 0x10 the frame ends in its FCS, 0x20 padding after the 802.11 header to a 4-byte boundary.
            if ((flags & 0x10) != 0 && frame.Length >= length + 4) frame = frame[..^4];
            dataPad = (flags & 0x20) != 0;
            at = length;
            Add(layers, ref count, PacketLayer.Radiotap);
        }

        if (frame.Length < at + 2) return false;
        var control = frame[at];
        var flagsByte = frame[at + 1];
        var type = (control >> 2) & 3;
        var subtype = control >> 4;
        if ((control & 3) != 0)
        {
            stopped = PacketDecodeStatus.Malformed;   // protocol version 0 is the only one
            return false;
        }
        if (frame.Length < at + 24) return false;
        Add(layers, ref count, PacketLayer.Ieee80211);
        // Management and control frames, and data frames without a body (null, QoS null), carry no packet.
        if (type != 2 || (subtype & 0x4) != 0)
        {
            stopped = PacketDecodeStatus.UnknownNetworkProtocol;
            at += 24;
            return false;
        }
        var headerLength = 24;
        if ((flagsByte & 0x03) == 0x03) headerLength += 6;   // to and from the distribution system: a fourth address
        var qos = (subtype & 0x8) != 0;
        var amsdu = false;
        if (qos)
        {
            if (frame.Length < at + headerLength + 2) return false;
            amsdu = (frame[at + headerLength] & 0x80) != 0;
            headerLength += 2;
            if ((flagsByte & 0x80) != 0) headerLength += 4;   // HT control
        }
        if (dataPad) headerLength = (headerLength + 3) & ~3;
        at += headerLength;
        if ((flagsByte & 0x40) != 0)
        {
            stopped = PacketDecodeStatus.Encrypted;
            return false;
        }
        // An aggregate MSDU: the first subframe's destination, source and length come before its LLC header.
        if (amsdu) at += 14;
        if (frame.Length < at + 8) return false;
        if (!IsSnap(frame, at))
        {
            stopped = PacketDecodeStatus.UnknownNetworkProtocol;
            return false;
        }
        etherType = BinaryPrimitives.ReadUInt16BigEndian(frame[(at + 6)..]);
        at += 8;
        AddSnap(layers, ref count);
        return true;
    }

    // The radiotap Flags field (present bit 1), after the presence words and the 8-byte-aligned TSFT field; 0 when absent.
    private static byte RadiotapFlags(ReadOnlySpan<byte> header)
    {
        var present = BinaryPrimitives.ReadUInt32LittleEndian(header[4..]);
        var at = 8;
        // Extended presence words follow while bit 31 is set; the header's length bounds them.
        for (var word = present; (word & 0x8000_0000) != 0; at += 4)
        {
            if (header.Length < at + 4) return 0;
            word = BinaryPrimitives.ReadUInt32LittleEndian(header[at..]);
        }
        if ((present & 1) != 0) at = ((at + 7) & ~7) + 8;
        return (present & 2) != 0 && at < header.Length ? header[at] : (byte)0;
    }

    // VLAN tags: 2 bytes of tag control, then the next EtherType; Ethernet, cooked captures and SNAP alike.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private PacketHeaders ReadTags(ReadOnlySpan<byte> frame, ref int at, ref int etherType, Span<PacketLayer> layers, ref int count)
    {
        var tags = 0;
        byte serviceTags = 0;
        while (etherType is 0x8100 or 0x88A8 or 0x9100)
        {
            var stopped = tags == MaxVlanTags ? PacketDecodeStatus.Malformed : frame.Length < at + 4 ? PacketDecodeStatus.Truncated : PacketDecodeStatus.Decoded;
            if (stopped != PacketDecodeStatus.Decoded)
                return (this with { VlanTagCount = tags, ServiceTags = serviceTags }).Stop(stopped, at, frame.Length);
            if (etherType == 0x88A8) serviceTags |= (byte)(1 << tags);
            Add(layers, ref count, etherType == 0x88A8 ? PacketLayer.Dot1AD : PacketLayer.Dot1Q);
            tags++;
            etherType = BinaryPrimitives.ReadUInt16BigEndian(frame[(at + 2)..]);
            at += 4;
        }
        return this with { VlanTagCount = tags, ServiceTags = serviceTags };
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private PacketHeaders ReadArp(ReadOnlySpan<byte> frame)
    {
        var arp = frame[NetworkOffset..];
        if (!ArpMessage.TryRead(arp, out var message)) return Stop(PacketDecodeStatus.Truncated, NetworkOffset, frame.Length);
        return (this with { NetworkLayer = PacketLayer.Arp, NetworkEnd = NetworkOffset + message.Length })
            .Stop(PacketDecodeStatus.Decoded, NetworkOffset + message.Length, NetworkOffset + message.Length);
    }

    /// <summary>
    /// The tunnel this decoded packet's payload is, if any: where the packet inside starts and its EtherType
    /// (0: an Ethernet frame; -1: IP, by its version nibble). None when the payload is no tunnel this reader
    /// knows (or one carrying a protocol it does not decode, which then stays the payload).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private PacketTunnel ReadTunnel(ReadOnlySpan<byte> frame, Span<PacketLayer> layers, ref int count,
        out int inner, out int etherType, out long? id, out PacketDecodeStatus status)
    {
        inner = PayloadOffset;
        etherType = 0;
        id = null;
        status = PacketDecodeStatus.Decoded;
        var payload = frame.Slice(PayloadOffset, PayloadLength);
        switch (IPProtocol)
        {
            case ProtocolIPv4InIP or ProtocolIPv6InIP when TransportLayer == PacketLayer.None:
                etherType = IPProtocol == ProtocolIPv4InIP ? EtherTypeIPv4 : EtherTypeIPv6;
                return PacketTunnel.IPInIP;
            case ProtocolGre when TransportLayer == PacketLayer.None:
                return ReadGre(payload, layers, ref count, ref inner, out etherType, out id, out status);
            case ProtocolUdp when TransportLayer == PacketLayer.Udp && (SourcePort is VxlanPort || DestinationPort is VxlanPort):
                // Flags (I: the VNI is valid), 3 reserved bytes, the 24-bit VNI, a reserved byte; an Ethernet frame follows.
                if (payload.Length < 8) return Truncated(out status);
                Add(layers, ref count, PacketLayer.Vxlan);
                id = (payload[0] & 0x08) != 0 ? (payload[4] << 16) | (payload[5] << 8) | payload[6] : null;
                inner += 8;
                return PacketTunnel.Vxlan;
            case ProtocolUdp when TransportLayer == PacketLayer.Udp && (SourcePort is GenevePort || DestinationPort is GenevePort):
            {
                // Version and options length (4-byte words), flags, protocol type, the 24-bit VNI, reserved; then options.
                if (payload.Length < 8) return Truncated(out status);
                var length = 8 + (payload[0] & 0x3F) * 4;
                if (payload[0] >> 6 != 0) return PacketTunnel.None;
                if (payload.Length < length) return Truncated(out status);
                etherType = BinaryPrimitives.ReadUInt16BigEndian(payload[2..]) switch
                {
                    EtherTypeTransparentBridging => 0,
                    EtherTypeIPv4 => EtherTypeIPv4,
                    EtherTypeIPv6 => EtherTypeIPv6,
                    _ => 1,
                };
                if (etherType == 1) return PacketTunnel.None;
                Add(layers, ref count, PacketLayer.Geneve);
                id = (payload[4] << 16) | (payload[5] << 8) | payload[6];
                inner += length;
                return PacketTunnel.Geneve;
            }
            default:
                return PacketTunnel.None;
        }
    }

    private static PacketTunnel Truncated(out PacketDecodeStatus status)
    {
        status = PacketDecodeStatus.Truncated;
        return PacketTunnel.Vxlan;   // any kind but None: the caller stops with the status
    }

    // GRE version 0 (RFC 2784, with RFC 2890's key and sequence number); version 1 is PPTP's and carries PPP.
    private static PacketTunnel ReadGre(ReadOnlySpan<byte> gre, Span<PacketLayer> layers, ref int count,
        ref int inner, out int etherType, out long? id, out PacketDecodeStatus status)
    {
        etherType = 0;
        id = null;
        status = PacketDecodeStatus.Decoded;
        if (gre.Length < 4) return Truncated(out status);
        var flags = BinaryPrimitives.ReadUInt16BigEndian(gre);
        // Version 0 without source routing (R, long deprecated, puts a routing list here).
        if ((flags & 0x0007) != 0 || (flags & 0x4000) != 0) return PacketTunnel.None;
        var checksum = (flags & 0x8000) != 0;
        var key = (flags & 0x2000) != 0;
        var sequence = (flags & 0x1000) != 0;
        var length = 4 + (checksum ? 4 : 0) + (key ? 4 : 0) + (sequence ? 4 : 0);
        if (gre.Length < length) return Truncated(out status);
        if (key) id = BinaryPrimitives.ReadUInt32BigEndian(gre[(checksum ? 8 : 4)..]);
        var protocol = BinaryPrimitives.ReadUInt16BigEndian(gre[2..]);
        var kind = PacketTunnel.Gre;
        switch (protocol)
        {
            case EtherTypeIPv4 or EtherTypeIPv6:
                etherType = protocol;
                break;
            case EtherTypeTransparentBridging:
                break;
            case EtherTypeErspan2 when !sequence:
                // ERSPAN type I: no sequence number and no header of its own; the mirrored frame follows.
                kind = PacketTunnel.Erspan;
                break;
            case EtherTypeErspan2:
                // Type II: version 1, VLAN, CoS, encapsulation, truncated, the 10-bit session; reserved and index.
                if (gre.Length < length + 8) return Truncated(out status);
                if (gre[length] >> 4 != 1) return PacketTunnel.None;
                id = BinaryPrimitives.ReadUInt16BigEndian(gre[(length + 2)..]) & 0x3FF;
                length += 8;
                kind = PacketTunnel.Erspan;
                break;
            case EtherTypeErspan3:
            {
                // Type III: version 2 and the session as in type II, a timestamp, then SGT, P, the frame type (0 Ethernet,
                // 2 IP), hardware id, direction, granularity and O (an 8-byte platform subheader follows).
                if (gre.Length < length + 12) return Truncated(out status);
                if (gre[length] >> 4 != 2) return PacketTunnel.None;
                id = BinaryPrimitives.ReadUInt16BigEndian(gre[(length + 2)..]) & 0x3FF;
                var frameType = (gre[length + 10] >> 2) & 0x1F;
                var platform = (gre[length + 11] & 0x01) != 0;
                length += 12 + (platform ? 8 : 0);
                if (gre.Length < length) return Truncated(out status);
                if (frameType is not (0 or 2)) return PacketTunnel.None;
                etherType = frameType == 2 ? -1 : 0;
                kind = PacketTunnel.Erspan;
                break;
            }
            default:
                return PacketTunnel.None;
        }
        Add(layers, ref count, PacketLayer.Gre);
        if (kind == PacketTunnel.Erspan) Add(layers, ref count, PacketLayer.Erspan);
        inner += length;
        return kind;
    }

    // A header that claims more than the frame holds leaves the payload empty, at the end, never past it.
    private PacketHeaders Stop(PacketDecodeStatus status, int payloadOffset, int payloadEnd) =>
        this with { Status = status, PayloadOffset = Math.Min(payloadOffset, payloadEnd), PayloadLength = Math.Max(0, payloadEnd - payloadOffset) };

    /// <summary>The bytes after the last header read: the transport's payload, a later fragment's data, or what could not be read.</summary>
    public ReadOnlySpan<byte> Payload(ReadOnlySpan<byte> frame) => frame.Slice(PayloadOffset, PayloadLength);

    /// <summary>The ARP message, when <see cref="NetworkLayer"/> is Arp (else an empty one).</summary>
    public ArpMessage Arp(ReadOnlySpan<byte> frame) =>
        NetworkLayer == PacketLayer.Arp && ArpMessage.TryRead(frame[NetworkOffset..NetworkEnd], out var arp) ? arp : default;

    /// <summary>The IP source address, or the ARP sender's protocol address; null when neither was read.</summary>
    public IPAddress? SourceAddress(ReadOnlySpan<byte> frame) => Address(frame, source: true);

    /// <summary>The IP destination address, or the ARP target's protocol address; null when neither was read.</summary>
    public IPAddress? DestinationAddress(ReadOnlySpan<byte> frame) => Address(frame, source: false);

    /// <summary>The source address of the outermost IP header (the tunnel's sending endpoint); null when not tunnelled.</summary>
    public IPAddress? OuterSourceAddress(ReadOnlySpan<byte> frame) => IPAddressAt(frame, OuterNetworkLayer, OuterNetworkOffset, source: true);

    /// <summary>The destination address of the outermost IP header (the tunnel's receiving endpoint); null when not tunnelled.</summary>
    public IPAddress? OuterDestinationAddress(ReadOnlySpan<byte> frame) => IPAddressAt(frame, OuterNetworkLayer, OuterNetworkOffset, source: false);

    /// <summary>The IP source address's bytes (4 or 16), or empty when the network layer is not IP: for chefs that key tables without allocating.</summary>
    public ReadOnlySpan<byte> SourceAddressBytes(ReadOnlySpan<byte> frame) => AddressBytes(frame, NetworkLayer, NetworkOffset, source: true);

    /// <summary>The IP destination address's bytes (4 or 16), or empty when the network layer is not IP.</summary>
    public ReadOnlySpan<byte> DestinationAddressBytes(ReadOnlySpan<byte> frame) => AddressBytes(frame, NetworkLayer, NetworkOffset, source: false);

    private static ReadOnlySpan<byte> AddressBytes(ReadOnlySpan<byte> frame, PacketLayer layer, int offset, bool source) => layer switch
    {
        PacketLayer.IPv4 => frame.Slice(offset + (source ? 12 : 16), 4),
        PacketLayer.IPv6 => frame.Slice(offset + (source ? 8 : 24), 16),
        _ => default,
    };

    private static IPAddress? IPAddressAt(ReadOnlySpan<byte> frame, PacketLayer layer, int offset, bool source) =>
        layer is PacketLayer.IPv4 or PacketLayer.IPv6 ? new IPAddress(AddressBytes(frame, layer, offset, source)) : null;

    private IPAddress? Address(ReadOnlySpan<byte> frame, bool source)
    {
        switch (NetworkLayer)
        {
            case PacketLayer.IPv4 or PacketLayer.IPv6: return IPAddressAt(frame, NetworkLayer, NetworkOffset, source);
            case PacketLayer.Arp:
                var arp = Arp(frame);
                var address = source ? arp.SenderProtocolAddress : arp.TargetProtocolAddress;
                return address.Length is 4 or 16 ? new IPAddress(address) : null;
            default: return null;
        }
    }

    /// <summary>
    /// Writes the layers read, outermost first, into <paramref name="layers"/> (at least <see cref="MaxLayers"/>
    /// long): the link headers, tags, network and transport headers and tunnel headers of every level; the last
    /// is DNS (by <see cref="DnsMessage.FindMessage(ReadOnlySpan{byte}, in PacketHeaders)"/>) or Raw when bytes
    /// follow the last header. False, writing nothing, when the frame holds a protocol this reader does not
    /// decode (an unknown link type or EtherType, an IP protocol such as ESP), which PacketDotNet may know by name.
    /// </summary>
    public bool TryCopyLayers(ReadOnlySpan<byte> frame, Span<PacketLayer> layers, out int count)
    {
        count = 0;
        // The innermost level decides: a tunnel entered is decoded, an IP protocol left unread (ESP, GRE carrying MPLS) is not.
        if (Status is PacketDecodeStatus.UnknownLinkType or PacketDecodeStatus.UnknownNetworkProtocol or PacketDecodeStatus.Encrypted
            || (Status == PacketDecodeStatus.Decoded && IPProtocol is not null && TransportLayer == PacketLayer.None && !IsLaterFragment))
            return false;
        if (layers.Length < MaxLayers) throw new ArgumentException($"Layers need a buffer of {MaxLayers}.", nameof(layers));
        if (PlainLayers)
        {
            if (LinkLayer != PacketLayer.None) layers[count++] = LinkLayer;
            for (var tag = 0; tag < VlanTagCount; tag++)
                layers[count++] = (ServiceTags & (1 << tag)) != 0 ? PacketLayer.Dot1AD : PacketLayer.Dot1Q;
            if (NetworkLayer != PacketLayer.None) layers[count++] = NetworkLayer;
            if (TransportLayer != PacketLayer.None) layers[count++] = TransportLayer;
        }
        else Walk(frame, LinkType, layers, ref count);
        if (PayloadLength > 0 && count < layers.Length)
            layers[count++] = DnsMessage.IsWellFormed(DnsMessage.FindMessage(frame, this)) ? PacketLayer.Dns : PacketLayer.Raw;
        return true;
    }
}
