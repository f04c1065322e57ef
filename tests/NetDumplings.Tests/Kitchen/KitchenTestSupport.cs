using System.Text.Json;
using NetDumplings.Chefs;
using NetDumplings.Kitchen;
using NetDumplings.Traffic;

namespace NetDumplings.Tests.Kitchen;

/// <summary>Temporary pcap files and a kitchen run to the end without a hub.</summary>
public sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("nd-kitchen-").FullName;
    public string File(string name) => System.IO.Path.Combine(Path, name);
    public void Dispose() => Directory.Delete(Path, recursive: true);
}

public static class KitchenRun
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>Runs a kitchen over files without a hub and returns every dumpling it made, and its statistics.</summary>
    public static async Task<(List<Dumpling> Dumplings, KitchenStatistics Stats, List<KitchenNotice> Notices)> LocalAsync(
        DumplingKitchenOptions options, params DumplingChef[] chefs)
    {
        await using var kitchen = new DumplingKitchen(options, chefs);
        kitchen.Start();
        var dumplings = new List<Dumpling>();
        using var cts = new CancellationTokenSource(Timeout);
        await foreach (var d in kitchen.Dumplings!.ReadAllAsync(cts.Token)) dumplings.Add(d);
        await kitchen.Completion.WaitAsync(Timeout);
        var notices = new List<KitchenNotice>();
        await foreach (var n in kitchen.Notices.ReadAllAsync(cts.Token)) notices.Add(n);
        return (dumplings, kitchen.GetStatistics(), notices);
    }

    public static JsonElement Payload(this Dumpling d) => d.PayloadElement;

    public static void WritePackets(string path, params (byte[] Packet, DateTimeOffset Time)[] packets)
    {
        using var writer = new PcapFileWriter(path);
        foreach (var (packet, time) in packets) writer.Write(packet, time);
    }

    public static DateTimeOffset T(int second, int millisecond = 0) =>
        new DateTimeOffset(2026, 3, 1, 10, 0, 0, TimeSpan.Zero).AddSeconds(second).AddMilliseconds(millisecond);
}
