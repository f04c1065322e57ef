using System.Buffers.Binary;
using System.Net;
using System.Net.NetworkInformation;
using System.Text;
using PacketDotNet;
using PacketDotNet.Utils;

namespace NetDumplings.Traffic;

/// <summary>
/// Builds realistic mixed Ethernet traffic (TCP, UDP, DNS over UDP and TCP, ARP, ICMP, IPv6) with
/// PacketDotNet and writes it as pcap. The xunit tests, the Pester tests (through
/// <c>[NetDumplings.Traffic.PcapGenerator]</c>), the bench and the demo all replay the same traffic
/// from here; it is not part of the engine users get. The summary it returns says what it wrote, in
/// the sample chefs' terms, so tests can check the chefs against it.
/// </summary>
public static class PcapGenerator
{
    private static readonly string[] HostNames =
    [
        "example.com", "www.example.org", "api.github.com", "cdn.jsdelivr.net", "pypi.org", "nuget.org",
        "deb.debian.org", "time.cloudflare.com", "mail.example.net", "login.microsoftonline.com",
        "fonts.gstatic.com", "update.example.io", "s3.amazonaws.com", "registry.npmjs.org",
    ];

    // Weights per 100 packets: roughly what a busy client host sees.
    private static readonly (Kind Kind, int Weight)[] Mix =
    [
        (Kind.Tcp4Data, 50), (Kind.Tcp4Ack, 10), (Kind.Udp4, 10), (Kind.DnsQuery4, 6), (Kind.DnsResponse4, 6),
        (Kind.DnsTcpQuery4, 1), (Kind.ArpRequest, 2), (Kind.ArpReply, 1), (Kind.IcmpEcho, 3),
        (Kind.Udp6, 6), (Kind.Tcp6, 4), (Kind.DnsQuery6, 1),
    ];

    private enum Kind { Tcp4Data, Tcp4Ack, Udp4, DnsQuery4, DnsResponse4, DnsTcpQuery4, ArpRequest, ArpReply, IcmpEcho, Udp6, Tcp6, DnsQuery6 }

    /// <summary>Writes <paramref name="count"/> packets of mixed traffic to a pcap file, 10 µs apart by default.</summary>
    public static PcapGeneratorSummary WriteMixed(string path, int count, int seed = 1, DateTimeOffset? start = null, TimeSpan? spacing = null)
    {
        var random = new Random(seed);
        var summary = new PcapGeneratorSummary();
        var time = start ?? new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
        var step = spacing ?? TimeSpan.FromTicks(100);
        var totalWeight = Mix.Sum(m => m.Weight);
        using var writer = new PcapFileWriter(path);
        for (var i = 0; i < count; i++)
        {
            var pick = random.Next(totalWeight);
            var kind = Mix[0].Kind;
            foreach (var (k, weight) in Mix)
            {
                if (pick < weight) { kind = k; break; }
                pick -= weight;
            }
            writer.Write(Build(kind, random, summary), time);
            summary.Packets++;
            time += step;
        }
        return summary;
    }

    private static byte[] Build(Kind kind, Random random, PcapGeneratorSummary summary)
    {
        var client = random.Next(2, 60);
        var server = random.Next(1, 250);
        var host = HostNames[random.Next(HostNames.Length)];
        switch (kind)
        {
            case Kind.Tcp4Data:
                summary.Count("Ethernet", "IP", "TCP", "Raw");
                return Tcp4(client, server, RandomPayload(random, 40, 1400));
            case Kind.Tcp4Ack:
                summary.Count("Ethernet", "IP", "TCP");
                return Tcp4(client, server, []);
            case Kind.Udp4:
                summary.Count("Ethernet", "IP", "UDP", "Raw");
                return Udp(Ip4(client), Ip4(server), (ushort)random.Next(32768, 60999), 443, RandomPayload(random, 30, 1200));
            case Kind.DnsQuery4:
                summary.Count("Ethernet", "IP", "UDP", "DNS");
                summary.Query(host);
                return DnsQuery(host, Ip4(client), IPAddress.Parse("10.0.0.53"), (ushort)random.Next(32768, 60999), (ushort)random.Next());
            case Kind.DnsResponse4:
                summary.Count("Ethernet", "IP", "UDP", "DNS");
                return DnsResponse(host, IPAddress.Parse("10.0.0.53"), Ip4(client), (ushort)random.Next(32768, 60999), (ushort)random.Next(), Ip4(server));
            case Kind.DnsTcpQuery4:
                summary.Count("Ethernet", "IP", "TCP", "DNS");
                summary.Query(host);
                return DnsQuery(host, Ip4(client), IPAddress.Parse("10.0.0.53"), (ushort)random.Next(32768, 60999), (ushort)random.Next(), tcp: true);
            case Kind.ArpRequest:
                summary.Count("Ethernet", "ARP");
                summary.ArpRequests++;
                return ArpRequest(Mac(client), Ip4(client), Ip4(server));
            case Kind.ArpReply:
                summary.Count("Ethernet", "ARP");
                summary.ArpReplies++;
                return ArpReply(Mac(server), Ip4(server), Mac(client), Ip4(client));
            case Kind.IcmpEcho:
                summary.Count("Ethernet", "IP", "ICMP", "Raw");
                return IcmpEcho(Ip4(client), Ip4(server), (ushort)random.Next(), 32);
            case Kind.Udp6:
                summary.Count("Ethernet", "IPv6", "UDP", "Raw");
                return Udp(Ip6(client), Ip6(server), (ushort)random.Next(32768, 60999), 443, RandomPayload(random, 30, 1200));
            case Kind.Tcp6:
                summary.Count("Ethernet", "IPv6", "TCP", "Raw");
                return Tcp(Ip6(client), Ip6(server), (ushort)random.Next(32768, 60999), 443, RandomPayload(random, 40, 1400));
            default:
                summary.Count("Ethernet", "IPv6", "UDP", "DNS");
                summary.Query(host);
                return DnsQuery(host, Ip6(client), IPAddress.Parse("fd00::53"), (ushort)random.Next(32768, 60999), (ushort)random.Next());
        }
    }

    private static byte[] RandomPayload(Random random, int min, int max)
    {
        var data = new byte[random.Next(min, max)];
        random.NextBytes(data);
        return data;
    }

    private static byte[] Tcp4(int client, int server, byte[] payload) =>
        Tcp(Ip4(client), Ip4(server), (ushort)(40000 + client), 443, payload);

    public static IPAddress Ip4(int host) => new([10, 0, 0, (byte)host]);
    public static IPAddress Ip6(int host) => IPAddress.Parse($"fd00::{host:x}");
    public static PhysicalAddress Mac(int host) => new([0x02, 0x00, 0x00, 0x00, 0x00, (byte)host]);

    // ------------------------------------------------------------ single packets (Ethernet frames)

    public static byte[] Tcp(IPAddress source, IPAddress destination, ushort sourcePort, ushort destinationPort, byte[] payload)
    {
        var tcp = new TcpPacket(sourcePort, destinationPort)
        {
            SequenceNumber = 1000, AcknowledgmentNumber = 2000, Flags = 0x18, WindowSize = 64240,
            PayloadData = payload,
        };
        return Frame(source, destination, tcp);
    }

    public static byte[] Udp(IPAddress source, IPAddress destination, ushort sourcePort, ushort destinationPort, byte[] payload)
    {
        var udp = new UdpPacket(sourcePort, destinationPort) { PayloadData = payload };
        return Frame(source, destination, udp);
    }

    /// <summary>A DNS query for an A (IPv4) or AAAA (IPv6) record, over UDP or TCP (with the 2-byte length prefix).</summary>
    public static byte[] DnsQuery(string hostname, IPAddress client, IPAddress resolver, ushort clientPort = 50000, ushort id = 1, bool tcp = false)
    {
        var message = DnsMessage(hostname, id, response: false, answer: null, aaaa: client.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6);
        return tcp ? Tcp(client, resolver, clientPort, 53, WithLengthPrefix(message)) : Udp(client, resolver, clientPort, 53, message);
    }

    /// <summary>A DNS response (one A answer) from the resolver to the client.</summary>
    public static byte[] DnsResponse(string hostname, IPAddress resolver, IPAddress client, ushort clientPort, ushort id, IPAddress answer, bool tcp = false)
    {
        var message = DnsMessage(hostname, id, response: true, answer, aaaa: false);
        return tcp ? Tcp(resolver, client, 53, clientPort, WithLengthPrefix(message)) : Udp(resolver, client, 53, clientPort, message);
    }

    public static byte[] ArpRequest(PhysicalAddress senderMac, IPAddress senderIp, IPAddress targetIp)
    {
        var arp = new ArpPacket(ArpOperation.Request, PhysicalAddress.Parse("00-00-00-00-00-00"), targetIp, senderMac, senderIp);
        var ethernet = new EthernetPacket(senderMac, PhysicalAddress.Parse("FF-FF-FF-FF-FF-FF"), EthernetType.Arp) { PayloadPacket = arp };
        return ethernet.Bytes;
    }

    public static byte[] ArpReply(PhysicalAddress senderMac, IPAddress senderIp, PhysicalAddress targetMac, IPAddress targetIp)
    {
        var arp = new ArpPacket(ArpOperation.Response, targetMac, targetIp, senderMac, senderIp);
        var ethernet = new EthernetPacket(senderMac, targetMac, EthernetType.Arp) { PayloadPacket = arp };
        return ethernet.Bytes;
    }

    public static byte[] IcmpEcho(IPAddress source, IPAddress destination, ushort id, int dataLength)
    {
        var bytes = new byte[8 + dataLength];
        bytes[0] = 8; // echo request
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(4), id);
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(6), 1);
        for (var i = 8; i < bytes.Length; i++) bytes[i] = (byte)('a' + i % 23);
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(2), InternetChecksum(bytes));
        var icmp = new IcmpV4Packet(new ByteArraySegment(bytes));
        return Frame(source, destination, icmp);
    }

    private static byte[] Frame(IPAddress source, IPAddress destination, TransportOrIcmp payload)
    {
        IPPacket ip = source.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
            ? new IPv6Packet(source, destination)
            : new IPv4Packet(source, destination);
        ip.PayloadPacket = payload.Packet;
        var ethernet = new EthernetPacket(MacFor(source), MacFor(destination),
            ip is IPv6Packet ? EthernetType.IPv6 : EthernetType.IPv4) { PayloadPacket = ip };
        ip.UpdateCalculatedValues();
        switch (payload.Packet)
        {
            case TcpPacket tcp: tcp.UpdateTcpChecksum(); break;
            case UdpPacket udp: udp.UpdateCalculatedValues(); udp.UpdateUdpChecksum(); break;
        }
        if (ip is IPv4Packet v4) v4.UpdateIPChecksum();
        return ethernet.Bytes;
    }

    private readonly record struct TransportOrIcmp(Packet Packet)
    {
        public static implicit operator TransportOrIcmp(TcpPacket p) => new(p);
        public static implicit operator TransportOrIcmp(UdpPacket p) => new(p);
        public static implicit operator TransportOrIcmp(IcmpV4Packet p) => new(p);
    }

    private static PhysicalAddress MacFor(IPAddress address)
    {
        var bytes = address.GetAddressBytes();
        return Mac(bytes[^1]);
    }

    private static byte[] WithLengthPrefix(byte[] message)
    {
        var framed = new byte[message.Length + 2];
        BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)message.Length);
        message.CopyTo(framed, 2);
        return framed;
    }

    private static byte[] DnsMessage(string hostname, ushort id, bool response, IPAddress? answer, bool aaaa)
    {
        var m = new List<byte>(64);
        void U16(int v) { m.Add((byte)(v >> 8)); m.Add((byte)v); }
        U16(id);
        U16(response ? 0x8180 : 0x0100);
        U16(1);                      // questions
        U16(answer is null ? 0 : 1); // answers
        U16(0); U16(0);
        foreach (var label in hostname.TrimEnd('.').Split('.'))
        {
            m.Add((byte)label.Length);
            m.AddRange(Encoding.ASCII.GetBytes(label));
        }
        m.Add(0);
        U16(aaaa ? 28 : 1); // type A or AAAA
        U16(1);             // class IN
        if (answer is not null)
        {
            U16(0xC00C); // name: pointer to the question
            U16(1); U16(1);
            U16(0); U16(300); // ttl
            var address = answer.GetAddressBytes();
            U16(address.Length);
            m.AddRange(address);
        }
        return m.ToArray();
    }

    private static ushort InternetChecksum(ReadOnlySpan<byte> data)
    {
        uint sum = 0;
        for (var i = 0; i + 1 < data.Length; i += 2) sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        if (data.Length % 2 == 1) sum += (uint)(data[^1] << 8);
        while (sum >> 16 != 0) sum = (sum & 0xffff) + (sum >> 16);
        return (ushort)~sum;
    }
}

/// <summary>What <see cref="PcapGenerator.WriteMixed"/> wrote, counted as the sample chefs count.</summary>
public sealed class PcapGeneratorSummary
{
    public long Packets { get; internal set; }

    /// <summary>Layer counts under the scapy names PacketCountChef uses.</summary>
    public Dictionary<string, long> LayerCounts { get; } = new(StringComparer.Ordinal);

    /// <summary>DNS queries (not responses) per hostname.</summary>
    public Dictionary<string, long> DnsQueries { get; } = new(StringComparer.Ordinal);

    public long DnsQueryCount => DnsQueries.Values.Sum();

    public long ArpRequests { get; internal set; }

    public long ArpReplies { get; internal set; }

    internal void Count(params string[] layers)
    {
        foreach (var layer in layers)
            LayerCounts[layer] = LayerCounts.GetValueOrDefault(layer) + 1;
    }

    internal void Query(string host) => DnsQueries[host] = DnsQueries.GetValueOrDefault(host) + 1;
}
