namespace NetDumplings.WebSockets;

/// <summary>
/// The one stream under every WebSocket we open or accept (hub peers and hub clients alike).
/// Reads first return any bytes that arrived with the handshake, and small reads are buffered: the
/// WebSocket reads a frame header, then its payload, so one socket read serves many small frames.
/// Writes are serialised by one lock, so that whole bursts of frames we built ourselves (one write
/// for many dumplings) never interleave with the control frames (ping, pong, close) that the
/// WebSocket object writes, each of which arrives here as one whole write.
/// </summary>
public sealed class FrameStream(Stream inner, ReadOnlyMemory<byte> leftover) : Stream
{
    private const int BurstBytes = 64 * 1024;
    private const int ReadBufferBytes = 16 * 1024;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private ReadOnlyMemory<byte> _leftover = leftover;
    private byte[]? _burst;
    private byte[]? _readBuffer;

    /// <summary>The transport underneath (a NetworkStream, or an SslStream over one).</summary>
    public Stream Inner => inner;

    /// <summary>Called when every buffered byte has been read and the next read will wait on the socket.</summary>
    public Action? BeforeSocketRead { get; set; }

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <summary>
    /// The largest frame payload the peer may announce (the hub sets its message limit). A frame header
    /// announcing more is refused as soon as its header arrives: the peer gets a 1009 close and the read
    /// fails with <see cref="FrameTooLargeException"/>, instead of the WebSocket waiting for the payload.
    /// Null (clients) checks nothing.
    /// </summary>
    public long? MaxIncomingFrameBytes { get; set; }

    /// <summary>The payload length of the frame refused by <see cref="MaxIncomingFrameBytes"/>; 0 when none was.</summary>
    public long RefusedFrameLength { get; private set; }

    // Where the incoming bytes stand in the peer's frames: header bytes so far, or payload bytes left.
    private readonly byte[] _frameHeader = new byte[14];
    private int _frameHeaderLength;
    private long _framePayloadLeft;

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        MaxIncomingFrameBytes is null ? ReadCoreAsync(buffer, cancellationToken) : ReadCheckedAsync(buffer, cancellationToken);

    private async ValueTask<int> ReadCheckedAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var read = await ReadCoreAsync(buffer, cancellationToken).ConfigureAwait(false);
        var announced = FindOversizedFrame(buffer.Span[..read], MaxIncomingFrameBytes!.Value);
        if (announced < 0) return read;
        RefusedFrameLength = announced;
        var limit = MaxIncomingFrameBytes.Value;
        // Said as the original says it (1009), written here because the WebSocket is about to abort.
        try
        {
            await WriteAsync(WebSocketFrames.ServerClose(1009, $"frame of {announced} bytes over the limit of {limit}"), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException) { }
        throw new FrameTooLargeException(announced, limit);
    }

    /// <summary>Follows the peer's frame headers through the bytes read; returns a header's payload length over the limit, or -1.</summary>
    private long FindOversizedFrame(ReadOnlySpan<byte> data, long limit)
    {
        while (!data.IsEmpty)
        {
            if (_framePayloadLeft > 0)
            {
                var skip = (int)Math.Min(_framePayloadLeft, data.Length);
                _framePayloadLeft -= skip;
                data = data[skip..];
                continue;
            }
            _frameHeader[_frameHeaderLength++] = data[0];
            data = data[1..];
            if (_frameHeaderLength < 2) continue;
            var length7 = _frameHeader[1] & 0x7F;
            var needed = 2 + (length7 == 126 ? 2 : length7 == 127 ? 8 : 0) + ((_frameHeader[1] & 0x80) != 0 ? 4 : 0);
            if (_frameHeaderLength < needed) continue;
            var length = length7 < 126 ? (ulong)length7
                : length7 == 126 ? System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(_frameHeader.AsSpan(2))
                : System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(_frameHeader.AsSpan(2));
            _frameHeaderLength = 0;
            if (length > (ulong)limit) return length > long.MaxValue ? long.MaxValue : (long)length;
            _framePayloadLeft = (long)length;
        }
        return -1;
    }

    private async ValueTask<int> ReadCoreAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (!_leftover.IsEmpty)
        {
            var n = Math.Min(buffer.Length, _leftover.Length);
            _leftover[..n].CopyTo(buffer);
            _leftover = _leftover[n..];
            return n;
        }
        BeforeSocketRead?.Invoke();
        if (buffer.Length >= ReadBufferBytes)
            return await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        var readBuffer = _readBuffer ??= new byte[ReadBufferBytes];
        var read = await inner.ReadAsync(readBuffer, cancellationToken).ConfigureAwait(false);
        if (read == 0) return 0;
        var copied = Math.Min(read, buffer.Length);
        readBuffer.AsSpan(0, copied).CopyTo(buffer.Span);
        _leftover = readBuffer.AsMemory(copied, read - copied);
        return copied;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
            await inner.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally { _writeLock.Release(); }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    /// <summary>Writes whole pre-built frames, coalesced into as few transport writes as their size allows.</summary>
    public async ValueTask WriteFramesAsync<T>(IReadOnlyList<T> frames, Func<T, byte[]> bytesOf, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var burst = _burst ??= new byte[BurstBytes];
            var used = 0;
            for (var i = 0; i < frames.Count; i++)
            {
                var bytes = bytesOf(frames[i]);
                if (bytes.Length > BurstBytes)
                {
                    if (used > 0) { await inner.WriteAsync(burst.AsMemory(0, used), cancellationToken).ConfigureAwait(false); used = 0; }
                    await inner.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
                    continue;
                }
                if (used + bytes.Length > BurstBytes)
                {
                    await inner.WriteAsync(burst.AsMemory(0, used), cancellationToken).ConfigureAwait(false);
                    used = 0;
                }
                bytes.CopyTo(burst.AsSpan(used));
                used += bytes.Length;
            }
            if (used > 0) await inner.WriteAsync(burst.AsMemory(0, used), cancellationToken).ConfigureAwait(false);
            await inner.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally { _writeLock.Release(); }
    }

    public override void Flush() { }
    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }
}

/// <summary>The peer announced a frame larger than <see cref="FrameStream.MaxIncomingFrameBytes"/>; it was refused with 1009.</summary>
public sealed class FrameTooLargeException(long announced, long limit)
    : IOException($"the peer announced a frame of {announced} bytes, over the limit of {limit}")
{
    public long Announced { get; } = announced;
    public long Limit { get; } = limit;
}
