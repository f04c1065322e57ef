using NetDumplings.Protocol;
using System.Net.WebSockets;
using System.Text;
using NetDumplings.Client;
using NetDumplings.Hub;

namespace NetDumplings.Tests;

/// <summary>A real hub on free loopback ports, and helpers to feed it as a kitchen.</summary>
internal sealed class HubFixture : IAsyncDisposable
{
    public DumplingHub Hub { get; private set; } = null!;
    public int InPort { get; private set; }
    public int OutPort { get; private set; }

    public static async Task<HubFixture> StartAsync(DumplingHubOptions? options = null)
    {
        var fixture = new HubFixture { BaseOptions = options ?? new DumplingHubOptions() };
        await fixture.StartHubAsync(0, 0);
        return fixture;
    }

    /// <summary>The options every hub this fixture starts has, beside its address and ports.</summary>
    public DumplingHubOptions BaseOptions { get; init; } = new();

    /// <summary>Starts a hub; a restart passes the old ports so eaters find it where it was.</summary>
    public async Task StartHubAsync(int inPort, int outPort)
    {
        Hub = new DumplingHub(BaseOptions with { Address = "127.0.0.1", InPort = inPort, OutPort = outPort });
        Hub.Log += (_, e) => { lock (_log) _log.Add(e.Message); };
        await Hub.StartAsync();
        InPort = Hub.InEndPoint.Port;
        OutPort = Hub.OutEndPoint.Port;
    }

    private readonly List<string> _log = [];

    /// <summary>
    /// Waits until the hub has registered <paramref name="times"/> connections of this eater (it logs
    /// "Connected eater 'name'" once the eater is in its fan-out list): a test that sent earlier
    /// would race the eater's announcement.
    /// </summary>
    public Task WaitForEaterAsync(string eaterName, int times = 1) => WaitForLogAsync($"Connected eater '{eaterName}'", times);

    /// <summary>Waits until the hub's log has <paramref name="text"/> in <paramref name="times"/> lines.</summary>
    public async Task<string> WaitForLogAsync(string text, int times = 1)
    {
        var deadline = DateTime.UtcNow + TestTime.Limit;
        while (true)
        {
            lock (_log)
            {
                var lines = _log.Where(l => l.Contains(text, StringComparison.Ordinal)).ToList();
                if (lines.Count >= times) return lines[times - 1];
                if (DateTime.UtcNow > deadline)
                    throw new TimeoutException($"The hub never logged '{text}' ({times}x). Log: {string.Join(" | ", _log)}");
            }
            await Task.Delay(20);
        }
    }

    public string[] LogLines() { lock (_log) return _log.ToArray(); }

    public HubAddress InAddress => new("127.0.0.1", InPort);
    public HubAddress OutAddress => new("127.0.0.1", OutPort);

    public DumplingEaterOptions EaterOptions(string name = "test_eater") => new()
    {
        Hub = OutAddress,
        EaterName = name,
        ReconnectBackoff = new Backoff(TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(400)),
        ConnectTimeout = TimeSpan.FromSeconds(10),
    };

    public Task<DumplingSender> KitchenAsync(string name = "test_kitchen") =>
        DumplingSender.ConnectAsync(InAddress, new KitchenAnnouncement(name) { Chefs = ["TestChef"] });

    /// <summary>A bare WebSocket kitchen, for sending text that is not a dumpling.</summary>
    public async Task<ClientWebSocket> RawKitchenAsync(string name = "raw_kitchen")
    {
        var ws = new ClientWebSocket();
        await ws.ConnectAsync(InAddress.Uri, CancellationToken.None);
        await SendTextAsync(ws, $"{{\"kitchen_name\": \"{name}\"}}");
        return ws;
    }

    public static Task SendTextAsync(ClientWebSocket ws, string text) =>
        ws.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None);

    public static Dumpling Make(string chef, string? kitchen, int n, DumplingDriver driver = DumplingDriver.Packet) =>
        DumplingCodec.Create(chef, kitchen, driver, new Dictionary<string, object> { ["n"] = n });

    public async ValueTask DisposeAsync() => await Hub.DisposeAsync();
}

internal static class TestTime
{
    /// <summary>Generous: the machine is shared with other builds. Bounds every wait in these tests.</summary>
    public static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    public static CancellationToken Token() => new CancellationTokenSource(Limit).Token;
}
