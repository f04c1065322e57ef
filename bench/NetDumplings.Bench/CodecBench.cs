using System.Text.Json;

namespace NetDumplings.Bench;

/// <summary>
/// Dumplings encoded and decoded per second, and bytes allocated per dumpling, beside System.Text.Json
/// doing the plainest equivalent work on the same data (serialise the object; parse into a JsonDocument).
/// </summary>
public sealed class CodecBench : IBenchScenario
{
    public string Name => "codec";
    public string Description => "dumplings encoded/decoded per second and bytes allocated per dumpling (~200-byte DNS lookup dumpling)";

    private const int Count = 200_000;

    public async Task RunAsync(BenchOptions options)
    {
        var payload = new Dictionary<string, object> { ["lookup"] = new Dictionary<string, object> { ["hostname"] = "www.example.com", ["when"] = 1499040017.81 } };
        var payloadJson = JsonSerializer.SerializeToUtf8Bytes(payload);
        var wire = DumplingCodec.Create("DNSLookupChef", "default_kitchen", DumplingDriver.Packet, payload, 1499040017.81).Utf8Json.ToArray();
        var envelope = new { metadata = new { chef = "DNSLookupChef", kitchen = "default_kitchen", creation_time = 1499040017.81, driver = "packet" }, payload };

        long EncodeOurs() { for (var i = 0; i < Count; i++) DumplingCodec.Create("DNSLookupChef", "default_kitchen", DumplingDriver.Packet, payload); return Count; }
        long EncodeRaw() { var raw = new RawJsonPayload(payloadJson); for (var i = 0; i < Count; i++) DumplingCodec.Create("DNSLookupChef", "default_kitchen", DumplingDriver.Packet, raw); return Count; }
        long EncodeBaseline() { for (var i = 0; i < Count; i++) JsonSerializer.SerializeToUtf8Bytes(envelope); return Count; }
        long DecodeOurs() { for (var i = 0; i < Count; i++) DumplingCodec.Parse(wire); return Count; }
        long DecodeEnvelope() { for (var i = 0; i < Count; i++) DumplingCodec.TryReadEnvelope(wire, out _, out _, out _); return Count; }
        long DecodeWithPayload() { for (var i = 0; i < Count; i++) _ = DumplingCodec.Parse(wire).PayloadElement; return Count; }
        long DecodeBaseline() { for (var i = 0; i < Count; i++) JsonDocument.Parse(wire).Dispose(); return Count; }

        var cases = new (string Name, Func<long> Body, Func<long> Baseline)[]
        {
            ("encode (object payload)", EncodeOurs, EncodeBaseline),
            ("encode (raw JSON payload)", EncodeRaw, EncodeBaseline),
            ("decode, strict (payload lazy)", DecodeOurs, DecodeBaseline),
            ("decode, hub rule (chef+kitchen)", DecodeEnvelope, DecodeBaseline),
            ("decode + read payload", DecodeWithPayload, DecodeBaseline),
        };

        if (options.FirstRunCase is { } only)
        {
            var (_, body, _) = cases[int.Parse(only)];
            FreshProcess.Report("rate", Measure.Rate(body));
            return;
        }

        Console.WriteLine($"message: {wire.Length} bytes; {Count:N0} per run, median of {options.Repeats} runs after a warm-up; first run = one run in a fresh process of its own; baseline = System.Text.Json serialise / JsonDocument.Parse of the same dumpling");
        var table = new BenchTable("case", "first run/s (fresh process)", "dumplings/s (warm median)", "baseline/s", "ratio", "bytes alloc/dumpling", "baseline alloc");
        for (var i = 0; i < cases.Length; i++)
        {
            var (name, body, baseline) = cases[i];
            var first = (await FreshProcess.RunAsync(options, Name, i.ToString()))["rate"];
            body(); baseline(); // warm up (tiering)
            var ours = Measure.MedianOf(options.Repeats, () => Measure.Rate(body));
            var theirs = Measure.MedianOf(options.Repeats, () => Measure.Rate(baseline));
            var alloc = Measure.AllocatedPerOp(Count, () => body());
            var baseAlloc = Measure.AllocatedPerOp(Count, () => baseline());
            table.Add(name, first, ours, theirs, $"{ours / theirs:0.00}x", alloc, baseAlloc);
        }
        table.Print();
    }
}
