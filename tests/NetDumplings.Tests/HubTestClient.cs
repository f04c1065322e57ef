using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using NetDumplings.Hub;

namespace NetDumplings.Tests;

/// <summary>Real WebSocket clients for hub tests: ClientWebSocket kitchens and eaters, and a raw TCP peer for misbehaviour.</summary>
internal static class HubTestClient
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    public static async Task<DumplingHub> StartHubAsync(DumplingHubOptions? options = null)
    {
        var hub = new DumplingHub((options ?? new DumplingHubOptions()) with { InPort = 0, OutPort = 0, Address = "127.0.0.1" });
        await hub.StartAsync();
        return hub;
    }

    public static async Task<ClientWebSocket> ConnectAsync(IPEndPoint endpoint, string announcement)
    {
        var ws = new ClientWebSocket();
        using var cts = new CancellationTokenSource(Patience);
        await ws.ConnectAsync(new Uri($"ws://{endpoint}/"), cts.Token);
        await SendTextAsync(ws, announcement);
        return ws;
    }

    public static Task<ClientWebSocket> KitchenAsync(DumplingHub hub, string name = "test_kitchen") =>
        ConnectAsync(hub.InEndPoint, $$"""{"kitchen_name":"{{name}}","interface":"all","filter":"tcp or udp or arp","chefs":["TestChef"],"poke_interval":5.0}""");

    public static async Task<ClientWebSocket> EaterAsync(DumplingHub hub, string name = "test_eater", string extra = "")
    {
        var ws = await ConnectAsync(hub.OutEndPoint, $$"""{"eater_name":"{{name}}"{{extra}}}""");
        await WaitUntilAsync(() => hub.GetStatus().Eaters.Any(e => e.Name == name), $"eater {name} registered");
        return ws;
    }

    /// <summary>Sends dumplings numbered <paramref name="from"/> up to <paramref name="to"/> (payload <c>i</c>), one after another.</summary>
    public static async Task SendNumberedAsync(WebSocket kitchen, string kitchenName, int from, int to, string chef, string pad = "")
    {
        for (var i = from; i < to; i++) await SendTextAsync(kitchen, Dumpling(chef, kitchenName, i, pad));
    }

    public static async Task SendTextAsync(WebSocket ws, string text, WebSocketMessageType type = WebSocketMessageType.Text)
    {
        using var cts = new CancellationTokenSource(Patience);
        await ws.SendAsync(Encoding.UTF8.GetBytes(text), type, true, cts.Token);
    }

    public static string Dumpling(string chef, string? kitchen, int i, string padding = "") =>
        $$$"""{"metadata":{"chef":"{{{chef}}}","kitchen":{{{(kitchen is null ? "null" : $"\"{kitchen}\"")}}},"creation_time":1515990765.925951,"driver":"packet"},"payload":{"i":{{{i}}},"pad":"{{{padding}}}"}}""";

    /// <summary>Receives one message (text or binary) or the close; null when the socket closed.</summary>
    public static async Task<(string Text, WebSocketMessageType Type)?> ReceiveAsync(WebSocket ws, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? Patience);
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        while (true)
        {
            var result = await ws.ReceiveAsync(buffer, cts.Token);
            if (result.MessageType == WebSocketMessageType.Close) return null;
            message.Write(buffer, 0, result.Count);
            if (result.EndOfMessage) return (Encoding.UTF8.GetString(message.ToArray()), result.MessageType);
        }
    }

    /// <summary>Receives messages until one satisfies <paramref name="match"/>, skipping others (such as status dumplings).</summary>
    public static async Task<string> ReceiveMatchingAsync(WebSocket ws, Func<string, bool> match)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (DateTime.UtcNow < deadline)
        {
            var m = await ReceiveAsync(ws, deadline - DateTime.UtcNow) ?? throw new InvalidOperationException($"closed: {ws.CloseStatus} {ws.CloseStatusDescription}");
            if (match(m.Text)) return m.Text;
        }
        throw new TimeoutException("no matching message");
    }

    public static string ChefOf(string json) => JsonDocument.Parse(json).RootElement.GetProperty("metadata").GetProperty("chef").GetString()!;

    /// <summary>Waits for the server's close and returns its code and reason.</summary>
    public static async Task<(WebSocketCloseStatus? Status, string? Reason)> ReceiveCloseAsync(WebSocket ws)
    {
        try
        {
            while (await ReceiveAsync(ws) is not null) { }
        }
        catch (WebSocketException) { }
        return (ws.CloseStatus, ws.CloseStatusDescription);
    }

    public static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Timed out waiting for: {what}");
            await Task.Delay(20);
        }
    }
}

/// <summary>A WebSocket peer written by hand over TCP, for behaviour no well-mannered client shows (stalling, never answering pings).</summary>
internal sealed class RawPeer : IDisposable
{
    private readonly TcpClient _client = new();
    public NetworkStream Stream => _client.GetStream();

    public static async Task<RawPeer> ConnectAsync(IPEndPoint endpoint, int receiveBuffer = 0)
    {
        var peer = new RawPeer();
        if (receiveBuffer > 0) peer._client.ReceiveBufferSize = receiveBuffer;
        await peer._client.ConnectAsync(endpoint);
        return peer;
    }

    public async Task<string> SendRequestAsync(string request)
    {
        await Stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        var buffer = new byte[8192];
        var total = 0;
        using var cts = new CancellationTokenSource(HubTestClient.Patience);
        while (!Encoding.ASCII.GetString(buffer, 0, total).Contains("\r\n\r\n"))
        {
            var n = await Stream.ReadAsync(buffer.AsMemory(total), cts.Token);
            if (n == 0) break;
            total += n;
        }
        return Encoding.ASCII.GetString(buffer, 0, total);
    }

    public Task<string> HandshakeAsync() => SendRequestAsync(
        "GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");

    /// <summary>Sends one masked text frame, as a client must.</summary>
    public async Task SendTextFrameAsync(string text)
    {
        var payload = Encoding.UTF8.GetBytes(text);
        using var frame = new MemoryStream();
        frame.WriteByte(0x81);
        if (payload.Length < 126) frame.WriteByte((byte)(0x80 | payload.Length));
        else if (payload.Length <= ushort.MaxValue) { frame.WriteByte(0x80 | 126); frame.WriteByte((byte)(payload.Length >> 8)); frame.WriteByte((byte)payload.Length); }
        else { frame.WriteByte(0x80 | 127); for (var i = 7; i >= 0; i--) frame.WriteByte((byte)((long)payload.Length >> (8 * i))); }
        byte[] mask = [1, 2, 3, 4];
        frame.Write(mask);
        for (var i = 0; i < payload.Length; i++) frame.WriteByte((byte)(payload[i] ^ mask[i % 4]));
        await Stream.WriteAsync(frame.ToArray());
    }

    /// <summary>Reads one (unmasked) server frame: its opcode and payload; null when the connection ends.</summary>
    public async Task<(int Opcode, byte[] Payload)?> ReadFrameAsync(CancellationToken cancel)
    {
        try
        {
            var header = new byte[2];
            await Stream.ReadExactlyAsync(header, cancel);
            long length = header[1] & 0x7F;
            if (length >= 126)
            {
                var extended = new byte[length == 126 ? 2 : 8];
                await Stream.ReadExactlyAsync(extended, cancel);
                length = 0;
                foreach (var b in extended) length = (length << 8) | b;
            }
            var payload = new byte[length];
            await Stream.ReadExactlyAsync(payload, cancel);
            return (header[0] & 0x0F, payload);
        }
        catch (Exception e) when (e is EndOfStreamException or IOException) { return null; }
    }

    /// <summary>True when the server has closed the TCP connection (reads end), within the patience.</summary>
    public async Task<bool> WaitForServerToDropAsync(TimeSpan within)
    {
        var buffer = new byte[64 * 1024];
        using var cts = new CancellationTokenSource(within);
        try
        {
            while (await Stream.ReadAsync(buffer, cts.Token) > 0) { }
            return true;
        }
        catch (OperationCanceledException) { return false; }
        catch (IOException) { return true; }
    }

    public void Dispose() => _client.Dispose();
}
