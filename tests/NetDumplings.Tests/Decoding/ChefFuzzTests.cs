using System.Diagnostics;
using NetDumplings.Chefs;
using NetDumplings.Packets;
using NetDumplings.Traffic;
using PacketDotNet;

namespace NetDumplings.Tests.Decoding;

/// <summary>Random and mutated packets through every built-in chef for a bounded time: malformed traffic is never a chef error.</summary>
public class ChefFuzzTests
{
    private sealed class Outlet : IChefOutlet
    {
        public long Served;
        // Encoded as the kitchen would, so a chef that writes its own JSON is checked too.
        public void Serve(DumplingChef chef, object? payload, DumplingDriver driver)
        {
            DumplingCodec.Parse(DumplingCodec.Create(chef.Name, "fuzz", driver, payload).Utf8Json);
            Served++;
        }
        public void ReportError(DumplingChef chef, Exception error, DateTimeOffset? packetTime) => throw error;
    }

    [Fact]
    public void Every_built_in_chef_takes_random_and_mutated_packets_without_an_error()
    {
        var seed = Environment.TickCount;
        var random = new Random(seed);
        var variants = DecodingCaptures.Variants;
        var scenario = DecodingCaptures.Scenario();
        var seeds = scenario.SelectMany(f => variants.Select(v => (v.LinkType, Frame: v.Wrap(f.Frame)))).Where(s => s.Frame is not null)
            .Select(s => (s.LinkType, s.Frame!))
            .Concat(DecodingCaptures.Malformed().Select(m => (LinkLayers.Ethernet, m.Frame)))
            .ToArray();
        LinkLayers[] links = [.. variants.Select(v => v.LinkType).Distinct(), LinkLayers.Ieee8025, (LinkLayers)195];
        var outlet = new Outlet();
        DumplingChef[] Fresh()
        {
            // Small tables, so eviction and expiry run too.
            DumplingChef[] chefs = [new PacketCountChef(), new DNSLookupChef(16), new ARPChef { MaxAddresses = 16 }, new FlowChef { MaxFlows = 64 },
                new DNSAnswerChef { MaxPendingQueries = 16 }, new TLSChef(), new DHCPChef { MaxDevices = 16 }];
            foreach (var chef in chefs) chef.Attach(outlet);
            return chefs;
        }
        var chefs = Fresh();
        var time = DecodingCaptures.Start;
        var clock = Stopwatch.StartNew();
        var packets = 0;
        // Bounded by time and by count, whichever comes first.
        // ND_FUZZ_SECONDS runs it longer by hand.
        var seconds = int.TryParse(Environment.GetEnvironmentVariable("ND_FUZZ_SECONDS"), out var s) ? s : 4;
        var limit = seconds <= 4 ? 2_000_000 : int.MaxValue;
        while (clock.Elapsed < TimeSpan.FromSeconds(seconds) && packets < limit)
        {
            LinkLayers link;
            byte[] frame;
            if (random.Next(4) == 0)
            {
                link = links[random.Next(links.Length)];
                frame = new byte[random.Next(0, 400)];
                random.NextBytes(frame);
            }
            else
            {
                var (seedLink, seedFrame) = seeds[random.Next(seeds.Length)];
                link = random.Next(10) == 0 ? links[random.Next(links.Length)] : seedLink;
                frame = (byte[])seedFrame.Clone();
                for (var flips = random.Next(0, 6); flips > 0 && frame.Length > 0; flips--)
                    frame[random.Next(frame.Length)] = (byte)random.Next(256);
                if (random.Next(3) == 0) frame = frame[..random.Next(frame.Length + 1)];
            }
            time = time.AddMilliseconds(random.Next(0, 2000));   // sometimes far enough for flows and queries to expire
            var packet = new ChefPacket(frame, time, link);
            try
            {
                foreach (var chef in chefs) chef.OnPacket(packet);
                var view = new DumplingPacket(packet);
                _ = (view.LayerNames, view.Protocol, view.SourceAddress, view.DestinationPort, view.DnsQuestions);
                if (++packets % 5000 == 0)
                {
                    foreach (var chef in chefs) chef.OnInterval();
                    if (packets % 50_000 == 0)
                    {
                        foreach (var chef in chefs) chef.OnStop();
                        chefs = Fresh();
                    }
                }
            }
            catch (Exception e)
            {
                Assert.Fail($"seed {seed}, packet {packets} ({link}, {Convert.ToHexString(frame)}): {e}");
            }
        }
        foreach (var chef in chefs)
        {
            chef.OnInterval();
            chef.OnStop();
        }
        Assert.True(packets > 10_000, $"only {packets} packets in the time");
    }
}
