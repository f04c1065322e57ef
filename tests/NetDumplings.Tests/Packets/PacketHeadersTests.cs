using System.Net;
using NetDumplings.Chefs;
using NetDumplings.Packets;
using PacketDotNet;
using static NetDumplings.Tests.Packets.TestFrames;

namespace NetDumplings.Tests.Packets;

public class PacketHeadersTests
{
    private static readonly DateTimeOffset When = DateTimeOffset.FromUnixTimeSeconds(1700000000);

    private static string[] Layers(byte[] frame, LinkLayers link = LinkLayers.Ethernet)
    {
        var headers = PacketHeaders.Read(frame, link);
        Span<PacketLayer> layers = stackalloc PacketLayer[PacketHeaders.MaxLayers];
        Assert.True(headers.TryCopyLayers(frame, layers, out var count));
        var names = new string[count];
        for (var i = 0; i < count; i++) names[i] = PacketLayerNames.Of(layers[i]);
        return names;
    }

    private static void AssertUdp(PacketHeaders headers, byte[] frame, string from, string to, int sourcePort, int destinationPort)
    {
        Assert.Equal(PacketDecodeStatus.Decoded, headers.Status);
        Assert.Equal(IPAddress.Parse(from), headers.SourceAddress(frame));
        Assert.Equal(IPAddress.Parse(to), headers.DestinationAddress(frame));
        Assert.Equal(PacketLayer.Udp, headers.TransportLayer);
        Assert.Equal(sourcePort, headers.SourcePort);
        Assert.Equal(destinationPort, headers.DestinationPort);
    }

    [Fact]
    public void Reads_through_one_VLAN_tag()
    {
        var frame = Tagged(Ethernet(UdpIp("10.0.0.1", "10.0.0.2", 40000, 53, Dns(false, "one.tag.test"))), 0x8100);
        var headers = PacketHeaders.Read(frame, LinkLayers.Ethernet);
        AssertUdp(headers, frame, "10.0.0.1", "10.0.0.2", 40000, 53);
        Assert.Equal(1, headers.VlanTagCount);
        Assert.Equal(18, headers.NetworkOffset);
        Assert.Equal(["Ethernet", "Dot1Q", "IP", "UDP", "DNS"], Layers(frame));
        // PacketDotNet sees the same transport in the same place.
        var udp = Packet.ParsePacket(LinkLayers.Ethernet, frame).Extract<UdpPacket>();
        Assert.Equal(udp.PayloadData, headers.Payload(frame).ToArray());
    }

    [Fact]
    public void Reads_through_QinQ_stacks_of_any_TPID()
    {
        var udp = UdpIp("fd00::1", "fd00::2", 5353, 5353, Dns(false, "printer.local"));
        var qinq = Tagged(Ethernet(udp), 0x88A8, 0x8100);
        var headers = PacketHeaders.Read(qinq, LinkLayers.Ethernet);
        AssertUdp(headers, qinq, "fd00::1", "fd00::2", 5353, 5353);
        Assert.Equal(2, headers.VlanTagCount);
        Assert.Equal(["Ethernet", "Dot1AD", "Dot1Q", "IPv6", "UDP", "DNS"], Layers(qinq));

        var legacy = Tagged(Ethernet(udp), 0x9100, 0x88A8, 0x8100);
        Assert.Equal(["Ethernet", "Dot1Q", "Dot1AD", "Dot1Q", "IPv6", "UDP", "DNS"], Layers(legacy));

        var tooMany = Tagged(Ethernet(udp), Enumerable.Repeat((ushort)0x8100, PacketHeaders.MaxVlanTags + 1).ToArray());
        var refused = PacketHeaders.Read(tooMany, LinkLayers.Ethernet);
        Assert.Equal(PacketDecodeStatus.Malformed, refused.Status);
        Assert.Equal(PacketLayer.None, refused.NetworkLayer);
    }

    [Fact]
    public void Reads_Linux_cooked_captures_v1_and_v2_with_and_without_tags()
    {
        var ip = UdpIp("10.9.0.1", "10.9.0.2", 1234, 5678, [1, 2, 3]);
        var v1 = Cooked(ip, 0x0800);
        AssertUdp(PacketHeaders.Read(v1, LinkLayers.LinuxSll), v1, "10.9.0.1", "10.9.0.2", 1234, 5678);
        Assert.Equal(["cooked linux", "IP", "UDP", "Raw"], Layers(v1, LinkLayers.LinuxSll));

        var v2 = CookedV2(ip, 0x0800);
        AssertUdp(PacketHeaders.Read(v2, LinkLayers.LinuxSll2), v2, "10.9.0.1", "10.9.0.2", 1234, 5678);
        Assert.Equal(["cooked linux v2", "IP", "UDP", "Raw"], Layers(v2, LinkLayers.LinuxSll2));

        // A tag the kernel left in the packet: the cooked header's protocol is the TPID.
        var tagged = Cooked([0x00, 0x07, 0x08, 0x00, .. ip], 0x8100);
        AssertUdp(PacketHeaders.Read(tagged, LinkLayers.LinuxSll), tagged, "10.9.0.1", "10.9.0.2", 1234, 5678);

        var arp = CookedV2(Arp(6, 4, 1), 0x0806);
        var arpHeaders = PacketHeaders.Read(arp, LinkLayers.LinuxSll2);
        Assert.Equal(PacketLayer.Arp, arpHeaders.NetworkLayer);
        Assert.Equal(IPAddress.Parse("14.15.16.17"), arpHeaders.SourceAddress(arp));
    }

    [Theory]
    [InlineData(LinkLayers.Raw)]
    [InlineData(LinkLayers.RawLegacy)]
    [InlineData((LinkLayers)14)]
    [InlineData(LinkLayers.IPv4)]
    public void Reads_raw_IPv4_under_every_link_type_number(LinkLayers link)
    {
        var ip = TcpIp("10.0.0.1", "10.0.0.2", 40000, 443, [9, 9]);
        AssertTcp(PacketHeaders.Read(ip, link));
        Assert.Equal(["IP", "TCP", "Raw"], Layers(ip, link));
    }

    [Fact]
    public void Reads_raw_IPv6_and_BSD_loopback()
    {
        var ip6 = TcpIp("fd00::1", "fd00::2", 40000, 443, [9]);
        AssertTcp(PacketHeaders.Read(ip6, LinkLayers.IPv6));
        AssertTcp(PacketHeaders.Read(ip6, LinkLayers.Raw));
        Assert.Equal(PacketDecodeStatus.Malformed, PacketHeaders.Read(ip6, LinkLayers.IPv4).Status);

        byte[] loop = [0, 0, 0, 30, .. ip6];   // AF_INET6 as macOS numbers it
        AssertTcp(PacketHeaders.Read(loop, LinkLayers.Null));
        Assert.Equal(["Loopback", "IPv6", "TCP", "Raw"], Layers(loop, LinkLayers.Null));
    }

    private static void AssertTcp(PacketHeaders headers)
    {
        Assert.Equal(PacketDecodeStatus.Decoded, headers.Status);
        Assert.Equal(PacketLayer.Tcp, headers.TransportLayer);
        Assert.Equal(40000, headers.SourcePort);
        Assert.Equal(443, headers.DestinationPort);
    }

    [Fact]
    public void Walks_IPv6_extension_headers_to_the_transport()
    {
        var udp = UdpIp("fd00::1", "fd00::2", 40000, 53, Dns(false, "ext.test"));
        // hop-by-hop, routing, destination options, authentication, then UDP.
        var ip = WithExtensionHeaders(udp, 0, 0, 43, 60, 51);
        var frame = Ethernet(ip);
        var headers = PacketHeaders.Read(frame, LinkLayers.Ethernet);
        AssertUdp(headers, frame, "fd00::1", "fd00::2", 40000, 53);
        Assert.True(headers.HasIPv6ExtensionHeaders);
        Assert.Equal(PacketHeaders.ProtocolUdp, headers.IPProtocol);
        Assert.Equal(EthernetLength + 40 + 4 * 8, headers.TransportOffset);
        Assert.Equal(["Ethernet", "IPv6", "UDP", "DNS"], Layers(frame));
        Assert.Equal("ext.test", Assert.Single(new DumplingPacket(new ChefPacket(frame, When, LinkLayers.Ethernet)).DnsQuestions).Name);
    }

    [Fact]
    public void Reads_the_transport_of_a_first_IPv6_fragment_only()
    {
        var udp = UdpIp("fd00::1", "fd00::2", 40000, 9999, new byte[64]);
        var first = Ethernet(WithExtensionHeaders(udp, 0, 0, 44));
        var headers = PacketHeaders.Read(first, LinkLayers.Ethernet);
        Assert.True(headers.IsFragment);
        Assert.False(headers.IsLaterFragment);
        Assert.Equal(40000, headers.SourcePort);

        var later = Ethernet(WithExtensionHeaders(udp, 3, 44));
        headers = PacketHeaders.Read(later, LinkLayers.Ethernet);
        Assert.Equal(PacketDecodeStatus.Decoded, headers.Status);
        Assert.True(headers.IsLaterFragment);
        Assert.Equal(PacketHeaders.ProtocolUdp, headers.IPProtocol);
        Assert.Null(headers.SourcePort);
        Assert.Equal(PacketLayer.None, headers.TransportLayer);
        Assert.Equal(udp.Length - 40, headers.PayloadLength);   // the fragment's data: the bytes after the fragment header
        Assert.Equal(["Ethernet", "IPv6", "Raw"], Layers(later));
    }

    [Fact]
    public void Reads_the_transport_of_a_first_IPv4_fragment_only()
    {
        var ip = UdpIp("10.0.0.1", "10.0.0.2", 40000, 53, Dns(false, "frag.test"));

        var first = PacketHeaders.Read(Ethernet(AsIPv4Fragment(ip, moreFragments: true, offset: 0)), LinkLayers.Ethernet);
        Assert.True(first.IsFragment);
        Assert.False(first.IsLaterFragment);
        Assert.Equal(PacketLayer.Udp, first.TransportLayer);
        Assert.Equal(53, first.DestinationPort);

        // The last fragment has MF clear and only its offset says it is one; 0x1FFF is the whole offset.
        foreach (var offset in new[] { 1, 0x1000, 0x1FFF })
        {
            var frame = Ethernet(AsIPv4Fragment(ip, moreFragments: false, offset));
            var later = PacketHeaders.Read(frame, LinkLayers.Ethernet);
            Assert.True(later.IsLaterFragment, $"offset {offset}");
            Assert.Null(later.DestinationPort);
            Assert.Equal(PacketHeaders.ProtocolUdp, later.IPProtocol);
            Assert.Equal(["Ethernet", "IP", "Raw"], Layers(frame));
        }

        // Don't Fragment is not a fragment.
        var whole = PacketHeaders.Read(Ethernet(AsIPv4Fragment(ip, moreFragments: false, offset: 0x4000)), LinkLayers.Ethernet);
        Assert.False(whole.IsFragment);
        Assert.Equal(53, whole.DestinationPort);
    }

    [Fact]
    public void Reads_ARP_of_any_address_sizes()
    {
        var frame = Ethernet(Arp(20, 4, 2), etherType: 0x0806);   // IP over InfiniBand's 20-byte hardware addresses
        var headers = PacketHeaders.Read(frame, LinkLayers.Ethernet);
        Assert.Equal(PacketLayer.Arp, headers.NetworkLayer);
        var arp = headers.Arp(frame);
        Assert.Equal(ArpMessage.Reply, arp.Operation);
        Assert.Equal(20, arp.TargetHardwareAddress.Length);
        Assert.Equal(IPAddress.Parse("28.29.30.31"), headers.SourceAddress(frame));
        Assert.Equal(IPAddress.Parse("52.53.54.55"), headers.DestinationAddress(frame));
        Assert.Equal(["Ethernet", "ARP"], Layers([.. frame, 0, 0, 0, 0]));   // padding is not a layer

        var cut = PacketHeaders.Read(frame[..^1], LinkLayers.Ethernet);
        Assert.Equal(PacketDecodeStatus.Truncated, cut.Status);
        Assert.True(cut.Arp(frame[..^1]).IsEmpty);
        Assert.Null(cut.SourceAddress(frame[..^1]));
    }

    [Fact]
    public void Leaves_unknown_link_types_and_protocols_to_PacketDotNet()
    {
        var ip = UdpIp("10.0.0.1", "10.0.0.2", 1, 2, [3]);
        Assert.Equal(PacketDecodeStatus.UnknownLinkType, PacketHeaders.Read(ip, LinkLayers.Ieee8025).Status);
        var lldp = Ethernet(new byte[20], etherType: 0x88CC);
        Assert.Equal(PacketDecodeStatus.UnknownNetworkProtocol, PacketHeaders.Read(lldp, LinkLayers.Ethernet).Status);
        var gre = (byte[])ip.Clone();
        gre[9] = 47;
        var headers = PacketHeaders.Read(Ethernet(gre), LinkLayers.Ethernet);
        Assert.Equal(PacketDecodeStatus.Decoded, headers.Status);
        Assert.Equal(47, headers.IPProtocol);
        Assert.False(headers.TryCopyLayers(Ethernet(gre), stackalloc PacketLayer[PacketHeaders.MaxLayers], out _));
    }
}
