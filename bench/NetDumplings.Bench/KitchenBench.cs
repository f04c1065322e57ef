using NetDumplings.Protocol;
using System.Diagnostics;
using NetDumplings.Chefs;
using NetDumplings.Hub;
using NetDumplings.Kitchen;
using NetDumplings.Traffic;
using SharpPcap;
using SharpPcap.LibPcap;

namespace NetDumplings.Bench;

/// <summary>
/// Packets per second through a kitchen: a generated capture of realistic mixed traffic, the three
/// sample chefs, dumplings to a real hub in this process; beside raw SharpPcap reading of the same
/// file in the same run. As root, also live capture on a veth pair in a network namespace the bench
/// creates, with tcpreplay offering the same traffic at rising rates (see KitchenLiveBench).
/// </summary>
public sealed class KitchenBench : IBenchScenario
{
    public string Name => "kitchen";
    public string Description => "packets/s from a capture file through the 3 sample chefs to a real hub, vs raw SharpPcap reading; live on a veth at rising rates (root)";

    private const int Packets = 1_000_000;

    public async Task RunAsync(BenchOptions options)
    {
        var dir = Directory.CreateTempSubdirectory("nd-bench-kitchen-");
        try
        {
            var path = Path.Combine(dir.FullName, "mixed.pcap");
            var summary = PcapGenerator.WriteMixed(path, Packets, seed: 42);
            long dumplingsPerRun = 0, dumplingsAllChefs = 0;
            Console.WriteLine($"capture: {Packets:N0} generated packets ({new FileInfo(path).Length / 1e6:0} MB; " +
                              $"{summary.DnsQueryCount:N0} DNS queries, {summary.ArpRequests + summary.ArpReplies:N0} ARP); median of {options.Repeats} runs");

            double RawRead()
            {
                var device = new CaptureFileReaderDevice(path);
                device.Open();
                var clock = Stopwatch.StartNew();
                long n = 0, bytes = 0;
                while (device.GetNextPacket(out var capture) == GetPacketStatus.PacketRead) { n++; bytes += capture.Data.Length; }
                var rate = n / clock.Elapsed.TotalSeconds;
                device.Close();
                return rate;
            }

            async Task<double> KitchenToHub(bool withEater, bool allChefs = false)
            {
                await using var hub = new DumplingHub(new DumplingHubOptions { Address = "127.0.0.1", InPort = 0, OutPort = 0 });
                await hub.StartAsync();
                var eater = withEater ? await BenchEater.StartAsync(hub.OutEndPoint) : null;
                await using var kitchen = new DumplingKitchen(
                    new DumplingKitchenOptions { Name = "bench", Files = [path], Filter = null, PokeInterval = TimeSpan.FromSeconds(5) },
                    allChefs ? ChefCatalog.BuiltIn.Select(ChefCatalog.Create) : [new PacketCountChef(), new DNSLookupChef(), new ARPChef()],
                    new HubAddress("127.0.0.1", hub.InEndPoint.Port));
                var clock = Stopwatch.StartNew();
                kitchen.Start();
                await kitchen.Completion;
                var elapsed = clock.Elapsed.TotalSeconds;
                var stats = kitchen.GetStatistics();
                if (stats.PacketsProcessed != Packets || stats.DumplingsDropped != 0 || stats.DumplingsSent != stats.DumplingsMade)
                    throw new InvalidOperationException($"kitchen run lost work: {stats}");
                if (allChefs) dumplingsAllChefs = stats.DumplingsMade; else dumplingsPerRun = stats.DumplingsMade;
                if (eater is not null) await eater.StopAsync();
                return Packets / elapsed;
            }

            RawRead();
            await KitchenToHub(false); // warm up JIT and caches
            var raw = Measure.MedianOf(options.Repeats, RawRead);
            var toHub = Median(await Repeat(options.Repeats, () => KitchenToHub(false)));
            var withEater = Median(await Repeat(options.Repeats, () => KitchenToHub(true)));
            await KitchenToHub(false, allChefs: true);
            var sevenChefs = Median(await Repeat(options.Repeats, () => KitchenToHub(false, allChefs: true)));

            var table = new BenchTable("case", "packets/s", "vs raw read", "dumplings/run");
            table.Add("raw SharpPcap read (baseline)", raw, 1.0, "-");
            table.Add("kitchen, 3 chefs -> hub", toHub, toHub / raw, dumplingsPerRun);
            table.Add("kitchen, 3 chefs -> hub -> 1 eater", withEater, withEater / raw, dumplingsPerRun);
            table.Add($"kitchen, all {ChefCatalog.BuiltIn.Count} built-in chefs -> hub", sevenChefs, sevenChefs / raw, dumplingsAllChefs);
            table.Print();
            Console.WriteLine($"target: >= 500,000 packets/s from file with 3 chefs to a hub: {(toHub >= 500_000 ? "met" : "NOT met")}");
            Console.WriteLine($"target: >= 500,000 packets/s from file with all {ChefCatalog.BuiltIn.Count} built-in chefs to a hub: {(sevenChefs >= 500_000 ? "met" : "NOT met")}");

            await KitchenLiveBench.RunAsync(path, options);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static async Task<List<double>> Repeat(int n, Func<Task<double>> run)
    {
        var results = new List<double>();
        for (var i = 0; i < n; i++) results.Add(await run());
        return results;
    }

    private static double Median(List<double> values) => Measure.Median(values);
}

/// <summary>An eater that reads and discards everything, so the hub's fan-out is part of the measurement.</summary>
internal sealed class BenchEater
{
    private readonly System.Net.WebSockets.ClientWebSocket _socket = new();
    private Task _reading = Task.CompletedTask;
    public long Received;

    public static async Task<BenchEater> StartAsync(System.Net.IPEndPoint hub)
    {
        var eater = new BenchEater();
        await eater._socket.ConnectAsync(new Uri($"ws://{hub}/"), CancellationToken.None);
        await eater._socket.SendAsync("{\"eater_name\":\"bench\"}"u8.ToArray(), System.Net.WebSockets.WebSocketMessageType.Text, true, CancellationToken.None);
        eater._reading = Task.Run(async () =>
        {
            var buffer = new byte[1 << 16];
            try
            {
                while (true)
                {
                    var r = await eater._socket.ReceiveAsync(buffer, CancellationToken.None);
                    if (r.MessageType == System.Net.WebSockets.WebSocketMessageType.Close) break;
                    if (r.EndOfMessage) eater.Received++;
                }
            }
            catch (Exception) { }
        });
        return eater;
    }

    public async Task StopAsync()
    {
        _socket.Abort();
        await _reading;
    }
}
