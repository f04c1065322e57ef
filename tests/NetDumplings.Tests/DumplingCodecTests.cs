using System.Text;
using System.Text.Json;

namespace NetDumplings.Tests;

public class DumplingCodecTests
{
    /// <summary>The chefs' fast writer of times and durations makes exactly the text the general double writer makes.</summary>
    [Fact]
    public void Seconds_are_written_as_the_general_number_writer_writes_them()
    {
        var random = new Random(7);
        var values = new List<(double Value, bool Round)>
        {
            (1499040017.81, false), (1515990765.925951, false), (0.000005, true), (0.1 + 0.2, true), (-3.5, false), (0, false),
            (12.0000004, true), (1e12, false), (1499040017.8123456, false), (8589934591.999999, false),
        };
        for (var i = 0; i < 20_000; i++)
        {
            // Capture times as the kitchen makes them (ticks of a microsecond-exact pcap time), and durations between two.
            var start = DateTimeOffset.UnixEpoch.AddTicks(random.NextInt64(0, 4_000_000_000L * 1_000_000) * 10);
            var end = start.AddTicks(random.NextInt64(0, 3_600L * 1_000_000) * 10 * (i % 3 == 0 ? 0 : 1));
            values.Add((Dumpling.ToEpochSeconds(start), false));
            values.Add((Dumpling.ToEpochSeconds(end) - Dumpling.ToEpochSeconds(start), true));
            values.Add((random.NextDouble() * 100, i % 2 == 0));
        }
        foreach (var (value, round) in values)
        {
            Assert.Equal(Write(w => w.WriteNumber("x"u8, round ? Math.Round(value, 6) : value)),
                Write(w => JsonSeconds.Write(w, "x"u8, value, round)));
        }

        static string Write(Action<Utf8JsonWriter> write)
        {
            using var stream = new MemoryStream();
            using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { SkipValidation = true }))
            {
                writer.WriteStartObject();
                write(writer);
                writer.WriteEndObject();
            }
            return Encoding.UTF8.GetString(stream.ToArray());
        }
    }

    // The examples of PROTOCOL.md, verbatim.
    private const string PacketCountExample = """
        {
          "metadata": {
            "chef": "PacketCountChef",
            "kitchen": "default_kitchen",
            "creation_time": 1515990765.925951,
            "driver": "interval"
          },
          "payload": { "packet_counts": { "Ethernet": 1426745, "IP": 1423352, "TCP": 12382, "UDP": 1413268 } }
        }
        """;

    [Fact]
    public void ParsesTheProtocolExample()
    {
        var d = DumplingCodec.Parse(PacketCountExample);
        Assert.Equal("PacketCountChef", d.Chef);
        Assert.Equal("default_kitchen", d.Kitchen);
        Assert.Equal(1515990765.925951, d.EpochSeconds);
        Assert.Equal(DumplingDriver.Interval, d.Driver);
        Assert.Equal(1426745, d.PayloadElement.GetProperty("packet_counts").GetProperty("Ethernet").GetInt64());
        Assert.Equal(new DateTimeOffset(2018, 1, 15, 4, 32, 45, TimeSpan.Zero).AddTicks(9259510), d.CreationTime);
        // The payload slice is the exact text of the payload in the message.
        Assert.Equal("""{ "packet_counts": { "Ethernet": 1426745, "IP": 1423352, "TCP": 12382, "UDP": 1413268 } }""", d.PayloadJson);
        // The whole message is kept byte for byte.
        Assert.Equal(PacketCountExample, d.Json);
    }

    [Fact]
    public void ParsesHubStatusDumplingWithNullKitchen()
    {
        var d = DumplingCodec.Parse("""{"metadata":{"chef":"SystemStatusChef","kitchen":null,"creation_time":1.5,"driver":"interval"},"payload":{"total_dumplings_in":1024}}""");
        Assert.Null(d.Kitchen);
        Assert.Equal("SystemStatusChef", d.Chef);
        Assert.Equal(1024, d.PayloadElement.GetProperty("total_dumplings_in").GetInt32());
    }

    [Theory]
    [InlineData("""{"lookup": {"hostname": "example.com", "when": 1499040017.81}}""")]
    [InlineData("""{"operation": "request", "src_hw": "aa:bb:cc:dd:ee:ff", "src_ip": "10.0.1.100", "dst_hw": "00:00:00:00:00:00", "dst_ip": "10.0.1.1", "time": 1.0, "notes": null}""")]
    [InlineData("42")]
    [InlineData("\"just text\"")]
    [InlineData("[1, 2, [3, {\"a\": null}]]")]
    [InlineData("null")]
    [InlineData("true")]
    public void RoundTripsAnyPayload(string payloadJson)
    {
        using var payload = JsonDocument.Parse(payloadJson);
        var made = DumplingCodec.Create("DNSLookupChef", "edge1", DumplingDriver.Packet, payload.RootElement, 1499040017.81);
        var read = DumplingCodec.Parse(made.Utf8Json);
        Assert.Equal("DNSLookupChef", read.Chef);
        Assert.Equal("edge1", read.Kitchen);
        Assert.Equal(1499040017.81, read.EpochSeconds);
        Assert.Equal(DumplingDriver.Packet, read.Driver);
        Assert.True(JsonElement.DeepEquals(payload.RootElement, read.PayloadElement));
        Assert.Equal(made.PayloadJson, read.PayloadJson);
    }

    [Fact]
    public void WritesTheWireFormatOfTheOriginal()
    {
        var d = DumplingCodec.Create("ARPChef", null, DumplingDriver.Interval, new RawJsonPayload("{\"a\":1}"), 1515990765.925951);
        Assert.Equal("""{"metadata":{"chef":"ARPChef","kitchen":null,"creation_time":1515990765.925951,"driver":"interval"},"payload":{"a":1}}""", d.Json);
        Assert.Equal("{\"a\":1}", d.PayloadJson);
    }

    [Fact]
    public void SerialisesPlainObjectsAsPayloads()
    {
        var counts = new Dictionary<string, long> { ["Ethernet"] = 3, ["IP"] = 2 };
        var d = DumplingCodec.Create("PacketCountChef", "k", DumplingDriver.Interval, new { packet_counts = counts });
        Assert.Equal("""{"packet_counts":{"Ethernet":3,"IP":2}}""", d.PayloadJson);
        var read = DumplingCodec.Parse(d.Utf8Json);
        Assert.Equal(2, read.PayloadElement.GetProperty("packet_counts").GetProperty("IP").GetInt32());
    }

    [Fact]
    public void CreationTimeIsEpochSecondsWithAFraction()
    {
        var before = DateTimeOffset.UtcNow;
        var d = DumplingCodec.Create("c", "k", DumplingDriver.Packet, 1);
        var after = DateTimeOffset.UtcNow;
        Assert.InRange(d.CreationTime, before.AddMilliseconds(-1), after.AddMilliseconds(1));
        using var doc = JsonDocument.Parse(d.Utf8Json);
        var time = doc.RootElement.GetProperty("metadata").GetProperty("creation_time");
        Assert.Equal(JsonValueKind.Number, time.ValueKind);
        Assert.InRange(time.GetDouble(), 1.7e9, 1e10); // seconds, not milliseconds
        Assert.NotEqual(Math.Floor(time.GetDouble()), time.GetDouble());
    }

    [Fact]
    public void KeepsUnicodeIntact()
    {
        const string text = "żółw 🥟 北京 \u0000 \"quoted\" \\ tab\t";
        var d = DumplingCodec.Create("Шеф", "кухня", DumplingDriver.Packet, new { name = text });
        var read = DumplingCodec.Parse(d.Utf8Json);
        Assert.Equal("Шеф", read.Chef);
        Assert.Equal("кухня", read.Kitchen);
        Assert.Equal(text, read.PayloadElement.GetProperty("name").GetString());
        // Escaped unicode (as Python's json.dumps writes it) reads the same.
        var python = DumplingCodec.Parse("""{"metadata":{"chef":"\u0428\u0435\u0444","kitchen":"k","creation_time":1,"driver":"packet"},"payload":"\ud83e\udd5f"}""");
        Assert.Equal("Шеф", python.Chef);
        Assert.Equal("🥟", python.PayloadElement.GetString());
    }

    [Fact]
    public void HandlesLargePayloads()
    {
        var table = Enumerable.Range(0, 20_000).ToDictionary(i => $"host{i}.example.com", i => new { count = i, latest = 1499040017.81 + i });
        var d = DumplingCodec.Create("DNSLookupChef", "k", DumplingDriver.Interval, new { lookups_seen = table });
        Assert.True(d.Utf8Json.Length > 1_000_000);
        var read = DumplingCodec.Parse(d.Utf8Json);
        Assert.Equal(19_999, read.PayloadElement.GetProperty("lookups_seen").GetProperty("host19999.example.com").GetProperty("count").GetInt32());
    }

    [Fact]
    public void HandlesDeepPayloadsUpToTheLimit()
    {
        var depth = DumplingCodec.MaxDepth - 3; // the envelope object itself takes a level
        var json = new string('[', depth) + "1" + new string(']', depth);
        var d = DumplingCodec.Create("c", "k", DumplingDriver.Packet, new RawJsonPayload(json));
        var read = DumplingCodec.Parse(d.Utf8Json);
        Assert.Equal(json, read.PayloadJson);
        Assert.Equal(JsonValueKind.Array, read.PayloadElement.ValueKind);

        var tooDeep = new string('[', DumplingCodec.MaxDepth + 5) + new string(']', DumplingCodec.MaxDepth + 5);
        var message = $$"""{"metadata":{"chef":"c","kitchen":"k","creation_time":1,"driver":"packet"},"payload":{{tooDeep}}}""";
        var e = Assert.Throws<DumplingFormatException>(() => DumplingCodec.Parse(message));
        Assert.Contains("not valid JSON", e.Message);
        Assert.Contains("depth", e.Message);
    }

    [Fact]
    public void KeepsUnknownKeys()
    {
        const string json = """{"extra":{"x":[1,2]},"metadata":{"chef":"c","kitchen":"k","creation_time":1,"driver":"packet","custom":true},"payload":{},"trailer":"t"}""";
        var d = DumplingCodec.Parse(json);
        Assert.Equal(json, d.Json);
        Assert.Equal("{}", d.PayloadJson);
    }

    public static TheoryData<string, string> Rejections => new()
    {
        { "", "empty" },
        { "   ", "empty" },
        { "not json", "not valid JSON" },
        { "{\"metadata\": {\"chef\": \"c\"", "not valid JSON" },
        { "[1,2]", "must be a JSON object, but this message is an array" },
        { "\"text\"", "must be a JSON object, but this message is a string" },
        { "{}", "no 'metadata'" },
        { """{"payload": 1}""", "no 'metadata'" },
        { """{"metadata": [1], "payload": 1}""", "'metadata' must be an object, but it is an array" },
        { """{"metadata": {"kitchen":"k","creation_time":1,"driver":"packet"}, "payload": 1}""", "no 'metadata.chef'" },
        { """{"metadata": {"chef":7,"kitchen":"k","creation_time":1,"driver":"packet"}, "payload": 1}""", "'metadata.chef' must be a string, but it is a number" },
        { """{"metadata": {"chef":"c","kitchen":5,"creation_time":1,"driver":"packet"}, "payload": 1}""", "'metadata.kitchen' must be a string or null, but it is a number" },
        { """{"metadata": {"chef":"c","kitchen":"k","driver":"packet"}, "payload": 1}""", "no 'metadata.creation_time'" },
        { """{"metadata": {"chef":"c","kitchen":"k","creation_time":"now","driver":"packet"}, "payload": 1}""", "'metadata.creation_time' must be a number" },
        { """{"metadata": {"chef":"c","kitchen":"k","creation_time":1}, "payload": 1}""", "no 'metadata.driver'" },
        { """{"metadata": {"chef":"c","kitchen":"k","creation_time":1,"driver":"poke"}, "payload": 1}""", "'metadata.driver' must be \"packet\" or \"interval\", but it is \"poke\"" },
        { """{"metadata": {"chef":"c","kitchen":"k","creation_time":1,"driver":1}, "payload": 1}""", "'metadata.driver' must be \"packet\" or \"interval\", but it is a number" },
        { """{"metadata": {"chef":"c","kitchen":"k","creation_time":1,"driver":"packet"}}""", "no 'payload'" },
        { """{"metadata": {"chef":"c","kitchen":"k","creation_time":1,"driver":"packet"}, "payload": 1} {}""", "not valid JSON" },
        { """{"metadata": {"chef":"c","kitchen":"k","creation_time":1,"driver":"packet"}, "payload": 1}}""", "not valid JSON" },
        // Well-formed JSON escapes that are no Unicode text (a lone surrogate): rejected, never thrown.
        { """{"metadata": {"chef":"\udc00","kitchen":"k","creation_time":1,"driver":"packet"}, "payload": 1}""", "'metadata.chef' is not Unicode text" },
        { """{"metadata": {"chef":"c","kitchen":"k\ud800","creation_time":1,"driver":"packet"}, "payload": 1}""", "'metadata.kitchen' is not Unicode text" },
        { """{"metadata": {"chef":"c","kitchen":"k","creation_time":1,"driver":"\udc00"}, "payload": 1}""", "not Unicode text" },
        { """{"\udc00\udc00": 1, "metadata": {"chef":"c","kitchen":"k","creation_time":1,"driver":"packet"}, "payload": 1}""", "not Unicode text" },
    };

    [Theory]
    [MemberData(nameof(Rejections))]
    public void RejectsBadMessagesSayingWhy(string json, string expected)
    {
        var e = Assert.Throws<DumplingFormatException>(() => DumplingCodec.Parse(json));
        Assert.Contains(expected, e.Message);
        Assert.False(DumplingCodec.TryParse(Encoding.UTF8.GetBytes(json), out var d, out var error));
        Assert.Null(d);
        Assert.Equal(e.Message, error);
    }

    [Fact]
    public void RejectsInvalidUtf8()
    {
        var bytes = Encoding.UTF8.GetBytes("""{"metadata":{"chef":"c","kitchen":"k","creation_time":1,"driver":"packet"},"payload":"X"}""");
        bytes[^3] = 0xFF;
        var e = Assert.Throws<DumplingFormatException>(() => DumplingCodec.Parse(bytes));
        Assert.Contains("not valid JSON", e.Message);
    }

    [Theory]
    [InlineData("""{"metadata":{"chef":"c"}}""", "c", null)]
    [InlineData("""{"metadata":{"chef":"c","kitchen":"edge1"},"payload":1}""", "c", "edge1")]
    [InlineData("""{"metadata":{"chef":5,"kitchen":3,"driver":"weird"}}""", "5", null)]
    public void HubRuleNeedsOnlyJsonWithMetadataChef(string json, string chef, string? kitchen)
    {
        Assert.True(DumplingCodec.TryReadEnvelope(Encoding.UTF8.GetBytes(json), out var c, out var k, out var error), error);
        Assert.Equal(chef, c);
        Assert.Equal(kitchen, k);
    }

    [Theory]
    [InlineData("nope", "not valid JSON")]
    [InlineData("""{"metadata":{}}""", "no 'metadata.chef'")]
    [InlineData("""{"payload":{"metadata":{"chef":"c"}}}""", "no 'metadata'")]
    [InlineData("""{"metadata":{"chef":"c"}} x""", "not valid JSON")]
    [InlineData("""{"metadata":{"chef":"\udc00"}}""", "'metadata.chef' is not Unicode text")]
    [InlineData("""{"metadata":{"chef":"c","kitchen":"\udc00"}}""", "'metadata.kitchen' is not Unicode text")]
    [InlineData("""{"metadata":{"\udc00":1,"chef":"c"}}""", "not Unicode text")]
    public void HubRuleRejects(string json, string expected)
    {
        Assert.False(DumplingCodec.TryReadEnvelope(Encoding.UTF8.GetBytes(json), out _, out _, out var error));
        Assert.Contains(expected, error);
    }

    [Fact]
    public void RejectsRawPayloadThatIsNotOneJsonValue()
    {
        Assert.Throws<DumplingFormatException>(() => DumplingCodec.Create("c", "k", DumplingDriver.Packet, new RawJsonPayload("{\"a\":")));
        Assert.Throws<DumplingFormatException>(() => DumplingCodec.Create("c", "k", DumplingDriver.Packet, new RawJsonPayload("1 2")));
        Assert.Throws<DumplingFormatException>(() => DumplingCodec.Create("c", "k", DumplingDriver.Packet, new RawJsonPayload("")));
        // A failed encode leaves the codec usable on this thread.
        Assert.Equal("{\"ok\":true}", DumplingCodec.Create("c", "k", DumplingDriver.Packet, new { ok = true }).PayloadJson);
    }

    [Fact]
    public void EncodesConcurrentlyWithoutMixingDumplings()
    {
        var results = new string[8][];
        Parallel.For(0, 8, t =>
        {
            results[t] = new string[2000];
            for (var i = 0; i < 2000; i++)
                results[t][i] = DumplingCodec.Create($"chef{t}", "k", DumplingDriver.Packet, new { t, i }).Json;
        });
        for (var t = 0; t < 8; t++)
            for (var i = 0; i < 2000; i += 97)
            {
                var d = DumplingCodec.Parse(results[t][i]);
                Assert.Equal($"chef{t}", d.Chef);
                Assert.Equal(i, d.PayloadElement.GetProperty("i").GetInt32());
            }
    }
}
