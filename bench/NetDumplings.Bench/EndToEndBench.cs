using System.Diagnostics;
using System.Globalization;
using NetDumplings.Chefs;
using NetDumplings.Client;
using NetDumplings.Kitchen;
using NetDumplings.Protocol;
using NetDumplings.Traffic;

namespace NetDumplings.Bench;

/// <summary>
/// What a user sees end to end, every process fresh: a capture file of 1M packets replayed by
/// Start-DumplingKitchen (the three sample chefs, default settings) to Start-DumplingHub in a pwsh of
/// its own, read by two `Receive-Dumpling -Chef DNSLookupChef, ARPChef -Driver Packet | Measure-Object`
/// eaters, each in its own pwsh. Reports packets/s, what each eater got against what the kitchen made
/// for it, and what each stage lost: the kitchen's statistics (made, sent, dropped) and the hub's
/// status (dropped). It reports what it sees; it does not fail on loss.
/// </summary>
public sealed class EndToEndBench : IBenchScenario
{
    public string Name => "e2e";
    public string Description => "capture file -> Start-DumplingKitchen (3 chefs) -> Start-DumplingHub -> 2 Receive-Dumpling eaters, each in its own fresh pwsh";

    private const int Packets = 1_000_000;
    private const int Eaters = 2;
    private static readonly string[] EaterChefs = ["DNSLookupChef", "ARPChef"];
    // Receive-Dumpling -Timeout: an eater the hub dropped dumplings for ends after this idle time (subtracted from its time).
    private const int EaterIdleSeconds = 15;
    private static readonly TimeSpan ProcessDeadline = TimeSpan.FromMinutes(3);

    public async Task RunAsync(BenchOptions options)
    {
        if (options.ModulePath is null || !File.Exists(options.ModulePath))
        {
            Console.WriteLine("e2e: needs --module path/to/NetDumplings.psd1 (build.ps1 -Task Bench passes it); skipped.");
            return;
        }
        var module = Path.GetFullPath(options.ModulePath);
        var runs = Math.Max(1, Math.Min(options.Repeats, 3));
        var dir = Directory.CreateTempSubdirectory("nd-bench-e2e-");
        try
        {
            var path = Path.Combine(dir.FullName, "mixed.pcap");
            PcapGenerator.WriteMixed(path, Packets, seed: 42);
            var expected = await PacketDumplingsForEatersAsync(path);
            Console.WriteLine($"capture: {Packets:N0} generated packets; the kitchen makes {expected:N0} packet dumplings of {string.Join(" and ", EaterChefs)} " +
                              $"(what each eater asks for); {runs} runs, every process fresh in each (so every run is a first run); hub and kitchen with default settings");
            var table = new BenchTable("run", "kitchen packets/s", "made", "sent", "kitchen dropped", "hub dropped",
                "eater 1 got", "eater 2 got", "eaters' dumplings/s", "lost before eaters");
            var rates = new List<double>();
            var eaterRates = new List<double>();
            for (var run = 1; run <= runs; run++)
            {
                var r = await RunOnceAsync(module, path, expected, run);
                rates.Add(r.KitchenRate);
                eaterRates.Add(r.EaterRate);
                table.Add(run, r.KitchenRate, $"{r.Made:N0}", $"{r.Sent:N0}", $"{r.KitchenDropped:N0}", $"{r.HubDropped:N0}",
                    $"{r.Got[0]:N0} / {expected:N0}", $"{r.Got[1]:N0} / {expected:N0}", r.EaterRate, $"{Eaters * expected - r.Got.Sum():N0}");
            }
            table.Add("median", Measure.Median(rates), "", "", "", "", "", "", Measure.Median(eaterRates), "");
            table.Print();
            Console.WriteLine("kitchen packets/s: packets / Start-DumplingKitchen's time in its pwsh (Import-Module before it, not counted), until everything is delivered or the drain gives up;");
            Console.WriteLine($"eaters' dumplings/s: dumplings an eater got / (its end - the kitchen's start), median of the two; an eater short of the count ends {EaterIdleSeconds} s after its last dumpling, which is not counted.");
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private sealed record RunResult(double KitchenRate, long Made, long Sent, long KitchenDropped, long HubDropped, long[] Got, double EaterRate);

    /// <summary>How many packet dumplings the eaters' chefs make from this capture with the kitchen's defaults (deterministic).</summary>
    private static async Task<long> PacketDumplingsForEatersAsync(string path)
    {
        await using var kitchen = new DumplingKitchen(new DumplingKitchenOptions { Files = [path] },
            [new PacketCountChef(), new DNSLookupChef(), new ARPChef()]);
        kitchen.Start();
        long count = 0;
        await foreach (var d in kitchen.Dumplings!.ReadAllAsync())
            if (d.Driver == DumplingDriver.Packet && EaterChefs.Contains(d.Chef)) count++;
        await kitchen.Completion;
        return count;
    }

    private static async Task<RunResult> RunOnceAsync(string module, string capture, long expected, int run)
    {
        using var hub = StartPwsh(module, """
            $hub = Start-DumplingHub -Address 127.0.0.1 -InPort 0 -OutPort 0 -StatusInterval 1 -AsJob
            "PORTS $($hub.Info.InPort) $($hub.Info.OutPort)"
            $null = [Console]::In.ReadLine()   # the bench closes stdin to stop the hub
            Stop-Job $hub
            """);
        var ports = (await ReadUntilAsync(hub, "PORTS")).Split(' ');
        var inPort = int.Parse(ports[1], CultureInfo.InvariantCulture);
        var outPort = int.Parse(ports[2], CultureInfo.InvariantCulture);

        // The hub's own view, from its status dumplings: which eaters are in, and what it dropped.
        using var watching = new CancellationTokenSource(ProcessDeadline);
        var status = new StatusWatch(new HubAddress("127.0.0.1", outPort), watching.Token);

        var eaters = new List<Process>();
        try
        {
            for (var i = 1; i <= Eaters; i++)
                eaters.Add(StartPwsh(module, $"""
                    $n = (Receive-Dumpling -Hub 127.0.0.1:{outPort} -EaterName e2e_{run}_{i} -Chef {string.Join(", ", EaterChefs)} -Driver Packet -Count {expected} -Timeout {EaterIdleSeconds} | Measure-Object).Count
                    "DONE $n $([DateTimeOffset]::UtcNow.ToUnixTimeMilliseconds())"
                    """));
            await status.WaitForEatersAsync(Enumerable.Range(1, Eaters).Select(i => $"e2e_{run}_{i}").ToArray());

            using var kitchen = StartPwsh(module, $"""
                $start = [DateTimeOffset]::UtcNow.ToUnixTimeMilliseconds()
                $clock = [Diagnostics.Stopwatch]::StartNew()
                $s = Start-DumplingKitchen -Path '{capture}' -Hub 127.0.0.1:{inPort} -WarningAction SilentlyContinue
                "KITCHEN $start $($clock.Elapsed.TotalSeconds.ToString([cultureinfo]::InvariantCulture)) $($s.PacketsProcessed) $($s.DumplingsMade) $($s.DumplingsSent) $($s.DumplingsDropped)"
                """);
            var k = (await ReadUntilAsync(kitchen, "KITCHEN")).Split(' ');
            var kitchenStart = long.Parse(k[1], CultureInfo.InvariantCulture);
            var seconds = double.Parse(k[2], CultureInfo.InvariantCulture);
            var processed = long.Parse(k[3], CultureInfo.InvariantCulture);

            var got = new long[Eaters];
            var eaterRates = new List<double>();
            for (var i = 0; i < Eaters; i++)
            {
                var done = (await ReadUntilAsync(eaters[i], "DONE")).Split(' ');
                got[i] = long.Parse(done[1], CultureInfo.InvariantCulture);
                var end = long.Parse(done[2], CultureInfo.InvariantCulture) - (got[i] < expected ? EaterIdleSeconds * 1000 : 0);
                eaterRates.Add(got[i] / Math.Max(0.001, (end - kitchenStart) / 1000.0));
            }
            var hubDropped = await status.FinalDroppedAsync();
            return new RunResult(processed / seconds, long.Parse(k[4], CultureInfo.InvariantCulture), long.Parse(k[5], CultureInfo.InvariantCulture),
                long.Parse(k[6], CultureInfo.InvariantCulture), hubDropped, got, Measure.Median(eaterRates));
        }
        finally
        {
            watching.Cancel();
            foreach (var e in eaters) await StopAsync(e);
            try { hub.StandardInput.Close(); } catch (IOException) { }
            await StopAsync(hub);
        }
    }

    /// <summary>A fresh `dotnet pwsh` that imports the module, then runs <paramref name="script"/> (its input open, to be told to stop).</summary>
    private static Process StartPwsh(string module, string script) =>
        PwshChild.Start(module, $"$ErrorActionPreference = 'Stop'\nImport-Module '{module}'\n{script}", redirectInput: true);

    private static Task<string> ReadUntilAsync(Process child, string tag) => PwshChild.ReadUntilAsync(child, tag, ProcessDeadline);

    private static async Task StopAsync(Process child)
    {
        using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try { await child.WaitForExitAsync(grace.Token); }
        catch (OperationCanceledException) { child.Kill(entireProcessTree: true); }
        child.Dispose();
    }

    /// <summary>Reads the hub's status dumplings (one a second) for the eaters it lists and its dropped total.</summary>
    private sealed class StatusWatch
    {
        private HubStatusReport? _last;
        private readonly Task _reading;

        public StatusWatch(HubAddress hub, CancellationToken token)
        {
            var eater = new DumplingEater(new DumplingEaterOptions { Hub = hub, EaterName = "e2e_status", Chefs = [HubStatusReport.ChefName] });
            _reading = Task.Run(async () =>
            {
                try
                {
                    await foreach (var d in eater.EatAsync(token))
                        if (HubStatusReport.IsStatus(d)) Volatile.Write(ref _last, HubStatusReport.From(d));
                }
                catch (OperationCanceledException) { }
            });
        }

        public async Task WaitForEatersAsync(string[] names)
        {
            var deadline = Stopwatch.StartNew();
            while (deadline.Elapsed < ProcessDeadline)
            {
                if (Volatile.Read(ref _last) is { } s && names.All(n => s.Eaters.Any(e => e.Name == n))) return;
                await Task.Delay(50);
            }
            throw new TimeoutException($"The eaters {string.Join(", ", names)} never appeared in the hub's status.");
        }

        /// <summary>The hub's dropped total from a status dumpling made after this call (they come every second).</summary>
        public async Task<long> FinalDroppedAsync()
        {
            var after = DateTimeOffset.UtcNow;
            var deadline = Stopwatch.StartNew();
            while (deadline.Elapsed < TimeSpan.FromSeconds(10))
            {
                if (Volatile.Read(ref _last) is { } s && s.Time > after) return s.TotalDumplingsDropped ?? -1;
                await Task.Delay(50);
            }
            return -1;
        }
    }
}
