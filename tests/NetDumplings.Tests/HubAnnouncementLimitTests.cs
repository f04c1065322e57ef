using System.Diagnostics;
using System.Net.WebSockets;
using System.Text.Json;
using NetDumplings.Hub;
using NetDumplings.Protocol;
using Xunit.Abstractions;
using static NetDumplings.Tests.HubTestClient;

namespace NetDumplings.Tests;

/// <summary>What an eater may announce (the filter extension), and what it may cost the hub and the other eaters.</summary>
[Collection(HeavyHubTests.Name)]
public class HubAnnouncementLimitTests(ITestOutputHelper output)
{
    private static string Chefs(IEnumerable<string> patterns) => $""","chefs":{JsonSerializer.Serialize(patterns)}""";

    [Fact]
    public async Task APatternThatBacktracksFinishesFastAndKeepsTheKitchenReading()
    {
        await using var hub = await StartHubAsync();
        using var hostile = await EaterAsync(hub, "hostile", Chefs(["*a*a*a*a*a*a*a*a*a*a*a*a*b"]));
        using var healthy = await EaterAsync(hub, "healthy");
        using var kitchen = await KitchenAsync(hub);
        var clock = Stopwatch.StartNew();
        await SendTextAsync(kitchen, Dumpling(new string('a', 50), "k", 1));
        await SendTextAsync(kitchen, Dumpling("GoodChef", "k", 2));
        Assert.Equal(new string('a', 50), ChefOf((await ReceiveAsync(healthy))!.Value.Text));
        Assert.Equal("GoodChef", ChefOf((await ReceiveAsync(healthy))!.Value.Text));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"two dumplings took {clock.Elapsed}");
        Assert.Equal(WebSocketState.Open, hostile.State);
    }

    [Fact]
    public async Task MatchesExactNamesAndWildcardsCaseInsensitively()
    {
        await using var hub = await StartHubAsync();
        using var eater = await EaterAsync(hub, "e", Chefs(["arpchef", "DNS*", "Pa?ketCountChef"]) + ""","kitchens":["EDGE1","lab-*"]""");
        using var kitchen = await KitchenAsync(hub);
        foreach (var (chef, k, i) in new[] { ("ARPChef", "edge1", 1), ("ARPChef", "edge2", 2), ("DNSLookupChef", "lab-3", 3), ("HTTPChef", "edge1", 4), ("PacketCountChef", "Lab-9", 5) })
            await SendTextAsync(kitchen, Dumpling(chef, k, i));
        await SendTextAsync(kitchen, Dumpling("ARPChef", null, 6));
        await SendTextAsync(kitchen, Dumpling("ARPChef", "edge1", 7));
        foreach (var expected in new[] { 1, 3, 5, 7 })
            Assert.Contains($"\"i\":{expected},", (await ReceiveAsync(eater))!.Value.Text);
    }

    public static TheoryData<string, string> OverTheLimits => new()
    {
        { Chefs(Enumerable.Range(0, 10_000).Select(i => $"*{i}*")), "'chefs' has 10000 names, over the hub's limit of 64" },
        { ""","kitchens":["edge1",""" + JsonSerializer.Serialize(new string('k', 129)) + "]", "has 129 characters, over the hub's limit of 128" },
        { ""","chefs":"DNS*" """, "'chefs' must be a list of names or wildcards" },
        { ""","chefs":["DNS*",7]""", "'chefs' must be a list of names or wildcards, but holds number" },
    };

    [Theory]
    [MemberData(nameof(OverTheLimits))]
    public async Task RefusesAnAnnouncementOverTheLimitsWith1008(string extra, string reason)
    {
        await using var hub = await StartHubAsync();
        using var ws = await ConnectAsync(hub.OutEndPoint, $$"""{"eater_name":"greedy"{{extra}}}""");
        var (status, description) = await ReceiveCloseAsync(ws);
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, status);
        Assert.StartsWith(DumplingCloseCodes.AnnouncementRefusedPrefix, description);
        Assert.Contains(reason, description);
        await WaitUntilAsync(() => hub.GetStatus().RefusedConnections == 1, "refusal counted");
        Assert.Empty(hub.GetStatus().Eaters);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AnAnnouncementOverItsByteLimitIsRefusedNotKept(bool kitchen)
    {
        await using var hub = await StartHubAsync();
        var padding = new string('x', 100_000); // valid JSON, far past the 64 KiB an announcement may have
        using var ws = kitchen
            ? await ConnectAsync(hub.InEndPoint, $$"""{"kitchen_name":"big","padding":"{{padding}}"}""")
            : await ConnectAsync(hub.OutEndPoint, $$"""{"eater_name":"big","padding":"{{padding}}"}""");
        var (status, description) = await ReceiveCloseAsync(ws);
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, status);
        Assert.StartsWith(DumplingCloseCodes.AnnouncementRefusedPrefix, description);
        Assert.Contains("at most 65,536", description);
        await WaitUntilAsync(() => hub.GetStatus().RefusedConnections == 1, "refusal counted");
        Assert.Empty(hub.GetStatus().Eaters);
        Assert.Empty(hub.GetStatus().Kitchens);
    }

    [Fact]
    public async Task TheLimitsAreOptions()
    {
        await using var hub = await StartHubAsync(new DumplingHubOptions { MaxEaterPatterns = 2, MaxEaterPatternLength = 4 });
        using var fits = await EaterAsync(hub, "fits", Chefs(["A*", "Bcde"]) + ""","kitchens":["k1","k2"]""");
        using var tooMany = await ConnectAsync(hub.OutEndPoint, """{"eater_name":"many","kitchens":["a","b","c"]}""");
        Assert.Contains("'kitchens' has 3 names, over the hub's limit of 2", (await ReceiveCloseAsync(tooMany)).Reason);
        using var tooLong = await ConnectAsync(hub.OutEndPoint, """{"eater_name":"long","chefs":["abcde"]}""");
        Assert.Contains("has 5 characters, over the hub's limit of 4", (await ReceiveCloseAsync(tooLong)).Reason);
        Assert.Equal(2, hub.GetStatus().RefusedConnections);
        Assert.Equal(WebSocketState.Open, fits.State);
    }

    [Fact]
    public async Task AnEaterAtTheLimitsBarelySlowsAnother()
    {
        // 64 wildcards that each backtrack on every chef of 50 'a's: the healthy eater's delivery must
        // stay within a small factor of a hub without the hostile eater (the Regex made it 300x slower).
        const int count = 5_000;
        var hostilePatterns = Enumerable.Range(0, 64).Select(i => $"*a*a*a*a*a*a*a*a*a*a*a*a*{i}").ToList();
        await TimeDeliveryAsync(count, hostile: null); // warms the JIT up, so the two runs compare
        var alone = await TimeDeliveryAsync(count, hostile: null);
        var beside = await TimeDeliveryAsync(count, Chefs(hostilePatterns));
        output.WriteLine($"{count} dumplings: {alone.TotalMilliseconds:0} ms alone, {beside.TotalMilliseconds:0} ms beside the hostile eater");
        Assert.True(beside < alone * 4 + TimeSpan.FromSeconds(1), $"{count} dumplings: {alone} alone, {beside} beside the hostile eater");
    }

    private static async Task<TimeSpan> TimeDeliveryAsync(int count, string? hostile)
    {
        await using var hub = await StartHubAsync(new DumplingHubOptions { EaterQueueDumplings = count + 10 });
        using var hostileEater = hostile is null ? null : await EaterAsync(hub, "hostile", hostile);
        using var healthy = await EaterAsync(hub, "healthy");
        using var kitchen = await KitchenAsync(hub);
        var chef = new string('a', 50);
        var clock = Stopwatch.StartNew();
        var sending = Task.Run(async () =>
        {
            for (var i = 0; i < count; i++) await SendTextAsync(kitchen, Dumpling(chef, "k", i));
        });
        for (var i = 0; i < count; i++)
            Assert.Contains($"\"i\":{i},", (await ReceiveAsync(healthy))!.Value.Text);
        await sending;
        return clock.Elapsed;
    }
}
