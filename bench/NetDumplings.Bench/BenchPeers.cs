using System.Net.Security;
using System.Net.Sockets;
using System.Text;

namespace NetDumplings.Bench;

/// <summary>
/// Hub peers over raw TCP (and TLS) for the hub and mesh benches: kitchens that write pre-built masked frames and
/// eaters that count bytes, so the bench measures the hubs rather than a client library on the same two cores.
/// </summary>
internal static class BenchPeers
{
    /// <summary>A raw peer's TCP connection and the stream its frames go over (the socket's, or TLS over it).</summary>
    internal sealed class RawPeer(TcpClient client, Stream stream) : IDisposable
    {
        public Stream Stream => stream;
        public void Dispose()
        {
            stream.Dispose();
            client.Dispose();
        }
    }

    /// <summary>A peer written over raw TCP (and TLS, which skips the check of the bench's own certificate): handshake and announcement; then the caller reads or writes frames (or, stalled, does nothing).</summary>
    internal static async Task<RawPeer> ConnectRawAsync(int port, string? announcement, int receiveBuffer = 0, bool tls = false)
    {
        var client = new TcpClient { NoDelay = true };
        if (receiveBuffer > 0) client.ReceiveBufferSize = receiveBuffer;
        await client.ConnectAsync("127.0.0.1", port);
        Stream stream = client.GetStream();
        if (tls)
        {
            var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "127.0.0.1",
                RemoteCertificateValidationCallback = (_, _, _, _) => true,
            });
            stream = ssl;
        }
        await stream.WriteAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"));
        var response = new List<byte>();
        var one = new byte[1];
        while (response.Count < 4 || !(response[^4] == '\r' && response[^3] == '\n' && response[^2] == '\r' && response[^1] == '\n'))
        {
            if (await stream.ReadAsync(one) == 0) throw new IOException("the hub closed during the handshake");
            response.Add(one[0]);
        }
        if (announcement is not null) await stream.WriteAsync(ClientFrame(Encoding.UTF8.GetBytes(announcement)));
        return new RawPeer(client, stream);
    }

    /// <summary>A client text frame with a zero mask key (so the masked bytes are the message itself).</summary>
    internal static byte[] ClientFrame(byte[] message)
    {
        var header = message.Length < 126 ? 2 : 4;
        var frame = new byte[header + 4 + message.Length];
        frame[0] = 0x81;
        if (header == 2) frame[1] = (byte)(0x80 | message.Length);
        else { frame[1] = 0x80 | 126; frame[2] = (byte)(message.Length >> 8); frame[3] = (byte)message.Length; }
        message.CopyTo(frame, header + 4);
        return frame;
    }
    /// <summary>Reads until <paramref name="expected"/> records of <paramref name="recordLength"/> bytes arrived, or the stream is idle.</summary>
    internal static async Task<long> CountBytesAsync(Stream stream, int recordLength, long expected, TimeSpan? idle = null)
    {
        var buffer = new byte[64 * 1024];
        var total = expected * recordLength;
        long got = 0;
        using var cts = new CancellationTokenSource();
        while (got < total)
        {
            cts.CancelAfter(idle ?? TimeSpan.FromSeconds(3));
            int n;
            try { n = await stream.ReadAsync(buffer, cts.Token); }
            catch (Exception e) when (e is OperationCanceledException or IOException) { break; }
            if (n == 0) break;
            got += n;
        }
        return got / recordLength;
    }

    /// <summary>
    /// Writes <paramref name="count"/> messages as masked client frames: one write each (as nd-sniff writes), or
    /// gathered into writes of up to <paramref name="burst"/> bytes (as our kitchens and Send-Dumpling write).
    /// </summary>
    internal static async Task WriteFramesAsync(Stream stream, int count, Func<int, byte[]> message, int burst)
    {
        if (burst == 0)
        {
            for (var i = 0; i < count; i++)
                await stream.WriteAsync(ClientFrame(message(i)));
            return;
        }
        var buffer = new byte[burst];
        var used = 0;
        for (var i = 0; i < count; i++)
        {
            var frame = ClientFrame(message(i));
            if (used + frame.Length > buffer.Length) { await stream.WriteAsync(buffer.AsMemory(0, used)); used = 0; }
            frame.CopyTo(buffer, used);
            used += frame.Length;
        }
        if (used > 0) await stream.WriteAsync(buffer.AsMemory(0, used));
    }

    /// <summary>
    /// Reads whole messages until <paramref name="expected"/> bench dumplings came or the socket is idle for
    /// <paramref name="idle"/>, adding each one's latency from the Stopwatch timestamp in its <c>"t":"..."</c> field.
    /// With <paramref name="length"/>, messages of another length (status dumplings) are skipped.
    /// </summary>
    internal static async Task<int> CountLatenciesAsync(System.Net.WebSockets.ClientWebSocket ws, int expected, List<double> latencies, TimeSpan idle, int? length = null)
    {
        var buffer = new byte[1 << 20];
        var count = 0;
        using var cts = new CancellationTokenSource();
        try
        {
            while (count < expected)
            {
                cts.CancelAfter(idle);
                var filled = 0;
                System.Net.WebSockets.ValueWebSocketReceiveResult r;
                do
                {
                    r = await ws.ReceiveAsync(buffer.AsMemory(filled), cts.Token);
                    filled += r.Count;
                } while (!r.EndOfMessage && r.MessageType != System.Net.WebSockets.WebSocketMessageType.Close);
                if (r.MessageType == System.Net.WebSockets.WebSocketMessageType.Close) break;
                if (length is { } only && filled != only) continue;
                count++;
                var at = buffer.AsSpan(0, filled).IndexOf("\"t\":\""u8);
                if (at >= 0 && at + 24 <= filled && System.Buffers.Text.Utf8Parser.TryParse(buffer.AsSpan(at + 5, 19), out long sent, out _))
                    latencies.Add(System.Diagnostics.Stopwatch.GetElapsedTime(sent).TotalMilliseconds);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or System.Net.WebSockets.WebSocketException) { }
        return count;
    }

    /// <summary>A dumpling of ~200 bytes with a fixed-width send timestamp inside (as a string: JSON numbers may not have leading zeros).</summary>
    public static byte[] Dumpling(int i, long timestamp, string kitchen = "bench_kitchen") => Encoding.UTF8.GetBytes(
        $"{{\"metadata\":{{\"chef\":\"BenchChef\",\"kitchen\":\"{kitchen}\",\"creation_time\":1515990765.925951,\"driver\":\"packet\"}}," +
        $"\"payload\":{{\"t\":\"{timestamp:D19}\",\"i\":\"{i:D8}\",\"lookup\":{{\"hostname\":\"www.example.com\",\"when\":1499040017.81}}}}}}");

    /// <summary>A ClientWebSocket peer (for latency, where one send per dumpling is the point), announced.</summary>
    public static async Task<System.Net.WebSockets.ClientWebSocket> ConnectWebSocketAsync(int port, string announcement)
    {
        var ws = new System.Net.WebSockets.ClientWebSocket();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        await ws.ConnectAsync(new Uri($"ws://127.0.0.1:{port}/"), cts.Token);
        await ws.SendAsync(Encoding.UTF8.GetBytes(announcement), System.Net.WebSockets.WebSocketMessageType.Text, true, cts.Token);
        return ws;
    }
}
