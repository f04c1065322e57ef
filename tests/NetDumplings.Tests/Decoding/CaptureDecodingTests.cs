using System.Globalization;
using System.Text.Json;
using NetDumplings.Chefs;
using NetDumplings.Kitchen;
using NetDumplings.Packets;
using NetDumplings.Tests.Kitchen;
using NetDumplings.Traffic;
using PacketDotNet;

namespace NetDumplings.Tests.Decoding;

/// <summary>
/// The scenario of <see cref="DecodingCaptures"/> under every link type, VLAN stack and tunnel: the seven built-in
/// chefs read each the way they read plain Ethernet, and the way tshark dissects the same file.
/// </summary>
public class CaptureDecodingTests
{
    public static TheoryData<string> VariantNames() => [.. DecodingCaptures.Variants.Select(v => v.Name)];

    private static DecodingCaptures.Variant Variant(string name) => DecodingCaptures.Variants.Single(v => v.Name == name);

    public static DumplingChef[] AllChefs() => [.. ChefCatalog.BuiltIn.Select(ChefCatalog.Create)];

    internal static async Task<(List<Dumpling> Dumplings, KitchenStatistics Stats, List<KitchenNotice> Notices)> Cook(string path) =>
        await KitchenRun.LocalAsync(new DumplingKitchenOptions { Name = "decoding", Files = [path], Filter = null, PokeInterval = TimeSpan.Zero }, AllChefs());

    private static List<JsonElement> PacketPayloads(List<Dumpling> dumplings, string chef) => TSharkCheck.Packets(dumplings, chef);

    [Theory]
    [MemberData(nameof(VariantNames))]
    public async Task Every_chef_reads_the_scenario_as_on_plain_Ethernet(string name)
    {
        using var dir = new TempDir();
        var variant = Variant(name);
        var carried = DecodingCaptures.Write(dir.File("variant.pcap"), variant, DecodingCaptures.Scenario());
        DecodingCaptures.Write(dir.File("ethernet.pcap"), Variant("ethernet"), carried);

        var (dumplings, stats, notices) = await Cook(dir.File("variant.pcap"));
        var plain = await Cook(dir.File("ethernet.pcap"));
        Assert.DoesNotContain(notices, n => n.Level != KitchenNoticeLevel.Verbose);
        Assert.Equal(carried.Count, stats.PacketsProcessed);
        Assert.Empty(stats.Undecoded);
        Assert.All(stats.Chefs, c => Assert.Equal(0, c.Errors));

        foreach (var chef in new[] { "DNSLookupChef", "DNSAnswerChef", "ARPChef", "TLSChef", "DHCPChef" })
            Assert.Equal(PacketPayloads(plain.Dumplings, chef).Select(p => p.GetRawText()), PacketPayloads(dumplings, chef).Select(p => p.GetRawText()));
        // Flows are the inner ones, marked with the tunnel they came through.
        var flows = PacketPayloads(dumplings, "FlowChef");
        Assert.Equal(PacketPayloads(plain.Dumplings, "FlowChef").Select(WithoutTunnel), flows.Select(WithoutTunnel));
        Assert.All(flows, f => Assert.Equal(variant.Tunnelled, f.GetProperty("tunnel").ValueKind == JsonValueKind.String));
    }

    private static string WithoutTunnel(JsonElement flow) =>
        JsonSerializer.Serialize(flow.EnumerateObject().Where(p => p.Name != "tunnel").ToDictionary(p => p.Name, p => p.Value));

    [SkippableTheory]
    [MemberData(nameof(VariantNames))]
    public async Task Every_chef_agrees_with_tshark(string name)
    {
        Skip.IfNot(TShark.Available, TShark.Advice);
        using var dir = new TempDir();
        var path = dir.File($"{name}.pcap");
        DecodingCaptures.Write(path, Variant(name), DecodingCaptures.Scenario());
        var (dumplings, _, _) = await Cook(path);
        var frames = TShark.Fields(path, TSharkFields);
        TSharkCheck.All(frames, TShark.Conversations(path), dumplings);
    }

    internal static readonly string[] TSharkFields =
    [
        "frame.time_epoch", "frame.protocols", "ip.src", "ip.dst", "ip.len", "ipv6.src", "ipv6.dst", "ipv6.plen",
        "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport", "communityid",
        "dns.flags.response", "dns.qry.name", "dns.qry.type", "dns.flags.rcode", "dns.a", "dns.aaaa", "dns.cname", "dns.resp.ttl", "dns.time", "dns.id",
        "arp.opcode", "arp.src.hw_mac", "arp.src.proto_ipv4", "arp.dst.hw_mac", "arp.dst.proto_ipv4",
        "tls.handshake.type", "tls.handshake.extensions_server_name", "tls.handshake.ja3", "tls.handshake.ja3_full", "http.request.method", "http.host",
        "dhcp.option.dhcp", "dhcp.hw.mac_addr", "dhcp.option.hostname", "dhcp.option.vendor_class_id", "dhcp.option.requested_ip_address",
        "dhcp.ip.your", "dhcp.option.ip_address_lease_time", "dhcp.fqdn.name",
    ];
}

/// <summary>Each chef's dumplings against tshark's dissection of the same capture, exactly.</summary>
internal static class TSharkCheck
{
    private static string? One(Dictionary<string, string[]> row, string field) => row[field].Length > 0 ? row[field][0] : null;
    private static string? Last(Dictionary<string, string[]> row, string field) => row[field].Length > 0 ? row[field][^1] : null;
    private static string? Text(JsonElement e, string property) => e.GetProperty(property).ValueKind == JsonValueKind.Null ? null : e.GetProperty(property).ToString();
    /// <summary>A chef's packet payloads; FlowChef's flow records one by one, out of the dumplings that carry them together.</summary>
    public static List<JsonElement> Packets(List<Dumpling> dumplings, string chef) =>
        dumplings.Where(d => d.Chef == chef && d.Driver == DumplingDriver.Packet)
            .SelectMany(d => chef == "FlowChef" ? d.PayloadElement.GetProperty("flows").EnumerateArray().ToArray() : [d.PayloadElement]).ToList();

    public static void All(List<Dictionary<string, string[]>> frames, List<TShark.Conversation> conversations, List<Dumpling> dumplings)
    {
        Dns(frames, dumplings);
        Arp(frames, dumplings);
        Tls(frames, dumplings);
        Dhcp(frames, dumplings);
        Flows(frames, conversations, dumplings);
    }

    public static void Dns(List<Dictionary<string, string[]>> frames, List<Dumpling> dumplings)
    {
        var queries = frames.Where(f => One(f, "dns.flags.response") == "0").Select(f => One(f, "dns.qry.name")).ToList();
        Assert.Equal(queries, Packets(dumplings, "DNSLookupChef").Select(p => p.GetProperty("lookup").GetProperty("hostname").GetString()));

        var responses = frames.Where(f => One(f, "dns.flags.response") == "1").ToList();
        var answers = Packets(dumplings, "DNSAnswerChef");
        Assert.Equal(responses.Count, answers.Count);
        foreach (var (frame, answer) in responses.Zip(answers))
        {
            Assert.Equal(One(frame, "dns.qry.name"), Text(answer, "query"));
            Assert.Equal(DnsMessage.NameOfType(ushort.Parse(One(frame, "dns.qry.type")!)), Text(answer, "type"));
            Assert.Equal(DnsMessage.ResponseCodeName(int.Parse(One(frame, "dns.flags.rcode")!)), Text(answer, "rcode"));
            Assert.Equal(int.Parse(One(frame, "dns.id")!.Replace("0x", ""), NumberStyles.HexNumber), answer.GetProperty("id").GetInt32());
            var records = answer.GetProperty("answers").EnumerateArray().ToList();
            string[] Data(string type) => [.. records.Where(r => r.GetProperty("type").GetString() == type).Select(r => r.GetProperty("data").GetString()!)];
            Assert.Equal(frame["dns.a"], Data("A"));
            Assert.Equal(frame["dns.aaaa"], Data("AAAA"));
            Assert.Equal(frame["dns.cname"], Data("CNAME"));
            Assert.Equal(frame["dns.resp.ttl"], records.Select(r => r.GetProperty("ttl").GetUInt32().ToString()));
            if (One(frame, "dns.time") is { } rtt)
                Assert.Equal(double.Parse(rtt, CultureInfo.InvariantCulture), answer.GetProperty("rtt").GetDouble(), 6);
            else
                Assert.Equal(JsonValueKind.Null, answer.GetProperty("rtt").ValueKind);
        }
    }

    public static void Arp(List<Dictionary<string, string[]>> frames, List<Dumpling> dumplings)
    {
        var expected = frames.Where(f => One(f, "arp.opcode") is not null)
            .Select(f => (int.Parse(One(f, "arp.opcode")!) switch { 1 => "request", 2 => "reply", var n => n.ToString() },
                One(f, "arp.src.hw_mac"), One(f, "arp.src.proto_ipv4"), One(f, "arp.dst.hw_mac"), One(f, "arp.dst.proto_ipv4")))
            .ToList();
        var actual = Packets(dumplings, "ARPChef")
            .Select(a => (a.GetProperty("operation").ToString(), Text(a, "src_hw"), Text(a, "src_ip"), Text(a, "dst_hw"), Text(a, "dst_ip")))
            .ToList();
        Assert.Equal(expected, actual);
    }

    public static void Tls(List<Dictionary<string, string[]>> frames, List<Dumpling> dumplings)
    {
        var ours = Packets(dumplings, "TLSChef");
        var hellos = frames.Where(f => f["tls.handshake.type"].Contains("1"))
            .Select(f => (One(f, "tls.handshake.extensions_server_name"), One(f, "tls.handshake.ja3"), One(f, "tls.handshake.ja3_full"))).ToList();
        Assert.Equal(hellos, ours.Where(p => Text(p, "protocol") == "tls").Select(p => (Text(p, "server_name"), Text(p, "ja3"), Text(p, "ja3_string"))));
        var requests = frames.Where(f => One(f, "http.request.method") is not null).Select(f => (One(f, "http.request.method"), One(f, "http.host"))).ToList();
        Assert.Equal(requests, ours.Where(p => Text(p, "protocol") == "http").Select(p => (Text(p, "method"), Text(p, "host"))));
    }

    public static void Dhcp(List<Dictionary<string, string[]>> frames, List<Dumpling> dumplings)
    {
        var expected = frames.Where(f => One(f, "dhcp.option.dhcp") is not null)
            .Select(f => ((string?)DhcpMessage.MessageTypeName(int.Parse(One(f, "dhcp.option.dhcp")!)), One(f, "dhcp.hw.mac_addr"), One(f, "dhcp.option.hostname"),
                One(f, "dhcp.option.vendor_class_id"), One(f, "dhcp.option.requested_ip_address"),
                One(f, "dhcp.ip.your") is "0.0.0.0" ? null : One(f, "dhcp.ip.your"), One(f, "dhcp.option.ip_address_lease_time"), One(f, "dhcp.fqdn.name")))
            .ToList();
        var actual = Packets(dumplings, "DHCPChef")
            .Select(d => ((string?)Text(d, "message_type"), Text(d, "mac"), Text(d, "host_name"), Text(d, "vendor_class"), Text(d, "requested_address"),
                Text(d, "assigned_address"), Text(d, "lease_time"), Text(d, "client_fqdn")))
            .ToList();
        Assert.Equal(expected, actual);
    }

    // The innermost IP header and ports of a frame, as its protocol list orders them.
    private static (string Source, string Destination, int SourcePort, int DestinationPort, string Protocol, long IPBytes)? Innermost(Dictionary<string, string[]> frame)
    {
        var layers = One(frame, "frame.protocols")!.Split(':');
        var ip = Array.FindLastIndex(layers, l => l is "ip" or "ipv6");
        if (ip < 0) return null;
        var transport = Array.FindLastIndex(layers, l => l is "tcp" or "udp");
        if (transport < ip) return null;
        var protocol = layers[transport];
        var v6 = layers[ip] == "ipv6";
        var bytes = v6 ? long.Parse(Last(frame, "ipv6.plen")!) + 40 : long.Parse(Last(frame, "ip.len")!);
        return (Last(frame, v6 ? "ipv6.src" : "ip.src")!, Last(frame, v6 ? "ipv6.dst" : "ip.dst")!,
            int.Parse(Last(frame, $"{protocol}.srcport")!), int.Parse(Last(frame, $"{protocol}.dstport")!), protocol, bytes);
    }

    // The flow between these two ends, either way round.
    private static bool Joins(JsonElement flow, string a, int portA, string b, int portB)
    {
        var (orig, origPort, resp, respPort) = (Text(flow, "orig_h"), flow.GetProperty("orig_p").GetInt32(), Text(flow, "resp_h"), flow.GetProperty("resp_p").GetInt32());
        return (orig == a && origPort == portA && resp == b && respPort == portB) || (orig == b && origPort == portB && resp == a && respPort == portA);
    }

    public static void Flows(List<Dictionary<string, string[]>> frames, List<TShark.Conversation> conversations, List<Dumpling> dumplings)
    {
        var firstTime = double.Parse(One(frames[0], "frame.time_epoch")!, CultureInfo.InvariantCulture);
        var flows = Packets(dumplings, "FlowChef").Where(f => Text(f, "proto") is "tcp" or "udp").ToList();
        // The tunnels' own UDP conversations are not flows of the packets inside them.
        var inner = conversations.Where(c => c.PortB is not (PacketHeaders.VxlanPort or PacketHeaders.GenevePort)).ToList();
        Assert.Equal(inner.Count, flows.Count);
        var packets = frames.Select(Innermost).Where(p => p is not null).Select(p => p!.Value).ToList();
        foreach (var conversation in inner)
        {
            var flow = Assert.Single(flows, f => Text(f, "proto") == conversation.Protocol && Joins(f, conversation.A, conversation.PortA, conversation.B, conversation.PortB));
            var origIsA = Text(flow, "orig_h") == conversation.A && flow.GetProperty("orig_p").GetInt32() == conversation.PortA;
            Assert.Equal(origIsA ? conversation.FramesAToB : conversation.FramesBToA, flow.GetProperty("orig_pkts").GetInt64());
            Assert.Equal(origIsA ? conversation.FramesBToA : conversation.FramesAToB, flow.GetProperty("resp_pkts").GetInt64());
            Assert.Equal(firstTime + conversation.RelativeStart, flow.GetProperty("ts").GetDouble(), 5);
            Assert.True(Math.Abs(conversation.Duration - flow.GetProperty("duration").GetDouble()) <= 0.00005 + 1e-9,
                $"duration {flow.GetProperty("duration")} against tshark's {conversation.Duration}");

            var (orig, origPort) = (Text(flow, "orig_h"), flow.GetProperty("orig_p").GetInt32());
            var (resp, respPort) = (Text(flow, "resp_h"), flow.GetProperty("resp_p").GetInt32());
            var sent = packets.Where(p => p.Protocol == conversation.Protocol && p.Source == orig && p.SourcePort == origPort && p.Destination == resp && p.DestinationPort == respPort);
            var received = packets.Where(p => p.Protocol == conversation.Protocol && p.Source == resp && p.SourcePort == respPort && p.Destination == orig && p.DestinationPort == origPort);
            Assert.Equal(sent.Sum(p => p.IPBytes), flow.GetProperty("orig_ip_bytes").GetInt64());
            Assert.Equal(received.Sum(p => p.IPBytes), flow.GetProperty("resp_ip_bytes").GetInt64());
        }

        // Community ID: tshark's for the flow's packets.
        foreach (var frame in frames)
        {
            // A tunnel's own packets (ARP inside VXLAN has no inner IP) are no flow of ours.
            if (Innermost(frame) is not { } p || Last(frame, "communityid") is not { } id || p.DestinationPort is PacketHeaders.VxlanPort or PacketHeaders.GenevePort) continue;
            var flow = Assert.Single(flows, f => Text(f, "proto") == p.Protocol && Joins(f, p.Source, p.SourcePort, p.Destination, p.DestinationPort));
            Assert.Equal(id, Text(flow, "community_id"));
        }
    }
}
