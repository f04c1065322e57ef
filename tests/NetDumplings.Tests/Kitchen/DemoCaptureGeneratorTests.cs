using NetDumplings.Chefs;
using NetDumplings.Kitchen;
using NetDumplings.Traffic;
using Xunit;
using static NetDumplings.Tests.Kitchen.KitchenRun;

namespace NetDumplings.Tests.Kitchen;

public class DemoCaptureGeneratorTests
{
    [Fact]
    public void SameSeedWritesTheSameBytesAndAnotherSeedDoesNot()
    {
        using var dir = new TempDir();
        var a = DemoCaptureGenerator.Write(dir.File("a.pcap"));
        DemoCaptureGenerator.Write(dir.File("b.pcap"));
        DemoCaptureGenerator.Write(dir.File("c.pcap"), seed: 8);
        Assert.Equal(File.ReadAllBytes(dir.File("a.pcap")), File.ReadAllBytes(dir.File("b.pcap")));
        Assert.NotEqual(File.ReadAllBytes(dir.File("a.pcap")), File.ReadAllBytes(dir.File("c.pcap")));
        Assert.InRange(a.Packets, 200, 1000);
        Assert.InRange((a.LastTime - a.FirstTime).TotalSeconds, 15, 20);
    }

    [Fact]
    public async Task TheSampleChefsFindWhatTheSummarySays()
    {
        using var dir = new TempDir();
        var summary = DemoCaptureGenerator.Write(dir.File("demo.pcap"));
        var (dumplings, stats, _) = await LocalAsync(
            new DumplingKitchenOptions { Files = [dir.File("demo.pcap")], PokeInterval = TimeSpan.Zero, Filter = null },
            new DNSLookupChef(), new ARPChef());
        Assert.Equal(summary.Packets, stats.PacketsProcessed);
        var lookups = dumplings.Where(d => d.Chef == nameof(DNSLookupChef) && d.Driver == DumplingDriver.Packet)
            .GroupBy(d => d.Payload().GetProperty("lookup").GetProperty("hostname").GetString()!)
            .ToDictionary(g => g.Key, g => (long)g.Count());
        Assert.Equal(summary.DnsQueries.OrderBy(p => p.Key), lookups.OrderBy(p => p.Key));
        Assert.Equal(summary.ArpRequests + summary.ArpReplies, dumplings.Count(d => d.Chef == nameof(ARPChef)));
    }

    [Fact]
    public void ClientHelloCarriesTheServerNameWhereTlsPutsIt()
    {
        var hello = DemoCaptureGenerator.ClientHello("api.github.com", new Random(1));
        Assert.Equal(0x16, hello[0]);                                   // handshake record
        Assert.Equal(hello.Length - 5, hello[3] << 8 | hello[4]);       // record length
        Assert.Equal(1, hello[5]);                                      // client_hello
        Assert.Equal(hello.Length - 9, hello[6] << 16 | hello[7] << 8 | hello[8]);
        var name = System.Text.Encoding.ASCII.GetBytes("api.github.com");
        Assert.True(hello.AsSpan()[^name.Length..].SequenceEqual(name)); // the only extension, last
        Assert.Equal(name.Length, hello[^(name.Length + 2)] << 8 | hello[^(name.Length + 1)]);
    }
}
