using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using NetDumplings.Hub;

namespace NetDumplings.Kitchen;

/// <summary>
/// The kitchen's WebSocket to a hub, opened with a small RFC 6455 client handshake over a TCP socket
/// so that frames can be coalesced: the sender writes a burst of dumplings into one buffer and sends
/// it with one socket write (ClientWebSocket writes every frame on its own, which costs a syscall and
/// a TCP segment per dumpling).
/// </summary>
internal sealed class HubConnection : IAsyncDisposable
{
    private const string AcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

    private HubConnection(Socket socket, CoalescingStream stream, WebSocket webSocket)
    {
        Socket = socket;
        Stream = stream;
        WebSocket = webSocket;
    }

    public Socket Socket { get; }
    public CoalescingStream Stream { get; }
    public WebSocket WebSocket { get; }

    public static async Task<HubConnection> ConnectAsync(HubAddress hub, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(hub.Host, hub.Port, cancellationToken).ConfigureAwait(false);
            var network = new NetworkStream(socket, ownsSocket: false);
            var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
            var request = $"GET {hub.Path} HTTP/1.1\r\nHost: {hub}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
                          $"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nUser-Agent: NetDumplings-kitchen\r\n\r\n";
            await network.WriteAsync(Encoding.ASCII.GetBytes(request), cancellationToken).ConfigureAwait(false);
            var response = await ReadHeadersAsync(network, cancellationToken).ConfigureAwait(false);
            var lines = response.Split("\r\n");
            if (lines.Length == 0 || !lines[0].StartsWith("HTTP/1.1 101", StringComparison.Ordinal))
                throw new WebSocketException($"the hub refused the WebSocket upgrade: '{(lines.Length > 0 ? lines[0] : "")}'");
            var expected = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + AcceptGuid)));
            var accept = lines.Skip(1).Select(l => l.Split(':', 2)).FirstOrDefault(p =>
                p.Length == 2 && p[0].Trim().Equals("Sec-WebSocket-Accept", StringComparison.OrdinalIgnoreCase));
            if (accept is null || accept[1].Trim() != expected)
                throw new WebSocketException("the hub answered the upgrade with a wrong Sec-WebSocket-Accept");

            var stream = new CoalescingStream(network);
            var webSocket = WebSocket.CreateFromStream(stream, new WebSocketCreationOptions
            {
                IsServer = false,
                KeepAliveInterval = TimeSpan.FromSeconds(20),
                KeepAliveTimeout = TimeSpan.FromSeconds(20),
            });
            return new HubConnection(socket, stream, webSocket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    // Byte by byte up to the blank line: nothing after the headers may be consumed here.
    private static async Task<string> ReadHeadersAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        var buffer = new byte[1];
        var text = new StringBuilder();
        while (text.Length < 8192)
        {
            if (await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false) == 0)
                throw new WebSocketException("the hub closed the connection during the WebSocket handshake");
            text.Append((char)buffer[0]);
            if (text.Length >= 4 && text[^1] == '\n' && text[^2] == '\r' && text[^3] == '\n' && text[^4] == '\r')
                return text.ToString();
        }
        throw new WebSocketException("the hub's handshake response is too long");
    }

    public async ValueTask DisposeAsync()
    {
        WebSocket.Dispose();
        await Stream.DisposeAsync().ConfigureAwait(false);
        Socket.Dispose();
    }
}

/// <summary>
/// A stream whose writes gather in a buffer while <see cref="Batching"/> is on and go out in one write
/// on <see cref="FlushAsync(CancellationToken)"/>; with batching off (keepalive pings, close frames)
/// every write goes out at once. Writes and flushes are serialised, so a ping never splits a burst.
/// </summary>
internal sealed class CoalescingStream(Stream inner) : Stream
{
    private readonly SemaphoreSlim _lock = new(1, 1);
    private byte[] _buffer = new byte[64 * 1024];
    private int _count;

    public volatile bool Batching;

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_count + data.Length > _buffer.Length)
            {
                await FlushLockedAsync(cancellationToken).ConfigureAwait(false);
                if (data.Length > _buffer.Length) Array.Resize(ref _buffer, data.Length);
            }
            data.Span.CopyTo(_buffer.AsSpan(_count));
            _count += data.Length;
            if (!Batching) await FlushLockedAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _lock.Release();
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async Task FlushAsync(CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await FlushLockedAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _lock.Release();
        }
    }

    private async Task FlushLockedAsync(CancellationToken cancellationToken)
    {
        if (_count == 0) return;
        var count = _count;
        _count = 0;
        await inner.WriteAsync(_buffer.AsMemory(0, count), cancellationToken).ConfigureAwait(false);
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.ReadAsync(buffer, offset, count, cancellationToken);
    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count).GetAwaiter().GetResult();
    public override void Flush() => FlushAsync().GetAwaiter().GetResult();
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }
}
