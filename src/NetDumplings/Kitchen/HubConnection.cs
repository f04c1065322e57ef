using NetDumplings.Protocol;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using NetDumplings.Hub;

namespace NetDumplings.Kitchen;

/// <summary>
/// The kitchen's WebSocket to a hub, opened with a small RFC 6455 client handshake over a TCP socket
/// so that the sender can frame a burst of dumplings itself into one buffer and send it with one
/// socket write (ClientWebSocket writes every frame on its own: a syscall, a TCP segment and several
/// microseconds per dumpling). The WebSocket object still reads (close, pings) and writes control frames.
/// </summary>
internal sealed class HubConnection : IAsyncDisposable
{
    private const string AcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

    private HubConnection(Socket socket, SerializedWriteStream stream, WebSocket webSocket)
    {
        Socket = socket;
        Stream = stream;
        WebSocket = webSocket;
    }

    public Socket Socket { get; }
    public SerializedWriteStream Stream { get; }
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

            var stream = new SerializedWriteStream(network);
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
/// The connection's stream with its writes serialised: the sender writes whole bursts of frames it
/// built itself, and the WebSocket writes its own control frames (pings, pongs, close), never
/// interleaved inside one another.
/// </summary>
internal sealed class SerializedWriteStream(Stream inner) : Stream
{
    private readonly SemaphoreSlim _lock = new(1, 1);

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await inner.WriteAsync(data, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _lock.Release();
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.ReadAsync(buffer, offset, count, cancellationToken);
    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count).GetAwaiter().GetResult();
    public override void Flush() { }
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

/// <summary>
/// Builds masked client text frames (RFC 6455 5.2) for a burst of dumplings into one buffer:
/// ManagedWebSocket.SendAsync costs several microseconds per message, this a copy and an XOR.
/// </summary>
internal sealed class ClientFrameWriter
{
    private byte[] _buffer = new byte[256 * 1024];
    private int _length;

    public ReadOnlyMemory<byte> Written => _buffer.AsMemory(0, _length);

    public void Clear() => _length = 0;

    public void AddText(ReadOnlySpan<byte> payload)
    {
        var header = payload.Length < 126 ? 2 : payload.Length <= ushort.MaxValue ? 4 : 10;
        var needed = _length + header + 4 + payload.Length;
        if (needed > _buffer.Length) Array.Resize(ref _buffer, Math.Max(needed, _buffer.Length * 2));
        var frame = _buffer.AsSpan(_length);
        frame[0] = 0x81; // FIN, text
        if (header == 2) frame[1] = (byte)(0x80 | payload.Length);
        else if (header == 4) { frame[1] = 0x80 | 126; System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(frame[2..], (ushort)payload.Length); }
        else { frame[1] = 0x80 | 127; System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(frame[2..], (ulong)payload.Length); }
        // The masking key only keeps browsers' proxies safe from script-chosen bytes; a fast PRNG will do.
        var key = (uint)Random.Shared.Next() ^ ((uint)Random.Shared.Next() << 1);
        var mask = frame.Slice(header, 4);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(mask, key);
        var body = frame.Slice(header + 4, payload.Length);
        payload.CopyTo(body);
        Mask(body, key);
        _length = needed;
    }

    private static void Mask(Span<byte> data, uint key)
    {
        var wide = key | ((ulong)key << 32);
        var words = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(data);
        for (var i = 0; i < words.Length; i++) words[i] ^= wide;
        for (var i = words.Length * 8; i < data.Length; i++) data[i] ^= (byte)(key >> (8 * (i & 3)));
    }
}
