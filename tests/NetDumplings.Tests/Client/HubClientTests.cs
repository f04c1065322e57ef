using System.Net;
using System.Net.Sockets;
using NetDumplings.Client;
using NetDumplings.Hub;
using NetDumplings.Protocol;

namespace NetDumplings.Tests.Client;

/// <summary>The one client stack against real hubs on loopback: delivery across a restart, wrong ports, limits.</summary>
public class HubClientTests
{
    private static DumplingSenderOptions FastReconnect => new()
    {
        ReconnectBackoff = new Backoff(TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(200)),
    };

    [Fact]
    public async Task A_sender_delivers_every_dumpling_exactly_once_across_a_hub_restart()
    {
        const int count = 20_000;
        await using var hub = await HubFixture.StartAsync();
        var (inPort, outPort) = (hub.InPort, hub.OutPort);
        var sender = await DumplingSender.ConnectAsync(hub.InAddress, new KitchenAnnouncement("restart_kitchen"), FastReconnect);
        var first = hub.Hub;
        var sending = Task.Run(async () =>
        {
            for (var i = 0; i < count; i++)
                await sender.SendAsync(HubFixture.Make("TestChef", "restart_kitchen", i), TestTime.Token());
        });
        // Restart the hub in the middle of the input, on the same ports.
        await WaitUntilAsync(() => first.DumplingsIn > count / 4);
        await first.StopAsync();
        await hub.StartHubAsync(inPort, outPort);
        await sending.WaitAsync(TestTime.Limit);
        await sender.CompleteAsync(TestTime.Token());

        Assert.Equal(count, sender.Sent);
        Assert.Equal(0, sender.Dropped);
        Assert.True(first.DumplingsIn < count, "the restart came too late to test anything");
        // Each hub took its share and nothing twice: together exactly every dumpling.
        await WaitUntilAsync(() => first.DumplingsIn + hub.Hub.DumplingsIn >= count);
        Assert.Equal(count, first.DumplingsIn + hub.Hub.DumplingsIn);
        Assert.True(sender.Connects >= 2);
    }

    [Fact]
    public async Task What_a_sender_cannot_deliver_is_counted_and_handed_back()
    {
        await using var hub = await HubFixture.StartAsync();
        var sender = await DumplingSender.ConnectAsync(hub.InAddress, new KitchenAnnouncement("k"), FastReconnect);
        await hub.Hub.StopAsync(); // gone for good
        for (var i = 0; i < 100; i++) await sender.SendAsync(HubFixture.Make("TestChef", "k", i));
        await sender.CompleteAsync(TimeSpan.FromMilliseconds(300));
        Assert.Equal(100, sender.Sent + sender.Dropped);
        Assert.Equal(sender.Dropped, sender.NotDelivered.Count);
        Assert.Equal(0, sender.Queued);
    }

    [Fact]
    public async Task A_dumpling_over_the_limit_is_refused_before_it_costs_the_connection()
    {
        await using var hub = await HubFixture.StartAsync();
        var sender = await DumplingSender.ConnectAsync(hub.InAddress, new KitchenAnnouncement("k"), new DumplingSenderOptions { MaxDumplingBytes = 4096 });
        var big = DumplingCodec.Create("TestChef", "k", DumplingDriver.Packet, new RawJsonPayload(System.Text.Encoding.UTF8.GetBytes($"\"{new string('x', 10_000)}\"")));
        var error = await Assert.ThrowsAsync<DumplingTooLargeException>(() => sender.SendAsync(big).AsTask());
        Assert.Contains("4,096", error.Message);
        await sender.SendAsync(HubFixture.Make("TestChef", "k", 1));
        await sender.CompleteAsync(TestTime.Token());
        Assert.Equal(1, sender.Sent);
        await WaitUntilAsync(() => hub.Hub.DumplingsIn == 1);
    }

    [Fact]
    public async Task An_eater_at_the_in_port_is_refused_at_once_with_the_ports_named()
    {
        await using var hub = await HubFixture.StartAsync();
        var eater = new DumplingEater(hub.EaterOptions() with { Hub = hub.InAddress, Count = 1 });
        var started = DateTime.UtcNow;
        var error = await Assert.ThrowsAsync<DumplingHubRefusedException>(async () =>
        {
            await foreach (var _ in eater.EatAsync(TestTime.Token())) { }
        });
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(5));
        Assert.Contains("11348", error.Message);
        Assert.Contains("eater", error.Message);
    }

    [Fact]
    public async Task A_sender_at_the_out_port_is_refused_at_once_with_the_ports_named()
    {
        await using var hub = await HubFixture.StartAsync();
        var started = DateTime.UtcNow;
        var error = await Assert.ThrowsAsync<DumplingHubRefusedException>(() =>
            DumplingSender.ConnectAsync(hub.OutAddress, new KitchenAnnouncement("k"), FastReconnect));
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(5));
        Assert.Contains("11347", error.Message);
    }

    [Fact]
    public async Task An_unreachable_hub_is_retried_by_a_waiting_sender_until_it_comes()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var events = new List<HubClientEventArgs>();
        var sender = DumplingSender.Start(new KitchenAnnouncement("late"),
            FastReconnect with { Hub = new HubAddress("127.0.0.1", port), WaitForHub = true },
            (_, e) => { lock (events) events.Add(e); });
        for (var i = 0; i < 10; i++) sender.TryOffer(HubFixture.Make("TestChef", "late", i));
        await WaitUntilAsync(() => { lock (events) return events.Count(e => e.Kind == HubClientEventKind.ReconnectFailed) >= 2; });

        await using var hub = new HubFixture();
        await hub.StartHubAsync(port, 0);
        await sender.CompleteAsync(TestTime.Limit);
        Assert.Equal(10, sender.Sent);
        await WaitUntilAsync(() => hub.Hub.DumplingsIn == 10);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TestTime.Limit;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("The condition never held.");
            await Task.Delay(10);
        }
    }
}
