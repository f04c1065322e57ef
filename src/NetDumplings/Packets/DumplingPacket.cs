using System.Net;
using PacketDotNet;

namespace NetDumplings.Packets;

/// <summary>
/// A packet as a script sees it: capture time, length, addresses, ports, protocol and the common layers
/// as properties that are computed on first read, plus the PacketDotNet packet for anything else.
/// It shares the captured bytes with the kitchen's <see cref="ChefPacket"/> but parses them itself,
/// so it may be handed to another thread (a scriptblock chef's runspace) and read there: PacketDotNet
/// parses lazily and is not thread-safe, so the kitchen's parsed packet must never cross threads.
/// Read it on one thread at a time.
/// </summary>
public sealed class DumplingPacket
{
    private readonly ChefPacket _packet;
    private Layers _read;
    private EthernetPacket? _ethernet;
    private IPPacket? _ip;
    private TcpPacket? _tcp;
    private UdpPacket? _udp;
    private ArpPacket? _arp;
    private IcmpV4Packet? _icmp;
    private IcmpV6Packet? _icmpV6;
    private DnsMessage? _dns;
    private byte[]? _bytes;

    [Flags]
    private enum Layers
    {
        Ethernet = 1, IP = 2, Tcp = 4, Udp = 8, Arp = 16, Icmp = 32, IcmpV6 = 64, Dns = 128,
    }

    /// <summary>Wraps a kitchen's packet without copying its bytes and without touching its parsed packet.</summary>
    public DumplingPacket(ChefPacket packet)
    {
        ArgumentNullException.ThrowIfNull(packet);
        _packet = packet.CopyFor(packet.DataArray());
    }

    /// <summary>When the packet was captured.</summary>
    public DateTimeOffset Time => _packet.Timestamp;

    /// <summary>The capture time in seconds since the Unix epoch (what dumpling payloads carry).</summary>
    public double EpochSeconds => _packet.EpochSeconds;

    /// <summary>The packet's length on the wire.</summary>
    public int Length => _packet.OriginalLength;

    /// <summary>How many bytes were captured (less than <see cref="Length"/> when the snap length cut it).</summary>
    public int CapturedLength => _packet.Data.Length;

    /// <summary>The interface name, or the capture file's path.</summary>
    public string? Source => _packet.Source;

    public LinkLayers LinkType => _packet.LinkType;

    /// <summary>A copy of the captured bytes.</summary>
    public byte[] Bytes => _bytes ??= _packet.Data.ToArray();

    /// <summary>Where the headers are, and how far they could be read (<see cref="PacketHeaders.Status"/>).</summary>
    public PacketHeaders Headers => _packet.Headers;

    /// <summary>The PacketDotNet packet, parsed on first read, for anything the properties here do not cover.</summary>
    public Packet Packet => _packet.Packet;

    public EthernetPacket? Ethernet => Read(Layers.Ethernet, ref _ethernet);
    public IPPacket? IP => Read(Layers.IP, ref _ip);
    public IPv4Packet? IPv4 => IP as IPv4Packet;
    public IPv6Packet? IPv6 => IP as IPv6Packet;
    public TcpPacket? Tcp => Read(Layers.Tcp, ref _tcp);
    public UdpPacket? Udp => Read(Layers.Udp, ref _udp);
    public ArpPacket? Arp => Read(Layers.Arp, ref _arp);
    public IcmpV4Packet? Icmp => Read(Layers.Icmp, ref _icmp);
    public IcmpV6Packet? IcmpV6 => Read(Layers.IcmpV6, ref _icmpV6);

    // Addresses, ports, protocol, layers and DNS come from the header reader whenever it knows the frame's
    // kind (nearly always), which is several times cheaper than PacketDotNet's layer objects; its answer
    // on a truncated or malformed frame stands. PacketDotNet answers only for kinds the reader lacks.
    private bool ReaderKnowsFrame => Headers.Status is not (PacketDecodeStatus.UnknownLinkType or PacketDecodeStatus.UnknownNetworkProtocol);

    /// <summary>The DNS message in a UDP payload on port 53 or 5353 (mDNS), or a TCP payload on port 53, or null.</summary>
    public DnsMessage? Dns
    {
        get
        {
            if ((_read & Layers.Dns) != 0) return _dns;
            _read |= Layers.Dns;
            var message = ReaderKnowsFrame
                ? DnsMessage.FindMessage(_packet.Data.Span, Headers)
                : _packet.FromParse(static p => DnsMessage.FindMessage(p.Extract<TransportPacket>()).ToArray(), []);
            _dns = DnsMessage.TryParse(message, out var parsed) ? parsed : null;
            return _dns;
        }
    }

    /// <summary>The names asked for in the DNS message's questions (empty when there is no DNS).</summary>
    public IReadOnlyList<DnsMessageQuestion> DnsQuestions => Dns?.Questions ?? [];

    /// <summary>The IP source address, or the ARP sender's protocol address.</summary>
    public IPAddress? SourceAddress => ReaderKnowsFrame
        ? Headers.SourceAddress(_packet.Data.Span)
        : _packet.FromParse(static p => p.Extract<IPPacket>()?.SourceAddress ?? p.Extract<ArpPacket>()?.SenderProtocolAddress, null);

    /// <summary>The IP destination address, or the ARP target's protocol address.</summary>
    public IPAddress? DestinationAddress => ReaderKnowsFrame
        ? Headers.DestinationAddress(_packet.Data.Span)
        : _packet.FromParse(static p => p.Extract<IPPacket>()?.DestinationAddress ?? p.Extract<ArpPacket>()?.TargetProtocolAddress, null);

    /// <summary>The TCP or UDP source port, or null.</summary>
    public int? SourcePort => ReaderKnowsFrame
        ? Headers.SourcePort
        : _packet.FromParse(static p => p.Extract<TcpPacket>()?.SourcePort ?? (int?)p.Extract<UdpPacket>()?.SourcePort, null);

    /// <summary>The TCP or UDP destination port, or null.</summary>
    public int? DestinationPort => ReaderKnowsFrame
        ? Headers.DestinationPort
        : _packet.FromParse(static p => p.Extract<TcpPacket>()?.DestinationPort ?? (int?)p.Extract<UdpPacket>()?.DestinationPort, null);

    /// <summary>
    /// The innermost protocol this object names: TCP, UDP, ICMP, ICMPv6, ARP, else the IP protocol
    /// number's name (Gre, Esp, ...), else the Ethernet type, else the link type.
    /// </summary>
    public string Protocol => Headers.Status == PacketDecodeStatus.UnknownLinkType
        ? _packet.FromParse(static p => ProtocolOf(p), LinkType.ToString())
        : HeaderProtocol;

    // Named from the IP protocol number, so a later fragment of a UDP datagram is still UDP.
    private string HeaderProtocol => Headers switch
    {
        { NetworkLayer: PacketLayer.Arp } => "ARP",
        { IPProtocol: PacketHeaders.ProtocolTcp } => "TCP",
        { IPProtocol: PacketHeaders.ProtocolUdp } => "UDP",
        { IPProtocol: PacketHeaders.ProtocolIcmp, NetworkLayer: PacketLayer.IPv4 } => "ICMP",
        { IPProtocol: PacketHeaders.ProtocolIcmpV6 } => "ICMPv6",
        { IPProtocol: { } protocol } => ((ProtocolType)protocol).ToString(),
        { EtherType: not 0 and var etherType } => ((EthernetType)etherType).ToString(),
        _ => LinkType.ToString(),
    };

    private static string ProtocolOf(Packet packet) =>
        packet.Extract<TcpPacket>() is not null ? "TCP" :
        packet.Extract<UdpPacket>() is not null ? "UDP" :
        packet.Extract<IcmpV4Packet>() is not null ? "ICMP" :
        packet.Extract<IcmpV6Packet>() is not null ? "ICMPv6" :
        packet.Extract<ArpPacket>() is not null ? "ARP" :
        packet.Extract<IPPacket>() is { } ip ? ip.Protocol.ToString() :
        packet.Extract<EthernetPacket>() is { } ethernet ? ethernet.Type.ToString() :
        packet.GetType().Name;

    /// <summary>
    /// The layers present, named as the original netdumplings' dashboards expect and as PacketCountChef
    /// counts them (Ethernet, cooked linux, Dot1Q, IP for IPv4, IPv6, TCP, UDP, ARP, ICMP, ICMPv6, DNS,
    /// and Raw for bytes no parser claimed).
    /// </summary>
    public string[] LayerNames
    {
        get
        {
            Span<PacketLayer> layers = stackalloc PacketLayer[PacketHeaders.MaxLayers];
            if (!Headers.TryCopyLayers(_packet.Data.Span, layers, out var count))
                return _packet.FromParse(static p => LayerNamesOf(p), []);
            var names = new string[count];
            for (var i = 0; i < count; i++) names[i] = PacketLayerNames.Of(layers[i]);
            return names;
        }
    }

    private static string[] LayerNamesOf(Packet packet)
    {
        var found = new List<string>(5);
        if (packet.Extract<EthernetPacket>() is not null) found.Add(PacketLayerNames.Of(PacketLayer.Ethernet));
        var ip = packet.Extract<IPPacket>();
        if (ip is IPv4Packet) found.Add(PacketLayerNames.Of(PacketLayer.IPv4));
        else if (ip is IPv6Packet) found.Add(PacketLayerNames.Of(PacketLayer.IPv6));
        if (packet.Extract<ArpPacket>() is not null) found.Add(PacketLayerNames.Of(PacketLayer.Arp));
        if (packet.Extract<IcmpV4Packet>() is not null) found.Add(PacketLayerNames.Of(PacketLayer.Icmp));
        if (packet.Extract<IcmpV6Packet>() is not null) found.Add(PacketLayerNames.Of(PacketLayer.IcmpV6));
        var transport = packet.Extract<TransportPacket>();
        if (transport is TcpPacket) found.Add(PacketLayerNames.Of(PacketLayer.Tcp));
        if (transport is UdpPacket) found.Add(PacketLayerNames.Of(PacketLayer.Udp));
        if (DnsMessage.IsWellFormed(DnsMessage.FindMessage(transport))) found.Add(PacketLayerNames.Of(PacketLayer.Dns));
        else if (transport?.PayloadData is { Length: > 0 }) found.Add(PacketLayerNames.Of(PacketLayer.Raw));
        return [.. found];
    }

    public override string ToString()
    {
        var source = SourcePort is { } sp ? $"{SourceAddress}:{sp}" : SourceAddress?.ToString();
        var destination = DestinationPort is { } dp ? $"{DestinationAddress}:{dp}" : DestinationAddress?.ToString();
        var route = source is null ? "" : $" {source} -> {destination}";
        return $"{Time.UtcDateTime:HH:mm:ss.ffffff} {Protocol}{route} ({Length} bytes)";
    }

    private T? Read<T>(Layers layer, ref T? field) where T : Packet
    {
        if ((_read & layer) != 0) return field;
        _read |= layer;
        field = _packet.Extract<T>();
        return field;
    }
}
