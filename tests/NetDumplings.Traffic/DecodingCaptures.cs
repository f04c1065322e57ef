using System.Buffers.Binary;
using System.Text;
using PacketDotNet;
using static NetDumplings.Traffic.FrameBuilder;

namespace NetDumplings.Traffic;

/// <summary>
/// Captures for the decoding tests: one scenario of ordinary traffic (ARP, DNS over UDP and TCP with answers,
/// TLS with SNI and a ClientHello split over two segments, plain HTTP, a refused connection, UDP, ICMP, a DHCP
/// exchange, IPv6) as Ethernet frames, wrapped for every link type, VLAN stack and tunnel the header reader
/// knows; and frames that are truncated or malformed on purpose. tshark reads the same files in the tests.
/// </summary>
public static class DecodingCaptures
{
    /// <summary>One way to carry the scenario: a link type and how a frame is wrapped (null: this way cannot carry it, e.g. ARP over raw IP).</summary>
    public sealed record Variant(string Name, LinkLayers LinkType, Func<byte[], byte[]?> Wrap, bool Tunnelled = false);

    public static readonly DateTimeOffset Start = new(2026, 2, 1, 9, 0, 0, TimeSpan.Zero);

    private static readonly Dictionary<string, string> Macs = new()
    {
        ["10.1.0.1"] = "02:00:00:00:01:01", ["10.1.0.10"] = "02:00:00:00:01:10", ["10.1.0.53"] = "02:00:00:00:01:53",
        ["10.1.0.20"] = "02:00:00:00:01:20", ["10.1.0.21"] = "02:00:00:00:01:21", ["10.1.0.22"] = "02:00:00:00:01:22",
        ["10.1.0.23"] = "02:00:00:00:01:23", ["fd00::10"] = "02:00:00:00:01:10", ["fd00::53"] = "02:00:00:00:01:53", ["fd00::20"] = "02:00:00:00:01:20",
    };

    private static byte[] Frame(string source, string destination, byte protocol, byte[] transport) =>
        EthernetIP(IP(source, destination, protocol, transport), Macs.GetValueOrDefault(destination, "ff:ff:ff:ff:ff:ff"), Macs.GetValueOrDefault(source, "02:00:00:00:01:99"));

    private static byte[] UdpFrame(string source, int sourcePort, string destination, int destinationPort, byte[] payload) =>
        Frame(source, destination, 17, Udp(sourcePort, destinationPort, payload));

    public static readonly TlsHello ChromeLikeHello = new("tls.example.com", ["h2", "http/1.1"], [0x0304, 0x0303],
        [0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035],
        [29, 23, 24], [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601]);

    /// <summary>The scenario as Ethernet frames with their capture times.</summary>
    public static List<(byte[] Frame, DateTimeOffset Time)> Scenario()
    {
        var frames = new List<(byte[], DateTimeOffset)>();
        var time = Start;
        void At(double secondsLater, byte[] frame)
        {
            time = time.AddTicks((long)(secondsLater * TimeSpan.TicksPerSecond));
            frames.Add((frame, time));
        }

        // ARP: who has the router, its reply, and a gratuitous announcement.
        At(0, Ethernet("ff:ff:ff:ff:ff:ff", Macs["10.1.0.10"], EtherArp, Arp(1, Macs["10.1.0.10"], "10.1.0.10", "00:00:00:00:00:00", "10.1.0.1")));
        At(0.0004, Ethernet(Macs["10.1.0.10"], Macs["10.1.0.1"], EtherArp, Arp(2, Macs["10.1.0.1"], "10.1.0.1", Macs["10.1.0.10"], "10.1.0.10")));
        At(0.01, Ethernet("ff:ff:ff:ff:ff:ff", Macs["10.1.0.20"], EtherArp, Arp(2, Macs["10.1.0.20"], "10.1.0.20", "ff:ff:ff:ff:ff:ff", "10.1.0.20")));

        // DNS: a CNAME chain, AAAA over IPv6, a name that does not exist, and a query over TCP.
        At(0.01, UdpFrame("10.1.0.10", 40001, "10.1.0.53", 53, Dns(0x1a2b, false, "www.example.com", 1)));
        At(0.0125, UdpFrame("10.1.0.53", 53, "10.1.0.10", 40001, Dns(0x1a2b, true, "www.example.com", 1, 0,
            new DnsRecord("www.example.com", 5, 300, "edge.example.net"), new DnsRecord("edge.example.net", 1, 60, "93.184.216.34"),
            new DnsRecord("edge.example.net", 1, 60, "93.184.216.35"))));
        At(0.002, UdpFrame("fd00::10", 40002, "fd00::53", 53, Dns(0x2b3c, false, "ipv6.example.org", 28)));
        At(0.0081, UdpFrame("fd00::53", 53, "fd00::10", 40002, Dns(0x2b3c, true, "ipv6.example.org", 28, 0,
            new DnsRecord("ipv6.example.org", 28, 120, "2001:db8::1"))));
        At(0.003, UdpFrame("10.1.0.10", 40003, "10.1.0.53", 53, Dns(0x3c4d, false, "nope.invalid", 1)));
        At(0.0205, UdpFrame("10.1.0.53", 53, "10.1.0.10", 40003, Dns(0x3c4d, true, "nope.invalid", 1, 3)));
        var tcpQuery = Dns(0x4d5e, false, "tcp.example.com", 16);
        var tcpAnswer = Dns(0x4d5e, true, "tcp.example.com", 1, 0, new DnsRecord("tcp.example.com", 1, 30, "192.0.2.80"));
        TcpConversation(frames, ref time, "10.1.0.10", 50100, "10.1.0.53", 53,
            [(true, [(byte)(tcpQuery.Length >> 8), (byte)tcpQuery.Length, .. tcpQuery]), (false, [(byte)(tcpAnswer.Length >> 8), (byte)tcpAnswer.Length, .. tcpAnswer])],
            close: true);

        // TLS: a browser's hello, then one too big for a segment (split in two), then an IPv6 one without SNI or ALPN.
        TcpConversation(frames, ref time, "10.1.0.10", 50000, "10.1.0.20", 443,
            [(true, ClientHello(ChromeLikeHello)), (false, ApplicationData(1000)), (true, ApplicationData(200))], close: true);
        var big = ClientHello(ChromeLikeHello with { ServerName = "big.example.com", Padding = 1500 });
        TcpConversation(frames, ref time, "10.1.0.10", 50001, "10.1.0.21", 443,
            [(true, big[..1200]), (true, big[1200..]), (false, ApplicationData(300))], close: false, resetByClient: true);
        TcpConversation(frames, ref time, "fd00::10", 50010, "fd00::20", 443,
            [(true, ClientHello(new TlsHello(null, [], [], [0xc02f, 0xc030, 0x009c], [23], [0x0401, 0x0501], Grease: false)))],
            close: false, resetByServer: true);

        // Plain HTTP, and a connection refused.
        TcpConversation(frames, ref time, "10.1.0.10", 50002, "10.1.0.22", 80,
            [(true, HttpGet("www.plain.example", "/index.html", "curl/8.5.0")), (false, Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))],
            close: true);
        At(0.01, Frame("10.1.0.10", "10.1.0.23", 6, Tcp(50003, 8080, 1000, 0, Syn, [])));
        At(0.0003, Frame("10.1.0.23", "10.1.0.10", 6, Tcp(8080, 50003, 0, 1001, Rst | Ack, [])));

        // UDP both ways, and ICMP echo.
        At(0.01, UdpFrame("10.1.0.10", 40123, "10.1.0.1", 123, new byte[48]));
        At(0.0011, UdpFrame("10.1.0.1", 123, "10.1.0.10", 40123, new byte[48]));
        At(0.01, Frame("10.1.0.10", "10.1.0.1", 1, Icmp(8, 0, [0, 1, 0, 1, .. new byte[32]])));
        At(0.0007, Frame("10.1.0.1", "10.1.0.10", 1, Icmp(0, 0, [0, 1, 0, 1, .. new byte[32]])));

        // DHCP: discover, offer, request, acknowledgement.
        const string laptop = "02:00:00:00:00:99";
        byte[] parameters = [1, 3, 6, 15, 31, 33, 43, 44, 46, 47, 119, 121, 249, 252];
        At(0.05, Ethernet("ff:ff:ff:ff:ff:ff", laptop, EtherIPv4, IPv4("0.0.0.0", "255.255.255.255", 17, Udp(68, 67,
            Dhcp(false, 0xdeadbeef, laptop, "0.0.0.0", new DhcpOptions(1, "laptop-7", "MSFT 5.0", "10.1.0.99", ParameterRequestList: parameters))))));
        At(0.002, Ethernet("ff:ff:ff:ff:ff:ff", Macs["10.1.0.1"], EtherIPv4, IPv4("10.1.0.1", "255.255.255.255", 17, Udp(67, 68,
            Dhcp(true, 0xdeadbeef, laptop, "10.1.0.99", new DhcpOptions(2, ServerId: "10.1.0.1", LeaseTime: 86400))))));
        At(0.002, Ethernet("ff:ff:ff:ff:ff:ff", laptop, EtherIPv4, IPv4("0.0.0.0", "255.255.255.255", 17, Udp(68, 67,
            Dhcp(false, 0xdeadbeef, laptop, "0.0.0.0", new DhcpOptions(3, "laptop-7", "MSFT 5.0", "10.1.0.99", "10.1.0.1",
                ClientFqdn: "laptop-7.corp.example", ParameterRequestList: parameters))))));
        At(0.002, Ethernet("ff:ff:ff:ff:ff:ff", Macs["10.1.0.1"], EtherIPv4, IPv4("10.1.0.1", "255.255.255.255", 17, Udp(67, 68,
            Dhcp(true, 0xdeadbeef, laptop, "10.1.0.99", new DhcpOptions(5, ServerId: "10.1.0.1", LeaseTime: 86400))))));
        return frames;
    }

    private static byte[] ApplicationData(int length) =>
        [0x17, 3, 3, (byte)(length >> 8), (byte)length, .. Enumerable.Range(0, length).Select(i => (byte)(i * 31 + 7))];

    // A TCP connection: handshake, the segments (from the client when true), each acknowledged, then FIN both ways or a reset.
    private static void TcpConversation(List<(byte[], DateTimeOffset)> frames, ref DateTimeOffset time, string client, int clientPort,
        string server, int serverPort, (bool FromClient, byte[] Data)[] segments, bool close, bool resetByClient = false, bool resetByServer = false)
    {
        uint c = 1000, s = 5000;
        var t = time;
        void Send(bool fromClient, byte flags, byte[] data, double later)
        {
            t = t.AddTicks((long)(later * TimeSpan.TicksPerSecond));
            var segment = fromClient ? Tcp(clientPort, serverPort, c, flags.HasAck() ? s : 0, flags, data) : Tcp(serverPort, clientPort, s, c, flags, data);
            frames.Add((fromClient ? Frame(client, server, 6, segment) : Frame(server, client, 6, segment), t));
            var advance = (uint)data.Length + ((flags & (Syn | Fin)) != 0 ? 1u : 0u);
            if (fromClient) c += advance; else s += advance;
        }
        Send(true, Syn, [], 0.01);
        Send(false, Syn | Ack, [], 0.0009);
        Send(true, Ack, [], 0.0001);
        foreach (var (fromClient, data) in segments)
        {
            Send(fromClient, Psh | Ack, data, 0.0002);
            Send(!fromClient, Ack, [], 0.0006);
        }
        if (close)
        {
            Send(true, Fin | Ack, [], 0.001);
            Send(false, Fin | Ack, [], 0.0005);
            Send(true, Ack, [], 0.0001);
        }
        else if (resetByClient) Send(true, Rst | Ack, [], 0.001);
        else if (resetByServer) Send(false, Rst | Ack, [], 0.001);
        time = t;
    }

    private static bool HasAck(this byte flags) => (flags & Ack) != 0;

    /// <summary>
    /// Frames no chef may throw on, with what the header reader calls each (Decoded ones are well-formed headers
    /// around a payload that is not what its port says: garbage DNS, a ClientHello whose lengths run past its end).
    /// </summary>
    public static List<(string Name, byte[] Frame, string Status)> Malformed()
    {
        var query = UdpFrame("10.1.0.10", 40001, "10.1.0.53", 53, Dns(0x1a2b, false, "www.example.com", 1));
        var list = new List<(string, byte[], string)>
        {
            ("cut inside the IPv4 header", query[..24], "Truncated"),
            ("cut inside the UDP header", query[..38], "Truncated"),
            ("cut inside the DNS question", query[..50], "Decoded"),
            ("IPv4 header length below 20", Edit(query, 14, 0x44), "Malformed"),
            ("IPv4 total length below its header", Edit16(query, 16, 12), "Malformed"),
            ("UDP length below 8", Edit16(query, 38, 4), "Malformed"),
            ("TCP data offset below 5", Edit(Frame("10.1.0.10", "10.1.0.20", 6, Tcp(50000, 443, 1, 1, Ack, [1, 2, 3])), 46, 0x30), "Malformed"),
            ("IP version 7 behind an IPv4 EtherType", Edit(query, 14, 0x75), "Malformed"),
            ("nine VLAN tags", Tag(query, Enumerable.Repeat((ushort)0x8100, 9).ToArray()), "Malformed"),
            ("LLDP", Ethernet("01:80:c2:00:00:0e", "02:00:00:00:01:10", 0x88CC, new byte[40]), "UnknownNetworkProtocol"),
            ("ARP cut in its addresses", Ethernet("ff:ff:ff:ff:ff:ff", "02:00:00:00:01:10", EtherArp, Arp(1, "02:00:00:00:01:10", "10.1.0.10", "00:00:00:00:00:00", "10.1.0.1")[..20]), "Truncated"),
            ("DNS answer pointing at itself", UdpFrame("10.1.0.53", 53, "10.1.0.10", 40001, LoopingDns()), "Decoded"),
            ("DNS garbage on port 53", UdpFrame("10.1.0.53", 53, "10.1.0.10", 40001, Enumerable.Range(0, 64).Select(i => (byte)(i * 97)).ToArray()), "Decoded"),
            ("ClientHello lengths past its end", Frame("10.1.0.10", "10.1.0.20", 6, Tcp(50000, 443, 1, 1, Psh | Ack, Edit16(ClientHello(ChromeLikeHello), 9 + 35 + 32, 0xFFF0))), "Decoded"),
            ("DHCP option past the end", UdpFrame("0.0.0.0", 68, "255.255.255.255", 67, [.. Dhcp(false, 1, "02:00:00:00:00:98", "0.0.0.0", new DhcpOptions(1))[..243], 12, 200, 65]), "Decoded"),
            ("VXLAN around a cut Ethernet header", Frame("192.0.2.1", "192.0.2.2", 17, Udp(49152, 4789, [8, 0, 0, 0, 0, 0, 1, 0, 1, 2, 3])), "Truncated"),
            ("GRE carrying MPLS", Frame("192.0.2.1", "192.0.2.2", 47, [0, 0, 0x88, 0x47, 0, 0, 0x11, 0x40, .. new byte[20]]), "Decoded"),
        };
        return list;
    }

    private static byte[] LoopingDns()
    {
        var message = Dns(0x1a2b, true, "loop.example", 1, 0, new DnsRecord("loop.example", 5, 60, "x.example"));
        // The answer's name becomes a pointer to itself.
        var at = 12 + 14 + 4;
        message[at] = (byte)(0xC0 | (at >> 8));
        message[at + 1] = (byte)at;
        return message;
    }

    private static byte[] Edit(byte[] frame, int at, byte value)
    {
        var copy = (byte[])frame.Clone();
        copy[at] = value;
        return copy;
    }

    private static byte[] Edit16(byte[] frame, int at, ushort value)
    {
        var copy = (byte[])frame.Clone();
        BinaryPrimitives.WriteUInt16BigEndian(copy.AsSpan(at), value);
        return copy;
    }

    // Wrapping

    private static byte[] Tag(byte[] ethernet, params ushort[] tpids)
    {
        var tags = new byte[tpids.Length * 4];
        for (var i = 0; i < tpids.Length; i++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(tags.AsSpan(i * 4), tpids[i]);
            BinaryPrimitives.WriteUInt16BigEndian(tags.AsSpan(i * 4 + 2), (ushort)(10 * (i + 1)));
        }
        return [.. ethernet[..12], .. tags, .. ethernet[12..]];
    }

    private static ushort EtherTypeOf(byte[] ethernet) => BinaryPrimitives.ReadUInt16BigEndian(ethernet.AsSpan(12));

    private static byte[]? IPOnly(byte[] ethernet) => EtherTypeOf(ethernet) is EtherIPv4 or EtherIPv6 ? ethernet[14..] : null;

    private static byte[] Cooked(byte[] ethernet)
    {
        var header = new byte[16];
        BinaryPrimitives.WriteUInt16BigEndian(header, 0);   // to us
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(2), 1);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(4), 6);
        ethernet.AsSpan(6, 6).CopyTo(header.AsSpan(6));
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(14), EtherTypeOf(ethernet));
        return [.. header, .. ethernet[14..]];
    }

    private static byte[] CookedV2(byte[] ethernet)
    {
        var header = new byte[20];
        BinaryPrimitives.WriteUInt16BigEndian(header, EtherTypeOf(ethernet));
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4), 2);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(8), 1);
        header[10] = 0;
        header[11] = 6;
        ethernet.AsSpan(6, 6).CopyTo(header.AsSpan(12));
        return [.. header, .. ethernet[14..]];
    }

    private static byte[]? Null(byte[] ethernet, bool bigEndian)
    {
        var ip = IPOnly(ethernet);
        if (ip is null) return null;
        var family = new byte[4];
        // AF_INET is 2 everywhere; AF_INET6 as macOS numbers it (30).
        var value = ip[0] >> 4 == 6 ? 30u : 2u;
        if (bigEndian) BinaryPrimitives.WriteUInt32BigEndian(family, value); else BinaryPrimitives.WriteUInt32LittleEndian(family, value);
        return [.. family, .. ip];
    }

    private static byte[] Pktap(byte[] ethernet)
    {
        // length, record type 1 (packet), DLT_EN10MB, interface name, flags, protocol family, link header and trailer lengths, ...
        var header = new byte[108];
        BinaryPrimitives.WriteUInt32LittleEndian(header, 108);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), 1);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), 1);
        Encoding.ASCII.GetBytes("en0").CopyTo(header, 12);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(40), 0);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(44), 2);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(48), 14);
        return [.. header, .. ethernet];
    }

    // An 802.11 data frame (QoS when asked) from the station to the access point, with LLC/SNAP before the EtherType.
    private static byte[] Wifi(byte[] ethernet, bool qos)
    {
        var header = new byte[qos ? 26 : 24];
        header[0] = (byte)(qos ? 0x88 : 0x08);
        header[1] = 0x01;   // to the distribution system
        ethernet.AsSpan(0, 6).CopyTo(header.AsSpan(16));     // address 3: the final destination
        ethernet.AsSpan(6, 6).CopyTo(header.AsSpan(10));     // address 2: the transmitter
        Mac("02:00:00:00:0a:01").CopyTo(header, 4);          // address 1: the access point
        byte[] snap = [0xAA, 0xAA, 0x03, 0, 0, 0, ethernet[12], ethernet[13]];
        return [.. header, .. snap, .. ethernet[14..]];
    }

    private static byte[] Radiotap(byte[] ethernet)
    {
        // Version 0, length 10: present word with Flags (0) and Rate, then the flags byte and the rate.
        byte[] radiotap = [0, 0, 10, 0, 0x06, 0, 0, 0, 0x00, 0x0c];
        return [.. radiotap, .. Wifi(ethernet, qos: true)];
    }

    private static byte[] Ppi(byte[] ethernet)
    {
        var header = new byte[8];
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(2), 8);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), 105);
        return [.. header, .. Wifi(ethernet, qos: false)];
    }

    private static byte[]? Ppp(byte[] ethernet) =>
        IPOnly(ethernet) is { } ip ? [0xFF, 0x03, 0x00, (byte)(ip[0] >> 4 == 6 ? 0x57 : 0x21), .. ip] : null;

    private static byte[]? CiscoHdlc(byte[] ethernet) =>
        IPOnly(ethernet) is { } ip ? [0x0F, 0x00, ethernet[12], ethernet[13], .. ip] : null;

    // Tunnels: between 192.0.2.1 and 192.0.2.2 (or 2001:db8::1 and ::2), over Ethernet.
    private static byte[] Outer(bool v6, byte protocol, byte[] payload) =>
        EthernetIP(v6 ? IPv6("2001:db8::1", "2001:db8::2", protocol, payload) : IPv4("192.0.2.1", "192.0.2.2", protocol, payload),
            "02:00:00:00:0e:02", "02:00:00:00:0e:01");

    private static byte[] Vxlan(byte[] ethernet) =>
        Outer(false, 17, Udp(49152 + (ethernet[^1] & 0x3FF), 4789, [0x08, 0, 0, 0, 0x00, 0x13, 0x89, 0, .. ethernet]));   // VNI 5001

    private static byte[] Geneve(byte[] ethernet) =>
        // One 8-byte option (class 0x0102, type 0x80, 1 word of data); protocol 0x6558, VNI 77.
        Outer(true, 17, Udp(50000, 6081, [0x02, 0, 0x65, 0x58, 0, 0, 77, 0, 0x01, 0x02, 0x80, 0x01, 1, 2, 3, 4, .. ethernet]));

    private static byte[]? Gre(byte[] ethernet) =>
        IPOnly(ethernet) is { } ip ? Outer(false, 47, [0, 0, ethernet[12], ethernet[13], .. ip]) : null;

    private static byte[] GreTap(byte[] ethernet) =>
        Outer(false, 47, [0x20, 0, 0x65, 0x58, 0, 0, 0x30, 0x39, .. ethernet]);   // key 12345

    private static byte[] Erspan2(byte[] ethernet) =>
        // GRE with a sequence number; ERSPAN II: version 1, VLAN 0, session 42; index 0.
        Outer(false, 47, [0x10, 0, 0x88, 0xBE, 0, 0, 0, 1, 0x10, 0x00, 0x00, 42, 0, 0, 0, 0, .. ethernet]);

    private static byte[] Erspan3(byte[] ethernet) =>
        // ERSPAN III: version 2, session 7, a timestamp, SGT 0, frame type Ethernet, hardware id 1, no subheader.
        Outer(false, 47, [0x10, 0, 0x22, 0xEB, 0, 0, 0, 1, 0x20, 0x00, 0x00, 7, 0, 0, 0x10, 0, 0, 0, 0x00, 0x04, .. ethernet]);

    private static byte[]? IPInIP(byte[] ethernet, bool outerV6) =>
        IPOnly(ethernet) is { } ip ? Outer(outerV6, (byte)(ip[0] >> 4 == 6 ? 41 : 4), ip) : null;

    public static IReadOnlyList<Variant> Variants { get; } =
    [
        new("ethernet", LinkLayers.Ethernet, e => e),
        new("dot1q", LinkLayers.Ethernet, e => Tag(e, 0x8100)),
        new("qinq", LinkLayers.Ethernet, e => Tag(e, 0x88A8, 0x8100)),
        new("qinq-three-tags", LinkLayers.Ethernet, e => Tag(e, 0x9100, 0x88A8, 0x8100)),
        new("linux-cooked", LinkLayers.LinuxSll, Cooked),
        new("linux-cooked-v2", LinkLayers.LinuxSll2, CookedV2),
        new("raw-ip", LinkLayers.Raw, IPOnly),
        new("raw-ip-12", LinkLayers.RawLegacy, IPOnly),
        new("raw-ip-14", (LinkLayers)14, IPOnly),
        new("ipv4", LinkLayers.IPv4, e => EtherTypeOf(e) == EtherIPv4 ? e[14..] : null),
        new("ipv6", LinkLayers.IPv6, e => EtherTypeOf(e) == EtherIPv6 ? e[14..] : null),
        new("bsd-null", LinkLayers.Null, e => Null(e, bigEndian: false)),
        new("bsd-loop", LinkLayers.Loop, e => Null(e, bigEndian: true)),
        new("pktap", (LinkLayers)258, Pktap),
        new("radiotap-80211", LinkLayers.Ieee80211RadioTap, Radiotap),
        new("ieee80211", LinkLayers.Ieee80211, e => Wifi(e, qos: false)),
        new("ppi-80211", LinkLayers.Ppi, Ppi),
        new("ppp", LinkLayers.Ppp, Ppp),
        new("cisco-hdlc", LinkLayers.CiscoHdlc, CiscoHdlc),
        new("vxlan", LinkLayers.Ethernet, Vxlan, Tunnelled: true),
        new("vxlan-qinq-inside", LinkLayers.Ethernet, e => Vxlan(Tag(e, 0x88A8, 0x8100)), Tunnelled: true),
        new("geneve-over-ipv6", LinkLayers.Ethernet, Geneve, Tunnelled: true),
        new("gre", LinkLayers.Ethernet, Gre, Tunnelled: true),
        new("gre-ethernet-key", LinkLayers.Ethernet, GreTap, Tunnelled: true),
        new("erspan-ii", LinkLayers.Ethernet, Erspan2, Tunnelled: true),
        new("erspan-iii", LinkLayers.Ethernet, Erspan3, Tunnelled: true),
        new("ip-in-ip-and-6in4", LinkLayers.Ethernet, e => IPInIP(e, outerV6: false), Tunnelled: true),
        new("ip-in-ipv6", LinkLayers.Ethernet, e => IPInIP(e, outerV6: true), Tunnelled: true),
        new("dot1q-around-vxlan", LinkLayers.Ethernet, e => Tag(Vxlan(e), 0x8100), Tunnelled: true),
    ];

    /// <summary>Writes the frames wrapped the variant's way; returns the Ethernet frames it carried, in order.</summary>
    public static List<(byte[] Frame, DateTimeOffset Time)> Write(string path, Variant variant, IEnumerable<(byte[] Frame, DateTimeOffset Time)> frames)
    {
        var carried = new List<(byte[], DateTimeOffset)>();
        using var writer = new PcapFileWriter(path, variant.LinkType);
        foreach (var (frame, time) in frames)
        {
            if (variant.Wrap(frame) is not { } wrapped) continue;
            writer.Write(wrapped, time);
            carried.Add((frame, time));
        }
        return carried;
    }
}
