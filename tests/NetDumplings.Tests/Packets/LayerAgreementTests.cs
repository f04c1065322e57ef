using NetDumplings.Chefs;
using NetDumplings.Packets;
using PacketDotNet;
using static NetDumplings.Tests.Packets.TestFrames;

namespace NetDumplings.Tests.Packets;

/// <summary>The built-in C# chefs and a scriptblock chef's packet read the same frames the same way.</summary>
public class LayerAgreementTests
{
    private static readonly DateTimeOffset When = DateTimeOffset.FromUnixTimeSeconds(1700000000);

    private static ChefPacket Packet(byte[] frame, LinkLayers link = LinkLayers.Ethernet) => new(frame, When, link);

    // What PacketCountChef reports, and what a scriptblock chef counting $Packet.LayerNames (examples/ScriptChefs.ps1) reports.
    private static (Dictionary<string, long> Chef, Dictionary<string, long> Script) Count(params ChefPacket[] packets)
    {
        var chef = new PacketCountChef();
        var script = new Dictionary<string, long>();
        foreach (var packet in packets)
        {
            chef.OnPacket(packet);
            foreach (var layer in new DumplingPacket(packet).LayerNames)
                script[layer] = script.GetValueOrDefault(layer) + 1;
        }
        var payload = Assert.IsType<Dictionary<string, object>>(chef.OnInterval());
        return (Assert.IsType<Dictionary<string, long>>(payload["packet_counts"]), script);
    }

    [Fact]
    public void PacketCountChef_and_the_script_packet_agree_on_mDNS()
    {
        var query = Dns(false, "printer.local");
        var mdns4 = Packet(Ethernet(UdpIp("10.0.0.7", "224.0.0.251", 5353, 5353, query)));
        var (chef, script) = Count(mdns4);
        Assert.Equal(script, chef);
        Assert.Equal(new Dictionary<string, long> { ["Ethernet"] = 1, ["IP"] = 1, ["UDP"] = 1, ["DNS"] = 1 }, chef);

        var response = Dns(true, "printer.local");
        (chef, script) = Count(
            mdns4,
            Packet(Ethernet(UdpIp("fe80::7", "ff02::fb", 5353, 5353, response))),
            Packet(Tagged(Ethernet(UdpIp("10.0.0.7", "224.0.0.251", 40000, 5353, query)), 0x8100)),
            Packet(CookedV2(UdpIp("10.0.0.7", "224.0.0.251", 5353, 5353, query), 0x0800), LinkLayers.LinuxSll2),
            Packet(Ethernet(UdpIp("10.0.0.7", "224.0.0.251", 5353, 5353, [1, 2, 3]))),                  // not a DNS message: Raw
            Packet(Ethernet(TcpIp("10.0.0.7", "10.0.0.8", 40000, 5353, [0, (byte)query.Length, .. query]))));   // no mDNS over TCP: Raw
        Assert.Equal(script, chef);
        Assert.Equal(4, chef["DNS"]);
        Assert.Equal(2, chef["Raw"]);
        Assert.Equal(1, chef["Dot1Q"]);
        Assert.Equal(1, chef["cooked linux v2"]);
    }

    [Fact]
    public void DNSLookupChef_and_the_script_packet_find_the_same_mDNS_queries()
    {
        var chef = new DNSLookupChef();
        var frames = new[]
        {
            Ethernet(UdpIp("10.0.0.7", "224.0.0.251", 5353, 5353, Dns(false, "Küche TV._airplay._tcp.local"))),
            Ethernet(UdpIp("10.0.0.7", "224.0.0.251", 5353, 5353, Dns(true, "answered.local"))),
            Ethernet(UdpIp("10.0.0.7", "10.0.0.53", 40000, 53, Dns(false, "example.com"))),
            Ethernet(UdpIp("10.0.0.7", "224.0.0.252", 40000, 5355, Dns(false, "llmnr"))),
        };
        var fromChef = new List<string>();
        var fromScript = new List<string>();
        foreach (var frame in frames)
        {
            if (chef.OnPacket(Packet(frame)) is { } payload)
                fromChef.Add(System.Text.Json.JsonSerializer.SerializeToElement(payload).GetProperty("lookup").GetProperty("hostname").GetString()!);
            // examples/ScriptChefs.ps1's lookup chef: every question of every query.
            if (new DumplingPacket(Packet(frame)).Dns is { IsResponse: false } dns)
                fromScript.AddRange(dns.Questions.Select(q => q.Name));
        }
        Assert.Equal(["Küche TV._airplay._tcp.local", "example.com"], fromChef);
        Assert.Equal(fromChef, fromScript);
    }

    [Fact]
    public void PacketCountChef_and_the_script_packet_agree_on_every_kind_of_frame()
    {
        var dns = Dns(false, "a.test");
        var (chef, script) = Count(
            Packet(Ethernet(TcpIp("10.0.0.1", "10.0.0.2", 40000, 443, []))),
            Packet(Ethernet(TcpIp("10.0.0.1", "10.0.0.53", 40000, 53, [0, (byte)dns.Length, .. dns]))),
            Packet(Tagged(Ethernet(UdpIp("fd00::1", "fd00::2", 1, 2, [7])), 0x88A8, 0x8100)),
            Packet(Ethernet(WithExtensionHeaders(UdpIp("fd00::1", "fd00::2", 1, 53, dns), 0, 0, 43))),
            Packet(Ethernet(WithExtensionHeaders(UdpIp("fd00::1", "fd00::2", 1, 53, dns), 5, 44))),
            Packet(Ethernet(AsIPv4Fragment(UdpIp("10.0.0.1", "10.0.0.2", 1, 53, dns), false, 9))),
            Packet(Ethernet(Arp(6, 4, 1), etherType: 0x0806)),
            Packet(Cooked(UdpIp("10.0.0.1", "10.0.0.2", 1, 53, dns), 0x0800), LinkLayers.LinuxSll),
            Packet(UdpIp("10.0.0.1", "10.0.0.2", 1, 53, dns), LinkLayers.Raw),
            Packet(Ethernet(TcpIp("10.0.0.1", "10.0.0.2", 40000, 443, [1, 2, 3]))[..40]));   // cut inside the TCP header
        Assert.Equal(script.OrderBy(p => p.Key), chef.OrderBy(p => p.Key));
        Assert.Equal(1, chef["Dot1AD"]);
        Assert.Equal(4, chef["DNS"]);
        Assert.Equal(4, chef["Raw"]);   // a payload, two later fragments, a cut header
    }
}
