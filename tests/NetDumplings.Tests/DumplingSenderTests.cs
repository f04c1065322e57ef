using NetDumplings.Protocol;
using NetDumplings.Client;

namespace NetDumplings.Tests;

/// <summary>DumplingSender (Send-Dumpling's engine) through a real hub to a real eater.</summary>
public class DumplingSenderTests
{
    [Fact]
    public async Task Sends_many_dumplings_in_batches_and_all_arrive_in_order()
    {
        // Below the hub's default eater queue (10,000): a burst must not be cut by its overflow policy
        // when the eater is slow to drain it on a busy machine.
        const int count = 8_000;
        await using var hub = await HubFixture.StartAsync();
        var eater = new DumplingEater(hub.EaterOptions("sender_eater") with { Chefs = ["BulkChef"], Count = count });
        var eating = Task.Run(async () =>
        {
            var seen = new List<int>(count);
            await foreach (var d in eater.EatAsync(TestTime.Token())) seen.Add(d.PayloadElement.GetProperty("n").GetInt32());
            return seen;
        });
        await hub.WaitForEaterAsync("sender_eater");

        var sender = await DumplingSender.ConnectAsync(hub.InAddress, new KitchenAnnouncement("bulk_kitchen") { Chefs = ["BulkChef"] });
        for (var i = 0; i < count; i++)
            await sender.SendAsync(DumplingCodec.Create("BulkChef", "bulk_kitchen", DumplingDriver.Packet, new RawJsonPayload($"{{\"n\":{i}}}")));
        await sender.CompleteAsync(TestTime.Token());

        Assert.Equal(count, sender.Sent);
        var seen = await eating.WaitAsync(TestTime.Limit);
        Assert.Equal(Enumerable.Range(0, count), seen);
    }

    [Fact]
    public async Task A_hub_that_goes_away_makes_the_next_send_fail_with_the_address()
    {
        await using var hub = await HubFixture.StartAsync();
        // Without reconnecting: the way to fail fast (Send-Dumpling -NoReconnect).
        var sender = await DumplingSender.ConnectAsync(hub.InAddress, new KitchenAnnouncement("lost_kitchen"), new DumplingSenderOptions { Reconnect = false });
        await hub.Hub.StopAsync();

        var error = await Assert.ThrowsAsync<DumplingHubConnectionLostException>(async () =>
        {
            var deadline = DateTime.UtcNow + TestTime.Limit;
            while (DateTime.UtcNow < deadline)
            {
                await sender.SendAsync(HubFixture.Make("TestChef", "lost_kitchen", 1));
                await Task.Delay(20);
            }
        });
        Assert.Equal(hub.InAddress.ToString(), error.Address);
        await sender.DisposeAsync();
    }

    [Fact]
    public async Task An_unreachable_hub_is_an_error_naming_its_address()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var error = await Assert.ThrowsAsync<DumplingHubUnreachableException>(() =>
            DumplingSender.ConnectAsync(new("127.0.0.1", port), new KitchenAnnouncement("k")));
        Assert.Contains($"127.0.0.1:{port}", error.Message);
    }
}
