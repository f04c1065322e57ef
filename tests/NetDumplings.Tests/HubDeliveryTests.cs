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

    private static Task SendNumberedAsync(WebSocket kitchen, int from, int to, string chef = "Flood", string pad = "") =>
        HubTestClient.SendNumberedAsync(kitchen, "k", from, to, chef, pad);

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
    public async Task The_eater_reports_what_the_hub_dropped_for_it_as_lost_with_the_count()
    {
        const int count = 3000;
        await using var fixture = await HubFixture.StartAsync(DropOldest);
        var eater = new DumplingEater(fixture.EaterOptions("lossy") with { ReadAhead = 1 });
        var events = new ConcurrentQueue<HubClientEventArgs>();
        eater.Event += (_, e) => events.Enqueue(e);
        var eaten = new List<int>();
        var eating = Task.Run(async () =>
        {
            await foreach (var d in eater.EatAsync(TestTime.Token()))
            {
                // A consumer that stalls until the kitchen is done, so the hub's queue for it overflows.
                if (eaten.Count == 0) await WaitUntilAsync(() => fixture.Hub.DumplingsIn == count, "every dumpling taken");
                var n = d.PayloadElement.GetProperty("i").GetInt32();
                eaten.Add(n);
                if (n == count - 1) return;
            }
        });
        await fixture.WaitForEaterAsync("lossy");
        using var kitchen = await KitchenAsync(fixture.Hub);
        await SendNumberedAsync(kitchen, 0, count, pad: new string('p', PadBytes));
        var dropped = fixture.Hub.GetStatus().Eaters.Single().Dropped;
        await eating.WaitAsync(TestTime.Limit);

        Assert.True(dropped > 0, "the hub dropped nothing: the test proves nothing");
        var lost = events.Where(e => e.Kind == HubClientEventKind.DumplingsLost).ToList();
        Assert.NotEmpty(lost);
        Assert.Equal(eater.Lost, lost.Sum(e => e.Count));
        Assert.Equal(count, eaten.Count + eater.Lost);
        Assert.Contains("dropped", lost[0].Message);
        Assert.DoesNotContain(events, e => e.Kind == HubClientEventKind.MalformedMessage);
        Assert.Equal(eaten.Order(), eaten);
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
    public async Task An_eater_whose_connection_drops_misses_nothing_the_window_holds_and_gets_nothing_twice()
    {
        const int count = 3000;
        await using var fixture = await HubFixture.StartAsync(new DumplingHubOptions { StatusInterval = TimeSpan.FromMilliseconds(100) });
        await using var proxy = new CuttableProxy(fixture.Hub.OutEndPoint);
        var eater = new DumplingEater(fixture.EaterOptions("blip") with { Hub = new HubAddress("127.0.0.1", proxy.Port), Chefs = ["TestChef", "SystemStatusChef"] });
        var (eaten, events, eating) = Collect(eater);
        await fixture.WaitForEaterAsync("blip");
        // Two kitchens, so numbering holds across kitchens that publish at once; one chef filtered out.
        using var kitchen = await KitchenAsync(fixture.Hub, "k1");
        using var other = await KitchenAsync(fixture.Hub, "k2");
        var noise = Task.Run(() => SendNumberedAsync(other, 0, count, chef: "OtherChef"));

        await SendNumberedAsync(kitchen, 0, count / 3, chef: "TestChef");
        await WaitUntilAsync(() => eaten.Count >= count / 6, "some eaten");
        proxy.Cut(refuse: true); // mid-stream: some in flight, the rest sent while it is away
        await fixture.WaitForLogAsync("Disconnected eater 'blip'");
        await SendNumberedAsync(kitchen, count / 3, 2 * count / 3, chef: "TestChef");
        proxy.Restore();
        await fixture.WaitForEaterAsync("blip", times: 2);
        await SendNumberedAsync(kitchen, 2 * count / 3, count, chef: "TestChef");
        await WaitUntilAsync(() => eaten.Count >= count, "all eaten");
        await noise;

        var status = fixture.Hub.GetStatus().Eaters.Single();
        Assert.True(status.Replayed >= count / 3, $"replayed only {status.Replayed}");
        Assert.Equal(0, status.Missed);
        Assert.Equal(Enumerable.Range(0, count), eaten);
        Assert.Equal(0, eater.Duplicates);
        Assert.DoesNotContain(events, e => e.Kind is HubClientEventKind.DumplingsLost or HubClientEventKind.MalformedMessage);
        Assert.Contains(events, e => e.Kind == HubClientEventKind.Disconnected);
        await StopAsync(eating);
    }

    [Fact]
    public async Task An_eater_away_past_the_window_is_told_how_many_it_missed()
    {
        await using var fixture = await HubFixture.StartAsync(new DumplingHubOptions { ReplayWindowDumplings = 100, StatusInterval = TimeSpan.Zero });
        await using var proxy = new CuttableProxy(fixture.Hub.OutEndPoint);
        var eater = new DumplingEater(fixture.EaterOptions("away") with { Hub = new HubAddress("127.0.0.1", proxy.Port) });
        var (eaten, events, eating) = Collect(eater);
        await fixture.WaitForEaterAsync("away");
        using var kitchen = await KitchenAsync(fixture.Hub);
        await SendNumberedAsync(kitchen, 0, 100, chef: "TestChef");
        await WaitUntilAsync(() => eaten.Count == 100, "first hundred eaten");
        proxy.Cut(refuse: true);
        await fixture.WaitForLogAsync("Disconnected eater 'away'");
        await SendNumberedAsync(kitchen, 100, 400, chef: "TestChef");
        await WaitUntilAsync(() => fixture.Hub.DumplingsIn == 400, "taken while away");
        proxy.Restore();
        await WaitUntilAsync(() => eaten.Count == 200, "the window eaten");

        Assert.Equal(Enumerable.Range(0, 100).Concat(Enumerable.Range(300, 100)), eaten);
        var lost = Assert.Single(events, e => e.Kind == HubClientEventKind.DumplingsLost);
        Assert.Equal(200, lost.Count);
        Assert.Contains("replay window", lost.Message);
        Assert.Equal(200, eater.Lost);
        Assert.Contains("had left the replay window", await fixture.WaitForLogAsync("resumed after dumpling 100"));
        await StopAsync(eating);
    }

    [Fact]
    public async Task Across_a_hub_restart_the_eater_gets_what_the_kitchen_resent_before_it_came_back_exactly_once()
    {
        const int count = 20_000;
        await using var fixture = await HubFixture.StartAsync(new DumplingHubOptions { ReplayWindowDumplings = count, StatusInterval = TimeSpan.Zero });
        var (inPort, outPort) = (fixture.InPort, fixture.OutPort);
        // The eater comes back well after the kitchen, as a Receive-Dumpling would with its backoff.
        var eater = new DumplingEater(fixture.EaterOptions("restart_eater") with
        {
            ReconnectBackoff = new Backoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1)),
        });
        var (eaten, events, eating) = Collect(eater);
        await fixture.WaitForEaterAsync("restart_eater");
        var sender = await DumplingSender.ConnectAsync(fixture.InAddress, new KitchenAnnouncement("restart_kitchen"),
            new DumplingSenderOptions { ReconnectBackoff = new Backoff(TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(100)) });
        var first = fixture.Hub;
        // The second half waits for the first hub to have stopped, so the restart falls mid-stream however fast the
        // hub takes the first half (unthrottled, it sometimes took all 20,000 before the stop).
        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sending = Task.Run(async () =>
        {
            for (var i = 0; i < count; i++)
            {
                if (i == count / 2) await stopped.Task.WaitAsync(TestTime.Limit);
                await sender.SendAsync(HubFixture.Make("TestChef", "restart_kitchen", i), TestTime.Token());
            }
        });
        await WaitUntilAsync(() => first.DumplingsIn > count / 4, "a quarter taken");
        await first.StopAsync();
        stopped.SetResult();
        await fixture.StartHubAsync(inPort, outPort);
        await sending.WaitAsync(TestTime.Limit);
        await sender.CompleteAsync(TestTime.Token());
        await WaitUntilAsync(() => eaten.Count >= count, "everything eaten");

        Assert.True(first.DumplingsIn < count, "the restart came too late to test anything");
        var second = fixture.Hub.GetStatus();
        Assert.True(second.Eaters.Single().Replayed > 0, "the kitchen did not get ahead of the eater: nothing was replayed");
        Assert.Equal(Enumerable.Range(0, count), eaten.Select(n => n));
        Assert.DoesNotContain(events, e => e.Kind == HubClientEventKind.DumplingsLost);
        await StopAsync(eating);
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

    private static (List<int> Eaten, ConcurrentQueue<HubClientEventArgs> Events, (Task Task, CancellationTokenSource Stop) Eating) Collect(DumplingEater eater)
    {
        var eaten = new List<int>();
        var events = new ConcurrentQueue<HubClientEventArgs>();
        eater.Event += (_, e) => events.Enqueue(e);
        var stop = new CancellationTokenSource(TestTime.Limit * 2);
        var task = Task.Run(async () =>
        {
            try
            {
                await foreach (var d in eater.EatAsync(stop.Token))
                    if (d.Chef != HubStatusReport.ChefName)
                        lock (eaten) eaten.Add(d.PayloadElement.TryGetProperty("i", out var i) ? i.GetInt32() : d.PayloadElement.GetProperty("n").GetInt32());
            }
            catch (OperationCanceledException) { }
        });
        return (eaten, events, (task, stop));
    }

    private static async Task StopAsync((Task Task, CancellationTokenSource Stop) eating)
    {
        eating.Stop.Cancel();
        await eating.Task.WaitAsync(TestTime.Limit);
        eating.Stop.Dispose();
    }
}
