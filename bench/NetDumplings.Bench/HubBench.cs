using System.Diagnostics;
using System.Net.Sockets;
using System.Net.WebSockets;
using NetDumplings.Hub;

namespace NetDumplings.Bench;

/// <summary>
/// The hub under load, in a process of its own: one kitchen sending 100k ~200-byte dumplings as fast as
/// it can to 1, 4 and 16 eaters, beside a plain TCP relay of the same bytes to the same number of
/// readers (our ceiling on this machine); latency at 1k dumplings/s; and a stalled eater beside three.
/// </summary>
public sealed class HubBench : IBenchScenario
{
    public string Name => "hub";
    public string Description => "hub fan-out throughput vs a plain TCP relay, over wss vs ws, TLS handshake cost, latency at 1k/s, a stalled eater";

    private const int Count = 100_000;
    // Where the 19-digit send timestamp sits in each message.
    private static readonly TimeSpan Idle = TimeSpan.FromSeconds(3);

    public async Task RunAsync(BenchOptions options)
    {
        var repeats = Math.Max(1, Math.Min(options.Repeats, 3));
        Console.WriteLine($"{Count:N0} dumplings of {Message(0, 0).Length} bytes per run; median of {repeats} runs after a warm-up; hub and relay each in a child process; first run = the hub's first run in its fresh process");
        var table = new BenchTable("eaters", "hub first run/s (fresh)", "hub deliveries/s (warm median)", "relay deliveries/s", "hub / relay", "delivered", "hub CPU µs/dumpling", "hub peak MiB");
        foreach (var eaters in new[] { 1, 4, 16 })
        {
            var hubRuns = new List<RunResult>();
            var first = double.NaN;
            var relayRuns = new List<RunResult>();
            using (var hubServer = new ServerProcess("hub"))
            using (var relayServer = new ServerProcess("relay"))
            {
                // The first run of each warms the JIT up and is not in the median (a hub runs for long), but is shown.
                first = (await RunHubAsync(hubServer, eaters, stalled: false)).Rate;
                await RunRelayAsync(relayServer, eaters);
                for (var r = 0; r < repeats; r++)
                {
                    hubRuns.Add(await RunHubAsync(hubServer, eaters, stalled: false));
                    relayRuns.Add(await RunRelayAsync(relayServer, eaters));
                }
            }
            var hub = Measure.Median(hubRuns.Select(x => x.Rate));
            var relay = Measure.Median(relayRuns.Select(x => x.Rate));
            table.Add(eaters, first, hub, relay, $"{hub / relay:P0}", $"{Measure.Median(hubRuns.Select(x => x.DeliveredFraction)):P2}",
                Measure.Median(hubRuns.Select(x => x.CpuPerDumpling.TotalMicroseconds)), Measure.Median(hubRuns.Select(x => x.PeakMemory / 1048576.0)));
        }
        table.Print();

        await RunTlsAsync(repeats);

        Console.WriteLine();
        Console.WriteLine("Latency, kitchen send -> eater receive, 1,000 dumplings/s for 3 s:");
        var latency = new BenchTable("eaters", "p50 ms", "p99 ms", "max ms", "samples");
        foreach (var eaters in new[] { 1, 16 })
        {
            var samples = await RunLatencyAsync(eaters);
            latency.Add(eaters, Measure.Percentile(samples, 50), Measure.Percentile(samples, 99), samples.Length == 0 ? double.NaN : samples[^1], samples.Length);
        }
        latency.Print();

        Console.WriteLine();
        Console.WriteLine($"A stalled eater (never reads) beside 3 normal eaters, against 3 normal eaters alone (default policy: the stalled one holds the kitchen until cut off after {new DumplingHubOptions().SlowEaterTimeout.TotalSeconds:0.#} s):");
        var stall = new BenchTable("run", "normal eaters' deliveries/s", "delivered to normal eaters", "hub peak MiB");
        var alone = new List<RunResult>();
        var withStall = new List<RunResult>();
        using (var aloneServer = new ServerProcess("hub"))
        using (var stallServer = new ServerProcess("hub"))
        {
            await RunHubAsync(aloneServer, 3, stalled: false);
            await RunHubAsync(stallServer, 3, stalled: false);
            for (var r = 0; r < repeats; r++)
            {
                alone.Add(await RunHubAsync(aloneServer, 3, stalled: false));
                withStall.Add(await RunHubAsync(stallServer, 3, stalled: true));
            }
        }
        stall.Add("3 eaters", Measure.Median(alone.Select(x => x.Rate)), $"{Measure.Median(alone.Select(x => x.DeliveredFraction)):P2}", Measure.Median(alone.Select(x => x.PeakMemory / 1048576.0)));
        stall.Add("3 eaters + 1 stalled", Measure.Median(withStall.Select(x => x.Rate)), $"{Measure.Median(withStall.Select(x => x.DeliveredFraction)):P2}", Measure.Median(withStall.Select(x => x.PeakMemory / 1048576.0)));
        stall.Print();
    }

    private sealed record RunResult(double Rate, double DeliveredFraction, TimeSpan CpuPerDumpling, long PeakMemory);

    private static byte[] Message(int i, long timestamp) => BenchPeers.Dumpling(i, timestamp);

    /// <summary>
    /// The same fan-out over wss:// against ws://, each hub in its own process, alternating runs; and
    /// what a connection costs (TCP, TLS, upgrade) opened one after another, on the client's clock and in hub CPU.
    /// </summary>
    private static async Task RunTlsAsync(int repeats)
    {
        Console.WriteLine();
        Console.WriteLine("TLS: the same kitchen and 4 eaters over wss:// (ECDSA P-256, TLS 1.3) against ws://, each hub in its own process, runs alternating.");
        Console.WriteLine("The kitchen writes one frame per write (as nd-sniff does: one TLS record per dumpling), or bursts of frames up to 16 KiB (as our kitchens and Send-Dumpling do).");
        const int eaters = 4, connections = 200;
        var table = new BenchTable("kitchen writes", "transport", "hub deliveries/s", "wss / ws", "hub CPU µs/dumpling");
        double plainConnect, plainCpu, secureConnect, secureCpu;
        using (var plain = new ServerProcess("hub"))
        using (var secure = new ServerProcess("hubtls"))
        {
            foreach (var burst in new[] { 0, 16 * 1024 })
            {
                await RunHubAsync(plain, eaters, stalled: false, burst: burst);
                await RunHubAsync(secure, eaters, stalled: false, tls: true, burst: burst);
                var plainRuns = new List<RunResult>();
                var secureRuns = new List<RunResult>();
                for (var r = 0; r < repeats; r++)
                {
                    plainRuns.Add(await RunHubAsync(plain, eaters, stalled: false, burst: burst));
                    secureRuns.Add(await RunHubAsync(secure, eaters, stalled: false, tls: true, burst: burst));
                }
                var ws = Measure.Median(plainRuns.Select(x => x.Rate));
                var wss = Measure.Median(secureRuns.Select(x => x.Rate));
                var mode = burst == 0 ? "a frame each" : "16 KiB bursts";
                table.Add(mode, "ws", ws, "", Measure.Median(plainRuns.Select(x => x.CpuPerDumpling.TotalMicroseconds)));
                table.Add(mode, "wss", wss, $"{wss / ws:P0}", Measure.Median(secureRuns.Select(x => x.CpuPerDumpling.TotalMicroseconds)));
            }
            (plainConnect, plainCpu) = await MeasureConnectionsAsync(plain, connections, tls: false);
            (secureConnect, secureCpu) = await MeasureConnectionsAsync(secure, connections, tls: true);
        }
        table.Print();
        Console.WriteLine($"A connection (TCP, TLS, upgrade; {connections} opened one after another, median): ws {plainConnect:0.00} ms, wss {secureConnect:0.00} ms on the client's clock; " +
            $"hub CPU {plainCpu:0.00} ms and {secureCpu:0.00} ms. TLS handshake cost: {secureConnect - plainConnect:0.00} ms per connection, {secureCpu - plainCpu:0.00} ms of hub CPU.");
    }

    /// <summary>Opens connections one after another (TCP, TLS, upgrade, then close): median ms each, and the hub's CPU per connection.</summary>
    private static async Task<(double MedianMs, double HubCpuMs)> MeasureConnectionsAsync(ServerProcess server, int count, bool tls)
    {
        for (var i = 0; i < 20; i++) (await BenchPeers.ConnectRawAsync(server.OutPort, null, tls: tls)).Dispose(); // warm-up
        await Task.Delay(300);
        var times = new List<double>(count);
        var cpuBefore = server.CpuTime;
        for (var i = 0; i < count; i++)
        {
            var clock = Stopwatch.StartNew();
            var peer = await BenchPeers.ConnectRawAsync(server.OutPort, null, tls: tls);
            times.Add(clock.Elapsed.TotalMilliseconds);
            peer.Dispose();
        }
        await Task.Delay(300); // the hub has dropped them all
        var cpu = (server.CpuTime - cpuBefore).TotalMilliseconds / count;
        return (Measure.Median(times), cpu);
    }

    private static async Task<RunResult> RunHubAsync(ServerProcess server, int eaterCount, bool stalled, bool tls = false, int burst = 0)
    {
        // Eaters that read raw frames and count bytes, as the relay's readers do: this measures the
        // hub, not a client library's per-message cost on the same two cores.
        var eaters = new List<BenchPeers.RawPeer>();
        for (var i = 0; i < eaterCount; i++)
            eaters.Add(await BenchPeers.ConnectRawAsync(server.OutPort, $$"""{"eater_name":"bench{{i}}"}""", tls: tls));
        using var stalledPeer = stalled ? await BenchPeers.ConnectRawAsync(server.OutPort, """{"eater_name":"stalled"}""", receiveBuffer: 4096, tls: tls) : null;
        // The kitchen, too, writes pre-built (masked) frames over raw TCP, one write each, as the
        // relay's writer writes its messages: the client side costs the same in both.
        using var kitchen = await BenchPeers.ConnectRawAsync(server.InPort, """{"kitchen_name":"bench_kitchen","interface":"none","filter":"","chefs":[],"poke_interval":5.0}""", tls: tls);
        var kitchenStream = kitchen.Stream;
        await Task.Delay(300); // every announcement registered
        var frameLength = Message(0, 0).Length + 4; // 16-bit-length server frame header
        var cpuBefore = server.CpuTime;
        var clock = Stopwatch.StartNew();
        // Beside a stalled eater the others wait until the hub's deadline cuts it off (the default
        // policy, backpressure): an eater idle for less than that is not done yet.
        var idle = stalled ? Idle + new DumplingHubOptions().SlowEaterTimeout : Idle;
        var readers = eaters.Select(e => Task.Run(() => BenchPeers.CountBytesAsync(e.Stream, frameLength, Count, idle))).ToArray();
        await BenchPeers.WriteFramesAsync(kitchenStream, Count, i => Message(i, 0), burst);
        var counts = await Task.WhenAll(readers);
        var elapsed = clock.Elapsed - (counts.Any(c => c < Count) ? idle : TimeSpan.Zero);
        var cpu = server.CpuTime - cpuBefore;
        var delivered = counts.Sum();
        var result = new RunResult(delivered / elapsed.TotalSeconds, delivered / (double)(Count * eaterCount), cpu / Count, server.PeakMemory);
        foreach (var e in eaters) e.Dispose();
        await Task.Delay(200); // the hub notices its peers are gone before the next run
        return result;
    }

    private static async Task<RunResult> RunRelayAsync(ServerProcess server, int readerCount)
    {
        var readers = new List<TcpClient>();
        for (var i = 0; i < readerCount; i++)
        {
            var c = new TcpClient { NoDelay = true };
            await c.ConnectAsync("127.0.0.1", server.OutPort);
            readers.Add(c);
        }
        using var writer = new TcpClient { NoDelay = true };
        await writer.ConnectAsync("127.0.0.1", server.InPort);
        await Task.Delay(300);
        var length = Message(0, 0).Length;
        var cpuBefore = server.CpuTime;
        var clock = Stopwatch.StartNew();
        var reading = readers.Select(r => Task.Run(() => BenchPeers.CountBytesAsync(r.GetStream(), length, Count))).ToArray();
        var ws = writer.GetStream();
        for (var i = 0; i < Count; i++) await ws.WriteAsync(Message(i, 0));
        var counts = await Task.WhenAll(reading);
        var elapsed = clock.Elapsed;
        var delivered = counts.Sum();
        var result = new RunResult(delivered / elapsed.TotalSeconds, delivered / (double)(Count * readerCount), (server.CpuTime - cpuBefore) / Count, server.PeakMemory);
        foreach (var r in readers) r.Dispose();
        await Task.Delay(200); // the relay notices its readers are gone before the next run
        return result;
    }

    private static async Task<double[]> RunLatencyAsync(int eaterCount)
    {
        using var server = new ServerProcess("hub");
        var eaters = new List<ClientWebSocket>();
        for (var i = 0; i < eaterCount; i++)
            eaters.Add(await BenchPeers.ConnectWebSocketAsync(server.OutPort, $$"""{"eater_name":"lat{{i}}"}"""));
        using var kitchen = await BenchPeers.ConnectWebSocketAsync(server.InPort, """{"kitchen_name":"bench_kitchen"}""");
        await Task.Delay(300);
        const int count = 3000;
        var samples = new List<double>[eaterCount];
        var length = Message(0, 0).Length;
        var readers = eaters.Select((e, k) => Task.Run(() => BenchPeers.CountLatenciesAsync(e, count, samples[k] = new List<double>(count), Idle, length))).ToArray();
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < count;)
        {
            while (i < count && clock.Elapsed.TotalMilliseconds >= i)
            {
                await kitchen.SendAsync(Message(i, Stopwatch.GetTimestamp()), WebSocketMessageType.Text, true, CancellationToken.None);
                i++;
            }
            await Task.Delay(1);
        }
        await Task.WhenAll(readers);
        foreach (var e in eaters) e.Abort();
        return samples.SelectMany(s => s).OrderBy(x => x).ToArray();
    }
}
