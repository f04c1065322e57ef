using NetDumplings.Protocol;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text.Json;
using NetDumplings.Hub;
using static NetDumplings.Tests.HubTestClient;

namespace NetDumplings.Tests;

public class DumplingHubTests
{
    [Fact]
    public async Task ForwardsEveryValidDumplingByteForByteToEveryEater()
    {
        await using var hub = await StartHubAsync();
        using var eater1 = await EaterAsync(hub, "one");
        using var eater2 = await EaterAsync(hub, "two");
        using var kitchen = await KitchenAsync(hub);
        var sent = Enumerable.Range(0, 200).Select(i => Dumpling("TestChef", "test_kitchen", i, "żółw 🥟")).ToList();
        sent.Add("""{ "metadata" : { "chef" : "Spacey" , "unknown": [1] }, "extra": true }"""); // the hub's rule: JSON with metadata.chef
        foreach (var d in sent) await SendTextAsync(kitchen, d);

        foreach (var eater in new[] { eater1, eater2 })
            foreach (var expected in sent)
                Assert.Equal(expected, (await ReceiveAsync(eater))!.Value.Text);
        await WaitUntilAsync(() => hub.DumplingsOut == 2 * sent.Count, "all counted out");
        Assert.Equal(sent.Count, hub.DumplingsIn);
    }

    [Fact]
    public async Task SkipsInvalidDumplingsAndKeepsTheKitchen()
    {
        var log = new List<string>();
        await using var hub = await StartHubAsync();
        hub.Log += (_, e) => { lock (log) log.Add(e.Message); };
        using var eater = await EaterAsync(hub);
        using var kitchen = await KitchenAsync(hub);
        await SendTextAsync(kitchen, "not json");
        await SendTextAsync(kitchen, """{"metadata":{"kitchen":"x"},"payload":1}""");
        await SendTextAsync(kitchen, """{"payload":1}""");
        await SendTextAsync(kitchen, Dumpling("GoodChef", "test_kitchen", 1));
        Assert.Equal("GoodChef", ChefOf((await ReceiveAsync(eater))!.Value.Text));
        Assert.Equal(WebSocketState.Open, kitchen.State);
        var status = hub.GetStatus();
        Assert.Equal(3, status.InvalidDumplings);
        Assert.Equal(1, status.DumplingsIn);
        Assert.Equal(3, status.Kitchens.Single().Invalid);
        lock (log) Assert.Contains(log, l => l.Contains("invalid dumpling") && l.Contains("no 'metadata.chef'"));
    }

    [Fact]
    public async Task CountsALoneSurrogateInTheEnvelopeAsInvalidAndKeepsTheKitchen()
    {
        await using var hub = await StartHubAsync();
        using var eater = await EaterAsync(hub);
        using var kitchen = await KitchenAsync(hub);
        await SendTextAsync(kitchen, Dumpling("\\udc00", "test_kitchen", 1));
        await SendTextAsync(kitchen, Dumpling("C", "\\ud800", 2));
        await SendTextAsync(kitchen, Dumpling("GoodChef", "test_kitchen", 3));
        Assert.Equal("GoodChef", ChefOf((await ReceiveAsync(eater))!.Value.Text));
        Assert.Equal(WebSocketState.Open, kitchen.State);
        var status = hub.GetStatus();
        Assert.Equal(2, status.InvalidDumplings);
        Assert.Equal(2, status.Kitchens.Single().Invalid);
    }

    [Fact]
    public async Task ForwardsBinaryFramesAsBinary()
    {
        await using var hub = await StartHubAsync();
        using var eater = await EaterAsync(hub);
        using var kitchen = await KitchenAsync(hub);
        var d = Dumpling("BinChef", "k", 1);
        await SendTextAsync(kitchen, d, WebSocketMessageType.Binary);
        var m = (await ReceiveAsync(eater))!.Value;
        Assert.Equal(WebSocketMessageType.Binary, m.Type);
        Assert.Equal(d, m.Text);
    }

    [Fact]
    public async Task SendsStatusDumplingsWithEveryKeyOfTheOriginal()
    {
        await using var hub = await StartHubAsync(new DumplingHubOptions { StatusInterval = TimeSpan.FromMilliseconds(200) });
        using var kitchen = await KitchenAsync(hub, "edge1");
        using var eater = await EaterAsync(hub, "printereater");
        await SendTextAsync(kitchen, Dumpling("TestChef", "edge1", 1));
        var json = await ReceiveMatchingAsync(eater, t => ChefOf(t) == "SystemStatusChef" && t.Contains("\"total_dumplings_in\":1"));
        var status = DumplingCodec.Parse(json);
        Assert.Null(status.Kitchen);
        Assert.Equal(DumplingDriver.Interval, status.Driver);
        var p = status.PayloadElement;
        foreach (var key in new[] { "total_dumplings_in", "total_dumplings_out", "server_uptime", "dumpling_kitchen_count", "dumpling_eater_count", "dumpling_kitchens", "dumpling_eaters" })
            Assert.True(p.TryGetProperty(key, out _), $"status lacks {key}");
        Assert.Equal(1, p.GetProperty("dumpling_kitchen_count").GetInt32());
        Assert.Equal(1, p.GetProperty("dumpling_eater_count").GetInt32());
        var k = p.GetProperty("dumpling_kitchens")[0];
        Assert.Equal("edge1", k.GetProperty("info_from_kitchen").GetProperty("kitchen_name").GetString());
        Assert.Equal(5.0, k.GetProperty("info_from_kitchen").GetProperty("poke_interval").GetDouble());
        Assert.Equal("127.0.0.1", k.GetProperty("info_from_hub").GetProperty("host").GetString());
        Assert.True(k.GetProperty("info_from_hub").GetProperty("port").GetInt32() > 0);
        var e = p.GetProperty("dumpling_eaters")[0];
        Assert.Equal("printereater", e.GetProperty("info_from_eater").GetProperty("eater_name").GetString());
        Assert.True(p.GetProperty("total_dumplings_out").GetInt64() >= 1);
        Assert.StartsWith("NetDumplings ", p.GetProperty("hub_version").GetString());
        Assert.True(p.TryGetProperty("total_dumplings_dropped", out _));
    }

    [Fact]
    public async Task SendsNoStatusWhileNoEaterListens()
    {
        await using var hub = await StartHubAsync(new DumplingHubOptions { StatusInterval = TimeSpan.FromMilliseconds(50) });
        await Task.Delay(300);
        Assert.Equal(0, hub.DumplingsOut);
    }

    [Fact]
    public async Task AppliesTheEaterFilterExtension()
    {
        await using var hub = await StartHubAsync();
        using var dnsOnly = await EaterAsync(hub, "dns", ""","chefs":["DNS*"]""");
        using var edge2Only = await EaterAsync(hub, "edge2", ""","kitchens":["edge2"]""");
        using var kitchen = await KitchenAsync(hub);
        await SendTextAsync(kitchen, Dumpling("ARPChef", "edge1", 1));
        await SendTextAsync(kitchen, Dumpling("DNSLookupChef", "edge1", 2));
        await SendTextAsync(kitchen, Dumpling("ARPChef", "edge2", 3));
        Assert.Contains("\"i\":2", (await ReceiveAsync(dnsOnly))!.Value.Text);
        Assert.Contains("\"i\":3", (await ReceiveAsync(edge2Only))!.Value.Text);
        await SendTextAsync(kitchen, Dumpling("DNSLookupChef", "edge2", 4));
        Assert.Contains("\"i\":4", (await ReceiveAsync(dnsOnly))!.Value.Text);
        Assert.Contains("\"i\":4", (await ReceiveAsync(edge2Only))!.Value.Text);
    }

    [Theory]
    [InlineData(true, "not json at all", "not JSON")]
    [InlineData(true, """{"name":"x"}""", "no 'kitchen_name'")]
    [InlineData(false, """{"name":"x"}""", "no 'eater_name'")]
    [InlineData(false, "[1,2]", "JSON object")]
    public async Task RefusesABadAnnouncementWith1008AndAReason(bool kitchen, string announcement, string reason)
    {
        await using var hub = await StartHubAsync();
        using var ws = await ConnectAsync(kitchen ? hub.InEndPoint : hub.OutEndPoint, announcement);
        var (status, description) = await ReceiveCloseAsync(ws);
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, status);
        Assert.Contains(reason, description);
        Assert.StartsWith(DumplingCloseCodes.AnnouncementRefusedPrefix, description);
        await WaitUntilAsync(() => hub.GetStatus().RefusedConnections == 1, "refusal counted");
    }

    [Fact]
    public async Task NamesTheRightPortToAPeerOnTheWrongOne()
    {
        await using var hub = await StartHubAsync();
        using (var kitchenOnOutPort = await ConnectAsync(hub.OutEndPoint, """{"kitchen_name":"k","chefs":["C"]}"""))
        {
            var (status, description) = await ReceiveCloseAsync(kitchenOnOutPort);
            Assert.Equal(WebSocketCloseStatus.PolicyViolation, status);
            Assert.Equal($"{DumplingCloseCodes.AnnouncementRefusedPrefix}no 'eater_name' (is this the out-port? kitchens connect to the in-port, {hub.InEndPoint.Port})", description);
        }
        using (var eaterOnInPort = await ConnectAsync(hub.InEndPoint, """{"eater_name":"e"}"""))
        {
            var (status, description) = await ReceiveCloseAsync(eaterOnInPort);
            Assert.Equal(WebSocketCloseStatus.PolicyViolation, status);
            Assert.Equal($"{DumplingCloseCodes.AnnouncementRefusedPrefix}no 'kitchen_name' (is this the in-port? eaters connect to the out-port, {hub.OutEndPoint.Port})", description);
        }
        await WaitUntilAsync(() => hub.GetStatus().RefusedConnections == 2, "refusals counted");
    }

    [Theory]
    [InlineData(true, """{"kitchen_name":"\udc00"}""")]
    [InlineData(true, """{"kitchen_name":"k","chefs":["\ud800"]}""")]
    [InlineData(false, """{"eater_name":"e","chefs":["\udc00"]}""")]
    public async Task RefusesAnAnnouncementWithALoneSurrogateAndKeepsSendingStatus(bool kitchen, string announcement)
    {
        await using var hub = await StartHubAsync(new DumplingHubOptions { StatusInterval = TimeSpan.FromMilliseconds(100) });
        using var watcher = await EaterAsync(hub, "watcher");
        using var ws = await ConnectAsync(kitchen ? hub.InEndPoint : hub.OutEndPoint, announcement);
        var (status, description) = await ReceiveCloseAsync(ws);
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, status);
        Assert.Contains("not Unicode text", description);
        await WaitUntilAsync(() => hub.GetStatus().RefusedConnections == 1, "refusal counted");
        // The status loop copies every announcement: it must still run after the refusal.
        await ReceiveMatchingAsync(watcher, t => ChefOf(t) == "SystemStatusChef" && t.Contains("\"total_refused_connections\":1"));
    }

    [Fact]
    public async Task ClosesAPeerThatNeverAnnounces()
    {
        await using var hub = await StartHubAsync(new DumplingHubOptions { AnnounceTimeout = TimeSpan.FromMilliseconds(300) });
        using var ws = new ClientWebSocket();
        await ws.ConnectAsync(new Uri($"ws://{hub.InEndPoint}/"), CancellationToken.None);
        var (status, description) = await ReceiveCloseAsync(ws);
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, status);
        Assert.Contains("no announcement", description);
    }

    [Fact]
    public async Task ClosesASenderOfAnOversizedMessageWith1009()
    {
        await using var hub = await StartHubAsync(new DumplingHubOptions { MaxMessageBytes = 64 * 1024 });
        using var eater = await EaterAsync(hub);
        using var kitchen = await KitchenAsync(hub);
        await SendTextAsync(kitchen, Dumpling("Big", "k", 1, new string('x', 64 * 1024)));
        var (status, _) = await ReceiveCloseAsync(kitchen);
        Assert.Equal(WebSocketCloseStatus.MessageTooBig, status);
        Assert.Equal(0, hub.DumplingsIn);
        Assert.Equal(WebSocketState.Open, eater.State);
    }

    [Fact]
    public async Task ForwardsSmallDumplingsThatFollowABigOne()
    {
        // The peer's receive buffer grows for a big message and shrinks again later: the small
        // message read right after the big one must still be forwarded, not a shrunk empty buffer.
        await using var hub = await StartHubAsync();
        using var eater = await EaterAsync(hub);
        using var kitchen = await KitchenAsync(hub);
        string[] sent =
        [
            Dumpling("A", "k", 1),
            Dumpling("B", "k", 2, new string('b', 300 * 1000)),
            Dumpling("C", "k", 3),
            Dumpling("D", "k", 4),
            Dumpling("E", "k", 5),
        ];
        foreach (var d in sent) await SendTextAsync(kitchen, d);
        foreach (var expected in sent)
            Assert.Equal(expected, (await ReceiveAsync(eater))!.Value.Text);
        Assert.Equal(5, hub.DumplingsIn);
        Assert.Equal(0, hub.GetStatus().InvalidDumplings);
    }

    [Fact]
    public async Task AcceptsAMessageJustUnderTheLimit()
    {
        await using var hub = await StartHubAsync(new DumplingHubOptions { MaxMessageBytes = 64 * 1024 });
        using var eater = await EaterAsync(hub);
        using var kitchen = await KitchenAsync(hub);
        var d = Dumpling("Big", "k", 1, "");
        d = Dumpling("Big", "k", 1, new string('x', 64 * 1024 - d.Length));
        Assert.Equal(64 * 1024, d.Length);
        await SendTextAsync(kitchen, d);
        Assert.Equal(d, (await ReceiveAsync(eater))!.Value.Text);
    }

    [Fact]
    public async Task AnswersPlainHttpOnTheInPortWith426AndABadVersionWith426()
    {
        await using var hub = await StartHubAsync();
        // The out-port answers a plain GET with the dashboard (DashboardHttpTests); the in-port speaks WebSocket only.
        using (var peer = await RawPeer.ConnectAsync(hub.InEndPoint))
        {
            var response = await peer.SendRequestAsync("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
            Assert.StartsWith("HTTP/1.1 426 Upgrade Required", response);
        }
        using (var peer = await RawPeer.ConnectAsync(hub.OutEndPoint))
        {
            var response = await peer.SendRequestAsync("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n");
            Assert.StartsWith("HTTP/1.1 426", response);
            Assert.Contains("Sec-WebSocket-Version: 13", response);
        }
        using (var peer = await RawPeer.ConnectAsync(hub.InEndPoint))
        {
            var response = await peer.SendRequestAsync("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
            Assert.StartsWith("HTTP/1.1 405", response);
        }
        using (var peer = await RawPeer.ConnectAsync(hub.InEndPoint))
        {
            // Header names in any case, Connection matched by token.
            var response = await peer.SendRequestAsync("GET /any/path HTTP/1.1\r\nhost: x\r\nupgrade: WebSocket\r\nconnection: keep-alive, upgrade\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n");
            Assert.StartsWith("HTTP/1.1 101", response);
            Assert.Contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", response);
        }
        Assert.Equal(3, hub.GetStatus().RefusedConnections);
    }

    [Fact]
    public async Task RefusesConnectionsBeyondTheLimitWith503()
    {
        await using var hub = await StartHubAsync(new DumplingHubOptions { MaxConnections = 2 });
        using var a = await EaterAsync(hub, "a");
        using var b = await KitchenAsync(hub);
        using var c = await RawPeer.ConnectAsync(hub.OutEndPoint);
        Assert.StartsWith("HTTP/1.1 503", await c.HandshakeAsync());
        b.Abort();
        await WaitUntilAsync(() => hub.GetStatus().Kitchens.Count == 0, "kitchen gone");
        await Task.Delay(100);
        using var d = await EaterAsync(hub, "d"); // room again
    }

    /// <summary>
    /// Floods the hub while a healthy eater reads along; the kitchen stays at most <paramref name="window"/>
    /// dumplings ahead of it, as a normal eater keeps up. Returns how many the healthy eater received, in order.
    /// </summary>
    private static async Task<int> FloodAsync(WebSocket kitchen, WebSocket healthy, int count, int padBytes, int window, Func<bool>? stop = null)
    {
        var pad = new string('p', padBytes);
        var received = 0;
        var reader = Task.Run(async () =>
        {
            while (received < count)
            {
                var m = await ReceiveAsync(healthy);
                Assert.Contains($"\"i\":{received},", m!.Value.Text);
                Interlocked.Increment(ref received);
            }
        });
        var sent = 0;
        for (; sent < count && !(stop?.Invoke() ?? false); sent++)
        {
            await WaitUntilAsync(() => sent - Volatile.Read(ref received) < window || reader.IsCompleted, "healthy eater keeps up");
            if (reader.IsFaulted) await reader;
            await SendTextAsync(kitchen, Dumpling("Flood", "k", sent, pad));
        }
        await WaitUntilAsync(() => Volatile.Read(ref received) == sent || reader.IsCompleted, "healthy eater got everything");
        if (reader.IsFaulted) await reader;
        return received;
    }

    [Fact]
    public async Task AStalledEaterCostsBoundedMemoryAndOthersLoseNothing()
    {
        var options = new DumplingHubOptions { EaterQueueDumplings = 300, EaterQueueBytes = 1024 * 1024, OverflowPolicy = EaterOverflowPolicy.DropOldest };
        await using var hub = await StartHubAsync(options);
        using var stalled = await RawPeer.ConnectAsync(hub.OutEndPoint, receiveBuffer: 4096);
        Assert.StartsWith("HTTP/1.1 101", await stalled.HandshakeAsync());
        await stalled.SendTextFrameAsync("""{"eater_name":"stalled"}""");
        await WaitUntilAsync(() => hub.GetStatus().Eaters.Count == 1, "stalled eater registered");
        using var healthy = await EaterAsync(hub, "healthy");
        using var kitchen = await KitchenAsync(hub);

        // 3000 x 8 KiB = 24 MiB: far more than the socket buffers and the stalled eater's queue hold.
        Assert.Equal(3000, await FloodAsync(kitchen, healthy, 3000, 8000, window: 100));

        var stalledStatus = hub.GetStatus().Eaters.Single(e => e.Name == "stalled");
        Assert.True(stalledStatus.Dropped > 0, "the stalled eater's overflow is counted");
        Assert.InRange(stalledStatus.QueuedDumplings, 0, 300);
        Assert.InRange(stalledStatus.QueuedBytes, 0, 1024 * 1024);
        Assert.Equal(0, hub.GetStatus().Eaters.Single(e => e.Name == "healthy").Dropped);
        Assert.True(hub.GetStatus().DroppedDumplings >= stalledStatus.Dropped);
    }

    [Fact]
    public async Task DisconnectsAStalledEaterWhenThePolicySaysSo()
    {
        var log = new List<string>();
        var options = new DumplingHubOptions { EaterQueueDumplings = 300, EaterQueueBytes = 1024 * 1024, OverflowPolicy = EaterOverflowPolicy.Disconnect };
        await using var hub = await StartHubAsync(options);
        hub.Log += (_, e) => { lock (log) log.Add(e.Message); };
        using var stalled = await RawPeer.ConnectAsync(hub.OutEndPoint, receiveBuffer: 4096);
        await stalled.HandshakeAsync();
        await stalled.SendTextFrameAsync("""{"eater_name":"stalled"}""");
        await WaitUntilAsync(() => hub.GetStatus().Eaters.Count == 1, "stalled eater registered");
        using var healthy = await EaterAsync(hub, "healthy");
        using var kitchen = await KitchenAsync(hub);
        await FloodAsync(kitchen, healthy, 3000, 8000, window: 100, stop: () => hub.GetStatus().Eaters.Count == 1);
        await WaitUntilAsync(() => hub.GetStatus().Eaters.Count == 1, "stalled eater disconnected");
        Assert.Equal("healthy", hub.GetStatus().Eaters.Single().Name);
        Assert.Equal(WebSocketState.Open, healthy.State);
        lock (log) Assert.Contains(log, l => l.Contains("Disconnecting eater 'stalled'") && l.Contains("queue is full"));
    }

    [Fact]
    public async Task KeepaliveClosesAPeerThatStopsAnsweringPings()
    {
        var options = new DumplingHubOptions { KeepAliveInterval = TimeSpan.FromMilliseconds(200), KeepAliveTimeout = TimeSpan.FromMilliseconds(400) };
        await using var hub = await StartHubAsync(options);
        using var silentKitchen = await RawPeer.ConnectAsync(hub.InEndPoint);
        await silentKitchen.HandshakeAsync();
        await silentKitchen.SendTextFrameAsync("""{"kitchen_name":"silent"}""");
        await WaitUntilAsync(() => hub.GetStatus().Kitchens.Count == 1, "kitchen registered");
        // The raw peer reads nothing and never answers a ping: the hub must give up on it.
        await WaitUntilAsync(() => hub.GetStatus().Kitchens.Count == 0, "dead kitchen detected");
        Assert.True(await silentKitchen.WaitForServerToDropAsync(Patience));
    }

    [Fact]
    public async Task ShutdownClosesEveryPeerWith1001AndReleasesBothPortsAtOnce()
    {
        var hub = await StartHubAsync();
        var (inPort, outPort) = (hub.InEndPoint.Port, hub.OutEndPoint.Port);
        using var eater = await EaterAsync(hub);
        using var kitchen = await KitchenAsync(hub);
        await WaitUntilAsync(() => hub.GetStatus().Kitchens.Count == 1, "kitchen registered");
        await hub.DisposeAsync();
        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, (await ReceiveCloseAsync(eater)).Status);
        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, (await ReceiveCloseAsync(kitchen)).Status);
        await using var again = new DumplingHub(new DumplingHubOptions { Address = "127.0.0.1", InPort = inPort, OutPort = outPort });
        await again.StartAsync();
        Assert.Equal(inPort, again.InEndPoint.Port);
    }

    [Fact]
    public async Task SaysClearlyWhenAPortIsInUse()
    {
        using var blocker = new TcpListener(IPAddress.Loopback, 0);
        blocker.Start();
        var port = ((IPEndPoint)blocker.LocalEndpoint).Port;
        var hub = new DumplingHub(new DumplingHubOptions { Address = "127.0.0.1", InPort = 0, OutPort = port });
        var e = await Assert.ThrowsAsync<HubStartException>(() => hub.StartAsync());
        Assert.Contains("already in use", e.Message);
        Assert.Contains(port.ToString(), e.Message);
        Assert.Throws<InvalidOperationException>(() => hub.InEndPoint); // the in-port was released again
    }

    [Theory]
    [InlineData("no.such.host.invalid", "does not resolve")]
    [InlineData("192.0.2.77", "not on this machine")]
    public async Task SaysClearlyWhenTheAddressIsBad(string address, string expected)
    {
        var hub = new DumplingHub(new DumplingHubOptions { Address = address, InPort = 0, OutPort = 0 });
        var e = await Assert.ThrowsAsync<HubStartException>(() => hub.StartAsync());
        Assert.Contains(expected, e.Message);
    }

    [Theory]
    [InlineData(70000, 0)]
    [InlineData(-1, 0)]
    [InlineData(5000, 5000)]
    public void RejectsBadPorts(int inPort, int outPort)
    {
        Assert.ThrowsAny<ArgumentException>(() => new DumplingHub(new DumplingHubOptions { InPort = inPort, OutPort = outPort }));
    }
}

public class HubStatusReportTests
{
    [Fact]
    public async Task ReadsOurHubsStatusDumpling()
    {
        await using var hub = await HubTestClient.StartHubAsync(new DumplingHubOptions { StatusInterval = TimeSpan.FromMilliseconds(200) });
        using var kitchen = await HubTestClient.KitchenAsync(hub, "edge1");
        using var eater = await HubTestClient.EaterAsync(hub, "watcher");
        await HubTestClient.SendTextAsync(kitchen, HubTestClient.Dumpling("C", "edge1", 1));
        // A status made after the dumpling came in but before it went out says out 0: wait for one made after both.
        var json = await HubTestClient.ReceiveMatchingAsync(eater, t => HubTestClient.ChefOf(t) == "SystemStatusChef"
            && t.Contains("\"total_dumplings_in\":1") && !t.Contains("\"total_dumplings_out\":0"));
        var report = HubStatusReport.From(DumplingCodec.Parse(json));
        Assert.Equal(1, report.TotalDumplingsIn);
        Assert.True(report.TotalDumplingsOut >= 1);
        Assert.Equal(1, report.KitchenCount);
        var k = Assert.Single(report.Kitchens);
        Assert.Equal("edge1", k.Name);
        Assert.Equal("tcp or udp or arp", k.Filter);
        Assert.Equal(["TestChef"], k.Chefs);
        Assert.Equal(5.0, k.PokeInterval);
        Assert.Equal("127.0.0.1", k.Host);
        Assert.Equal(1, k.DumplingsReceived);
        var e = Assert.Single(report.Eaters);
        Assert.Equal("watcher", e.Name);
        Assert.Equal(0, e.DumplingsDropped);
        Assert.StartsWith("NetDumplings", report.HubVersion);
        Assert.Equal(0, report.TotalInvalidDumplings);
        // The flow-control and replay extensions.
        Assert.Equal("Backpressure", report.OverflowPolicy);
        Assert.Equal(0, report.TotalKitchenHeldSeconds);
        Assert.Equal(0, report.TotalEatersCutOff);
        Assert.Empty(report.EatersCutOff);
        Assert.Equal(0, k.HeldSeconds);
        Assert.Equal(0, e.KitchensHeldSeconds);
        Assert.Equal(0, e.DumplingsReplayed);
        Assert.Equal(0, e.DumplingsMissed);
        Assert.Equal(hub.InstanceId, report.HubId);
        Assert.Equal(1, report.LastDumplingSeq);
        Assert.Equal(1, report.ReplayWindowDumplings);
        Assert.True(report.ReplayWindowBytes > 0);
    }

    [Fact]
    public void ReadsTheCutOffEatersAndHolds()
    {
        const string status = """
            {"metadata":{"chef":"SystemStatusChef","kitchen":null,"creation_time":1515990765.5,"driver":"interval"},
             "payload":{"total_dumplings_in":10,"total_dumplings_out":8,"server_uptime":3,"dumpling_kitchen_count":1,"dumpling_eater_count":1,
               "dumpling_kitchens":[{"info_from_kitchen":{"kitchen_name":"k"},"info_from_hub":{"host":"127.0.0.1","port":1,"dumplings_received":10,"invalid_dumplings":0,"held_seconds":1.25}}],
               "dumpling_eaters":[{"info_from_eater":{"eater_name":"e"},"info_from_hub":{"host":"127.0.0.1","port":2,"dumplings_sent":8,"dumplings_dropped":0,"queue_dumplings":0,"queue_bytes":0,"kitchens_held_seconds":0.5,"dumplings_replayed":3,"dumplings_missed":2}}],
               "overflow_policy":"DropOldest","total_kitchen_held_seconds":1.25,"total_eaters_cut_off":1,
               "eaters_cut_off":[{"eater_name":"slow","host":"10.0.0.2","port":4000,"time":1515990760.25,"reason":"too slow","kitchens_held_seconds":0.75}],
               "hub_id":"abc","last_dumpling_seq":10,"replay_window_dumplings":10,"replay_window_bytes":1000}}
            """;
        var r = HubStatusReport.From(DumplingCodec.Parse(status));
        Assert.Equal("DropOldest", r.OverflowPolicy);
        Assert.Equal(1.25, r.TotalKitchenHeldSeconds);
        Assert.Equal(1.25, r.Kitchens[0].HeldSeconds);
        Assert.Equal(0.5, r.Eaters[0].KitchensHeldSeconds);
        Assert.Equal(3, r.Eaters[0].DumplingsReplayed);
        Assert.Equal(2, r.Eaters[0].DumplingsMissed);
        Assert.Equal(1, r.TotalEatersCutOff);
        var cut = Assert.Single(r.EatersCutOff);
        Assert.Equal(("slow", "10.0.0.2", 4000, "too slow", 0.75), (cut.Name, cut.Host, cut.Port, cut.Reason, cut.KitchensHeldSeconds));
        Assert.Equal(Dumpling.FromEpochSeconds(1515990760.25), cut.Time);
        Assert.Equal(("abc", 10L, 10L, 1000L), (r.HubId, r.LastDumplingSeq, r.ReplayWindowDumplings, r.ReplayWindowBytes));
    }

    [Fact]
    public void ReadsTheOriginalHubsStatusWithoutOurExtensions()
    {
        const string original = """
            {"metadata":{"chef":"SystemStatusChef","kitchen":null,"creation_time":1515990765.925951,"driver":"interval"},
             "payload":{"total_dumplings_in":1024,"total_dumplings_out":4096,"server_uptime":123.45,"dumpling_kitchen_count":1,"dumpling_eater_count":4,
               "dumpling_kitchens":[{"info_from_kitchen":{"kitchen_name":"k","interface":"en0","filter":"tcp or udp or arp","chefs":["a.B"],"poke_interval":5.0},"info_from_hub":{"host":"127.0.0.1","port":50412}}],
               "dumpling_eaters":[{"info_from_eater":{"eater_name":"printereater"},"info_from_hub":{"host":"127.0.0.1","port":50414}}]}}
            """;
        var r = HubStatusReport.From(DumplingCodec.Parse(original));
        Assert.Equal(1024, r.TotalDumplingsIn);
        Assert.Equal(4096, r.TotalDumplingsOut);
        Assert.Equal(TimeSpan.FromSeconds(123.45), r.Uptime);
        Assert.Equal(4, r.EaterCount);
        Assert.Equal("en0", r.Kitchens[0].Interface);
        Assert.Equal(50414, r.Eaters[0].Port);
        Assert.Null(r.HubVersion);
        Assert.Null(r.Eaters[0].DumplingsDropped);
        Assert.Null(r.OverflowPolicy);
        Assert.Null(r.TotalKitchenHeldSeconds);
        Assert.Empty(r.EatersCutOff);
        Assert.Null(r.Kitchens[0].HeldSeconds);
        Assert.Null(r.Eaters[0].KitchensHeldSeconds);
    }

    [Fact]
    public void RefusesADumplingThatIsNotAStatus()
    {
        var d = DumplingCodec.Create("DNSLookupChef", "k", DumplingDriver.Packet, new { a = 1 });
        Assert.False(HubStatusReport.IsStatus(d));
        Assert.Contains("not a hub's SystemStatusChef", Assert.Throws<DumplingFormatException>(() => HubStatusReport.From(d)).Message);
    }
}
