using System.Net.WebSockets;
using System.Text.Json;
using NetDumplings.Hub;
using NetDumplings.Hub.Mesh;
using NetDumplings.Traffic.Servers;
using static NetDumplings.Tests.HubTestClient;

namespace NetDumplings.Tests;

/// <summary>
/// Hubs joined through a real nats-server (started here on a free loopback port, auth on): every
/// dumpling a kitchen gives one hub reaches the eaters of every hub, exactly once, filters included;
/// NATS away costs local eaters nothing and is counted; wrong credentials are said and the hub serves on.
/// </summary>
[Collection(HeavyHubTests.Name)]
public class MeshTests
{
    private static void SkipWithoutNats() => Skip.If(NatsServer.Program is null, NatsServer.Advice);

    private static Task<DumplingHub> MeshHubAsync(NatsServer nats, string name, string password = NatsServer.Password, TimeSpan? idleSubscription = null) =>
        StartHubAsync(new DumplingHubOptions
        {
            StatusInterval = TimeSpan.Zero,
            Mesh = new NatsMeshOptions
            {
                Servers = nats.Url,
                HubName = name,
                User = NatsServer.User,
                Password = password,
                RetryInterval = TimeSpan.FromMilliseconds(500),
                IdleSubscription = idleSubscription ?? new NatsMeshOptions { Servers = "x" }.IdleSubscription,
            },
        });

    private static async Task WaitForMeshAsync(params DumplingHub[] hubs)
    {
        foreach (var hub in hubs)
            await WaitUntilAsync(() => hub.GetStatus().Mesh is { Connected: true }, $"hub {hub.Options.Mesh!.HubName} in the mesh");
        // Each hub's subscription reaches the server before anyone publishes.
        await Task.Delay(300);
    }

    /// <summary>Hubs take remote dumplings only while they have eaters: waits until these have their subscription in place.</summary>
    private static async Task WaitForSubscribedAsync(params DumplingHub[] hubs)
    {
        foreach (var hub in hubs)
            await WaitUntilAsync(() => hub.GetStatus().Mesh is { Subscribed: true }, $"hub {hub.Options.Mesh!.HubName} taking remote dumplings");
    }

    private static Task SendAsync(WebSocket kitchen, string kitchenName, int from, int to, string chef = "TestChef") =>
        SendNumberedAsync(kitchen, kitchenName, from, to, chef);

    private static string KeyOf(string json)
    {
        var root = JsonDocument.Parse(json).RootElement;
        return $"{root.GetProperty("metadata").GetProperty("kitchen").GetString()}/{root.GetProperty("metadata").GetProperty("chef").GetString()}/{root.GetProperty("payload").GetProperty("i").GetInt32()}";
    }

    /// <summary>Reads until <paramref name="expected"/> dumplings came (or the patience ran out), then a little longer to catch any extra.</summary>
    private static async Task<List<string>> CollectAsync(WebSocket eater, int expected, TimeSpan? settle = null)
    {
        var got = new List<string>();
        var deadline = DateTime.UtcNow + Patience;
        try
        {
            while (got.Count < expected && DateTime.UtcNow < deadline)
                if (await ReceiveAsync(eater, deadline - DateTime.UtcNow) is { } m) got.Add(KeyOf(m.Text));
                else break;
            var quiet = DateTime.UtcNow + (settle ?? TimeSpan.FromMilliseconds(500));
            while (DateTime.UtcNow < quiet)
                if (await ReceiveAsync(eater, quiet - DateTime.UtcNow) is { } m) got.Add(KeyOf(m.Text));
                else break;
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException) { }
        return got;
    }

    private static IEnumerable<string> Keys(string kitchen, int count, string chef = "TestChef") =>
        Enumerable.Range(0, count).Select(i => $"{kitchen}/{chef}/{i}");

    [Fact]
    public void Subject_tokens_escape_what_NATS_subjects_cannot_hold()
    {
        Assert.Equal("netdumplings.v1.site-1_a.arpchef.packet", MeshWire.Subject("site-1_a", "ARPChef", DumplingDriver.Packet));
        Assert.Equal("netdumplings.v1._.systemstatuschef.interval", MeshWire.Subject(null, "SystemStatusChef", DumplingDriver.Interval));
        // ASCII folded as filters compare names; the rest %XX of its UTF-8, unfolded (other scripts fold by each machine's tables).
        Assert.Equal("a%2Eb%2A%3E%20c%25%C3%A9", MeshWire.SubjectToken("A.b*> c%é"));
        Assert.NotEqual(MeshWire.SubjectToken("É"), MeshWire.SubjectToken("é"));
        // A long name: a fixed-length hash of its token, the same for every ASCII spelling, so no subject nears NATS's 4 KiB line.
        var longName = new string('x', 40) + "." + new string('y', 40);
        var token = MeshWire.SubjectToken(longName);
        Assert.Matches("^~[0-9a-f]{32}$", token);
        Assert.Equal(token, MeshWire.SubjectToken(longName.ToUpperInvariant()));
        Assert.NotEqual(token, MeshWire.SubjectToken(longName + "z"));
        Assert.True(MeshWire.Subject(new string('é', 5000), new string('%', 5000), DumplingDriver.Packet).Length < 200);
    }

    [Fact]
    public void An_ASCII_name_and_any_other_share_a_token_exactly_when_a_filter_takes_them_for_one()
    {
        // Pairs of names from a small alphabet with case pairs, non-ASCII and look-alikes (ı, K, ſ, ß, Deseret):
        // for a filter's ASCII name, equal tokens exactly when the hub's filters (OrdinalIgnoreCase) take the names for one.
        string[] letters = ["a", "A", "i", "I", "\u0131", "\u0130", "k", "K", "\u212A", "s", "S", "\u017F", "\u00DF", "\u00E9", "\u00C9", "\U00010400", "\U00010428", ".", "%", " "];
        var random = new Random(7);
        string Name() => string.Concat(Enumerable.Range(0, random.Next(1, 4)).Select(_ => letters[random.Next(letters.Length)]));
        var checkedPairs = 0;
        for (var n = 0; n < 40_000; n++)
        {
            var (a, b) = (Name(), Name());
            if (!MeshWire.IsFoldable(a)) continue;
            checkedPairs++;
            Assert.True(string.Equals(a, b, StringComparison.OrdinalIgnoreCase) == (MeshWire.SubjectToken(a) == MeshWire.SubjectToken(b)), $"'{a}' and '{b}'");
        }
        Assert.True(checkedPairs > 1000);
    }

    [Fact]
    public void Subject_filters_match_as_NATS_matches_them()
    {
        Assert.True(MeshWire.Matches("netdumplings.v1.>", "netdumplings.v1.k.c.packet"));
        Assert.True(MeshWire.Matches("netdumplings.v1.*.c.*", "netdumplings.v1.k.c.packet"));
        Assert.True(MeshWire.Matches("netdumplings.v1.k.>", "netdumplings.v1.k.c.interval"));
        Assert.False(MeshWire.Matches("netdumplings.v1.*.c.*", "netdumplings.v1.k.d.packet"));
        Assert.False(MeshWire.Matches("netdumplings.v1.k.>", "netdumplings.v1.k"));
        Assert.False(MeshWire.Matches("netdumplings.v1.*.c.*", "netdumplings.v1.k.c.packet.x"));
    }

    [Fact]
    public void The_origin_header_is_read_from_its_bytes_and_anything_else_is_told_apart()
    {
        static System.Buffers.ReadOnlySequence<byte> Headers(string lines) => new(System.Text.Encoding.UTF8.GetBytes($"NATS/1.0\r\n{lines}\r\n"));
        var value = MeshWire.Origin("abc123", 41, 3, true, 7, "site a (east)");
        Assert.Equal(OriginRead.Found, MeshWire.ReadOrigin(Headers($"X-Other: 1\r\n{MeshWire.OriginHeader}: {value}\r\n"), out var origin));
        Assert.Equal(new MeshOrigin("abc123", 41, 3, true, 7, "site a (east)"), origin);
        foreach (var bad in new[] { "", "abc 1 1 t", "abc 0 1 t 1 h", "abc 1 0 t 1 h", "abc 1 257 t 1 h", "abc 1 1 x 1 h", "abc 1 1 t 0 h", "abc -1 1 t 1 h", " 1 1 t 1 h",
            "abc 99999999999999999999 1 t 1 h", $"abc {MeshWire.MaxNumber + 1} 1 t 1 h", $"abc 1 1 t {MeshWire.MaxNumber + 1} h" })
            Assert.Equal(OriginRead.Malformed, MeshWire.ReadOrigin(Headers($"{MeshWire.OriginHeader}: {bad}\r\n"), out _));
        Assert.Equal(OriginRead.Malformed, MeshWire.ReadOrigin(new System.Buffers.ReadOnlySequence<byte>(new byte[10_000]), out _));
        // Another NATS client's headers without ours: no origin, not a bad one.
        Assert.Equal(OriginRead.Absent, MeshWire.ReadOrigin(Headers(""), out _));
        Assert.Equal(OriginRead.Absent, MeshWire.ReadOrigin(Headers("traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n"), out _));
    }

    private static MeshInterest Interest(string[]? kitchens, string[]? chefs) =>
        new(kitchens?.Select(MeshWire.SubjectToken).ToHashSet(), chefs?.Select(MeshWire.SubjectToken).ToHashSet());

    [Fact]
    public void Eaters_filters_become_disjoint_subjects_where_NATS_can_say_them()
    {
        const string all = "netdumplings.v1.>";
        Assert.Empty(MeshInterest.Subjects([], 256));
        Assert.Equal([all], MeshInterest.Subjects([MeshInterest.Everything], 256));
        // By chef when every eater named its chefs.
        Assert.Equal(["netdumplings.v1.*.arpchef.*", "netdumplings.v1.*.dnschef.*"],
            MeshInterest.Subjects([Interest(null, ["ARPChef"]), Interest(null, ["dnschef", "arpchef"])], 256));
        // By kitchen when every eater named its kitchens: one kitchen's chefs merged, or all of them if an eater wants all.
        Assert.Equal(["netdumplings.v1.k1.>", "netdumplings.v1.k2.arpchef.*", "netdumplings.v1.k2.dnschef.*"],
            MeshInterest.Subjects([Interest(["k1", "k2"], ["ARPChef"]), Interest(["k1"], null), Interest(["K2"], ["DNSChef"])], 256));
        // Neither for all eaters (or a wildcard, which EaterFilter gives as null), or over the limit: the whole mesh.
        Assert.Equal([all], MeshInterest.Subjects([Interest(["k1"], null), Interest(null, ["ARPChef"])], 256));
        Assert.Equal([all], MeshInterest.Subjects([Interest(null, ["a", "b", "c"])], 2));
        Assert.Equal([all], MeshInterest.Subjects([Interest(["k1", "k2"], ["a", "b"])], 3));
    }

    [Fact]
    public void An_eater_filter_gives_its_names_as_subject_tokens_unless_it_has_a_wildcard()
    {
        var options = new DumplingHubOptions();
        var literal = EaterFilter.Read(JsonDocument.Parse("""{"chefs":["ARPChef","dns.chef"]}""").RootElement, "chefs", options, out _)!;
        Assert.Equal(["arpchef", "dns%2Echef"], literal.SubjectTokens!.Order());
        var wild = EaterFilter.Read(JsonDocument.Parse("""{"chefs":["ARPChef","DNS*"]}""").RootElement, "chefs", options, out _)!;
        Assert.Null(wild.SubjectTokens);
        var notAscii = EaterFilter.Read(JsonDocument.Parse("""{"kitchens":["k1","küche"]}""").RootElement, "kitchens", options, out _)!;
        Assert.Null(notAscii.SubjectTokens);
    }

    [Fact]
    public void Mesh_options_are_checked_and_shown_without_credentials()
    {
        Assert.Throws<ArgumentException>(() => new NatsMeshOptions { Servers = "http://x:4222" }.Validate());
        Assert.Throws<ArgumentException>(() => new NatsMeshOptions { Servers = "nats://x:4222", User = "u" }.Validate());
        Assert.Equal("nats://a:4222,tls://b:4222", new NatsMeshOptions { Servers = "nats://u:p@a:4222, tls://b:4222" }.ServersForDisplay);
    }

    [SkippableFact]
    public async Task An_eater_on_a_third_hub_gets_every_dumpling_of_both_kitchens_once()
    {
        SkipWithoutNats();
        const int count = 500;
        await using var nats = await NatsServer.StartAsync();
        await using var one = await MeshHubAsync(nats, "one");
        await using var two = await MeshHubAsync(nats, "two");
        await using var three = await MeshHubAsync(nats, "three");
        await WaitForMeshAsync(one, two, three);
        using var eater = await EaterAsync(three, "far");
        using var near = await EaterAsync(one, "near");
        await WaitForSubscribedAsync(three, one);
        using var k1 = await KitchenAsync(one, "k1");
        using var k2 = await KitchenAsync(two, "k2");

        await Task.WhenAll(SendAsync(k1, "k1", 0, count), SendAsync(k2, "k2", 0, count));
        var got = await CollectAsync(eater, 2 * count);
        var nearGot = await CollectAsync(near, 2 * count);

        var expected = Keys("k1", count).Concat(Keys("k2", count)).Order().ToList();
        Assert.Equal(expected, got.Order().ToList());
        Assert.Equal(expected, nearGot.Order().ToList());
        // Each kitchen's dumplings in the order it sent them.
        Assert.Equal(Keys("k1", count), got.Where(k => k.StartsWith("k1/")));

        var mesh = three.GetStatus().Mesh!;
        Assert.Equal(2 * count, mesh.Received);
        Assert.Equal(0, mesh.Published);
        Assert.Equal(count, one.GetStatus().Mesh!.Published);
        Assert.Equal(["one", "two"], mesh.RemoteHubs.Select(h => h.HubName).Order());
        Assert.Equal(["k2"], mesh.RemoteHubs.Single(h => h.HubName == "two").Kitchens);
        Assert.Equal(0, mesh.RemoteGap + mesh.Dropped);

        // The status dumpling carries it, as HubStatusReport reads it.
        var json = JsonDocument.Parse(HubStatus.Build(three).Utf8Json).RootElement.GetProperty("mesh");
        Assert.True(json.GetProperty("connected").GetBoolean());
        Assert.Equal(2 * count, json.GetProperty("received").GetInt64());
        Assert.Equal(nats.Url, json.GetProperty("nats_servers").GetString());
    }

    [SkippableFact]
    public async Task Filters_apply_to_remote_dumplings_as_to_local_ones()
    {
        SkipWithoutNats();
        await using var nats = await NatsServer.StartAsync();
        await using var one = await MeshHubAsync(nats, "one");
        await using var two = await MeshHubAsync(nats, "two");
        await WaitForMeshAsync(one, two);
        using var arpOnly = await EaterAsync(two, "arp", ",\"chefs\":[\"ARPChef\"]");
        using var k2Only = await EaterAsync(two, "k2", ",\"kitchens\":[\"k2\"]");
        await WaitForSubscribedAsync(two);
        using var k1 = await KitchenAsync(one, "k1");
        using var k2 = await KitchenAsync(two, "k2");

        await SendAsync(k1, "k1", 0, 20, "ARPChef");
        await SendAsync(k1, "k1", 0, 20, "DNSChef");
        await SendAsync(k2, "k2", 0, 10, "ARPChef");

        var arp = await CollectAsync(arpOnly, 30);
        Assert.Equal(Keys("k1", 20, "ARPChef").Concat(Keys("k2", 10, "ARPChef")).Order(), arp.Order());
        var fromK2 = await CollectAsync(k2Only, 10);
        Assert.Equal(Keys("k2", 10, "ARPChef"), fromK2);
    }

    [SkippableFact]
    public async Task NATS_going_away_and_back_costs_local_eaters_nothing_and_the_gap_is_counted()
    {
        SkipWithoutNats();
        const int batch = 200;
        await using var nats = await NatsServer.StartAsync();
        await using var one = await MeshHubAsync(nats, "one");
        await using var two = await MeshHubAsync(nats, "two");
        await WaitForMeshAsync(one, two);
        using var local = await EaterAsync(one, "local");
        using var remote = await EaterAsync(two, "remote");
        await WaitForSubscribedAsync(two);
        using var kitchen = await KitchenAsync(one, "k");

        await SendAsync(kitchen, "k", 0, batch);
        await WaitUntilAsync(() => two.GetStatus().Mesh!.Received == batch, "the first batch across");
        await nats.StopAsync();
        await WaitUntilAsync(() => one.GetStatus().Mesh is { Connected: false }, "hub one sees NATS gone");
        await SendAsync(kitchen, "k", batch, 2 * batch);   // while NATS is away
        await nats.StartAgainAsync();
        await WaitForMeshAsync(one, two);
        await SendAsync(kitchen, "k", 2 * batch, 3 * batch);

        var localGot = await CollectAsync(local, 3 * batch);
        Assert.Equal(Keys("k", 3 * batch), localGot);

        // The remote eater has the first and the last batch whole, nothing twice, in order;
        // what it lacks, the mesh counted (lost at the origin, or a gap in its numbers at the far end).
        await WaitUntilAsync(() => two.GetStatus().Mesh!.Received + two.GetStatus().Mesh!.RemoteGap + one.GetStatus().Mesh!.PublishLost == 3 * batch,
            "everything either delivered or counted");
        var remoteGot = await CollectAsync(remote, (int)two.GetStatus().Mesh!.Received);
        Assert.Equal(remoteGot.Distinct().Count(), remoteGot.Count);
        Assert.Equal(remoteGot.OrderBy(k => int.Parse(k.Split('/')[2])), remoteGot);
        Assert.Subset(remoteGot.ToHashSet(), Keys("k", batch).ToHashSet());
        Assert.Subset(remoteGot.ToHashSet(), Keys("k", 3 * batch).Skip(2 * batch).ToHashSet());
        var lost = two.GetStatus().Mesh!.RemoteGap + one.GetStatus().Mesh!.PublishLost;
        Assert.True(lost > 0, "nothing was lost while NATS was away: the test proves nothing");
        Assert.Equal(3 * batch - lost, remoteGot.Count);
        Assert.True(one.GetStatus().Mesh!.Disconnects >= 1);
    }

    [SkippableFact]
    public async Task What_NATS_drops_for_a_hub_that_reads_too_slowly_is_counted()
    {
        SkipWithoutNats();
        const int count = 3000;
        var pad = new string('p', 8000);
        await using var nats = await NatsServer.StartAsync();
        await using var one = await MeshHubAsync(nats, "one");
        // Hub two lets NATS.Net keep only 16 remote dumplings for it, and holds them back for an eater that never
        // reads once that eater's socket is full (a small queue, cut off after 3 s): NATS.Net drops the rest.
        await using var two = await StartHubAsync(new DumplingHubOptions
        {
            StatusInterval = TimeSpan.Zero,
            EaterQueueDumplings = 4,
            SlowEaterTimeout = TimeSpan.FromSeconds(3),
            Mesh = new NatsMeshOptions
            {
                Servers = nats.Url, HubName = "two", User = NatsServer.User, Password = NatsServer.Password, ReceiveQueueDumplings = 16,
            },
        });
        await WaitForMeshAsync(one, two);
        using var stalled = await EaterAsync(two, "stalled");
        await WaitForSubscribedAsync(two);
        using var kitchen = await KitchenAsync(one, "k");
        for (var i = 0; i < count; i++) await SendTextAsync(kitchen, Dumpling("TestChef", "k", i, pad));
        await WaitUntilAsync(() => two.GetStatus().Mesh!.Dropped > 0, "NATS.Net dropping for hub two");
        // One more once hub two has caught up: the hole before it is counted, whatever was dropped last.
        await Task.Delay(500);
        await SendTextAsync(kitchen, Dumpling("TestChef", "k", count, pad));
        await WaitUntilAsync(() => two.GetStatus().Mesh!.Received + two.GetStatus().Mesh!.RemoteGap == count + 1, "every dumpling received or counted");

        var mesh = two.GetStatus().Mesh!;
        Assert.True(mesh.SlowConsumerEvents >= 1);
        Assert.True(mesh.Dropped <= mesh.RemoteGap, $"dropped {mesh.Dropped}, gap {mesh.RemoteGap}");
        Assert.Equal(0, one.GetStatus().Mesh!.PublishLost);
    }

    [SkippableFact]
    public async Task Wrong_NATS_credentials_are_reported_and_the_hub_serves_locally()
    {
        SkipWithoutNats();
        await using var nats = await NatsServer.StartAsync();
        var logs = new List<string>();
        var hub = new DumplingHub(new DumplingHubOptions
        {
            Address = "127.0.0.1", InPort = 0, OutPort = 0, StatusInterval = TimeSpan.Zero,
            Mesh = new NatsMeshOptions { Servers = nats.Url, HubName = "wrong", User = NatsServer.User, Password = "not-the-password", RetryInterval = TimeSpan.FromMilliseconds(300) },
        });
        hub.Log += (_, e) => { lock (logs) logs.Add(e.Message); };
        await using (hub)
        {
            await hub.StartAsync();
            using var eater = await EaterAsync(hub, "local");
            using var kitchen = await KitchenAsync(hub, "k");
            await SendAsync(kitchen, "k", 0, 10);
            Assert.Equal(Keys("k", 10), await CollectAsync(eater, 10, TimeSpan.FromMilliseconds(100)));

            await WaitUntilAsync(() => { lock (logs) return logs.Any(l => l.Contains("refused this hub's credentials")); }, "the credentials reported");
            var mesh = hub.GetStatus().Mesh!;
            Assert.False(mesh.Connected);
            Assert.Contains("credentials", mesh.LastError);
            Assert.Equal(10, mesh.PublishLost);
            lock (logs) Assert.Single(logs, l => l.Contains("refused this hub's credentials")); // said once, not at every retry
        }
    }

    [SkippableFact]
    public async Task A_hub_takes_remote_dumplings_only_while_it_has_eaters_and_its_eaters_miss_none()
    {
        SkipWithoutNats();
        await using var nats = await NatsServer.StartAsync();
        await using var one = await MeshHubAsync(nats, "one");
        await using var two = await MeshHubAsync(nats, "two", idleSubscription: TimeSpan.FromMilliseconds(300));
        await WaitForMeshAsync(one, two);
        using var kitchen = await KitchenAsync(one, "k");

        // No eater on hub two: it publishes, but takes nothing (it would only parse and forget it).
        await SendAsync(kitchen, "k", 0, 50);
        await WaitUntilAsync(() => one.GetStatus().Mesh!.Published == 50, "hub one publishing");
        await Task.Delay(200);
        Assert.False(two.GetStatus().Mesh!.Subscribed);
        Assert.Equal(0, two.GetStatus().Mesh!.Received);

        // An eater comes: no wait needed before sending, since the hub admits it once its subscription is in place.
        using (var eater = await EaterAsync(two, "e"))
        {
            await WaitUntilAsync(() => two.GetStatus().Eaters.Count == 1, "the eater admitted");
            Assert.True(two.GetStatus().Mesh!.Subscribed);
            await SendAsync(kitchen, "k", 50, 100);
            Assert.Equal(Keys("k", 100).Skip(50), await CollectAsync(eater, 50));
        }
        // The last eater gone: the subscription ends after IdleSubscription, and what is published then is no gap later.
        await WaitUntilAsync(() => two.GetStatus().Mesh is { Subscribed: false }, "the subscription ended");
        await SendAsync(kitchen, "k", 100, 150);
        // Published by hub one (it publishes from a queue) before an eater brings hub two back into the mesh.
        await WaitUntilAsync(() => one.GetStatus().Mesh!.Published == 150, "hub one publishing the dumplings sent meanwhile");
        using var again = await EaterAsync(two, "again");
        await WaitUntilAsync(() => two.GetStatus().Eaters.Count == 1, "the eater admitted");
        await SendAsync(kitchen, "k", 150, 160);
        Assert.Equal(Keys("k", 160).Skip(150), await CollectAsync(again, 10));
        var mesh = two.GetStatus().Mesh!;
        Assert.Equal(60, mesh.Received);
        Assert.Equal(0, mesh.RemoteGap);
    }

    [SkippableFact]
    public async Task Four_hubs_deliver_every_dumpling_once_and_nothing_loops()
    {
        SkipWithoutNats();
        const int count = 100;
        await using var nats = await NatsServer.StartAsync();
        var hubs = new List<DumplingHub>();
        try
        {
            for (var h = 0; h < 4; h++) hubs.Add(await MeshHubAsync(nats, $"hub{h}"));
            await WaitForMeshAsync([.. hubs]);
            var eaters = new List<ClientWebSocket>();
            for (var h = 0; h < 4; h++) eaters.Add(await EaterAsync(hubs[h], $"e{h}"));
            await WaitForSubscribedAsync([.. hubs]);
            var kitchens = new List<ClientWebSocket>();
            for (var h = 0; h < 4; h++) kitchens.Add(await KitchenAsync(hubs[h], $"k{h}"));
            await Task.WhenAll(Enumerable.Range(0, 4).Select(h => SendAsync(kitchens[h], $"k{h}", 0, count)));

            var expected = Enumerable.Range(0, 4).SelectMany(h => Keys($"k{h}", count)).Order().ToList();
            var got = await Task.WhenAll(eaters.Select(e => CollectAsync(e, 4 * count, TimeSpan.FromSeconds(1))));
            foreach (var g in got) Assert.Equal(expected, g.Order().ToList());
            foreach (var hub in hubs)
            {
                var mesh = hub.GetStatus().Mesh!;
                Assert.Equal(count, mesh.Published);
                Assert.Equal(3 * count, mesh.Received);
                Assert.Equal(4 * count, hub.DumplingsIn);
            }
            foreach (var ws in eaters.Concat(kitchens)) ws.Dispose();
        }
        finally
        {
            foreach (var hub in hubs) await hub.DisposeAsync();
        }
    }

    [SkippableFact]
    public async Task A_hub_subscribes_to_what_its_eaters_filters_ask_and_changes_lose_and_double_nothing()
    {
        SkipWithoutNats();
        await using var nats = await NatsServer.StartAsync();
        await using var one = await MeshHubAsync(nats, "one");
        await using var two = await MeshHubAsync(nats, "two", idleSubscription: TimeSpan.FromMilliseconds(500));
        await WaitForMeshAsync(one, two);
        using var arpOnly = await EaterAsync(two, "arp", ",\"chefs\":[\"arpchef\"]");
        await WaitUntilAsync(() => two.GetStatus().Eaters.Count == 1, "the eater admitted");
        Assert.Equal(["netdumplings.v1.*.arpchef.*"], two.GetStatus().Mesh!.Subjects);
        using var kitchen = await KitchenAsync(one, "k1");
        // One read to the end: a read given up on closes the eater's socket.
        var arpGot = Task.Run(() => CollectAsync(arpOnly, 2200, TimeSpan.FromSeconds(1)));

        // Only ARPChef's dumplings cross to hub two: DNSChef's are not even received there, and they are no gap.
        await SendAsync(kitchen, "k1", 0, 100, "ARPChef");
        await SendAsync(kitchen, "k1", 0, 100, "DNSChef");
        await SendAsync(kitchen, "k1", 100, 200, "ARPChef");
        await WaitUntilAsync(() => two.GetStatus().Mesh!.Received == 200 && one.GetStatus().Mesh!.Published == 300, "ARPChef's 200 received");
        await Task.Delay(200);
        var mesh = two.GetStatus().Mesh!;
        Assert.Equal(200, mesh.Received);
        Assert.Equal(0, mesh.RemoteGap);

        // While the kitchen keeps sending, an eater that wants everything comes and goes: the subscriptions widen and
        // narrow again under the stream, and the ARP eater gets each of its dumplings once, in order.
        var sending = Task.Run(async () =>
        {
            for (var i = 200; i < 2200; i += 10)
            {
                await SendAsync(kitchen, "k1", i, i + 10, "ARPChef");
                await SendAsync(kitchen, "k1", i, i + 10, "DNSChef");
                await Task.Delay(5);
            }
        });
        using (var everything = await EaterAsync(two, "all"))
        {
            await WaitUntilAsync(() => two.GetStatus().Mesh!.Subjects.SequenceEqual(["netdumplings.v1.>"]), "the whole mesh taken");
            var first = await ReceiveAsync(everything, Patience);
            Assert.NotNull(first);
        }
        await WaitUntilAsync(() => two.GetStatus().Mesh!.Subjects.SequenceEqual(["netdumplings.v1.*.arpchef.*"]), "narrowed again once the idle time passed");
        await sending;
        Assert.Equal(Keys("k1", 2200, "ARPChef"), await arpGot);
        mesh = two.GetStatus().Mesh!;
        Assert.Equal(0, mesh.RemoteGap + mesh.Dropped);
        Assert.Equal(0, one.GetStatus().Mesh!.PublishLost);
    }

    [SkippableFact]
    public async Task Hostile_mesh_messages_are_counted_and_logged_sparingly_and_cost_the_eaters_nothing()
    {
        SkipWithoutNats();
        await using var nats = await NatsServer.StartAsync();
        await using var two = await MeshHubAsync(nats, "two");
        var warnings = new System.Collections.Concurrent.ConcurrentQueue<string>();
        two.Log += (_, e) => { if (e.Level == HubLogLevel.Warning) warnings.Enqueue(e.Message); };
        await WaitForMeshAsync(two);
        using var eater = await EaterAsync(two, "e");
        await WaitForSubscribedAsync(two);

        // Any NATS client with the mesh's credentials can publish: here one that does so badly.
        await using var raw = new NATS.Client.Core.NatsConnection(NATS.Client.Core.NatsOpts.Default with
        {
            Url = nats.Url,
            AuthOpts = NATS.Client.Core.NatsAuthOpts.Default with { Username = NatsServer.User, Password = NatsServer.Password },
        });
        await raw.ConnectAsync();
        const string subject = "netdumplings.v1.k.testchef.packet";
        byte[] Good(int i) => System.Text.Encoding.UTF8.GetBytes(Dumpling("TestChef", "k", i));
        NATS.Client.Core.NatsHeaders Origin(string value) => new() { [MeshWire.OriginHeader] = value };
        byte[] Framed(params byte[][] parts) => parts.SelectMany(p => BitConverter.GetBytes(System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(p.Length)).Concat(p)).ToArray();

        await raw.PublishAsync(subject, Good(0));                                                          // no header: one dumpling from no known hub
        await raw.PublishAsync(subject, Good(99), Origin("nonsense"));                                     // invalid: 1
        await raw.PublishAsync(subject, Framed(Good(1), [1, 2, 3])[..^2], Origin("evil 1 3 t 1 evil"));   // 1 delivered, then runs short: invalid 2
        await raw.PublishAsync(subject, "not json"u8.ToArray(), Origin("evil 4 1 t 4 evil"));             // invalid: 1
        await raw.PublishAsync(subject, new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 1 }, Origin("evil 5 2 t 5 evil"));        // a length past the end: invalid 2
        await raw.PublishAsync(subject, Good(2), Origin("evil 7 1 t 7 evil"));                            // delivered
        await raw.PublishAsync(subject, Good(3), Origin("evil 7 1 t 7 evil"));                            // its number again: a copy, not delivered
        await raw.PublishAsync(subject, Framed(Good(4)).Concat(new byte[] { 9 }).ToArray(), Origin("evil 8 1 t 8 evil")); // framed? no: one dumpling, bytes after: invalid JSON
        await raw.PublishAsync(subject, Good(5), Origin(two.InstanceId + " 1 1 t 1 spoof"));             // claims to be hub two itself: ignored
        await raw.PublishAsync(subject, Good(10), new NATS.Client.Core.NatsHeaders { ["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" }); // others' headers only: delivered
        await raw.PublishAsync(subject, Good(11), Origin("evil 1000000 1 t 1000 evil"));                 // a leap: delivered (a hole counted)
        await raw.PublishAsync(subject, Good(12), Origin("evil 10 1 t 10 evil"));                        // far below it: a fresh start, not a copy
        for (var i = 0; i < 200; i++) await raw.PublishAsync(subject, "{"u8.ToArray(), Origin($"flood {i + 1} 1 t {i + 1} flood")); // invalid: 200

        Assert.Equal(["k/TestChef/0", "k/TestChef/1", "k/TestChef/2", "k/TestChef/10", "k/TestChef/11", "k/TestChef/12"], await CollectAsync(eater, 6));
        await WaitUntilAsync(() => two.GetStatus().Mesh!.Invalid == 207, "every invalid message counted");
        var mesh = two.GetStatus().Mesh!;
        Assert.Equal(6, mesh.Received);
        Assert.Equal(1, mesh.Duplicates);
        Assert.True(warnings.Count(w => w.Contains("invalid dumpling from the mesh")) <= 3, string.Join("\n", warnings));
        // The hub still serves: a good dumpling after all that arrives.
        using var eater2 = await EaterAsync(two, "e2");
        await raw.PublishAsync(subject, Good(6), Origin("evil 11 1 t 11 evil"));
        Assert.Equal(["k/TestChef/6"], await CollectAsync(eater2, 1));
    }
}
