using SharpPcap;
using System.Net;
using NetDumplings.Chefs;
using NetDumplings.Kitchen;
using NetDumplings.Packets;
using NetDumplings.Traffic;
using static NetDumplings.Tests.Kitchen.KitchenRun;

namespace NetDumplings.Tests.Kitchen;

public class KitchenTests
{
    private sealed class ThrowingChef : DumplingChef
    {
        public int Seen;
        public override object? OnPacket(ChefPacket packet)
        {
            if (++Seen % 2 == 0) throw new InvalidOperationException("every second packet burns");
            return new { n = Seen };
        }
        public override object? OnInterval() => throw new InvalidOperationException("no intervals either");
    }

    private sealed class CountingChef : DumplingChef
    {
        public int Packets, Intervals, Threads;
        private readonly HashSet<int> _threads = [];
        public override object? OnPacket(ChefPacket packet)
        {
            Packets++;
            _threads.Add(Environment.CurrentManagedThreadId);
            Threads = _threads.Count;
            return null;
        }
        public override object? OnInterval() => new { intervals = ++Intervals, packets = Packets };
    }

    /// <summary>Serves from a thread of its own, as a scriptblock chef's runspace does.</summary>
    private sealed class ThreadedChef : DumplingChef
    {
        private Thread? _thread;
        public override void OnStart(ChefContext context)
        {
            _thread = new Thread(() =>
            {
                for (var i = 0; i < 10; i++) Serve(new { from_thread = i }, DumplingDriver.Interval);
                ReportError(new InvalidOperationException("a worker problem"));
            });
            _thread.Start();
        }
        public override void OnStop() => _thread!.Join();
    }

    private static string Mixed(TempDir dir, int count, TimeSpan? spacing = null)
    {
        var path = dir.File("mixed.pcap");
        PcapGenerator.WriteMixed(path, count, seed: 11, spacing: spacing);
        return path;
    }

    [Fact]
    public async Task A_chef_that_throws_is_isolated_counted_and_reported()
    {
        using var dir = new TempDir();
        var throwing = new ThrowingChef();
        var counting = new CountingChef();
        var (dumplings, stats, notices) = await LocalAsync(
            new DumplingKitchenOptions { Files = [Mixed(dir, 400)], PokeInterval = TimeSpan.Zero, Filter = null }, throwing, counting);

        Assert.Equal(400, counting.Packets);
        Assert.Equal(1, counting.Threads); // one dispatcher thread calls a chef
        Assert.Equal(200, dumplings.Count(d => d.Chef == nameof(ThrowingChef)));
        var chefStats = stats.Chefs.Single(c => c.Name == nameof(ThrowingChef));
        Assert.Equal(201, chefStats.Errors); // 200 packets + the final poke
        Assert.Equal(400, chefStats.Packets);
        var reported = notices.Where(n => n.Chef == nameof(ThrowingChef)).ToList();
        Assert.Equal(5, reported.Count); // the first few, then only counted
        Assert.Contains("every second packet burns", reported[0].Message);
    }

    [Fact]
    public async Task What_a_chef_drops_shows_in_the_kitchen_statistics_and_made_adds_up()
    {
        using var dir = new TempDir();
        var (dumplings, stats, _) = await LocalAsync(
            new DumplingKitchenOptions { Files = [Mixed(dir, 300)], PokeInterval = TimeSpan.Zero, Filter = null }, new DroppingChef());
        var chef = Assert.Single(stats.Chefs);
        Assert.Equal(100, chef.Dropped); // every third packet is one it could not take
        Assert.Contains("100 dropped", stats.ToString());
        // Nothing the kitchen made is unaccounted for: made = sent + dropped + queued.
        Assert.Equal(stats.DumplingsMade, stats.DumplingsSent + stats.DumplingsDropped + stats.DumplingsQueued);
        Assert.Equal(dumplings.Count, stats.DumplingsSent);
    }

    [Fact]
    public async Task Each_of_many_chefs_dumplings_carry_its_own_name_and_the_kitchens()
    {
        // More chefs than any small cache of envelope heads: each slot keeps its own, in turn on every packet.
        using var dir = new TempDir();
        var chefs = Enumerable.Range(0, 12).Select(i => new NamedChef($"Chef\"{i}\u00e9")).ToArray();
        var (dumplings, _, _) = await LocalAsync(
            new DumplingKitchenOptions { Name = "k\\1", Files = [Mixed(dir, 50)], PokeInterval = TimeSpan.Zero, Filter = null }, chefs);
        Assert.Equal(12 * 50, dumplings.Count);
        foreach (var d in dumplings)
        {
            var metadata = System.Text.Json.JsonDocument.Parse(d.Utf8Json).RootElement.GetProperty("metadata");
            Assert.Equal(d.Payload().GetProperty("chef").GetString(), metadata.GetProperty("chef").GetString());
            Assert.Equal("k\\1", metadata.GetProperty("kitchen").GetString());
        }
        Assert.Equal(chefs.Select(c => c.Name).Order(), dumplings.Select(d => d.Chef).Distinct().Order());
    }

    private sealed class NamedChef(string name) : DumplingChef
    {
        public override string Name => name;
        public override object? OnPacket(ChefPacket packet) => new { chef = name };
    }

    /// <summary>A chef that, like a scriptblock chef with a full inbox, cannot take every packet and counts the ones it could not.</summary>
    private sealed class DroppingChef : DumplingChef
    {
        private long _seen, _dropped;
        public override long PacketsDropped => Interlocked.Read(ref _dropped);
        public override object? OnPacket(ChefPacket packet)
        {
            if (++_seen % 3 == 0) { Interlocked.Increment(ref _dropped); return null; }
            return new { n = _seen };
        }
    }

    [Fact]
    public async Task Interval_pokes_arrive_while_packets_flow_and_once_more_at_the_end()
    {
        using var dir = new TempDir();
        // 60 packets 20 ms apart, replayed at their pace: ~1.2 s, pokes every 150 ms.
        var path = Mixed(dir, 60, TimeSpan.FromMilliseconds(20));
        var counting = new CountingChef();
        var (dumplings, stats, _) = await LocalAsync(
            new DumplingKitchenOptions { Files = [path], PaceFiles = true, PokeInterval = TimeSpan.FromMilliseconds(150), Filter = null }, counting);

        var intervals = dumplings.Where(d => d.Chef == nameof(CountingChef)).ToList();
        Assert.True(intervals.Count >= 3, $"only {intervals.Count} pokes");
        Assert.All(intervals, d => Assert.Equal(DumplingDriver.Interval, d.Driver));
        var packetsAtPoke = intervals.Select(d => d.Payload().GetProperty("packets").GetInt32()).ToList();
        Assert.True(packetsAtPoke[0] < 60, "the first poke came after every packet: pacing or pokes do not work");
        Assert.Equal(60, packetsAtPoke[^1]);
        Assert.Equal(stats.Pokes, intervals.Count);
        Assert.True(stats.Elapsed >= TimeSpan.FromSeconds(1), $"paced replay took only {stats.Elapsed}");
    }

    [Fact]
    public async Task Chefs_serve_and_report_errors_from_their_own_threads()
    {
        using var dir = new TempDir();
        var (dumplings, stats, notices) = await LocalAsync(
            new DumplingKitchenOptions { Files = [Mixed(dir, 10)], PokeInterval = TimeSpan.Zero, Filter = null }, new ThreadedChef());
        Assert.Equal(Enumerable.Range(0, 10), dumplings.Select(d => d.Payload().GetProperty("from_thread").GetInt32()).Order());
        Assert.Equal(1, stats.Chefs.Single().Errors);
        Assert.Contains(notices, n => n.Message.Contains("a worker problem"));
    }

    [Fact]
    public async Task A_BPF_filter_applies_to_capture_files()
    {
        using var dir = new TempDir();
        var summary = PcapGenerator.WriteMixed(dir.File("m.pcap"), 2000, seed: 5);
        var counting = new CountingChef();
        await LocalAsync(new DumplingKitchenOptions { Files = [dir.File("m.pcap")], Filter = "arp", PokeInterval = TimeSpan.Zero }, counting);
        Assert.Equal(summary.ArpRequests + summary.ArpReplies, counting.Packets);
    }

    [Fact]
    public async Task Stopping_a_kitchen_ends_it_promptly_and_calls_OnStop()
    {
        using var dir = new TempDir();
        var path = Mixed(dir, 100, TimeSpan.FromSeconds(1)); // 100 s at its pace
        var counting = new CountingChef();
        await using var kitchen = new DumplingKitchen(new DumplingKitchenOptions { Files = [path], PaceFiles = true, Filter = null }, [counting]);
        kitchen.Start();
        await Task.Delay(300);
        await kitchen.StopAsync().WaitAsync(TimeSpan.FromSeconds(20));
        Assert.True(kitchen.Completion.IsCompleted);
        Assert.InRange(counting.Packets, 1, 10);
        Assert.True(kitchen.Progress < 0.2);
    }

    [Fact]
    public void Bad_starts_are_clear_kitchen_exceptions()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("junk.pcap"), Enumerable.Range(0, 500).Select(i => (byte)(i * 7)).ToArray());
        PcapGenerator.WriteMixed(dir.File("ok.pcap"), 10);

        KitchenException Start(DumplingKitchenOptions options, params DumplingChef[] chefs) =>
            Assert.Throws<KitchenException>(() => new DumplingKitchen(options, chefs).Start());

        var missing = Start(new() { Files = [dir.File("nope.pcap")] }, new PacketCountChef());
        Assert.Equal(KitchenProblem.BadCaptureFile, missing.Problem);
        Assert.Contains("does not exist", missing.Message);

        var junk = Start(new() { Files = [dir.File("junk.pcap")] }, new PacketCountChef());
        Assert.Equal(KitchenProblem.BadCaptureFile, junk.Problem);
        Assert.Equal(dir.File("junk.pcap"), junk.Target);

        var filter = Start(new() { Files = [dir.File("ok.pcap")], Filter = "tcp and and port" }, new PacketCountChef());
        Assert.Equal(KitchenProblem.InvalidFilter, filter.Problem);
        Assert.Contains("syntax error", filter.Message);

        var noChef = Start(new() { Files = [dir.File("ok.pcap")] });
        Assert.Equal(KitchenProblem.NoValidChef, noChef.Problem);
    }

    [Fact]
    public void An_unknown_interface_lists_the_real_ones()
    {
        var error = Assert.Throws<KitchenException>(() =>
            new DumplingKitchen(new DumplingKitchenOptions { Interfaces = ["nd-no-such0"] }, [new PacketCountChef()]).Start());
        Assert.Equal(KitchenProblem.UnknownInterface, error.Problem);
        Assert.Contains("lo", error.Message);
        Assert.Equal("nd-no-such0", error.Target);
    }
}

public class KitchenErrorTests
{
    [Fact]
    public void A_missing_libpcap_is_recognised_however_SharpPcap_surfaces_it_and_names_the_package()
    {
        // Removing libpcap from the test machine is not possible; these are the shapes SharpPcap throws without it.
        var missing = new DllNotFoundException("Unable to load shared library 'wpcap' or one of its dependencies.");
        Assert.True(KitchenException.IsLibpcapMissing(missing));
        Assert.True(KitchenException.IsLibpcapMissing(new TypeInitializationException("SharpPcap.LibPcap.LibPcapSafeNativeMethods", missing)));
        Assert.False(KitchenException.IsLibpcapMissing(new IOException("disk")));
        var error = KitchenException.LibpcapMissing(missing);
        Assert.Equal(KitchenProblem.LibpcapMissing, error.Problem);
        Assert.Contains("apt-get install libpcap0.8", error.RecommendedAction);
        Assert.Same(missing, error.InnerException);
    }
}

public class CaptureTimeTests
{
    /// <summary>The kitchen reads a capture time from PosixTimeval's decimal directly: the same microseconds its properties give.</summary>
    [Fact]
    public void Capture_times_are_the_microseconds_SharpPcap_gives()
    {
        var random = new Random(3);
        var times = new List<SharpPcap.PosixTimeval>
        {
            new(0, 0), new(1, 1), new(1_499_040_017, 810_000), new(4_000_000_000, 999_999),
            new(1_700_000_000, 123_456_789, SharpPcap.TimestampResolution.Nanosecond), new(5, 999_999_999, SharpPcap.TimestampResolution.Nanosecond),
        };
        for (var i = 0; i < 20_000; i++)
        {
            var seconds = (ulong)random.NextInt64(0, 5_000_000_000);
            times.Add(i % 2 == 0
                ? new SharpPcap.PosixTimeval(seconds, (ulong)random.Next(0, 1_000_000))
                : new SharpPcap.PosixTimeval(seconds, (ulong)random.Next(0, 1_000_000_000), SharpPcap.TimestampResolution.Nanosecond));
        }
        foreach (var time in times)
        {
            var expected = DateTimeOffset.UnixEpoch.UtcTicks + (long)time.Seconds * TimeSpan.TicksPerSecond + (long)time.MicroSeconds * 10;
            Assert.Equal(expected, NetDumplings.Kitchen.PacketSource.Ticks(time));
        }
    }
}

public class FileReadingTests
{
    private sealed class Collect : IPacketIntake
    {
        public readonly List<(byte[] Data, long Ticks, int Length)> Packets = [];
        public void Offer(in KitchenItem item) => throw new InvalidOperationException("file replay puts, never offers");
        public void Put(in KitchenItem item, CancellationToken cancellationToken)
        {
            for (var i = 0; i < item.BatchCount; i++)
            {
                var packet = item.Batch![i];
                Packets.Add((packet.Data.ToArray(), packet.TimestampTicks, packet.OriginalLength));
            }
        }
    }

    /// <summary>
    /// File replay reads libpcap's records itself where it can (64-bit Linux): every packet's bytes, capture time and
    /// length on the wire are what SharpPcap reads from the same file, truncated snapshots included.
    /// </summary>
    [Fact]
    public void A_file_reads_as_SharpPcap_reads_it()
    {
        using var dir = new TempDir();
        var path = dir.File("m.pcap");
        PcapGenerator.WriteMixed(path, 5_000, seed: 9, DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_123), TimeSpan.FromTicks(12_340));
        var intake = new Collect();
        using (var source = FilePacketSource.Open(path, filter: null))
            Assert.Null(source.ReadAll(intake, pace: false, _ => { }, CancellationToken.None));

        using var device = new SharpPcap.LibPcap.CaptureFileReaderDevice(path);
        device.Open();
        var expected = new List<(byte[] Data, long Ticks, int Length)>();
        while (device.GetNextPacket(out var capture) == SharpPcap.GetPacketStatus.PacketRead)
        {
            var raw = capture.GetPacket();
            expected.Add((raw.Data, DateTimeOffset.UnixEpoch.UtcTicks + (long)raw.Timeval.Seconds * TimeSpan.TicksPerSecond + (long)raw.Timeval.MicroSeconds * 10, raw.PacketLength));
        }
        Assert.Equal(5_000, expected.Count);
        Assert.Equal(expected.Count, intake.Packets.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Ticks, intake.Packets[i].Ticks);
            Assert.Equal(expected[i].Length, intake.Packets[i].Length);
            Assert.Equal(expected[i].Data, intake.Packets[i].Data);
        }
        Assert.Equal(OperatingSystem.IsLinux() && Environment.Is64BitProcess, NativePcap.CanRead);
    }
}
