using NetDumplings.Protocol;
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using NetDumplings.Chefs;
using NetDumplings.Hub;
using NetDumplings.Kitchen;
using NetDumplings.Traffic;
using static NetDumplings.Tests.Kitchen.KitchenRun;

namespace NetDumplings.Tests.Kitchen;

public class KitchenHubTests
{
    private static async Task WaitUntilAsync(Func<bool> condition, string what, int seconds = 30)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(seconds)) throw new TimeoutException($"Timed out waiting for {what}");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task A_kitchen_announces_itself_as_the_protocol_says()
    {
        using var dir = new TempDir();
        // Three packets a second apart at replay pace: the kitchen stays connected long enough to be seen.
        WritePackets(dir.File("slow.pcap"), Enumerable.Range(0, 3).Select(i =>
            (PcapGenerator.ArpRequest(PcapGenerator.Mac(3), IPAddress.Parse("10.9.1.3"), IPAddress.Parse("10.9.1.4")), T(i))).ToArray());
        await using var hub = await HubTestClient.StartHubAsync();
        await using var kitchen = new DumplingKitchen(
            new DumplingKitchenOptions { Name = "announcer", Files = [dir.File("slow.pcap")], PaceFiles = true, PokeInterval = TimeSpan.FromSeconds(30) },
            [new PacketCountChef(), new DNSLookupChef(), new ARPChef()],
            new HubAddress("127.0.0.1", hub.InEndPoint.Port));
        kitchen.Start();
        await WaitUntilAsync(() => hub.GetStatus().Kitchens.Any(k => k.Name == "announcer"), "the kitchen's announcement");
        var announcement = hub.GetStatus().Kitchens.Single().Announcement;
        Assert.Equal("slow.pcap", announcement.GetProperty("interface").GetString());
        Assert.Equal("tcp or udp or arp", announcement.GetProperty("filter").GetString());
        Assert.Equal(["PacketCountChef", "DNSLookupChef", "ARPChef"], announcement.GetProperty("chefs").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal(30.0, announcement.GetProperty("poke_interval").GetDouble());
        await kitchen.StopAsync().WaitAsync(KitchenRun.Timeout);
    }

    [Fact]
    public async Task Every_dumpling_reaches_an_eater_through_a_real_hub()
    {
        using var dir = new TempDir();
        PcapGenerator.WriteMixed(dir.File("m.pcap"), 3000, seed: 9);
        await using var hub = await HubTestClient.StartHubAsync();
        using var eater = await HubTestClient.EaterAsync(hub);

        await using var kitchen = new DumplingKitchen(
            new DumplingKitchenOptions { Name = "hubtest", Files = [dir.File("m.pcap")], PokeInterval = TimeSpan.FromSeconds(30) },
            [new PacketCountChef(), new DNSLookupChef(), new ARPChef()],
            new HubAddress("127.0.0.1", hub.InEndPoint.Port));
        kitchen.Start();
        await kitchen.Completion.WaitAsync(KitchenRun.Timeout);
        var stats = kitchen.GetStatistics();
        Assert.True(stats.DumplingsMade > 100);
        Assert.Equal(stats.DumplingsMade, stats.DumplingsSent);
        Assert.Equal(0, stats.DumplingsDropped);

        var received = new List<Dumpling>();
        while (received.Count < stats.DumplingsMade && await HubTestClient.ReceiveAsync(eater) is { } message)
        {
            var d = DumplingCodec.Parse(message.Text);
            if (d.Kitchen == "hubtest") received.Add(d);
        }
        Assert.Equal(stats.DumplingsMade, received.Count);
        Assert.Single(received, d => d.Chef == "PacketCountChef");
    }

    [Fact]
    public async Task The_outbox_holds_dumplings_while_the_hub_is_down_and_delivers_them_after_reconnecting()
    {
        using var dir = new TempDir();
        // 20 ARP packets, then (2.5 s later at replay pace) 20 more: the second batch is made while the hub is down.
        var mac = PcapGenerator.Mac(5);
        var packets = Enumerable.Range(0, 40).Select(i =>
            (PcapGenerator.ArpRequest(mac, IPAddress.Parse("10.9.0.5"), IPAddress.Parse($"10.9.0.{100 + i}")),
             T(0, i < 20 ? i * 10 : 2500 + i * 10))).ToArray();
        WritePackets(dir.File("arp.pcap"), packets);

        var hub1 = await HubTestClient.StartHubAsync();
        var port = hub1.InEndPoint.Port;
        await using var kitchen = new DumplingKitchen(
            new DumplingKitchenOptions
            {
                Files = [dir.File("arp.pcap")], PaceFiles = true, PokeInterval = TimeSpan.Zero, DrainTimeout = TimeSpan.FromSeconds(30),
                Backoff = new Backoff(TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(400)),
            },
            [new ARPChef()], new HubAddress("127.0.0.1", port));
        kitchen.Start();

        await WaitUntilAsync(() => hub1.DumplingsIn == 20, "the first batch at the first hub");
        await hub1.StopAsync();
        await WaitUntilAsync(() => kitchen.GetStatistics().DumplingsMade == 40, "the second batch to be made while the hub is down");
        var whileDown = kitchen.GetStatistics();
        Assert.False(whileDown.HubConnected, whileDown.ToString());
        Assert.True(20 == whileDown.DumplingsSent, whileDown.ToString());

        await using var hub2 = new DumplingHub(new DumplingHubOptions { Address = "127.0.0.1", InPort = port, OutPort = 0 });
        await hub2.StartAsync();
        await kitchen.Completion.WaitAsync(KitchenRun.Timeout);

        // Sent means written to the socket: the hub counts them once it has read them.
        await WaitUntilAsync(() => hub2.DumplingsIn >= 20, "the second batch at the second hub");
        var stats = kitchen.GetStatistics();
        var notices = new List<string>();
        while (kitchen.Notices.TryRead(out var n)) notices.Add($"{n.Time:HH:mm:ss.fff} {n.Message}");
        Assert.True(20 == hub2.DumplingsIn, $"hub1 {hub1.DumplingsIn}, hub2 {hub2.DumplingsIn}; {stats}; {string.Join(" | ", notices)}");
        Assert.Equal(40, stats.DumplingsSent);
        Assert.Equal(0, stats.DumplingsDropped);
        Assert.True(stats.HubConnects >= 2);
        await hub1.DisposeAsync();
    }

    [Fact]
    public async Task A_live_kitchen_that_cannot_deliver_counts_what_it_drops()
    {
        using var dir = new TempDir();
        PcapGenerator.WriteMixed(dir.File("m.pcap"), 2000, seed: 2);
        // Nothing listens on this port (bound then released), and the kitchen gives up draining at once.
        var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        await using var kitchen = new DumplingKitchen(
            new DumplingKitchenOptions { Files = [dir.File("m.pcap")], PokeInterval = TimeSpan.Zero, DrainTimeout = TimeSpan.FromMilliseconds(300), OutboxCapacity = 50 },
            [new ARPChef(), new DNSLookupChef()], new HubAddress("127.0.0.1", port));
        kitchen.Start();
        await Task.Delay(500);
        await kitchen.StopAsync().WaitAsync(KitchenRun.Timeout);
        var stats = kitchen.GetStatistics();
        Assert.Equal(0, stats.DumplingsSent);
        Assert.True(stats.DumplingsMade > 0);
        Assert.Equal(stats.DumplingsMade, stats.DumplingsDropped);
        var notices = new List<KitchenNotice>();
        await foreach (var n in kitchen.Notices.ReadAllAsync()) notices.Add(n);
        Assert.Contains(notices, n => n.Message.Contains("Cannot reach the hub"));
    }
}
