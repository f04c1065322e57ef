using System.Diagnostics;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using NetDumplings.Hub;
using NetDumplings.Protocol;
using static NetDumplings.Tests.HubTestClient;

namespace NetDumplings.Tests.Security;

/// <summary>Issue 12's attacks on a hub on 127.0.0.1: each bounded, counted, and costing other peers nothing.</summary>
public class HostilePeerTests
{
    private const string Upgrade = "GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

    /// <summary>Sends an upgrade request and reads the whole answer, up to the hub's close.</summary>
    internal static async Task<string> RefusalAsync(RawPeer peer, string? request = null)
    {
        await peer.Stream.WriteAsync(Encoding.ASCII.GetBytes(request ?? Upgrade));
        using var answer = new MemoryStream();
        var buffer = new byte[4096];
        using var cts = new CancellationTokenSource(Patience);
        try
        {
            int n;
            while ((n = await peer.Stream.ReadAsync(buffer, cts.Token)) > 0) answer.Write(buffer, 0, n);
        }
        catch (IOException) { }
        return Encoding.UTF8.GetString(answer.ToArray());
    }

    [Fact]
    public async Task ADribbledHandshakeGetsOneDeadlineForHandshakeAndAnnouncement()
    {
        // Was: the handshake had its timeout, then the announcement another one (18 s held with 10 s each).
        await using var hub = await StartHubAsync(new DumplingHubOptions { AnnounceTimeout = TimeSpan.FromSeconds(2) });
        using var peer = await RawPeer.ConnectAsync(hub.OutEndPoint);
        var clock = Stopwatch.StartNew();
        var bytes = Encoding.ASCII.GetBytes(Upgrade);
        // Dribbled: a byte at a time, the last one 1.5 s in, so the upgrade completes inside the deadline.
        for (var i = 0; i < bytes.Length - 1; i++)
        {
            await peer.Stream.WriteAsync(bytes.AsMemory(i, 1));
            if (i % 16 == 0) await Task.Delay(1);
        }
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1.2), "the machine is too slow for this test's timing");
        await Task.Delay(TimeSpan.FromSeconds(1.5) - clock.Elapsed);
        await peer.Stream.WriteAsync(bytes.AsMemory(bytes.Length - 1, 1));
        Assert.True(await peer.WaitForServerToDropAsync(TimeSpan.FromSeconds(10)), "the hub never dropped the peer");
        Assert.InRange(clock.Elapsed.TotalSeconds, 1.5, 3.0);
    }

    [Fact]
    public async Task AFrameHeaderOverTheLimitIsRefusedWith1009AtOnce()
    {
        // Was: a header announcing 2^63-1 bytes was held until keepalive ended it (~50 s).
        await using var hub = await StartHubAsync(new DumplingHubOptions { KeepAliveInterval = TimeSpan.FromSeconds(60), KeepAliveTimeout = TimeSpan.FromSeconds(60) });
        using var eater = await EaterAsync(hub);
        using var peer = await RawPeer.ConnectAsync(hub.InEndPoint);
        Assert.StartsWith("HTTP/1.1 101", await peer.HandshakeAsync());
        await peer.SendTextFrameAsync("""{"kitchen_name":"huge"}""");
        await WaitUntilAsync(() => hub.GetStatus().Kitchens.Count == 1, "kitchen registered");
        byte[] header = [0x81, 0x80 | 127, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4];
        var clock = Stopwatch.StartNew();
        await peer.Stream.WriteAsync(header);
        var buffer = new byte[256];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var n = await peer.Stream.ReadAsync(buffer, cts.Token);
        Assert.True(n >= 4, "no close frame");
        Assert.Equal(0x88, buffer[0]);
        Assert.Equal(1009, buffer[2] << 8 | buffer[3]);
        Assert.True(await peer.WaitForServerToDropAsync(TimeSpan.FromSeconds(5)));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"took {clock.Elapsed}");
        await WaitUntilAsync(() => hub.GetStatus().Kitchens.Count == 0, "kitchen gone");
        Assert.Equal(WebSocketState.Open, eater.State);
    }

    [Fact]
    public async Task AKitchenCannotSendAStatusDumplingInTheHubsName()
    {
        await using var hub = await StartHubAsync(new DumplingHubOptions { StatusInterval = TimeSpan.Zero });
        using var eater = await EaterAsync(hub);
        using var kitchen = await KitchenAsync(hub);
        var fake = """{"metadata":{"chef":"SystemStatusChef","kitchen":null,"creation_time":1.0,"driver":"interval"},"payload":{"total_dumplings_in":999999}}""";
        var noKitchen = """{"metadata":{"chef":"SystemStatusChef","creation_time":1.0,"driver":"interval"},"payload":{"total_dumplings_in":999999}}""";
        await SendTextAsync(kitchen, fake);
        await SendTextAsync(kitchen, noKitchen);
        // A kitchen's own chef of that name, with its kitchen, is an ordinary dumpling.
        var named = Dumpling("SystemStatusChef", "k", 1);
        await SendTextAsync(kitchen, named);
        Assert.Equal(named, (await ReceiveAsync(eater))!.Value.Text);
        Assert.Equal(2, hub.GetStatus().InvalidDumplings);
        Assert.False(HubStatusReport.IsStatus(DumplingCodec.Parse(named)));
    }

    public static TheoryData<string, string> BreaksOriginalEaters => new()
    {
        { "{\"metadata\":{\"chef\":\"Deep\",\"kitchen\":\"k\",\"creation_time\":1.0,\"driver\":\"packet\"},\"payload\":" + new string('[', 999) + new string(']', 999) + "}", "nests deeper" },
        { "{\"metadata\":{\"chef\":\"Big\",\"kitchen\":\"k\",\"creation_time\":1.0,\"driver\":\"packet\"},\"payload\":{\"n\":" + new string('7', 5000) + "}}", "digits" },
        { "{\"metadata\":{\"chef\":\"A\",\"kitchen\":\"k\",\"creation_time\":1.0,\"driver\":\"packet\"},\"metadata\":{\"x\":1},\"payload\":1}", "'metadata' twice" },
        { "{\"metadata\":{\"chef\":\"A\",\"chef\":\"B\",\"kitchen\":\"k\",\"creation_time\":1.0,\"driver\":\"packet\"},\"payload\":1}", "'metadata.chef' twice" },
    };

    [Theory]
    [MemberData(nameof(BreaksOriginalEaters))]
    public async Task RefusesDumplingsThatBreakTheOriginalEatersAndKeepsTheKitchen(string dumpling, string reason)
    {
        await using var hub = await StartHubAsync(new DumplingHubOptions { StatusInterval = TimeSpan.Zero });
        var log = new List<string>();
        hub.Log += (_, e) => { lock (log) log.Add(e.Message); };
        using var eater = await EaterAsync(hub);
        using var kitchen = await KitchenAsync(hub);
        await SendTextAsync(kitchen, dumpling);
        var good = Dumpling("Good", "k", 1);
        await SendTextAsync(kitchen, good);
        Assert.Equal(good, (await ReceiveAsync(eater))!.Value.Text);
        Assert.Equal(1, hub.GetStatus().InvalidDumplings);
        lock (log) Assert.Contains(log, l => l.Contains(reason));
    }

    [Fact]
    public void ForwardsWhatTheOriginalEatersRead()
    {
        var deep = "{\"metadata\":{\"chef\":\"Deep\",\"kitchen\":\"k\"},\"payload\":" + new string('[', 400) + new string(']', 400) + "}";
        Assert.True(DumplingCodec.TryReadForwardable(Encoding.UTF8.GetBytes(deep), out _, out _, out var error), error);
        var numbers = "{\"metadata\":{\"chef\":\"N\"},\"payload\":[" + new string('1', 4300) + ",-" + new string('2', 4300) + ",1." + new string('3', 6000) + ",1e5]}";
        Assert.True(DumplingCodec.TryReadForwardable(Encoding.UTF8.GetBytes(numbers), out _, out _, out error), error);
    }

    [Fact]
    public async Task StatusDumplingsCarryABoundedPartOfEachAnnouncement()
    {
        // Was: two announcements of 700 KB pushed every status past the original eaters' 1 MiB (1009).
        // Announcements this big are refused by default (MaxAnnouncementBytes); a hub that allows them still bounds its status.
        await using var hub = await StartHubAsync(new DumplingHubOptions { StatusInterval = TimeSpan.FromMilliseconds(200), MaxAnnouncementBytes = 1024 * 1024 });
        var big = new string('x', 700 * 1000);
        using var k1 = await ConnectAsync(hub.InEndPoint, $$"""{"kitchen_name":"big1","filter":"{{big}}","chefs":["A"]}""");
        using var k2 = await ConnectAsync(hub.InEndPoint, $$"""{"kitchen_name":"big2","extra":["{{big}}"],"chefs":["A"]}""");
        await WaitUntilAsync(() => hub.GetStatus().Kitchens.Count == 2, "kitchens registered");
        using var eater = await EaterAsync(hub);
        var status = await ReceiveMatchingAsync(eater, t => ChefOf(t) == "SystemStatusChef");
        Assert.True(Encoding.UTF8.GetByteCount(status) < 64 * 1024, $"status is {status.Length} bytes");
        using var doc = JsonDocument.Parse(status);
        var kitchens = doc.RootElement.GetProperty("payload").GetProperty("dumpling_kitchens").EnumerateArray().ToArray();
        Assert.Equal(2, kitchens.Length);
        foreach (var k in kitchens)
        {
            Assert.StartsWith("big", k.GetProperty("info_from_kitchen").GetProperty("kitchen_name").GetString());
            Assert.True(k.GetProperty("info_from_hub").GetProperty("announcement_truncated").GetBoolean());
        }
        var report = HubStatusReport.From(DumplingCodec.Parse(status));
        Assert.Equal(2, report.KitchenCount);
    }

    [Fact]
    public async Task EatersCannotUseUpTheKitchensPlacesAndOneAddressCannotUseUpAll()
    {
        await using (var hub = await StartHubAsync(new DumplingHubOptions { MaxEaterConnections = 2 }))
        {
            using var a = await EaterAsync(hub, "a");
            using var b = await RawPeer.ConnectAsync(hub.OutEndPoint); // a slow one, still handshaking
            using var c = await RawPeer.ConnectAsync(hub.OutEndPoint);
            var refused = await RefusalAsync(c);
            Assert.StartsWith("HTTP/1.1 503", refused);
            Assert.Contains("eater connections on the out-port", refused);
            using var kitchen = await KitchenAsync(hub); // the in-port still has room
            await WaitUntilAsync(() => hub.GetStatus().Kitchens.Count == 1, "kitchen admitted");
        }
        await using (var hub = await StartHubAsync(new DumplingHubOptions { MaxConnectionsPerAddress = 2 }))
        {
            using var a = await RawPeer.ConnectAsync(hub.InEndPoint);
            using var b = await RawPeer.ConnectAsync(hub.OutEndPoint);
            using var c = await RawPeer.ConnectAsync(hub.OutEndPoint);
            var refused = await RefusalAsync(c);
            Assert.StartsWith("HTTP/1.1 503", refused);
            Assert.Contains("2 connections from 127.0.0.1", refused);
            a.Dispose();
            await WaitUntilAsync(() => hub.GetStatus().RefusedConnections == 1, "refusal counted");
            await Task.Delay(300);
            using var d = await EaterAsync(hub, "d"); // its place is free again
        }
    }
}
