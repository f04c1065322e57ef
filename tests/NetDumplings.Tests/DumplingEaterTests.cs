using System.Text.Json;
using NetDumplings.Client;

namespace NetDumplings.Tests;

/// <summary>DumplingEater against a real hub on free loopback ports, fed by a real kitchen connection.</summary>
public class DumplingEaterTests
{
    /// <summary>Eats on a background task, so the test can feed the hub meanwhile.</summary>
    private static Task<List<Dumpling>> EatAllAsync(DumplingEater eater, CancellationToken token) => Task.Run(async () =>
    {
        var eaten = new List<Dumpling>();
        await foreach (var d in eater.EatAsync(token)) eaten.Add(d);
        return eaten;
    }, token);

    [Fact]
    public async Task Eats_the_count_it_was_asked_for_in_order_and_closes_as_full()
    {
        await using var hub = await HubFixture.StartAsync();
        var eater = new DumplingEater(hub.EaterOptions("count_eater") with { Count = 5 });
        var eating = EatAllAsync(eater, TestTime.Token());
        await hub.WaitForEaterAsync("count_eater");

        await using var kitchen = await hub.KitchenAsync();
        for (var i = 0; i < 8; i++) await kitchen.SendAsync(HubFixture.Make("TestChef", "test_kitchen", i));
        var eaten = await eating.WaitAsync(TestTime.Limit);

        Assert.Equal([0, 1, 2, 3, 4], eaten.Select(d => d.PayloadElement.GetProperty("n").GetInt32()));
        Assert.All(eaten, d => Assert.Equal("test_kitchen", d.Kitchen));
        Assert.Equal(5, eater.Eaten);
        Assert.Equal(DumplingEater.EaterIsFull, eater.CloseCode);
        Assert.Contains("(close 4102 dumpling eater is full)", await hub.WaitForLogAsync("Disconnected eater 'count_eater'"));
    }

    [Fact]
    public async Task Filters_chefs_with_wildcards_kitchens_and_driver_on_its_own_side()
    {
        await using var hub = await HubFixture.StartAsync();
        var eater = new DumplingEater(hub.EaterOptions("filter_eater") with
        {
            Chefs = ["DNS*", "ARPChef"],
            Kitchens = ["edge?"],
            Driver = DumplingDriver.Packet,
            Count = 3,
        });
        var eating = EatAllAsync(eater, TestTime.Token());
        await hub.WaitForEaterAsync("filter_eater");

        await using var kitchen = await hub.KitchenAsync();
        await kitchen.SendAsync(HubFixture.Make("PacketCountChef", "edge1", 1));                       // chef
        await kitchen.SendAsync(HubFixture.Make("DNSLookupChef", "core1", 2));                         // kitchen
        await kitchen.SendAsync(HubFixture.Make("DNSLookupChef", "edge1", 3, DumplingDriver.Interval)); // driver
        await kitchen.SendAsync(HubFixture.Make("DNSLookupChef", "edge12", 4));                        // edge? is one character
        await kitchen.SendAsync(HubFixture.Make("DNSLookupChef", "edge1", 5));
        await kitchen.SendAsync(HubFixture.Make("ARPChef", "EDGE2", 6));                                // case-insensitive
        await kitchen.SendAsync(HubFixture.Make("dnslookupchef", "edge3", 7));
        var eaten = await eating.WaitAsync(TestTime.Limit);

        Assert.Equal([5, 6, 7], eaten.Select(d => d.PayloadElement.GetProperty("n").GetInt32()));
    }

    [Fact]
    public void Announces_its_name_and_the_filter_extension()
    {
        var eater = new DumplingEater(new DumplingEaterOptions { EaterName = "e", Chefs = ["ARPChef", "DNS*"], Kitchens = ["edge?"] });
        using var doc = JsonDocument.Parse(eater.Announcement());
        Assert.Equal("e", doc.RootElement.GetProperty("eater_name").GetString());
        Assert.Equal(["ARPChef", "DNS*"], doc.RootElement.GetProperty("chefs").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["edge?"], doc.RootElement.GetProperty("kitchens").EnumerateArray().Select(e => e.GetString()));

        Assert.True(doc.RootElement.GetProperty("notices").GetBoolean()); // the notices extension, by default
        Assert.False(doc.RootElement.TryGetProperty("resume_after", out _)); // nothing to resume before the first connection

        var plain = new DumplingEater(new DumplingEaterOptions { EaterName = "printereater", Notices = false });
        Assert.Equal("{\"eater_name\":\"printereater\"}", System.Text.Encoding.UTF8.GetString(plain.Announcement()));
    }

    [Fact]
    public async Task Reports_a_malformed_message_and_goes_on()
    {
        await using var hub = await HubFixture.StartAsync();
        var eater = new DumplingEater(hub.EaterOptions("malformed_eater") with { Count = 2 });
        var reports = new List<HubClientEventArgs>();
        eater.Event += (_, e) => { lock (reports) reports.Add(e); };
        var eating = EatAllAsync(eater, TestTime.Token());
        await hub.WaitForEaterAsync("malformed_eater");

        using var kitchen = await hub.RawKitchenAsync();
        await HubFixture.SendTextAsync(kitchen, HubFixture.Make("TestChef", "raw_kitchen", 1).Json);
        // The hub forwards anything with metadata.chef; this one has no creation_time, driver or payload.
        await HubFixture.SendTextAsync(kitchen, "{\"metadata\": {\"chef\": \"BrokenChef\"}}");
        await HubFixture.SendTextAsync(kitchen, HubFixture.Make("TestChef", "raw_kitchen", 2).Json);
        var eaten = await eating.WaitAsync(TestTime.Limit);

        Assert.Equal([1, 2], eaten.Select(d => d.PayloadElement.GetProperty("n").GetInt32()));
        HubClientEventArgs malformed;
        lock (reports) malformed = Assert.Single(reports, r => r.Kind == HubClientEventKind.MalformedMessage);
        Assert.Contains("creation_time", malformed.Message);
        Assert.Contains("BrokenChef", malformed.RawMessage);
    }

    [Fact]
    public async Task Reconnects_with_backoff_when_the_hub_goes_away_and_comes_back()
    {
        var hub = await HubFixture.StartAsync();
        try
        {
            var eater = new DumplingEater(hub.EaterOptions("reconnect_eater") with { Count = 2 });
            var reports = new List<HubClientEventArgs>();
            eater.Event += (_, e) => { lock (reports) reports.Add(e); };
            var eating = EatAllAsync(eater, TestTime.Token());
            await hub.WaitForEaterAsync("reconnect_eater");
            await using (var kitchen = await hub.KitchenAsync())
            {
                await kitchen.SendAsync(HubFixture.Make("TestChef", "k", 1));
                await kitchen.CompleteAsync();
            }
            // Wait until the first dumpling is through, then take the hub away.
            var deadline = DateTime.UtcNow + TestTime.Limit;
            while (eater.Eaten < 1 && DateTime.UtcNow < deadline) await Task.Delay(20);
            Assert.Equal(1, eater.Eaten);

            int inPort = hub.InPort, outPort = hub.OutPort;
            await hub.Hub.StopAsync();
            await Task.Delay(300); // let the eater fail at least one reconnect attempt
            await hub.StartHubAsync(inPort, outPort);
            await hub.WaitForEaterAsync("reconnect_eater", times: 2);
            await using (var kitchen = await hub.KitchenAsync())
            {
                await kitchen.SendAsync(HubFixture.Make("TestChef", "k", 2));
                await kitchen.CompleteAsync();
            }

            var eaten = await eating.WaitAsync(TestTime.Limit);
            Assert.Equal([1, 2], eaten.Select(d => d.PayloadElement.GetProperty("n").GetInt32()));
            HubClientEventKind[] kinds;
            lock (reports) kinds = reports.Select(r => r.Kind).ToArray();
            Assert.Equal(HubClientEventKind.Connected, kinds[0]);
            Assert.Equal(HubClientEventKind.Disconnected, kinds[1]);
            Assert.Equal(HubClientEventKind.Reconnecting, kinds[2]);
            Assert.Contains(HubClientEventKind.ReconnectFailed, kinds);
            Assert.Equal(HubClientEventKind.Connected, kinds[^1]);
        }
        finally
        {
            await hub.DisposeAsync();
        }
    }

    [Fact]
    public async Task Without_reconnect_a_lost_hub_ends_the_stream_with_an_error()
    {
        await using var hub = await HubFixture.StartAsync();
        var eater = new DumplingEater(hub.EaterOptions("noreconnect_eater") with { Reconnect = false });
        var eating = EatAllAsync(eater, TestTime.Token());
        await hub.WaitForEaterAsync("noreconnect_eater");
        await hub.Hub.StopAsync();

        var error = await Assert.ThrowsAsync<DumplingHubConnectionLostException>(() => eating.WaitAsync(TestTime.Limit));
        Assert.Equal(hub.OutAddress.ToString(), error.Address);
    }

    [Fact]
    public async Task An_unreachable_hub_is_an_error_naming_its_address()
    {
        // A port that was free a moment ago and has nobody listening now.
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var eater = new DumplingEater(new DumplingEaterOptions { Hub = new("127.0.0.1", port) });
        var error = await Assert.ThrowsAsync<DumplingHubUnreachableException>(async () =>
        {
            await foreach (var _ in eater.EatAsync(TestTime.Token())) { }
        });
        Assert.Equal($"127.0.0.1:{port}", error.Address);
        Assert.Contains($"127.0.0.1:{port}", error.Message);
    }

    [Fact]
    public async Task Cancelling_closes_the_connection_as_cancelled()
    {
        await using var hub = await HubFixture.StartAsync();
        var eater = new DumplingEater(hub.EaterOptions("cancel_eater"));
        using var cts = new CancellationTokenSource();
        var eating = EatAllAsync(eater, cts.Token);
        await hub.WaitForEaterAsync("cancel_eater");

        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => eating.WaitAsync(TestTime.Limit));
        Assert.Equal(DumplingEater.ConnectionCancelled, eater.CloseCode);
        Assert.Contains("(close 4101 connection cancelled)", await hub.WaitForLogAsync("Disconnected eater 'cancel_eater'"));
    }

    [Fact]
    public async Task Stopping_the_enumeration_early_closes_the_connection_as_cancelled()
    {
        await using var hub = await HubFixture.StartAsync();
        var eater = new DumplingEater(hub.EaterOptions("break_eater"));
        var eating = Task.Run(async () =>
        {
            await foreach (var d in eater.EatAsync(TestTime.Token())) return d;
            return null;
        });
        await hub.WaitForEaterAsync("break_eater");
        await using var kitchen = await hub.KitchenAsync();
        await kitchen.SendAsync(HubFixture.Make("TestChef", "k", 1));

        var first = await eating.WaitAsync(TestTime.Limit);
        Assert.Equal("TestChef", first!.Chef);
        Assert.Equal(DumplingEater.ConnectionCancelled, eater.CloseCode);
        Assert.Contains("(close 4101 connection cancelled)", await hub.WaitForLogAsync("Disconnected eater 'break_eater'"));
    }
}
