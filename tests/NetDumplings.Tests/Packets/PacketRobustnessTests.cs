using NetDumplings.Chefs;
using NetDumplings.Packets;
using PacketDotNet;
using static NetDumplings.Tests.Packets.TestFrames;

namespace NetDumplings.Tests.Packets;

/// <summary>Truncated and malformed frames are ordinary traffic: the reader, the parser and the built-in chefs never throw on them.</summary>
public class PacketRobustnessTests
{
    private static readonly DateTimeOffset When = DateTimeOffset.FromUnixTimeSeconds(1700000000);

    public static TheoryData<string, byte[], LinkLayers> Frames()
    {
        var dns = Dns(false, "www.example.org", "mail.example.org");
        return new()
        {
            { "Ethernet IPv4 TCP DNS", Ethernet(TcpIp("10.0.0.1", "10.0.0.53", 40000, 53, [0, (byte)dns.Length, .. dns])), LinkLayers.Ethernet },
            { "QinQ IPv6 extension headers UDP mDNS", Tagged(Ethernet(WithExtensionHeaders(UdpIp("fd00::1", "ff02::fb", 5353, 5353, dns), 0, 0, 60)), 0x88A8, 0x8100), LinkLayers.Ethernet },
            { "cooked v2 IPv4 first fragment UDP", CookedV2(AsIPv4Fragment(UdpIp("10.0.0.1", "10.0.0.2", 1, 53, dns), true, 0), 0x0800), LinkLayers.LinuxSll2 },
            { "cooked v1 ARP", Cooked(Arp(6, 4, 2), 0x0806), LinkLayers.LinuxSll },
            { "raw IPv4 ICMP echo", IcmpEcho(), LinkLayers.Raw },
        };
    }

    private static byte[] IcmpEcho()
    {
        var icmp = new IcmpV4Packet(new PacketDotNet.Utils.ByteArraySegment([8, 0, 0, 0, 0, 1, 0, 1, 0xAA, 0xBB]));
        var ip = new IPv4Packet(System.Net.IPAddress.Parse("10.0.0.1"), System.Net.IPAddress.Parse("10.0.0.2")) { PayloadPacket = icmp };
        ip.UpdateCalculatedValues();
        return ip.Bytes;
    }

    // Everything a chef or script can ask of a frame, through the header reader, the DNS parser,
    // PacketDotNet's fallbacks and the three built-in chefs.
    private static void ReadEverything(byte[] frame, LinkLayers link, PacketCountChef counter, DNSLookupChef lookups, ARPChef arps)
    {
        var packet = new ChefPacket(frame, When, link);
        var headers = packet.Headers;
        headers.TryCopyLayers(frame, stackalloc PacketLayer[PacketHeaders.MaxLayers], out _);
        _ = headers.SourceAddress(frame);
        _ = headers.DestinationAddress(frame);
        _ = headers.Payload(frame).Length;
        _ = headers.Arp(frame).SenderHardwareAddress.Length;
        DnsMessage.TryParse(DnsMessage.FindMessage(frame, headers), out _);

        var view = new DumplingPacket(packet);
        _ = view.ToString();
        _ = view.LayerNames;
        _ = view.DnsQuestions;
        _ = (view.Ethernet, view.IPv4, view.IPv6, view.Tcp, view.Udp, view.Arp, view.Icmp, view.IcmpV6);

        counter.OnPacket(packet);
        lookups.OnPacket(packet);
        arps.OnPacket(packet);
    }

    [Theory]
    [MemberData(nameof(Frames))]
    public void Reads_every_truncation_without_throwing_and_says_where_it_was_cut(string name, byte[] frame, LinkLayers link)
    {
        var whole = PacketHeaders.Read(frame, link);
        Assert.True(PacketDecodeStatus.Decoded == whole.Status, name);
        var headersEnd = whole.PayloadOffset;   // where the last header ends
        var (counter, lookups, arps) = (new PacketCountChef(), new DNSLookupChef(), new ARPChef());
        for (var length = 0; length <= frame.Length; length++)
        {
            var cut = frame[..length];
            var status = PacketHeaders.Read(cut, link).Status;
            Assert.True((length < headersEnd ? PacketDecodeStatus.Truncated : PacketDecodeStatus.Decoded) == status,
                $"{name} cut to {length} of {frame.Length} bytes (headers end at {headersEnd}): {status}");
            ReadEverything(cut, link, counter, lookups, arps);
        }
        counter.OnInterval();
        lookups.OnInterval();
    }

    [Fact]
    public void A_malformed_OSPF_packet_is_no_chef_error()
    {
        // Found by the fuzz test: PacketDotNet throws a bare Exception ("Malformed OSPF packet") for IP protocol 89.
        var frame = Convert.FromHexString("6AFA23EF99E859184C18CFB704A32AEBE36A7ACEBB5553CE5437E47B466C338C4D8512BB957FCB0C029D78D1879006F123E31B2B6C094F14A6549A6104DDD2DFE543697E906E56649E6ECB1EDD8247C331F2576351071F4436FE1540E4690725CB98EC44278861B58DB68CFD3E3137240DD73011856E8DDD23");
        ReadEverything(frame, LinkLayers.Raw, new PacketCountChef(), new DNSLookupChef(), new ARPChef());
        var ospf = (byte[])IcmpEcho().Clone();
        ospf[9] = 89;
        ReadEverything(ospf, LinkLayers.Raw, new PacketCountChef(), new DNSLookupChef(), new ARPChef());
    }

    [Fact]
    public void Reads_mutated_frames_without_throwing()
    {
        LinkLayers[] links = [LinkLayers.Ethernet, LinkLayers.LinuxSll, LinkLayers.LinuxSll2, LinkLayers.Raw, LinkLayers.Null, LinkLayers.Ieee80211];
        var frames = Frames().Select(row => (byte[])row[1]).ToArray();
        var random = new Random(15);
        var (counter, lookups, arps) = (new PacketCountChef(), new DNSLookupChef(), new ARPChef());
        for (var i = 0; i < 20_000; i++)
        {
            var frame = (byte[])frames[random.Next(frames.Length)].Clone();
            for (var flips = random.Next(1, 6); flips > 0; flips--)
                frame[random.Next(frame.Length)] = (byte)random.Next(256);
            var length = random.Next(2) == 0 ? frame.Length : random.Next(frame.Length + 1);
            ReadEverything(frame[..length], links[random.Next(links.Length)], counter, lookups, arps);
        }
        counter.OnInterval();
    }
}
