using System.Net.Sockets;

namespace NetDumplings.Hub;

/// <summary>
/// The stream under a peer's WebSocket. Reads first return any bytes that arrived with the handshake,
/// and are buffered.
/// Writes are serialised by one lock so that the hub can write many pre-built frames to an eater in
/// one buffered burst (one syscall for a whole drained queue) between the control frames (pong, ping,
/// close) that the WebSocket writes itself, each of which arrives here as one whole write.
/// </summary>
internal sealed class PeerStream(NetworkStream inner, ReadOnlyMemory<byte> leftover) : Stream
{
    private const int BurstBytes = 64 * 1024;
    private const int ReadBufferBytes = 16 * 1024;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private ReadOnlyMemory<byte> _leftover = leftover;
    private byte[]? _burst;
    private byte[]? _readBuffer;

    /// <summary>Called when every buffered byte has been read and the next read will wait on the socket.</summary>
    public Action? BeforeSocketRead { get; set; }

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
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
            return await inner.ReadAsync(buffer, cancellationToken);
        // The WebSocket reads a frame header, then its payload, in small reads; one socket read
        // here serves many small frames (a kitchen's dumplings arrive back to back).
        var readBuffer = _readBuffer ??= new byte[ReadBufferBytes];
        var read = await inner.ReadAsync(readBuffer, cancellationToken);
        if (read == 0) return 0;
        var copied = Math.Min(read, buffer.Length);
        readBuffer.AsSpan(0, copied).CopyTo(buffer.Span);
        _leftover = readBuffer.AsMemory(copied, read - copied);
        return copied;
    }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try { await inner.WriteAsync(buffer, cancellationToken); }
        finally { _writeLock.Release(); }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    /// <summary>Writes whole pre-built frames, coalesced into as few socket writes as their size allows.</summary>
    public async ValueTask WriteFramesAsync(IReadOnlyList<HubFrame> frames, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            var burst = _burst ??= new byte[BurstBytes];
            var used = 0;
            foreach (var frame in frames)
            {
                var bytes = frame.Bytes;
                if (bytes.Length > BurstBytes)
                {
                    if (used > 0) { await inner.WriteAsync(burst.AsMemory(0, used), cancellationToken); used = 0; }
                    await inner.WriteAsync(bytes, cancellationToken);
                    continue;
                }
                if (used + bytes.Length > BurstBytes)
                {
                    await inner.WriteAsync(burst.AsMemory(0, used), cancellationToken);
                    used = 0;
                }
                bytes.CopyTo(burst.AsSpan(used));
                used += bytes.Length;
            }
            if (used > 0) await inner.WriteAsync(burst.AsMemory(0, used), cancellationToken);
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
