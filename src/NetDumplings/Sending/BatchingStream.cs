namespace NetDumplings.Sending;

/// <summary>
/// Wraps a connection's stream so that, while <see cref="Holding"/> is set, writes collect in a buffer
/// and go out together on <see cref="FlushAsync(CancellationToken)"/>: a burst of small WebSocket
/// frames then costs one system call and a few TCP segments instead of one each (the socket has
/// NoDelay on). While not holding, every write goes straight through (pongs, close frames).
/// </summary>
internal sealed class BatchingStream(Stream inner, int capacity = 64 * 1024) : Stream
{
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly byte[] _buffer = new byte[capacity];
    private int _count;

    /// <summary>Set by the sender for the length of a batch; cleared before the final flush.</summary>
    public volatile bool Holding;

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_count + data.Length > _buffer.Length) await DrainAsync(cancellationToken).ConfigureAwait(false);
            if (data.Length >= _buffer.Length)
                await inner.WriteAsync(data, cancellationToken).ConfigureAwait(false);
            else
            {
                data.Span.CopyTo(_buffer.AsSpan(_count));
                _count += data.Length;
            }
            if (!Holding) await DrainAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _lock.Release();
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override async Task FlushAsync(CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await DrainAsync(cancellationToken).ConfigureAwait(false);
            await inner.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _lock.Release();
        }
    }

    public override void Flush() => FlushAsync(CancellationToken.None).GetAwaiter().GetResult();

    private async ValueTask DrainAsync(CancellationToken cancellationToken)
    {
        if (_count == 0) return;
        var count = _count;
        _count = 0;
        await inner.WriteAsync(_buffer.AsMemory(0, count), cancellationToken).ConfigureAwait(false);
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.ReadAsync(buffer, offset, count, cancellationToken);
    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

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

    public override async ValueTask DisposeAsync()
    {
        await inner.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
