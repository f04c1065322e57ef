using NetDumplings.Chefs;
using NetDumplings.Kitchen;
using NetDumplings.Tests.Kitchen;
using NetDumplings.Traffic;
using PacketDotNet;

namespace NetDumplings.Tests.Decoding;

/// <summary>The kitchen's side of decoding: undecodable packets counted by reason, and capture files whose link type the default filter does not fit.</summary>
public class KitchenDecodingTests
{
    [Fact]
    public async Task Undecodable_packets_are_counted_by_reason_and_still_reach_the_chefs()
    {
        using var dir = new TempDir();
        var malformed = DecodingCaptures.Malformed();
        using (var writer = new PcapFileWriter(dir.File("bad.pcap")))
            foreach (var (_, frame, _) in malformed) writer.Write(frame, DecodingCaptures.Start);
        var (_, stats, notices) = await KitchenRun.LocalAsync(
            new DumplingKitchenOptions { Files = [dir.File("bad.pcap")], Filter = null, PokeInterval = TimeSpan.Zero },
            [.. ChefCatalog.BuiltIn.Select(ChefCatalog.Create)]);
        Assert.DoesNotContain(notices, n => n.Level == KitchenNoticeLevel.Error);
        Assert.All(stats.Chefs, c => Assert.Equal(malformed.Count, c.Packets));
        var expected = malformed.Where(m => m.Status != "Decoded").GroupBy(m => m.Status).ToDictionary(g => g.Key, g => (long)g.Count());
        Assert.Equal(expected.OrderBy(p => p.Key), stats.Undecoded.OrderBy(p => p.Key));
        Assert.Equal(expected.Values.Sum(), stats.PacketsUndecoded);
        Assert.Contains("Truncated", stats.ToString());
    }

    // IEEE 802.15.4 with FCS: libpcap compiles no IP, TCP or UDP filter for it.
    private const LinkLayers Ieee802154 = (LinkLayers)195;

    private static string Write802154(TempDir dir)
    {
        var path = dir.File("zigbee.pcap");
        using var writer = new PcapFileWriter(path, Ieee802154);
        for (var i = 0; i < 5; i++) writer.Write([0x41, 0x88, (byte)i, 0xcd, 0xab, 0xff, 0xff, 0x00, 0x00, 0x12, 0x34, 0x00, 0x00], DecodingCaptures.Start.AddSeconds(i));
        return path;
    }

    [Fact]
    public async Task The_default_filter_is_left_off_with_a_warning_where_the_link_type_refuses_it()
    {
        using var dir = new TempDir();
        var counter = new PacketCountChef();
        var (_, stats, notices) = await KitchenRun.LocalAsync(
            new DumplingKitchenOptions { Files = [Write802154(dir)], Filter = DumplingKitchenOptions.DefaultFilter, PokeInterval = TimeSpan.Zero }, counter);
        Assert.Equal(5, stats.PacketsProcessed);
        Assert.Equal(5, stats.Undecoded["UnknownLinkType"]);
        var warning = Assert.Single(notices, n => n.Level == KitchenNoticeLevel.Warning);
        Assert.Contains("'tcp or udp or arp' cannot be used", warning.Message);
        Assert.Contains("195", warning.Message);
        Assert.Contains("unfiltered", warning.Message);
    }

    [Fact]
    public async Task A_filter_the_user_gave_is_still_an_error_naming_the_link_type()
    {
        using var dir = new TempDir();
        var kitchen = new DumplingKitchen(new DumplingKitchenOptions { Files = [Write802154(dir)], Filter = "tcp port 80" }, [new PacketCountChef()]);
        await using var _ = kitchen;
        var error = Assert.Throws<KitchenException>(kitchen.Start);
        Assert.Equal(KitchenProblem.InvalidFilter, error.Problem);
        Assert.Contains("link type 195", error.Message);
    }
}
