using System.Net;
using NetDumplings.Chefs;
using NetDumplings.Kitchen;
using NetDumplings.Traffic;
using SharpPcap;
using SharpPcap.LibPcap;
using static NetDumplings.Tests.Kitchen.KitchenRun;

namespace NetDumplings.Tests.Kitchen;

public class SampleChefTests
{
    private static DumplingKitchenOptions FileOptions(string path) => new()
    {
        Name = "test_kitchen", Files = [path], PokeInterval = TimeSpan.Zero, Filter = null,
    };

    [Fact]
    public void Generator_writes_a_pcap_that_libpcap_reads_packet_for_packet()
    {
        using var dir = new TempDir();
        var summary = PcapGenerator.WriteMixed(dir.File("mixed.pcap"), 3000, seed: 7);
        var device = new CaptureFileReaderDevice(dir.File("mixed.pcap"));
        device.Open();
        var count = 0;
        while (device.GetNextPacket(out _) == GetPacketStatus.PacketRead) count++;
        device.Close();
        Assert.Equal(3000, count);
        Assert.Equal(3000, summary.Packets);
        foreach (var layer in new[] { "Ethernet", "IP", "IPv6", "TCP", "UDP", "ARP", "ICMP", "DNS", "Raw" })
            Assert.True(summary.LayerCounts.GetValueOrDefault(layer) > 0, $"the mix has no {layer}");
    }

    [Fact]
    public async Task The_three_chefs_count_a_mixed_capture_as_it_was_generated()
    {
        using var dir = new TempDir();
        var summary = PcapGenerator.WriteMixed(dir.File("mixed.pcap"), 5000, seed: 3);
        var (dumplings, stats, notices) = await LocalAsync(FileOptions(dir.File("mixed.pcap")),
            new PacketCountChef(), new DNSLookupChef(), new ARPChef());

        Assert.DoesNotContain(notices, n => n.Level == KitchenNoticeLevel.Error);
        Assert.Equal(5000, stats.PacketsCaptured);
        Assert.Equal(5000, stats.PacketsProcessed);
        Assert.All(dumplings, d => Assert.Equal("test_kitchen", d.Kitchen));

        // PacketCountChef: only the final poke's dumpling, with every layer counted.
        var counts = Assert.Single(dumplings, d => d.Chef == "PacketCountChef");
        Assert.Equal(DumplingDriver.Interval, counts.Driver);
        var packetCounts = counts.Payload().GetProperty("packet_counts");
        foreach (var (layer, expected) in summary.LayerCounts)
            Assert.True(expected == packetCounts.GetProperty(layer).GetInt64(), $"{layer}: expected {expected}, got {packetCounts.GetProperty(layer)}");

        // DNSLookupChef: a packet dumpling per query, none per response; the table on the final poke.
        var lookups = dumplings.Where(d => d.Chef == "DNSLookupChef" && d.Driver == DumplingDriver.Packet).ToList();
        Assert.Equal(summary.DnsQueryCount, lookups.Count);
        var seen = dumplings.Single(d => d.Chef == "DNSLookupChef" && d.Driver == DumplingDriver.Interval)
            .Payload().GetProperty("lookups_seen");
        foreach (var (host, expected) in summary.DnsQueries)
            Assert.Equal(expected, seen.GetProperty(host).GetProperty("count").GetInt64());

        // ARPChef: one per ARP packet.
        var arps = dumplings.Where(d => d.Chef == "ARPChef").ToList();
        Assert.Equal(summary.ArpRequests + summary.ArpReplies, arps.Count);
        Assert.Equal(summary.ArpRequests, arps.Count(a => a.Payload().GetProperty("operation").GetString() == "request"));
        Assert.Equal(stats.DumplingsMade, dumplings.Count);
        Assert.Equal(0, stats.DumplingsDropped);
    }

    [Fact]
    public async Task PacketCountChef_counts_the_same_from_raw_headers_as_from_PacketDotNet()
    {
        using var dir = new TempDir();
        PcapGenerator.WriteMixed(dir.File("mixed.pcap"), 3000, seed: 21);
        var fast = await LocalAsync(FileOptions(dir.File("mixed.pcap")), new PacketCountChef());
        var parsed = await LocalAsync(FileOptions(dir.File("mixed.pcap")), new PacketCountChef { AlwaysParse = true });
        var a = fast.Dumplings.Single().Payload().GetProperty("packet_counts").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt64());
        var b = parsed.Dumplings.Single().Payload().GetProperty("packet_counts").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt64());
        Assert.Equal(b.OrderBy(p => p.Key), a.OrderBy(p => p.Key));
    }

    [Fact]
    public async Task DNSLookupChef_reads_queries_over_udp_and_tcp_and_ignores_responses()
    {
        using var dir = new TempDir();
        var client = IPAddress.Parse("10.1.0.2");
        var resolver = IPAddress.Parse("10.1.0.53");
        WritePackets(dir.File("dns.pcap"),
            (PcapGenerator.DnsQuery("example.com", client, resolver, 40000, 1), T(1)),
            (PcapGenerator.DnsResponse("example.com", resolver, client, 40000, 1, IPAddress.Parse("93.184.216.34")), T(1, 5)),
            (PcapGenerator.DnsQuery("tcp.example.net", client, resolver, 40001, 2, tcp: true), T(2)),
            (PcapGenerator.DnsQuery("example.com", client, resolver, 40002, 3), T(3, 250)),
            (PcapGenerator.Udp(client, resolver, 40003, 5353, new byte[20]), T(4)));
        var (dumplings, _, _) = await LocalAsync(FileOptions(dir.File("dns.pcap")), new DNSLookupChef());

        var lookups = dumplings.Where(d => d.Driver == DumplingDriver.Packet).Select(d => d.Payload().GetProperty("lookup")).ToList();
        Assert.Equal(["example.com", "tcp.example.net", "example.com"], lookups.Select(l => l.GetProperty("hostname").GetString()));
        Assert.Equal(Dumpling.ToEpochSeconds(T(3, 250)), lookups[2].GetProperty("when").GetDouble(), 6);

        var seen = dumplings.Single(d => d.Driver == DumplingDriver.Interval).Payload().GetProperty("lookups_seen");
        Assert.Equal(2, seen.GetProperty("example.com").GetProperty("count").GetInt64());
        Assert.Equal(Dumpling.ToEpochSeconds(T(3, 250)), seen.GetProperty("example.com").GetProperty("latest").GetDouble(), 6);
        Assert.Equal(1, seen.GetProperty("tcp.example.net").GetProperty("count").GetInt64());
    }

    [Fact]
    public async Task DNSLookupChef_keeps_only_the_most_recent_hostnames()
    {
        using var dir = new TempDir();
        var client = IPAddress.Parse("10.1.0.2");
        var resolver = IPAddress.Parse("10.1.0.53");
        var names = new[] { "a.test", "b.test", "c.test", "a.test", "d.test", "e.test" };
        WritePackets(dir.File("dns.pcap"), names.Select((n, i) => (PcapGenerator.DnsQuery(n, client, resolver, 40000, (ushort)i), T(i))).ToArray());
        var chef = new DNSLookupChef(maxHostnames: 3);
        var (dumplings, _, _) = await LocalAsync(FileOptions(dir.File("dns.pcap")), chef);

        var seen = dumplings.Single(d => d.Driver == DumplingDriver.Interval).Payload().GetProperty("lookups_seen");
        Assert.Equal(["e.test", "d.test", "a.test"], seen.EnumerateObject().Select(p => p.Name));
        Assert.Equal(2, seen.GetProperty("a.test").GetProperty("count").GetInt64());
        Assert.Equal(2, chef.Evicted);
    }

    [Fact]
    public async Task ARPChef_reports_each_packet_with_capture_time_and_notes_on_replies()
    {
        using var dir = new TempDir();
        var macA = PcapGenerator.Mac(10);
        var macB = PcapGenerator.Mac(11);
        var ipA = IPAddress.Parse("10.2.0.10");
        var ipB = IPAddress.Parse("10.2.0.11");
        WritePackets(dir.File("arp.pcap"),
            (PcapGenerator.ArpRequest(macB, ipB, ipA), T(1)),
            (PcapGenerator.ArpReply(macA, ipA, macB, ipB), T(2)),   // new
            (PcapGenerator.ArpReply(macA, ipA, macB, ipB), T(3)),   // known, same MAC
            (PcapGenerator.ArpReply(macB, ipA, macB, ipB), T(4)),   // the IP moved to another MAC
            (PcapGenerator.Udp(ipA, ipB, 1, 2, new byte[8]), T(5)));
        var (dumplings, _, _) = await LocalAsync(FileOptions(dir.File("arp.pcap")), new ARPChef());

        var arps = dumplings.Select(d => d.Payload()).ToList();
        Assert.Equal(4, arps.Count);
        Assert.All(dumplings, d => Assert.Equal(DumplingDriver.Packet, d.Driver));
        Assert.Equal("request", arps[0].GetProperty("operation").GetString());
        Assert.Equal("02:00:00:00:00:0b", arps[0].GetProperty("src_hw").GetString());
        Assert.Equal("10.2.0.11", arps[0].GetProperty("src_ip").GetString());
        Assert.Equal("10.2.0.10", arps[0].GetProperty("dst_ip").GetString());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, arps[0].GetProperty("notes").ValueKind);
        Assert.Equal(Dumpling.ToEpochSeconds(T(1)), arps[0].GetProperty("time").GetDouble(), 6);
        Assert.Equal("reply", arps[1].GetProperty("operation").GetString());
        Assert.Equal("source device is new", arps[1].GetProperty("notes").GetString());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, arps[2].GetProperty("notes").ValueKind);
        Assert.Equal("source device has new IP address", arps[3].GetProperty("notes").GetString());
    }
}
