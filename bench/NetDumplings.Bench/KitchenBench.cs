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

    private const int FreshProcesses = 3;

    public async Task RunAsync(BenchOptions options)
    {
        if (options.FirstRunCase is { } only)
        {
            // A fresh bench process: the engine's first kitchen run, as the first Start-DumplingKitchen in a new pwsh would be.
            var (rate, lost) = await KitchenToHubAsync(options.CaseArguments[0], withEater: only == "hub-eater");
            FreshProcess.Report("rate", rate);
            FreshProcess.Report("lost", lost);
            return;
        }
        var dir = Directory.CreateTempSubdirectory("nd-bench-kitchen-");
        try
        {
            var path = Path.Combine(dir.FullName, "mixed.pcap");
            var summary = PcapGenerator.WriteMixed(path, Packets, seed: 42);
            Console.WriteLine($"capture: {Packets:N0} generated packets ({new FileInfo(path).Length / 1e6:0} MB; " +
                              $"{summary.DnsQueryCount:N0} DNS queries, {summary.ArpRequests + summary.ArpReplies:N0} ARP), no capture filter; " +
                              $"warm: median of {options.Repeats} runs after a warm-up; first run: median of {FreshProcesses} fresh processes, each running the kitchen once");

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

            async Task<(double First, double Lost)> Fresh(string @case)
            {
                var runs = new List<Dictionary<string, double>>();
                for (var i = 0; i < FreshProcesses; i++) runs.Add(await FreshProcess.RunAsync(options, Name, @case, path));
                return (Measure.Median(runs.Select(r => r["rate"])), runs.Sum(r => r["lost"]));
            }

            var firstToHub = await Fresh("hub");
            var firstWithEater = await Fresh("hub-eater");
            RawRead();
            await KitchenToHubAsync(path, false); // warm up JIT and caches
            var raw = Measure.MedianOf(options.Repeats, RawRead);
            var toHubRuns = await Repeat(options.Repeats, () => KitchenToHubAsync(path, false));
            var withEaterRuns = await Repeat(options.Repeats, () => KitchenToHubAsync(path, true));
            var toHub = Median(toHubRuns.Select(r => r.Rate).ToList());
            var withEater = Median(withEaterRuns.Select(r => r.Rate).ToList());
            await KitchenToHubAsync(path, false, allChefs: true); // warm up the four newer chefs
            var allChefsRuns = await Repeat(options.Repeats, () => KitchenToHubAsync(path, false, allChefs: true));
            var allChefs = Median(allChefsRuns.Select(r => r.Rate).ToList());
            var (pwshFirst, pwshWarm, pwshLost, pwshImport) = await PwshKitchenAsync(options, path);
            var allNames = string.Join(",", ChefCatalog.BuiltIn.Select(t => t.Name));
            var (pwshAllFirst, pwshAllWarm, pwshAllLost, _) = await PwshKitchenAsync(options, path, allNames);

            var table = new BenchTable("case", "first run, packets/s (fresh process)", "packets/s (warm median)", "warm vs raw read", "dumplings not delivered (all runs)");
            table.Add("raw SharpPcap read (baseline)", "-", raw, 1.0, "-");
            table.Add("kitchen engine, 3 chefs -> hub", firstToHub.First, toHub, toHub / raw, firstToHub.Lost + toHubRuns.Sum(r => r.Lost));
            table.Add("kitchen engine, 3 chefs -> hub -> 1 eater", firstWithEater.First, withEater, withEater / raw, firstWithEater.Lost + withEaterRuns.Sum(r => r.Lost));
            table.Add($"kitchen engine, all {ChefCatalog.BuiltIn.Count} built-in chefs -> hub", "-", allChefs, allChefs / raw, allChefsRuns.Sum(r => r.Lost));
            table.Add("Start-DumplingKitchen in pwsh, 3 chefs -> hub", pwshFirst, pwshWarm, pwshWarm / raw, pwshLost);
            table.Add($"Start-DumplingKitchen in pwsh, all {ChefCatalog.BuiltIn.Count} built-in chefs -> hub", pwshAllFirst, pwshAllWarm, pwshAllWarm / raw, pwshAllLost);
            table.Print();
            Console.WriteLine($"Start-DumplingKitchen: first run = median of {FreshProcesses} fresh `dotnet pwsh` processes (Import-Module took a median {pwshImport:0.00} s before it, not in the rate); warm = later runs in the same processes; the hub is in this process.");
            Console.WriteLine($"target: >= 500,000 packets/s from file with 3 chefs to a hub in a fresh pwsh: {(pwshFirst >= 500_000 ? "met" : "NOT met")}");
            Console.WriteLine($"target: >= 500,000 packets/s from file with all {ChefCatalog.BuiltIn.Count} built-in chefs to a hub in a fresh pwsh: {(pwshAllFirst >= 500_000 ? "met" : "NOT met")} (warm engine: {allChefs:N0})");

            await KitchenLiveBench.RunAsync(path, options);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>One kitchen run to a hub in this process: packets/s (start to everything delivered) and dumplings not delivered.</summary>
    private static async Task<(double Rate, double Lost)> KitchenToHubAsync(string path, bool withEater, bool allChefs = false)
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
        if (stats.PacketsProcessed != Packets)
            throw new InvalidOperationException($"kitchen run lost packets: {stats}");
        if (eater is not null) await eater.StopAsync();
        // Reported, not thrown: the bench shows what a user would see.
        return (Packets / elapsed, stats.DumplingsMade - stats.DumplingsSent);
    }

    /// <summary>
    /// Start-DumplingKitchen as a user runs it: in fresh `dotnet pwsh` processes, to a hub in this process.
    /// Returns the median first run, the median of the later runs, dumplings not delivered, and the median Import-Module time.
    /// </summary>
    private static async Task<(double First, double Warm, double Lost, double Import)> PwshKitchenAsync(BenchOptions options, string path, string? chefs = null)
    {
        if (options.ModulePath is null) return (double.NaN, double.NaN, double.NaN, double.NaN);
        await using var hub = new DumplingHub(new DumplingHubOptions { Address = "127.0.0.1", InPort = 0, OutPort = 0 });
        await hub.StartAsync();
        const int runsPerProcess = 3;
        var script = $$"""
            $clock = [Diagnostics.Stopwatch]::StartNew()
            Import-Module '{{Path.GetFullPath(options.ModulePath)}}'
            "IMPORT $($clock.Elapsed.TotalSeconds)"
            for ($run = 0; $run -lt {{runsPerProcess}}; $run++) {
                $clock = [Diagnostics.Stopwatch]::StartNew()
                $s = Start-DumplingKitchen -Path '{{path}}' -Hub 127.0.0.1:{{hub.InEndPoint.Port}} -Filter '' {{(chefs is null ? "" : "-Chef " + chefs)}} -WarningAction SilentlyContinue
                "RUN $($s.PacketsProcessed / $clock.Elapsed.TotalSeconds) $($s.DumplingsMade - $s.DumplingsSent)"
            }
            """;
        var firsts = new List<double>();
        var warm = new List<double>();
        var imports = new List<double>();
        double lost = 0;
        for (var p = 0; p < FreshProcesses; p++)
        {
            using var child = PwshChild.Start(options.ModulePath, script);
            var run = 0;
            using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(5));
            while (await child.StandardOutput.ReadLineAsync(deadline.Token) is { } line)
            {
                var parts = line.Split(' ');
                if (parts[0] == "IMPORT") imports.Add(double.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
                if (parts[0] != "RUN") continue;
                var rate = double.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
                (run++ == 0 ? firsts : warm).Add(rate);
                lost += double.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture);
            }
            await child.WaitForExitAsync(deadline.Token);
            if (run != runsPerProcess) throw new InvalidOperationException("Start-DumplingKitchen in pwsh failed (its errors are above).");
        }
        return (Measure.Median(firsts), Measure.Median(warm), lost, Measure.Median(imports));
    }

    private static async Task<List<T>> Repeat<T>(int n, Func<Task<T>> run)
    {
        var results = new List<T>();
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
