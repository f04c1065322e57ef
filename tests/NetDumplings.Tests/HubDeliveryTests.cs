using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using NetDumplings.Client;
using NetDumplings.Hub;
using NetDumplings.Protocol;
using static NetDumplings.Tests.HubTestClient;

namespace NetDumplings.Tests;

/// <summary>
/// What an eater of ours learns and keeps beyond the original protocol: drop notices, resuming after
/// a reconnect from the hub's replay window (across a hub restart too), and a stopping hub that
/// drains its eaters. An original-style eater sees none of it.
/// </summary>
[Collection(HeavyHubTests.Name)]
public class HubDeliveryTests
{
    private const int PadBytes = 8000;

    private static DumplingHubOptions DropOldest => new()
    {
        EaterQueueDumplings = 20,
        EaterQueueBytes = 1024 * 1024,
        OverflowPolicy = EaterOverflowPolicy.DropOldest,
        StatusInterval = TimeSpan.Zero,
    };

    private static async Task SendNumberedAsync(WebSocket kitchen, int from, int to, string chef = "Flood", string pad = "")
    {
        for (var i = from; i < to; i++) await SendTextAsync(kitchen, Dumpling(chef, "k", i, pad));
    }

    private static int NumberOf(string json) => JsonDocument.Parse(json).RootElement.GetProperty("payload").GetProperty("i").GetInt32();

    /// <summary>Reads messages until the dumpling numbered <paramref name="last"/> (or the close), split into dumplings and notices.</summary>
    private static async Task<(List<int> Dumplings, List<JsonElement> Notices)> ReadUntilAsync(WebSocket eater, int last)
    {
        var (dumplings, notices) = (new List<int>(), new List<JsonElement>());
        var deadline = DateTime.UtcNow + Patience;
        while (DateTime.UtcNow < deadline)
        {
            if (await ReceiveAsync(eater, deadline - DateTime.UtcNow) is not { } m) break;
            var root = JsonDocument.Parse(m.Text).RootElement;
            if (root.TryGetProperty("notice", out _))
            {
                Assert.False(root.TryGetProperty("metadata", out _));
                notices.Add(root.Clone());
                continue;
            }
            var n = root.GetProperty("payload").GetProperty("i").GetInt32();
            dumplings.Add(n);
            if (n == last) break;
        }
        return (dumplings, notices);
    }

    [Fact]
    public async Task Drop_notices_reach_an_eater_that_asked_and_never_an_original_one()
    {
        const int count = 2000;
        await using var hub = await StartHubAsync(DropOldest);
        // Neither reads until the kitchen is done, so the hub drops for both.
        using var ours = await EaterAsync(hub, "ours", ",\"notices\":true");
        using var original = await EaterAsync(hub, "original");
        using var kitchen = await KitchenAsync(hub);
        await SendNumberedAsync(kitchen, 0, count, pad: new string('p', PadBytes));
        await WaitUntilAsync(() => hub.DumplingsIn == count, "every dumpling taken");

        var (oursGot, oursNotices) = await ReadUntilAsync(ours, count - 1);
        var (originalGot, originalNotices) = await ReadUntilAsync(original, count - 1);
        var status = hub.GetStatus();
        var oursDropped = status.Eaters.Single(e => e.Name == "ours").Dropped;
        var originalDropped = status.Eaters.Single(e => e.Name == "original").Dropped;
        Assert.True(oursDropped > 0 && originalDropped > 0, $"nothing was dropped ({oursDropped}, {originalDropped}): the test proves nothing");

        Assert.Empty(originalNotices);
        Assert.Equal(count, originalGot.Count + originalDropped);

        Assert.Equal("hub", oursNotices[0].GetProperty("notice").GetString());
        Assert.Equal(hub.InstanceId, oursNotices[0].GetProperty("hub_id").GetString());
        var drops = oursNotices.Where(n => n.GetProperty("notice").GetString() == "dropped").ToList();
        Assert.NotEmpty(drops);
        Assert.Equal(oursDropped, drops.Sum(n => n.GetProperty("count").GetInt64()));
        Assert.Equal(oursDropped, drops[^1].GetProperty("total").GetInt64());
        Assert.Equal(count, oursGot.Count + oursDropped);
        Assert.Equal(oursGot.Order(), oursGot); // in order, each once
        Assert.Equal(oursGot.Count, oursGot.Distinct().Count());
    }

    [Fact]
    public async Task A_resuming_eater_is_sent_the_window_after_its_point_filtered_and_an_unknown_hub_means_all_of_it()
    {
        await using var hub = await StartHubAsync(new DumplingHubOptions { StatusInterval = TimeSpan.Zero });
        using var kitchen = await KitchenAsync(hub);
        for (var i = 0; i < 10; i++) await SendTextAsync(kitchen, Dumpling(i % 2 == 0 ? "WantChef" : "OtherChef", "k", i));
        await WaitUntilAsync(() => hub.DumplingsIn == 10, "taken");

        // The same hub: only what follows dumpling 4 (numbers start at 1), and only what the filter wants.
        using (var same = await ConnectAsync(hub.OutEndPoint,
            $$$"""{"eater_name":"same","notices":true,"chefs":["Want*"],"resume_after":{"hub_id":"{{{hub.InstanceId}}}","seq":4}}"""))
        {
            var (got, notices) = await ReadUntilAsync(same, 8);
            Assert.Equal([4, 6, 8], got);
            Assert.Equal(4, notices[0].GetProperty("seq").GetInt64()); // the hub notice: starts after 4
            // Each dumpling after a gap the filter made comes with its number.
            Assert.Equal([5L, 7, 9], notices.Skip(1).Select(n => n.GetProperty("seq").GetInt64()));
            Assert.All(notices.Skip(1), n => Assert.Equal("seq", n.GetProperty("notice").GetString()));
        }
        // Another hub's number (this one restarted): all of the window.
        using (var other = await ConnectAsync(hub.OutEndPoint,
            """{"eater_name":"other","notices":true,"resume_after":{"hub_id":"0123","seq":7}}"""))
        {
            var (got, notices) = await ReadUntilAsync(other, 9);
            Assert.Equal(Enumerable.Range(0, 10), got);
            Assert.Equal(0, notices[0].GetProperty("seq").GetInt64());
            Assert.Equal(2, notices.Count); // the hub notice, and one number: the rest follow on
        }
        // Live dumplings follow the replay without a gap or a repeat.
        using (var late = await ConnectAsync(hub.OutEndPoint,
            $$$"""{"eater_name":"late","notices":true,"resume_after":{"hub_id":"{{{hub.InstanceId}}}","seq":8}}"""))
        {
            await WaitUntilAsync(() => hub.GetStatus().Eaters.Any(e => e.Name == "late"), "late eater registered");
            await SendTextAsync(kitchen, Dumpling("WantChef", "k", 10));
            var (got, _) = await ReadUntilAsync(late, 10);
            Assert.Equal([8, 9, 10], got);
        }
        // An eater that asks for nothing gets nothing but dumplings, and no replay.
        using var plain = await ConnectAsync(hub.OutEndPoint, $$$"""{"eater_name":"plain","resume_after":{"hub_id":"{{{hub.InstanceId}}}","seq":0}}""");
        await WaitUntilAsync(() => hub.GetStatus().Eaters.Any(e => e.Name == "plain"), "plain eater registered");
        await SendTextAsync(kitchen, Dumpling("WantChef", "k", 11));
        var first = await ReceiveAsync(plain);
        Assert.Equal(11, NumberOf(first!.Value.Text));
    }

    [Fact]
    public async Task A_stopping_hub_delivers_what_it_took_to_an_eater_that_keeps_reading()
    {
        const int count = 500;
        var hub = await StartHubAsync(new DumplingHubOptions { StatusInterval = TimeSpan.Zero });
        using var eater = await RawPeer.ConnectAsync(hub.OutEndPoint, receiveBuffer: 4096);
        Assert.StartsWith("HTTP/1.1 101", await eater.HandshakeAsync());
        await eater.SendTextFrameAsync("""{"eater_name":"reader"}""");
        await WaitUntilAsync(() => hub.GetStatus().Eaters.Any(), "eater registered");
        using var kitchen = await KitchenAsync(hub);
        await SendNumberedAsync(kitchen, 0, count, pad: new string('p', PadBytes));
        await WaitUntilAsync(() => hub.DumplingsIn == count, "taken");
        Assert.True(hub.GetStatus().Eaters.Single().QueuedDumplings > 0, "nothing was queued: the test proves nothing");

        var stopping = hub.StopAsync();
        using var cts = new CancellationTokenSource(Patience);
        var (received, close) = (0, -1);
        while (await eater.ReadFrameAsync(cts.Token) is { } frame)
        {
            if (frame.Opcode == 8)
            {
                close = (frame.Payload[0] << 8) | frame.Payload[1];
                break;
            }
            Assert.Equal(received, NumberOf(Encoding.UTF8.GetString(frame.Payload)));
            received++;
            if (received % 20 == 0) await Task.Delay(5); // slower than the hub, but reading
        }
        await stopping;
        Assert.Equal(count, received);
        Assert.Equal(1001, close);
    }
}
