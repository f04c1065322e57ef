using System.Diagnostics;
using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using System.Text;
using NetDumplings.Hub;
using static NetDumplings.Tests.HubTestClient;

namespace NetDumplings.Tests;

/// <summary>
/// What the hub does when an eater's queue is full: backpressure (the default) holds the kitchens
/// until the eater makes room or misses its deadline; every policy keeps memory within the limits.
/// Dumplings of 8 KB, so a few thousand are far more than the socket buffers between hold.
/// </summary>
[Collection(HeavyHubTests.Name)]
public class HubFlowControlTests
{
    private const int PadBytes = 8000;

    private static DumplingHubOptions Small(EaterOverflowPolicy policy = EaterOverflowPolicy.Backpressure, double deadlineSeconds = 60) => new()
    {
        EaterQueueDumplings = 20,
        EaterQueueBytes = 1024 * 1024,
        OverflowPolicy = policy,
        SlowEaterTimeout = TimeSpan.FromSeconds(deadlineSeconds),
        StatusInterval = TimeSpan.Zero,
    };

    /// <summary>An eater on a raw socket with a small receive buffer, which reads only when told to.</summary>
    private static async Task<RawPeer> RawEaterAsync(DumplingHub hub, string name)
    {
        var peer = await RawPeer.ConnectAsync(hub.OutEndPoint, receiveBuffer: 4096);
        Assert.StartsWith("HTTP/1.1 101", await peer.HandshakeAsync());
        await peer.SendTextFrameAsync($$"""{"eater_name":"{{name}}"}""");
        await WaitUntilAsync(() => hub.GetStatus().Eaters.Any(e => e.Name == name), $"eater {name} registered");
        return peer;
    }

    /// <summary>
    /// Sends <paramref name="count"/> dumplings as fast as the hub takes them or, with a
    /// <paramref name="window"/> that the eater's receive loop releases, only so far ahead of that eater.
    /// </summary>
    private static Task SendFloodAsync(WebSocket kitchen, int count, StrongBox<int>? sent = null, SemaphoreSlim? window = null) => Task.Run(async () =>
    {
        var pad = new string('p', PadBytes);
        for (var i = 0; i < count; i++)
        {
            if (window is not null && !await window.WaitAsync(Patience)) throw new TimeoutException("the eater stopped keeping up");
            await SendTextAsync(kitchen, Dumpling("Flood", "k", i, pad));
            if (sent is not null) Volatile.Write(ref sent.Value, i + 1);
        }
    });

    /// <summary>Receives flood dumplings in order (skipping status dumplings) until <paramref name="count"/> or the close.</summary>
    private static async Task<int> ReceiveFloodAsync(WebSocket eater, int count, SemaphoreSlim? window = null)
    {
        var received = 0;
        while (received < count)
        {
            var m = await ReceiveAsync(eater);
            if (m is null) break;
            if (!m.Value.Text.Contains("\"chef\":\"Flood\"")) continue;
            Assert.Contains($"\"i\":{received},", m.Value.Text);
            received++;
            window?.Release();
        }
        return received;
    }

    /// <summary>The same for a raw eater, optionally pausing as a slow reader does; stops at the server's close frame.</summary>
    private static async Task<(int Received, int? CloseCode, string? Reason)> ReadFloodAsync(RawPeer eater, int count, int pauseEvery = 0)
    {
        using var cts = new CancellationTokenSource(Patience);
        var received = 0;
        while (received < count)
        {
            if (await eater.ReadFrameAsync(cts.Token) is not { } frame) break;
            if (frame.Opcode == 8)
                return (received, (frame.Payload[0] << 8) | frame.Payload[1], Encoding.UTF8.GetString(frame.Payload, 2, frame.Payload.Length - 2));
            var text = Encoding.UTF8.GetString(frame.Payload);
            if (frame.Opcode != 1 || !text.Contains("\"chef\":\"Flood\"")) continue;
            Assert.Contains($"\"i\":{received},", text);
            received++;
            if (pauseEvery > 0 && received % pauseEvery == 0) await Task.Delay(10, cts.Token);
        }
        return (received, null, null);
    }

    [Fact]
    public async Task BackpressureHoldsAKitchenWhileAnEaterIsFullAndReleasesIt()
    {
        const int count = 2000;
        Assert.Equal(EaterOverflowPolicy.Backpressure, new DumplingHubOptions().OverflowPolicy); // the default
        await using var hub = await StartHubAsync(Small());
        using var eater = await RawEaterAsync(hub, "paused");
        using var kitchen = await KitchenAsync(hub);
        var sent = new StrongBox<int>();
        var sending = SendFloodAsync(kitchen, count, sent);

        // Held: the hub reads nothing from the kitchen while the eater's queue is full.
        await WaitUntilAsync(() => hub.GetStatus().Kitchens.SingleOrDefault()?.HeldBack > TimeSpan.FromMilliseconds(500), "kitchen held back");
        var readWhileHeld = hub.DumplingsIn;
        await Task.Delay(300);
        Assert.Equal(readWhileHeld, hub.DumplingsIn);
        Assert.InRange(readWhileHeld, 1, count - 1);
        Assert.False(sending.IsCompleted, $"the kitchen sent all {count} while held");
        var paused = hub.GetStatus().Eaters.Single();
        Assert.InRange(paused.QueuedDumplings, 1, 20);
        Assert.Equal(0, paused.Dropped);
        Assert.True(paused.HeldBack > TimeSpan.FromMilliseconds(500), $"eater held kitchens {paused.HeldBack}");

        // Released: the eater reads, and gets every dumpling, in order.
        Assert.Equal(count, (await ReadFloodAsync(eater, count)).Received);
        await sending;
        var status = hub.GetStatus();
        Assert.Equal(count, status.DumplingsIn);
        Assert.Equal(0, status.DroppedDumplings);
        Assert.Equal(0, status.EatersCutOff);
        Assert.True(status.KitchensHeldBack >= TimeSpan.FromMilliseconds(800), $"held {status.KitchensHeldBack}");
    }

    [Fact]
    public async Task TheDeadlineCutsOffAStalledEaterAndTheOthersThenGetEverything()
    {
        const int count = 2000;
        await using var hub = await StartHubAsync(Small(deadlineSeconds: 1) with { StatusInterval = TimeSpan.FromMilliseconds(200) });
        using var stalled = await RawEaterAsync(hub, "stalled");
        using var healthy = await EaterAsync(hub, "healthy");
        using var kitchen = await KitchenAsync(hub);
        var clock = Stopwatch.StartNew();
        var sending = SendFloodAsync(kitchen, count);

        Assert.Equal(count, await ReceiveFloodAsync(healthy, count));
        await sending;
        await WaitUntilAsync(() => hub.GetStatus().RecentCutOffs.Count == 1, "cut-off recorded");
        var status = hub.GetStatus();
        Assert.Equal(1, status.EatersCutOff);
        var cut = status.RecentCutOffs.Single();
        Assert.Equal("stalled", cut.Name);
        Assert.Equal("dumpling eater too slow: it read nothing for 1 s while its queue was full", cut.Reason);
        // The stalled eater held the kitchen back for about the deadline, not for good.
        Assert.InRange(cut.HeldKitchens, TimeSpan.FromMilliseconds(300), TimeSpan.FromSeconds(2.5));
        var eater = Assert.Single(status.Eaters);
        Assert.Equal("healthy", eater.Name);
        Assert.Equal(0, eater.Dropped);
        Assert.True(clock.Elapsed < Patience, $"took {clock.Elapsed}");

        // The status dumplings kept going out, and tell the story (extension keys).
        var report = await ReceiveMatchingAsync(healthy, t => ChefOf(t) == "SystemStatusChef" && t.Contains("\"eaters_cut_off\":[{\"eater_name\":\"stalled\""));
        Assert.Contains("\"total_eaters_cut_off\":1", report);
        Assert.Contains("\"overflow_policy\":\"Backpressure\"", report);
        Assert.Contains("\"total_kitchen_held_seconds\":", report);
        Assert.Contains("\"held_seconds\":", report);
        Assert.Contains("\"kitchens_held_seconds\":", report);
        Assert.Contains("\"total_dumplings_in\":", report); // the original's keys stay
    }

    [Fact]
    public async Task ACutOffEaterIsToldWhyWith1008()
    {
        var log = new List<string>();
        await using var hub = await StartHubAsync(Small(deadlineSeconds: 0.5));
        hub.Log += (_, e) => { lock (log) log.Add(e.Message); };
        using var stalled = await RawEaterAsync(hub, "stalled");
        using var kitchen = await KitchenAsync(hub);
        var sending = SendFloodAsync(kitchen, 2000);
        await WaitUntilAsync(() => { lock (log) return log.Any(l => l.Contains("Disconnecting eater 'stalled'")); }, "cut off");
        // It reads again at once: what the hub had written, then the close frame it sends as soon as its write is done.
        var (received, code, reason) = await ReadFloodAsync(stalled, 2000);
        Assert.Equal(1008, code);
        Assert.Equal("dumpling eater too slow: it read nothing for 0.5 s while its queue was full", reason);
        Assert.InRange(received, 1, 1999);
        await sending; // no eater left: the kitchen is not held
        Assert.Equal(1, hub.GetStatus().EatersCutOff);
    }

    [Fact]
    public async Task ASlowButReadingEaterAndAFastOneBothGetEveryDumpling()
    {
        const int count = 1000;
        await using var hub = await StartHubAsync(Small(deadlineSeconds: 2));
        using var slow = await RawEaterAsync(hub, "slow");
        using var fast = await EaterAsync(hub, "fast");
        using var kitchen = await KitchenAsync(hub);
        var sending = SendFloodAsync(kitchen, count);
        var slowReading = ReadFloodAsync(slow, count, pauseEvery: 4); // ~3 MB/s
        Assert.Equal(count, await ReceiveFloodAsync(fast, count));
        Assert.Equal(count, (await slowReading).Received);
        await sending;
        var status = hub.GetStatus();
        Assert.Equal(0, status.EatersCutOff);
        Assert.Equal(0, status.DroppedDumplings);
        Assert.True(status.KitchensHeldBack > TimeSpan.Zero);
        Assert.True(status.Eaters.Single(e => e.Name == "slow").HeldBack > status.Eaters.Single(e => e.Name == "fast").HeldBack);
    }

    [Theory]
    [InlineData(EaterOverflowPolicy.Backpressure)]
    [InlineData(EaterOverflowPolicy.DropOldest)]
    [InlineData(EaterOverflowPolicy.Disconnect)]
    public async Task EveryPolicyKeepsAStalledEatersQueueWithinTheLimits(EaterOverflowPolicy policy)
    {
        const int count = 3000; // 24 MB
        var options = Small(policy, deadlineSeconds: 1);
        await using var hub = await StartHubAsync(options);
        using var stalled = await RawEaterAsync(hub, "stalled");
        using var healthy = await EaterAsync(hub, "healthy");
        using var kitchen = await KitchenAsync(hub);
        var (maxCount, maxBytes) = (0, 0L);
        using var stop = new CancellationTokenSource();
        var sampling = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                foreach (var e in hub.GetStatus().Eaters)
                    (maxCount, maxBytes) = (Math.Max(maxCount, e.QueuedDumplings), Math.Max(maxBytes, e.QueuedBytes));
                await Task.Delay(2);
            }
        });
        // The healthy eater's queue never fills, so that only the stalled one meets the policy.
        using var window = new SemaphoreSlim(10);
        var sending = SendFloodAsync(kitchen, count, window: window);
        Assert.Equal(count, await ReceiveFloodAsync(healthy, count, window));
        await sending;
        stop.Cancel();
        await sampling;

        Assert.InRange(maxCount, 0, options.EaterQueueDumplings);
        Assert.InRange(maxBytes, 0, options.EaterQueueBytes);
        var status = hub.GetStatus();
        Assert.Equal(0, status.Eaters.Single(e => e.Name == "healthy").Dropped);
        if (policy == EaterOverflowPolicy.DropOldest)
        {
            Assert.True(status.Eaters.Single(e => e.Name == "stalled").Dropped > 0);
            Assert.Equal(TimeSpan.Zero, status.KitchensHeldBack); // kitchens never wait under this policy
            Assert.Equal(0, status.EatersCutOff);
        }
        else
        {
            Assert.Equal(1, status.EatersCutOff);
            Assert.True(status.DroppedDumplings > 0, "what the cut-off eater never got is counted");
        }
    }
}

/// <summary>
/// Tests that push megabytes through a hub or time it: run alone, so that they neither starve the
/// other tests' timing on a small shared machine nor are timed while others run.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HeavyHubTests
{
    public const string Name = "heavy hub tests";
}
