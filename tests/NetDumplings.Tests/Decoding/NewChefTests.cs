using System.Text.Json;
using NetDumplings.Chefs;
using NetDumplings.Packets;
using NetDumplings.Tests.Kitchen;
using NetDumplings.Traffic;
using PacketDotNet;
using static NetDumplings.Traffic.FrameBuilder;

namespace NetDumplings.Tests.Decoding;

/// <summary>What tshark does not say: flow states and endings, bounds, and the interval summaries.</summary>
public class NewChefTests
{
    /// <summary>Collects what a chef serves outside a kitchen.</summary>
    private sealed class Outlet : IChefOutlet
    {
        public readonly List<JsonElement> Served = [];
        public void Serve(DumplingChef chef, object? payload, DumplingDriver driver) => Served.Add(DumplingCodec.Create(chef.Name, "test", driver, payload).PayloadElement);
        public List<JsonElement> Flows => [.. Served.SelectMany(s => s.GetProperty("flows").EnumerateArray())];
        public void ReportError(DumplingChef chef, Exception error, DateTimeOffset? packetTime) => throw error;
    }

    private static ChefPacket Packet(byte[] frame, DateTimeOffset time) => new(frame, time, LinkLayers.Ethernet);

    private static readonly DateTimeOffset T0 = DecodingCaptures.Start;

    [Fact]
    public async Task FlowChef_says_how_each_connection_went()
    {
        using var dir = new TempDir();
        DecodingCaptures.Write(dir.File("s.pcap"), DecodingCaptures.Variants[0], DecodingCaptures.Scenario());
        var (dumplings, _, _) = await CaptureDecodingTests.Cook(dir.File("s.pcap"));
        var flows = TSharkCheck.Packets(dumplings, "FlowChef")
            .GroupBy(f => $"{f.GetProperty("proto")} {f.GetProperty("resp_h")}:{f.GetProperty("resp_p")}")
            .ToDictionary(g => g.Key, g => g.First());
        (string Flow, string State, string Ended, string? Service)[] expected =
        [
            ("tcp 10.1.0.20:443", "SF", "closed", "ssl"), ("tcp 10.1.0.21:443", "RSTO", "reset", "ssl"), ("tcp fd00::20:443", "RSTR", "reset", "ssl"),
            ("tcp 10.1.0.22:80", "SF", "closed", "http"), ("tcp 10.1.0.23:8080", "REJ", "reset", "http"), ("tcp 10.1.0.53:53", "SF", "closed", "dns"),
            ("udp 10.1.0.53:53", "SF", "stopped", "dns"), ("udp 10.1.0.1:123", "SF", "stopped", "ntp"), ("udp 255.255.255.255:67", "S0", "stopped", "dhcp"),
            ("icmp 10.1.0.1:0", "SF", "stopped", null),
        ];
        foreach (var (flow, state, ended, service) in expected)
        {
            Assert.True(flows.ContainsKey(flow), $"no flow {flow} among {string.Join(", ", flows.Keys)}");
            Assert.Equal(state, flows[flow].GetProperty("conn_state").GetString());
            Assert.Equal(ended, flows[flow].GetProperty("ended").GetString());
            Assert.Equal(service, flows[flow].GetProperty("service").GetString());
        }
        var summary = dumplings.Single(d => d.Chef == "FlowChef" && d.Driver == DumplingDriver.Interval).PayloadElement;
        Assert.True(summary.GetProperty("top_talkers").GetArrayLength() is > 0 and <= 10);
        Assert.Equal("10.1.0.10", summary.GetProperty("top_talkers")[0].GetProperty("host").GetString());
    }

    [Fact]
    public void FlowChef_ends_idle_flows_by_capture_time_and_evicts_when_full()
    {
        var chef = new FlowChef { MaxFlows = 3, UdpIdleTimeout = TimeSpan.FromSeconds(60) };
        var outlet = new Outlet();
        chef.Attach(outlet);
        byte[] Udp(int port) => EthernetIP(IPv4("10.0.0.1", "10.0.0.2", 17, FrameBuilder.Udp(port, 53, [1, 2, 3])));
        chef.OnPacket(Packet(Udp(1000), T0));
        chef.OnPacket(Packet(Udp(1001), T0.AddSeconds(1)));
        chef.OnPacket(Packet(Udp(1002), T0.AddSeconds(2)));
        chef.OnPacket(Packet(Udp(1003), T0.AddSeconds(3)));   // the table is full: the least recently active goes
        Assert.Equal(1, chef.Evicted);
        Assert.Empty(outlet.Served);   // reported with the next second's flows

        chef.OnPacket(Packet(Udp(1003), T0.AddSeconds(50)));   // keeps 1003 alive
        Assert.Equal(1000, Assert.Single(outlet.Flows).GetProperty("orig_p").GetInt32());
        Assert.Equal("evicted", outlet.Flows[0].GetProperty("ended").GetString());
        chef.OnPacket(Packet(Udp(1004), T0.AddSeconds(62.5)));  // 1001 and 1002 have been idle over a minute
        Assert.Equal(["evicted", "idle", "idle"], outlet.Flows.Select(f => f.GetProperty("ended").GetString()));
        Assert.Equal(2, outlet.Served.Count);   // the two idle ones in one dumpling
        Assert.Equal(2, chef.ActiveFlows);
        var summary = JsonSerializer.SerializeToElement(chef.OnInterval());
        Assert.Equal(2, summary.GetProperty("active_flows").GetInt32());
        Assert.Equal(3, summary.GetProperty("flows_ended").GetInt64());
        chef.OnStop();
        Assert.Equal(5, outlet.Flows.Count);
    }

    /// <summary>
    /// Many flows at once, so the flow table grows, rehashes and chains colliding keys: every packet finds its own flow
    /// (a lookup that missed would start a second one), and each flow ends exactly once, wherever it sat in a chain.
    /// </summary>
    [Fact]
    public void FlowChef_finds_every_flow_of_a_large_table_and_ends_each_once()
    {
        var chef = new FlowChef { MaxFlowsPerDumpling = 1000 };
        var outlet = new Outlet();
        chef.Attach(outlet);
        const int Flows = 30_000;
        byte[] Udp(int i, bool reply) => EthernetIP(reply
            ? IPv4($"10.2.{i / 250}.{i % 250 + 1}", "10.1.0.1", 17, FrameBuilder.Udp(53, 20_000 + i % 40_000, [1]))
            : IPv4("10.1.0.1", $"10.2.{i / 250}.{i % 250 + 1}", 17, FrameBuilder.Udp(20_000 + i % 40_000, 53, [1])));
        for (var i = 0; i < Flows; i++) chef.OnPacket(Packet(Udp(i, reply: false), T0));
        // Replies in another order, and half of the flows a third packet, so lookups hit heads and chain members alike.
        for (var i = Flows - 1; i >= 0; i--) chef.OnPacket(Packet(Udp(i, reply: true), T0));
        for (var i = 0; i < Flows; i += 2) chef.OnPacket(Packet(Udp(i, reply: false), T0));
        Assert.Equal(Flows, chef.ActiveFlows);
        chef.OnStop();
        var flows = outlet.Flows;
        Assert.Equal(Flows, flows.Count);
        Assert.Equal(Flows, flows.Select(f => f.GetProperty("resp_h").GetString()).Distinct().Count());
        Assert.All(flows, f => Assert.Equal(1, f.GetProperty("resp_pkts").GetInt64()));
        Assert.Equal(Flows + Flows / 2, flows.Sum(f => f.GetProperty("orig_pkts").GetInt64()));
        Assert.Equal(0, chef.ActiveFlows);
    }

    [Fact]
    public void FlowChef_ends_flows_on_a_quiet_link_and_splits_big_batches()
    {
        var chef = new FlowChef { MaxFlowsPerDumpling = 100 };
        var outlet = new Outlet();
        chef.Attach(outlet);
        chef.OnStart(new ChefContext("k", 30, CancellationToken.None));
        for (var i = 0; i < 250; i++)
            chef.OnPacket(Packet(EthernetIP(IPv4("10.0.0.1", "10.0.0.2", 17, FrameBuilder.Udp(1000 + i, 53, [1]))), T0));
        chef.OnInterval();
        Assert.Empty(outlet.Served);
        chef.OnInterval();   // 30 s without a packet
        Assert.Empty(outlet.Served);
        chef.OnInterval();   // 60 s: idle
        Assert.Equal([100, 100, 50], outlet.Served.Select(s => s.GetProperty("flows").GetArrayLength()));
        Assert.All(outlet.Flows, f => Assert.Equal("idle", f.GetProperty("ended").GetString()));
    }

    [Fact]
    public void FlowChef_summaries_stay_bounded()
    {
        var chef = new FlowChef();
        chef.Attach(new Outlet());
        for (var i = 0; i < 5000; i++)
            chef.OnPacket(Packet(EthernetIP(IPv4($"10.{i / 250}.{i % 250}.1", "10.255.0.1", 6, Tcp(40000, 443, 1, 0, Syn, []))), T0.AddMilliseconds(i)));
        var summary = JsonSerializer.SerializeToElement(chef.OnInterval());
        Assert.Equal(5000, summary.GetProperty("active_flows").GetInt32());
        Assert.Equal(10, summary.GetProperty("largest_active").GetArrayLength());
        Assert.Equal(10, summary.GetProperty("top_talkers").GetArrayLength());
        Assert.Equal("10.255.0.1", summary.GetProperty("top_talkers")[0].GetProperty("host").GetString());
    }

    [Fact]
    public async Task DHCPChef_DNSAnswerChef_and_TLSChef_summarise_the_interval()
    {
        using var dir = new TempDir();
        DecodingCaptures.Write(dir.File("s.pcap"), DecodingCaptures.Variants[0], DecodingCaptures.Scenario());
        var (dumplings, _, _) = await CaptureDecodingTests.Cook(dir.File("s.pcap"));
        JsonElement Summary(string chef) => dumplings.Single(d => d.Chef == chef && d.Driver == DumplingDriver.Interval).PayloadElement;

        var device = Summary("DHCPChef").GetProperty("devices").GetProperty("02:00:00:00:00:99");
        Assert.Equal("laptop-7", device.GetProperty("host_name").GetString());
        Assert.Equal("laptop-7.corp.example", device.GetProperty("client_fqdn").GetString());
        Assert.Equal("MSFT 5.0", device.GetProperty("vendor_class").GetString());
        Assert.Equal("10.1.0.99", device.GetProperty("requested_address").GetString());
        Assert.Equal("10.1.0.99", device.GetProperty("assigned_address").GetString());
        Assert.Equal(86400u, device.GetProperty("lease_time").GetUInt32());
        Assert.Equal(["DISCOVER", "OFFER", "REQUEST", "ACK"], device.GetProperty("message_types").EnumerateArray().Select(t => t.GetString()));

        var dns = Summary("DNSAnswerChef");
        Assert.Equal(4, dns.GetProperty("responses").GetInt64());
        Assert.Equal(3, dns.GetProperty("rcodes").GetProperty("NOERROR").GetInt64());
        Assert.Equal(1, dns.GetProperty("rcodes").GetProperty("NXDOMAIN").GetInt64());
        Assert.Equal(0.0205, dns.GetProperty("rtt").GetProperty("max").GetDouble(), 6);
        Assert.Equal(0, dns.GetProperty("pending").GetInt32());

        var tls = Summary("TLSChef");
        Assert.Equal(3, tls.GetProperty("client_hellos").GetInt64());
        Assert.Equal(1, tls.GetProperty("http_requests").GetInt64());
        Assert.Equal(1, tls.GetProperty("top_server_names").GetProperty("big.example.com").GetInt64());
        var hello = dumplings.First(d => d.Chef == "TLSChef").PayloadElement;
        Assert.Equal(["TLS 1.3", "TLS 1.2"], hello.GetProperty("versions").EnumerateArray().Select(v => v.GetString()));
        Assert.Equal(["h2", "http/1.1"], hello.GetProperty("alpn").EnumerateArray().Select(v => v.GetString()));
        Assert.StartsWith("t13d1511h2_", hello.GetProperty("ja4").GetString());
    }

    [Fact]
    public void DNSAnswerChef_forgets_unanswered_queries_and_stays_bounded()
    {
        var chef = new DNSAnswerChef { MaxPendingQueries = 100 };
        for (var i = 0; i < 1000; i++)
            chef.OnPacket(Packet(EthernetIP(IPv4("10.0.0.1", "10.0.0.53", 17, FrameBuilder.Udp(1024 + i, 53, Dns((ushort)i, false, $"n{i}.example", 1)))), T0.AddMilliseconds(i)));
        var summary = JsonSerializer.SerializeToElement(chef.OnInterval());
        Assert.Equal(100, summary.GetProperty("pending").GetInt32());
        Assert.Equal(900, summary.GetProperty("unanswered").GetInt64());
    }
}

public class HandWrittenPayloadTests
{
    /// <summary>
    /// The payloads the kitchen's codec has write themselves (a dumpling per packet: ARP, DNS lookups and answers) write
    /// exactly the text JsonSerializer writes for them, which code calling a chef itself gets.
    /// </summary>
    [Fact]
    public void Payloads_written_by_hand_are_what_JsonSerializer_writes()
    {
        var frames = DecodingCaptures.Scenario().SelectMany(f => DecodingCaptures.Variants.Select(v => (v.LinkType, Frame: v.Wrap(f.Frame))))
            .Where(s => s.Frame is not null).ToList();
        DumplingChef[] chefs = [new ARPChef(), new DNSAnswerChef(), new DNSLookupChef()];
        var compared = chefs.ToDictionary(c => c.Name, _ => 0);
        var time = DecodingCaptures.Start;
        foreach (var (link, frame) in frames)
        {
            // Times with and without whole microseconds, so both of the time writer's ways are taken.
            time = time.AddTicks(compared.Values.Sum() % 2 == 0 ? 10_000 : 12_345);
            var packet = new ChefPacket(frame!, time, link);
            foreach (var chef in chefs)
            {
                if (chef.OnPacket(packet) is not { } payload) continue;
                Assert.IsAssignableFrom<IJsonPayloadWriter>(payload);
                var own = DumplingCodec.Create(chef.Name, "test", DumplingDriver.Packet, payload).PayloadElement.GetRawText();
                Assert.Equal(JsonSerializer.Serialize(payload, payload.GetType(), DumplingCodec.PayloadSerializerOptions), own);
                compared[chef.Name]++;
            }
        }
        Assert.All(compared, c => Assert.True(c.Value > 0, $"{c.Key} made no payload to compare"));
    }
}

public class FlowChefHashTests
{
    [Fact]
    public void The_one_block_SHA1_matches_the_platforms_for_every_length_it_takes()
    {
        var random = new Random(7);
        for (var length = 0; length <= 55; length++)
            for (var i = 0; i < 20; i++)
            {
                var message = new byte[length];
                random.NextBytes(message);
                var hash = new byte[20];
                CommunityId.Sha1OneBlock(message, hash);
                Assert.Equal(System.Security.Cryptography.SHA1.HashData(message), hash);
            }
    }
}

public class ChefTableTests
{
    /// <summary>The chefs' own hash table and queue agree with Dictionary and Queue over a long random run (growth, removal, reuse).</summary>
    [Fact]
    public void KeyTable_and_RingQueue_agree_with_Dictionary_and_Queue()
    {
        var random = new Random(5);
        var table = new KeyTable<HostKey, long>();
        var oracle = new Dictionary<UInt128, long>();
        var queue = new RingQueue<int>();
        var queueOracle = new Queue<int>();
        for (var i = 0; i < 200_000; i++)
        {
            // Few distinct keys, so adds, updates and removals all meet existing entries and chains.
            var key = (UInt128)random.Next(0, 5_000) << (random.Next(2) * 64);
            switch (random.Next(4))
            {
                case 0 or 1:
                    table.GetOrAdd(new HostKey(key), out var existed) += i;
                    Assert.Equal(oracle.ContainsKey(key), existed);
                    oracle[key] = oracle.GetValueOrDefault(key) + i;
                    break;
                case 2:
                    Assert.Equal(oracle.Remove(key, out var expected), table.Remove(new HostKey(key), out var removed));
                    Assert.Equal(expected, removed);
                    break;
                default:
                    Assert.Equal(oracle.TryGetValue(key, out var value), table.TryGetValue(new HostKey(key), out var found));
                    Assert.Equal(value, found);
                    break;
            }
            if (random.Next(3) > 0) { queue.Enqueue(i); queueOracle.Enqueue(i); }
            else if (queueOracle.Count > 0) Assert.Equal(queueOracle.Dequeue(), queue.Dequeue());
            Assert.Equal(queueOracle.TryPeek(out var head), queue.TryPeek(out var peeked));
            Assert.Equal(head, peeked);
        }
        Assert.Equal(oracle.Count, table.Count);
        Assert.Equal(oracle.OrderBy(p => p.Key), table.Entries().Select(e => new KeyValuePair<UInt128, long>(e.Key.Address, e.Value)).OrderBy(p => p.Key));
        Assert.Equal(queueOracle.Count, queue.Count);
        table.Clear();
        Assert.Equal(0, table.Count);
        Assert.Empty(table.Entries());
    }
}
