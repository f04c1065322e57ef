using NetDumplings.Protocol;
using System.Diagnostics;
using System.Net.WebSockets;
using NetDumplings.Client;
using NetDumplings.Hub;

namespace NetDumplings.Bench;

/// <summary>
/// Dumplings/s from a real hub into PowerShell: Receive-Dumpling piped into Where-Object and
/// Measure-Object (and -Raw, and the hub-side -Chef filter) in a child pwsh, beside a raw
/// ClientWebSocket reader and the DumplingEater engine reading the same stream in this process.
/// And Send-Dumpling: PowerShell objects -> hub, beside ConvertTo-Json of the same objects.
/// </summary>
public sealed class EaterBench : IBenchScenario
{
    public string Name => "eater";
    public string Description => "Receive-Dumpling / Send-Dumpling dumplings per second through a real hub, vs a raw WebSocket reader and ConvertTo-Json";

    // The stream rates include the feed: a DumplingSender and the hub in this process, on the same
    // two cores as the reader, so every row is bounded by what they deliver.

    private const int Count = 200_000;
    private const int SendCount = 100_000;

    public async Task RunAsync(BenchOptions options)
    {
        if (options.ModulePath is null || !File.Exists(options.ModulePath))
        {
            Console.WriteLine("eater: needs --module path/to/NetDumplings.psd1 (build.ps1 -Task Bench passes it); skipped.");
            return;
        }
        var repeats = Math.Max(1, Math.Min(options.Repeats, 5));
        await using var hub = new DumplingHub(new DumplingHubOptions
        {
            Address = "127.0.0.1", InPort = 0, OutPort = 0,
            // Room for a whole run, so a slow eater is measured, not dropped.
            EaterQueueDumplings = Count * 2, EaterQueueBytes = 1L << 30,
            StatusInterval = TimeSpan.FromHours(1),
        });
        var connected = new HubLogWatch(hub);
        await hub.StartAsync();
        var feed = new HubAddress("127.0.0.1", hub.InEndPoint.Port);
        var eat = new HubAddress("127.0.0.1", hub.OutEndPoint.Port);

        // Half the stream is the chef the pipelines look for: ~200-byte DNS lookup dumplings.
        var stream = Enumerable.Range(0, Count).Select(i => DumplingCodec.Create(i % 2 == 0 ? "DNSLookupChef" : "ARPChef", "bench_kitchen",
            DumplingDriver.Packet, new RawJsonPayload($"{{\"lookup\":{{\"hostname\":\"host{i}.example.com\",\"when\":1499040017.81}}}}"))).ToArray();
        Console.WriteLine($"{Count:N0} dumplings of ~{stream[0].Utf8Json.Length} bytes per run (half DNSLookupChef), median of {repeats} runs after a warm-up; hub in this process, pwsh in a child");

        async Task<double> TimedFeedAsync(string eaterName, int run, Func<Task<long>> waitForEnd)
        {
            await connected.WaitForAsync($"Connected eater '{eaterName}'");
            var watch = Stopwatch.StartNew();
            await using var sender = await DumplingSender.ConnectAsync(feed, new KitchenAnnouncement("bench_kitchen"));
            foreach (var d in stream) await sender.SendAsync(d);
            // Bounded, and not awaited inside the timing: a sender whose last acknowledgement never
            // comes waits out its drain (seen here: the hub took and forwarded the dumplings anyway).
            var completing = sender.CompleteAsync(TimeSpan.FromSeconds(10));
            var eaten = await waitForEnd();
            var seconds = watch.Elapsed.TotalSeconds;
            await completing;
            if (eaten <= 0) throw new InvalidOperationException($"{eaterName}: the eater reported {eaten} dumplings.");
            return Count / seconds;
        }

        var table = new BenchTable("case", "first run/s (fresh pwsh)", "dumplings/s (warm median)", "baseline/s", "ratio", "baseline");
        var raw = await MedianRateAsync(repeats, run => RawReaderAsync(eat, $"raw_{run}", TimedFeedAsync, run));
        var engine = await MedianRateAsync(repeats, run => EngineReaderAsync(eat, $"engine_{run}", TimedFeedAsync, run));
        table.Add("DumplingEater (engine, C#)", "-", engine, raw, $"{engine / raw:0.00}x", "raw ClientWebSocket reader");

        var pipelines = new (string Case, string Pipeline, long Expected)[]
        {
            ("Receive-Dumpling | Where-Object Chef -eq X | Measure-Object", $"Receive-Dumpling -Hub {eat} -EaterName $name -Count {Count} | Where-Object Chef -eq DNSLookupChef | Measure-Object", Count / 2),
            ("Receive-Dumpling -Raw | Measure-Object", $"Receive-Dumpling -Hub {eat} -EaterName $name -Count {Count} -Raw | Measure-Object", Count),
            ("Receive-Dumpling -Chef X | Measure-Object (hub filters)", $"Receive-Dumpling -Hub {eat} -EaterName $name -Chef DNSLookupChef -Count {Count / 2} | Measure-Object", Count / 2),
        };
        foreach (var (label, pipeline, expected) in pipelines)
        {
            var (first, rate) = await PwshPipelineAsync(options.ModulePath, pipeline, repeats, expected, TimedFeedAsync);
            table.Add(label, first, rate, raw, $"{rate / raw:0.00}x", "raw ClientWebSocket reader");
        }
        table.Print();
        Console.WriteLine("first run: the pipeline's first run in its child pwsh, started fresh for each pipeline (Import-Module included in the process, not in the time)");

        Console.WriteLine();
        Console.WriteLine($"Send-Dumpling: {SendCount:N0} objects [pscustomobject]@{{n; name; cpu; when}} per run, timed inside the child pwsh, median of {repeats} after the first run (in the fresh pwsh):");
        var sends = await PwshSendAsync(options.ModulePath, feed, repeats);
        var sendTable = new BenchTable("case", "first run/s (fresh pwsh)", "dumplings/s (warm median)", "baseline/s", "ratio", "baseline");
        sendTable.Add("$objects | Send-Dumpling", sends["firstsend"], sends["send"], sends["convert"], $"{sends["send"] / sends["convert"]:0.00}x", "$objects | ForEach-Object { ConvertTo-Json $_ -Compress } (no sending)");
        sendTable.Add("$jsonStrings | Send-Dumpling", sends["firstsendjson"], sends["sendjson"], sends["convert"], $"{sends["sendjson"] / sends["convert"]:0.00}x", "same");
        sendTable.Print();
    }

    private delegate Task<double> Feeder(string eaterName, int run, Func<Task<long>> waitForEnd);

    private static async Task<double> MedianRateAsync(int repeats, Func<int, Task<double>> run)
    {
        await run(0); // warm-up
        var rates = new List<double>();
        for (var r = 1; r <= repeats; r++) rates.Add(await run(r));
        return Measure.Median(rates);
    }

    private static async Task<double> RawReaderAsync(HubAddress eat, string name, Feeder feed, int run)
    {
        using var ws = new ClientWebSocket();
        await ws.ConnectAsync(eat.Uri, CancellationToken.None);
        await ws.SendAsync(System.Text.Encoding.UTF8.GetBytes($"{{\"eater_name\":\"{name}\"}}"), WebSocketMessageType.Text, true, CancellationToken.None);
        var reading = Task.Run(async () =>
        {
            var buffer = new byte[64 * 1024];
            long messages = 0;
            while (messages < Count)
            {
                var r = await ws.ReceiveAsync(buffer.AsMemory(), CancellationToken.None);
                if (r.MessageType == WebSocketMessageType.Close) break;
                if (r.EndOfMessage) messages++;
            }
            return messages;
        });
        var rate = await feed(name, 0, () => reading);
        try { await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None); }
        catch (WebSocketException) { } // the hub may drop the connection without its close frame
        return rate;
    }

    private static Task<double> EngineReaderAsync(HubAddress eat, string name, Feeder feed, int run)
    {
        var eater = new DumplingEater(new DumplingEaterOptions { Hub = eat, EaterName = name, Count = Count });
        var reading = Task.Run(async () =>
        {
            long n = 0;
            await foreach (var d in eater.EatAsync()) n++;
            return n;
        });
        return feed(name, 0, () => reading);
    }

    /// <summary>Runs the pipeline warm-up + repeats times in one child pwsh; each run prints "DONE count".</summary>
    private static async Task<(double First, double WarmMedian)> PwshPipelineAsync(string module, string pipeline, int repeats, long expected, Feeder feed)
    {
        var script = $$"""
            Import-Module '{{module}}'
            for ($run = 0; $run -le {{repeats}}; $run++) {
                $name = "pwsh_{{Math.Abs(pipeline.GetHashCode())}}_$run"
                $m = {{pipeline}}
                "DONE $($m.Count)"
            }
            """;
        using var child = PwshChild.Start(module, script);
        var rates = new List<double>();
        var first = double.NaN;
        for (var run = 0; run <= repeats; run++)
        {
            var name = $"pwsh_{Math.Abs(pipeline.GetHashCode())}_{run}";
            var rate = await feed(name, 0, async () =>
            {
                var line = await PwshChild.ReadUntilAsync(child, "DONE", TimeSpan.FromMinutes(2));
                var count = long.Parse(line.Split(' ')[1]);
                if (count != expected) throw new InvalidOperationException($"'{pipeline}' counted {count}, expected {expected}.");
                return count;
            });
            if (run > 0) rates.Add(rate);
            else first = rate;
        }
        await child.WaitForExitAsync();
        return (first, Measure.Median(rates));
    }

    private static async Task<Dictionary<string, double>> PwshSendAsync(string module, HubAddress feed, int repeats)
    {
        var script = $$"""
            Import-Module '{{module}}'
            $objects = foreach ($i in 1..{{SendCount}}) { [pscustomobject]@{ n = $i; name = "item$i"; cpu = 1.5 * $i; when = [datetime]'2026-11-27' } }
            $json = foreach ($o in $objects) { '{"n":' + $o.n + ',"name":"' + $o.name + '"}' }
            $rates = @{ send = @(); sendjson = @(); convert = @(); firstsend = @(); firstsendjson = @() }
            for ($run = 0; $run -le {{repeats}}; $run++) {
                $w = [Diagnostics.Stopwatch]::StartNew(); $objects | Send-Dumpling -Hub '{{feed}}' -Chef SendBench; $t = $w.Elapsed.TotalSeconds
                if ($run) { $rates.send += {{SendCount}} / $t } else { $rates.firstsend += {{SendCount}} / $t }
                $w = [Diagnostics.Stopwatch]::StartNew(); $json | Send-Dumpling -Hub '{{feed}}' -Chef SendBench; $t = $w.Elapsed.TotalSeconds
                if ($run) { $rates.sendjson += {{SendCount}} / $t } else { $rates.firstsendjson += {{SendCount}} / $t }
                $w = [Diagnostics.Stopwatch]::StartNew(); $null = $objects | ForEach-Object { ConvertTo-Json $_ -Compress }; $t = $w.Elapsed.TotalSeconds
                if ($run) { $rates.convert += {{SendCount}} / $t }
            }
            foreach ($k in $rates.Keys) { "RATE $k $(($rates[$k] | Sort-Object)[[int][Math]::Floor($rates[$k].Count / 2)])" }
            "DONE 0"
            """;
        using var child = PwshChild.Start(module, script);
        var result = new Dictionary<string, double>();
        while (await child.StandardOutput.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("RATE ", StringComparison.Ordinal))
            {
                var parts = line.Split(' ');
                result[parts[1]] = double.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture);
            }
            if (line.StartsWith("DONE", StringComparison.Ordinal)) break;
        }
        await child.WaitForExitAsync();
        if (result.Count != 5) throw new InvalidOperationException("The Send-Dumpling child failed (its errors are above).");
        return result;
    }

    /// <summary>Counts the hub's log lines, so a run starts only once its eater is in the fan-out.</summary>
    private sealed class HubLogWatch
    {
        private readonly List<string> _lines = [];

        public HubLogWatch(DumplingHub hub) => hub.Log += (_, e) => { lock (_lines) _lines.Add(e.Message); };

        public async Task WaitForAsync(string text)
        {
            var deadline = DateTime.UtcNow.AddMinutes(2);
            while (DateTime.UtcNow < deadline)
            {
                lock (_lines)
                    if (_lines.Count(l => l.Contains(text, StringComparison.Ordinal)) >= 1) return;
                await Task.Delay(5);
            }
            throw new TimeoutException($"The hub never logged '{text}'.");
        }
    }
}
