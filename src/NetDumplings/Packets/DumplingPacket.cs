using System.Net;
using System.Runtime.InteropServices;
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
    private PacketHeaders? _headers;

    [Flags]
    private enum Layers
    {
        Ethernet = 1, IP = 2, Tcp = 4, Udp = 8, Arp = 16, Icmp = 32, IcmpV6 = 64, Dns = 128,
    }

    /// <summary>Wraps a kitchen's packet without copying its bytes and without touching its parsed packet.</summary>
    public DumplingPacket(ChefPacket packet)
    {
        ArgumentNullException.ThrowIfNull(packet);
        var data = MemoryMarshal.TryGetArray(packet.Data, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : packet.Data.ToArray();
        _packet = new ChefPacket(data, packet.Timestamp, packet.LinkType, packet.OriginalLength, packet.Source);
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

    // Addresses, ports, protocol and DNS come from the header bytes when the frame is a kind PacketHeaders
    // knows (nearly all), which is several times cheaper than PacketDotNet's layer objects.
    private PacketHeaders Headers => _headers ??= PacketHeaders.Read(_packet.Data.Span, _packet.LinkType);

    /// <summary>The DNS message in a UDP or TCP payload on port 53 or 5353 (mDNS), or null.</summary>
    public DnsMessage? Dns
    {
        get
        {
            if ((_read & Layers.Dns) != 0) return _dns;
            _read |= Layers.Dns;
            _dns = ParseDns();
            return _dns;
        }
    }

    /// <summary>The names asked for in the DNS message's questions (empty when there is no DNS).</summary>
    public IReadOnlyList<DnsMessageQuestion> DnsQuestions => Dns?.Questions ?? [];

    /// <summary>The IP source address, or the ARP sender's protocol address.</summary>
    public IPAddress? SourceAddress => Headers.Known ? Headers.SourceAddress(_packet.Data.Span) : IP?.SourceAddress ?? Arp?.SenderProtocolAddress;

    /// <summary>The IP destination address, or the ARP target's protocol address.</summary>
    public IPAddress? DestinationAddress => Headers.Known ? Headers.DestinationAddress(_packet.Data.Span) : IP?.DestinationAddress ?? Arp?.TargetProtocolAddress;

    /// <summary>The TCP or UDP source port, or null.</summary>
    public int? SourcePort => Headers.Known ? Headers.Port(_packet.Data.Span, source: true) : Tcp?.SourcePort ?? (int?)Udp?.SourcePort;

    /// <summary>The TCP or UDP destination port, or null.</summary>
    public int? DestinationPort => Headers.Known ? Headers.Port(_packet.Data.Span, source: false) : Tcp?.DestinationPort ?? (int?)Udp?.DestinationPort;

    /// <summary>
    /// The innermost protocol this object names: TCP, UDP, ICMP, ICMPv6, ARP, else the IP protocol
    /// number's name (Gre, Esp, ...), else the Ethernet type, else the link type.
    /// </summary>
    public string Protocol => Headers.ProtocolName ?? SlowProtocol;

    private string SlowProtocol =>
        Tcp is not null ? "TCP" :
        Udp is not null ? "UDP" :
        Icmp is not null ? "ICMP" :
        IcmpV6 is not null ? "ICMPv6" :
        Arp is not null ? "ARP" :
        IP is { } ip ? ip.Protocol.ToString() :
        Ethernet is { } ethernet ? ethernet.Type.ToString() :
        LinkType.ToString();

    /// <summary>
    /// The layers present, named as the original netdumplings' dashboards expect (Ethernet, IP for IPv4,
    /// IPv6, TCP, UDP, ARP, ICMP, ICMPv6, DNS, and Raw for payload bytes no parser claimed).
    /// </summary>
    public string[] LayerNames
    {
        get
        {
            var names = new List<string>(5);
            var headers = Headers;
            if (headers.Known)
            {
                if (headers.HasEthernet) names.Add("Ethernet");
                names.Add(headers.IsArp ? "ARP" : headers.IsIPv4 ? "IP" : "IPv6");
                if (headers.ProtocolName is { } transport and not "ARP") names.Add(transport);
                if (Dns is not null) names.Add("DNS");
                else if (headers.HasTransportPayload(_packet.Data.Span)) names.Add("Raw");
                return [.. names];
            }
            if (Ethernet is not null) names.Add("Ethernet");
            if (IP is IPv4Packet) names.Add("IP");
            else if (IP is IPv6Packet) names.Add("IPv6");
            if (Arp is not null) names.Add("ARP");
            if (Icmp is not null) names.Add("ICMP");
            if (IcmpV6 is not null) names.Add("ICMPv6");
            if (Tcp is not null) names.Add("TCP");
            if (Udp is not null) names.Add("UDP");
            if (Dns is not null) names.Add("DNS");
            else if (((Packet?)Tcp ?? Udp)?.PayloadData is { Length: > 0 }) names.Add("Raw");
            return [.. names];
        }
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
        try
        {
            field = _packet.Packet.Extract<T>();
        }
        catch (Exception e) when (e is IndexOutOfRangeException or ArgumentException or InvalidOperationException)
        {
            // A truncated or malformed packet has no such layer, rather than a script-stopping error.
            field = null;
        }
        return field;
    }

    private DnsMessage? ParseDns()
    {
        var headers = Headers;
        if (headers.Known)
        {
            var frame = _packet.Data.Span;
            if (headers.Port(frame, source: true) is not { } sourcePort || headers.Port(frame, source: false) is not { } destinationPort
                || !IsDnsPort(sourcePort, destinationPort))
                return null;
            var message = headers.TransportPayload(frame);
            // DNS over TCP prefixes each message with its 2-byte length.
            if (headers.TransportProtocol == PacketHeaders.Tcp) message = message.Length > 2 ? message[2..] : default;
            return DnsMessage.TryParse(message, out var parsed) ? parsed : null;
        }
        if (Udp is { } udp && IsDnsPort(udp.SourcePort, udp.DestinationPort))
            return DnsMessage.TryParse(udp.PayloadData ?? [], out var dns) ? dns : null;
        if (Tcp is { } tcp && IsDnsPort(tcp.SourcePort, tcp.DestinationPort) && tcp.PayloadData is { Length: > 2 } data)
            // DNS over TCP prefixes each message with its 2-byte length.
            return DnsMessage.TryParse(data.AsSpan(2), out var dns) ? dns : null;
        return null;
    }

    private static bool IsDnsPort(int source, int destination) =>
        source is 53 or 5353 || destination is 53 or 5353;
}
