using NetDumplings.Client;
using NetDumplings.Hub;
using NetDumplings.Protocol;
using static NetDumplings.Tests.HubTestClient;

namespace NetDumplings.Tests;

/// <summary>
/// Keepalive while the hub holds a kitchen back for a slow eater: the kitchen's pongs sit behind the
/// dumplings the hub is not reading, and the eater's behind the dumplings it is still reading. Neither
/// may be taken for dead (with the WebSocket's own pong timeout, both were).
/// </summary>
[Collection(HeavyHubTests.Name)]
public class HubKeepAliveTests
{
    [Fact]
    public async Task A_kitchen_held_back_longer_than_the_keepalive_timeout_stays_connected()
    {
        const int count = 2000;
        var log = new List<string>();
        await using var hub = await StartHubAsync(new DumplingHubOptions
        {
            EaterQueueDumplings = 20,
            EaterQueueBytes = 1024 * 1024,
            SlowEaterTimeout = TimeSpan.FromSeconds(60),
            KeepAliveInterval = TimeSpan.FromMilliseconds(300),
            KeepAliveTimeout = TimeSpan.FromSeconds(1),
            StatusInterval = TimeSpan.Zero,
        });
        hub.Log += (_, e) => { lock (log) log.Add(e.Message); };
        // An eater that answers pings as it reads (ClientWebSocket), but reads slowly.
        using var eater = await EaterAsync(hub, "slow");

        // A kitchen of ours: it reads the hub (acknowledgements, pings) all along, and answers pings.
        var sender = await DumplingSender.ConnectAsync(new HubAddress("127.0.0.1", hub.InEndPoint.Port), new KitchenAnnouncement("held"),
            new DumplingSenderOptions { KeepAliveInterval = TimeSpan.FromMilliseconds(200) });
        var pad = new string('p', 8000);
        var sending = Task.Run(async () =>
        {
            for (var i = 0; i < count; i++)
                await sender.SendAsync(DumplingCodec.Create("Flood", "held", DumplingDriver.Packet, new RawJsonPayload($"{{\"i\":{i},\"pad\":\"{pad}\"}}")), TestTime.Token());
        });
        // A slow reader: the kitchen is held back again and again, for seconds in all.
        var received = 0;
        while (received < count && await ReceiveAsync(eater) is not null)
            if (++received % 10 == 0) await Task.Delay(20);
        Assert.True(hub.GetStatus().KitchensHeldBack > TimeSpan.FromSeconds(2), $"held only {hub.GetStatus().KitchensHeldBack}: the test proves nothing");
        await sending;
        await sender.CompleteAsync(TestTime.Token());
        Assert.Equal(count, received);
        lock (log) Assert.False(log.Any(l => l.Contains("keepalive") || l.Contains("Lost") || (l.Contains("Disconnected") && !l.Contains("close 1000"))), string.Join(" | ", log));
        Assert.Equal(1, sender.Connects);
    }

    [Fact]
    public async Task A_peer_that_answers_nothing_is_still_closed()
    {
        var log = new List<string>();
        await using var hub = await StartHubAsync(new DumplingHubOptions
        {
            KeepAliveInterval = TimeSpan.FromMilliseconds(200),
            KeepAliveTimeout = TimeSpan.FromMilliseconds(300),
            StatusInterval = TimeSpan.Zero,
        });
        hub.Log += (_, e) => { lock (log) log.Add(e.Message); };
        // A raw peer never reads, so never answers a ping.
        using var kitchen = await RawPeer.ConnectAsync(hub.InEndPoint);
        Assert.StartsWith("HTTP/1.1 101", await kitchen.HandshakeAsync());
        await kitchen.SendTextFrameAsync("""{"kitchen_name":"mute"}""");
        using var eater = await RawPeer.ConnectAsync(hub.OutEndPoint);
        Assert.StartsWith("HTTP/1.1 101", await eater.HandshakeAsync());
        await eater.SendTextFrameAsync("""{"eater_name":"mute"}""");
        await WaitUntilAsync(() => { lock (log) return log.Count(l => l.Contains("(keepalive)")) == 2; }, "both closed by the keepalive");
        await WaitUntilAsync(() => hub.GetStatus() is { Kitchens.Count: 0, Eaters.Count: 0 }, "both gone");
    }
}
