using System.Net;
using System.Net.NetworkInformation;
using NetDumplings.Packets;
using PacketDotNet;

namespace NetDumplings.Tests.Packets;

public class DumplingPacketTests
{
    private static readonly PhysicalAddress Mac1 = PhysicalAddress.Parse("02-00-00-00-00-01");
    private static readonly PhysicalAddress Mac2 = PhysicalAddress.Parse("02-00-00-00-00-02");
    private static readonly DateTimeOffset When = DateTimeOffset.FromUnixTimeSeconds(1700000000);

    private static byte[] DnsQuery(string name, ushort type = 1, bool response = false, bool compressed = false)
    {
        var bytes = new List<byte> { 0xAB, 0xCD, (byte)(response ? 0x81 : 0x01), 0x00, 0, (byte)(compressed ? 2 : 1), 0, 0, 0, 0, 0, 0 };
        foreach (var label in name.Split('.'))
        {
            bytes.Add((byte)label.Length);
            bytes.AddRange(System.Text.Encoding.ASCII.GetBytes(label));
        }
        bytes.AddRange([0, (byte)(type >> 8), (byte)type, 0, 1]);
        if (compressed) bytes.AddRange([0x03, (byte)'w', (byte)'w', (byte)'w', 0xC0, 12, 0, 28, 0, 1]);   // www.<first name>
        return [.. bytes];
    }

    private static EthernetPacket Udp(string from, string to, ushort sourcePort, ushort destinationPort, byte[] payload)
    {
        var udp = new UdpPacket(sourcePort, destinationPort) { PayloadData = payload };
        IPPacket ip = IPAddress.Parse(from).AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
            ? new IPv6Packet(IPAddress.Parse(from), IPAddress.Parse(to))
            : new IPv4Packet(IPAddress.Parse(from), IPAddress.Parse(to));
        ip.PayloadPacket = udp;
        var ethernet = new EthernetPacket(Mac1, Mac2, ip is IPv6Packet ? EthernetType.IPv6 : EthernetType.IPv4) { PayloadPacket = ip };
        udp.UpdateCalculatedValues();
        ip.UpdateCalculatedValues();
        return ethernet;
    }

    private static DumplingPacket View(byte[] frame, LinkLayers link = LinkLayers.Ethernet) => new(new ChefPacket(frame, When, link));

    [Fact]
    public void ReadsAddressesPortsProtocolAndDnsFromUdp()
    {
        var packet = View(Udp("10.0.0.1", "10.0.0.53", 40000, 53, DnsQuery("www.example.com", 28)).Bytes);
        Assert.Equal(IPAddress.Parse("10.0.0.1"), packet.SourceAddress);
        Assert.Equal(IPAddress.Parse("10.0.0.53"), packet.DestinationAddress);
        Assert.Equal(40000, packet.SourcePort);
        Assert.Equal(53, packet.DestinationPort);
        Assert.Equal("UDP", packet.Protocol);
        Assert.Equal(["Ethernet", "IP", "UDP", "DNS"], packet.LayerNames);
        var dns = Assert.IsType<DnsMessage>(packet.Dns);
        Assert.False(dns.IsResponse);
        Assert.Equal(0xABCD, dns.Id);
        var question = Assert.Single(packet.DnsQuestions);
        Assert.Equal("www.example.com", question.Name);
        Assert.Equal("AAAA", question.TypeName);
        Assert.Equal(When, packet.Time);
        Assert.Equal(1700000000, packet.EpochSeconds);
    }

    [Fact]
    public void AgreesWithPacketDotNetOnTcpOverIPv6()
    {
        var tcp = new TcpPacket(51000, 443) { Synchronize = true };
        var ip = new IPv6Packet(IPAddress.Parse("fd00::1"), IPAddress.Parse("fd00::2")) { PayloadPacket = tcp };
        var ethernet = new EthernetPacket(Mac1, Mac2, EthernetType.IPv6) { PayloadPacket = ip };
        tcp.UpdateCalculatedValues();
        ip.UpdateCalculatedValues();
        var packet = View(ethernet.Bytes);
        Assert.Equal(packet.IP!.SourceAddress, packet.SourceAddress);
        Assert.Equal(packet.Tcp!.DestinationPort, packet.DestinationPort);
        Assert.Equal("TCP", packet.Protocol);
        Assert.True(packet.Tcp.Synchronize);
        Assert.NotNull(packet.IPv6);
        Assert.Null(packet.IPv4);
        Assert.Null(packet.Dns);
        Assert.Equal(["Ethernet", "IPv6", "TCP"], packet.LayerNames);
    }

    [Fact]
    public void ReadsArpAddresses()
    {
        var arp = new ArpPacket(ArpOperation.Request, PhysicalAddress.Parse("00-00-00-00-00-00"), IPAddress.Parse("10.0.0.9"), Mac1, IPAddress.Parse("10.0.0.1"));
        var packet = View(new EthernetPacket(Mac1, PhysicalAddress.Parse("FF-FF-FF-FF-FF-FF"), EthernetType.Arp) { PayloadPacket = arp }.Bytes);
        Assert.Equal("ARP", packet.Protocol);
        Assert.Equal(IPAddress.Parse("10.0.0.1"), packet.SourceAddress);
        Assert.Equal(IPAddress.Parse("10.0.0.9"), packet.DestinationAddress);
        Assert.Null(packet.SourcePort);
        Assert.Equal(ArpOperation.Request, packet.Arp!.Operation);
    }

    [Fact]
    public void SkipsVlanTagsAndReadsLinuxCookedAndRawIpFrames()
    {
        var plain = Udp("10.1.1.1", "10.1.1.2", 1234, 5353, DnsQuery("printer.local")).Bytes;
        var tagged = plain[..12].Concat(new byte[] { 0x81, 0x00, 0x00, 0x07 }).Concat(plain[12..]).ToArray();
        Assert.Equal(5353, View(tagged).DestinationPort);
        Assert.Equal("printer.local", View(tagged).DnsQuestions[0].Name);

        var ip = plain[14..];
        var raw = View(ip, LinkLayers.Raw);
        Assert.Equal(IPAddress.Parse("10.1.1.2"), raw.DestinationAddress);
        Assert.Equal(["IP", "UDP", "DNS"], raw.LayerNames);

        var sll = new byte[16];
        sll[14] = 0x08;   // protocol IPv4
        Assert.Equal(1234, View([.. sll, .. ip], LinkLayers.LinuxSll).SourcePort);
    }

    [Fact]
    public void IgnoresEthernetPaddingAfterTheIpPacket()
    {
        var tcp = new TcpPacket(51000, 443) { Acknowledgment = true };
        var ip = new IPv4Packet(IPAddress.Parse("10.0.0.1"), IPAddress.Parse("10.0.0.2")) { PayloadPacket = tcp };
        var ethernet = new EthernetPacket(Mac1, Mac2, EthernetType.IPv4) { PayloadPacket = ip };
        tcp.UpdateCalculatedValues();
        ip.UpdateCalculatedValues();
        var padded = ethernet.Bytes.Concat(new byte[60 - ethernet.Bytes.Length]).ToArray();   // the 60-byte Ethernet minimum
        Assert.Equal(["Ethernet", "IP", "TCP"], View(padded).LayerNames);
        var dns = Udp("10.0.0.1", "10.0.0.2", 1, 53, DnsQuery("a.io"));
        Assert.Equal("a.io", View([.. dns.Bytes, 0, 0, 0, 0]).DnsQuestions[0].Name);
    }

    [Fact]
    public void FindsNoPortsInALaterIPv4Fragment()
    {
        var frame = Udp("10.0.0.1", "10.0.0.2", 1, 53, DnsQuery("a.b")).Bytes;
        frame[14 + 6] = 0x00;
        frame[14 + 7] = 0x10;   // fragment offset 16 (x8 bytes)
        var packet = View(frame);
        Assert.Null(packet.SourcePort);
        Assert.Null(packet.Dns);
        Assert.Equal("UDP", packet.Protocol);
    }

    [Fact]
    public void ReadsCompressedNamesAndRefusesBrokenMessages()
    {
        Assert.True(DnsMessage.TryParse(DnsQuery("example.org", compressed: true), out var dns));
        Assert.Equal(["example.org", "www.example.org"], dns!.Questions.Select(q => q.Name));
        Assert.Equal("AAAA", dns.Questions[1].TypeName);

        var truncated = DnsQuery("example.org")[..^3];
        Assert.False(DnsMessage.TryParse(truncated, out _));
        var loop = DnsQuery("x");
        loop[12] = 0xC0;
        loop[13] = 12;   // a pointer to itself
        Assert.False(DnsMessage.TryParse(loop, out _));
        Assert.False(DnsMessage.TryParse(new byte[5], out _));
        Assert.Null(View(Udp("10.0.0.1", "10.0.0.2", 1, 53, [1, 2, 3]).Bytes).Dns);
    }

    [Fact]
    public void ParsesItsOwnCopyOfTheBytes()
    {
        var chefPacket = new ChefPacket(Udp("10.0.0.1", "10.0.0.2", 7, 8, [9]).Bytes, When, LinkLayers.Ethernet);
        var packet = new DumplingPacket(chefPacket);
        Assert.NotSame(chefPacket.Packet, packet.Packet);
        Assert.Equal(chefPacket.Data.ToArray(), packet.Bytes);
        Assert.EndsWith("UDP 10.0.0.1:7 -> 10.0.0.2:8 (43 bytes)", packet.ToString());
    }
}
