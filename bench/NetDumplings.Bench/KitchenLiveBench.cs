using NetDumplings.Protocol;
using System.Diagnostics;
using System.Text.RegularExpressions;
using NetDumplings.Chefs;
using NetDumplings.Hub;
using NetDumplings.Kitchen;

namespace NetDumplings.Bench;

/// <summary>
/// Live capture: a veth pair with one end in a network namespace the bench creates; tcpreplay in the
/// namespace offers the generated traffic at rising rates, the kitchen (3 sample chefs, to a real
/// hub) captures on the other end. Reports offered, captured and dropped (kernel + queue). Root only.
/// </summary>
internal static partial class KitchenLiveBench
{
    private static readonly int[] Rates = [50_000, 100_000, 150_000, 200_000];
    private const int PacketsPerRate = 300_000;

    public static async Task RunAsync(string pcap, BenchOptions options)
    {
        Console.WriteLine();
        if (Environment.UserName != "root" && !IsRoot())
        {
            Console.WriteLine("live: skipped (needs root to create a network namespace and capture).");
            return;
        }
        if (!Which("tcpreplay") || !Which("ip"))
        {
            Console.WriteLine("live: skipped (needs tcpreplay and iproute2: sudo apt-get install tcpreplay iproute2).");
            return;
        }
        var tag = Environment.ProcessId % 100000;
        var ns = $"ndbench{tag}";
        var host = $"ndbh{tag}";
        var peer = $"ndbp{tag}";
        try
        {
            Run("ip", $"netns add {ns}");
            Run("ip", $"link add {host} type veth peer name {peer}");
            Run("ip", $"link set {peer} netns {ns}");
            Run("ip", $"link set {host} up");
            Run("ip", $"netns exec {ns} ip link set {peer} up");
            await Task.Delay(500);

            var table = new BenchTable("buffer", "target pps", "offered", "achieved pps", "captured", "kernel drops", "queue drops", "lost");
            foreach (var bufferMiB in new[] { 64, 256 })
            foreach (var rate in Rates)
            {
                await using var hub = new DumplingHub(new DumplingHubOptions { Address = "127.0.0.1", InPort = 0, OutPort = 0 });
                await hub.StartAsync();
                await using var kitchen = new DumplingKitchen(
                    new DumplingKitchenOptions { Name = "bench-live", Interfaces = [host], Filter = null, CaptureBufferBytes = bufferMiB << 20 },
                    [new PacketCountChef(), new DNSLookupChef(), new ARPChef()], new HubAddress("127.0.0.1", hub.InEndPoint.Port));
                kitchen.Start();
                await Task.Delay(300);
                var before = kitchen.GetStatistics().PacketsCaptured;
                var output = Run("ip", $"netns exec {ns} tcpreplay -i {peer} --pps={rate} --limit={PacketsPerRate} {pcap}", capture: true);
                var offered = Match(SentRegex(), output);
                var achieved = MatchDouble(RatedRegex(), output);
                await Task.Delay(1000); // let the queue drain
                await kitchen.StopAsync();
                var s = kitchen.GetStatistics();
                var captured = s.PacketsCaptured - before;
                table.Add($"{bufferMiB} MiB", rate.ToString("N0"), offered, achieved, captured, s.KernelDrops, s.QueueDrops, Math.Max(0, offered - captured));
            }
            Console.WriteLine($"live: {PacketsPerRate:N0} packets per rate replayed by tcpreplay on a veth in namespace {ns}; kitchen with 3 chefs -> hub");
            table.Print();
        }
        catch (Exception e)
        {
            Console.WriteLine($"live: failed: {e.Message}");
        }
        finally
        {
            Run("ip", $"link del {host}", check: false);
            Run("ip", $"netns del {ns}", check: false);
        }
    }

    private static bool IsRoot() => Run("id", "-u", capture: true, check: false).Trim() == "0";

    private static bool Which(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => File.Exists(Path.Combine(d, tool)));

    private static string Run(string file, string arguments, bool capture = false, bool check = true)
    {
        var start = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2))) { process.Kill(true); throw new TimeoutException($"{file} {arguments} timed out"); }
        if (check && process.ExitCode != 0) throw new InvalidOperationException($"{file} {arguments} failed: {stderr.Result.Trim()}");
        return stdout.Result + stderr.Result;
    }

    private static long Match(Regex regex, string text) => regex.Match(text) is { Success: true } m ? long.Parse(m.Groups[1].Value) : -1;
    private static double MatchDouble(Regex regex, string text) =>
        regex.Match(text) is { Success: true } m ? double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : double.NaN;

    [GeneratedRegex(@"Successful packets:\s+(\d+)")]
    private static partial Regex SentRegex();

    [GeneratedRegex(@"Rated:.*?,\s*([\d.]+)\s*pps")]
    private static partial Regex RatedRegex();
}
