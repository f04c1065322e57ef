using NetDumplings.Protocol;
using System.Net.WebSockets;
using System.Threading.Channels;
using NetDumplings.Eater;
using NetDumplings.Hub;

namespace NetDumplings.Sending;

/// <summary>Tuning for <see cref="DumplingSender"/>.</summary>
public sealed record DumplingSenderOptions
{
    /// <summary>Dumplings waiting to be sent; <see cref="DumplingSender.SendAsync"/> waits while it is full.</summary>
    public int OutboxCapacity { get; init; } = 8192;
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);
    public TimeSpan CloseTimeout { get; init; } = TimeSpan.FromSeconds(2);
    public TimeSpan KeepAliveInterval { get; init; } = TimeSpan.FromSeconds(20);
    public TimeSpan KeepAliveTimeout { get; init; } = TimeSpan.FromSeconds(20);
}

/// <summary>
/// A kitchen-role hub client for one-off senders such as Send-Dumpling: connects to the in-port,
/// announces a kitchen, then sends dumplings from a bounded outbox on a background task. Whatever
/// is queued when the task wakes goes out as one batch of frames and one flush (see
/// <see cref="BatchingStream"/>), so the caller never waits for the network per dumpling.
/// </summary>
public sealed class DumplingSender : IAsyncDisposable
{
    private readonly ClientWebSocket _ws;
    private readonly BatchingStream _stream;
    private readonly HubAddress _hub;
    private readonly DumplingSenderOptions _options;
    private readonly Channel<Dumpling> _outbox;
    private readonly Task _sendLoop;
    private readonly Task _receiveLoop;
    private volatile bool _stopping;
    private volatile bool _closing;
    private volatile Exception? _failure;
    private long _sent;
    private int _closed;

    private DumplingSender(ClientWebSocket ws, BatchingStream stream, HubAddress hub, DumplingSenderOptions options)
    {
        _ws = ws;
        _stream = stream;
        _hub = hub;
        _options = options;
        _outbox = Channel.CreateBounded<Dumpling>(new BoundedChannelOptions(options.OutboxCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _sendLoop = Task.Run(SendLoopAsync);
        _receiveLoop = Task.Run(ReceiveLoopAsync);
    }

    /// <summary>Dumplings handed to the socket so far.</summary>
    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>Connects to the hub's in-port and sends the kitchen's announcement.</summary>
    /// <exception cref="DumplingHubUnreachableException">The hub cannot be reached.</exception>
    public static async Task<DumplingSender> ConnectAsync(HubAddress hub, KitchenAnnouncement announcement,
        DumplingSenderOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new DumplingSenderOptions();
        BatchingStream? stream = null;
        var ws = await HubSocket.ConnectAsync(hub, options.KeepAliveInterval, options.KeepAliveTimeout, options.ConnectTimeout,
            s => stream = new BatchingStream(s), cancellationToken).ConfigureAwait(false);
        try
        {
            await ws.SendAsync(announcement.ToUtf8Json(), WebSocketMessageType.Text, true, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            ws.Dispose();
            throw new DumplingHubUnreachableException(hub.ToString(), $"The hub at {hub} dropped the connection during the kitchen's announcement: {e.Message}", e);
        }
        return new DumplingSender(ws, stream!, hub, options);
    }

    /// <summary>Queues a dumpling; completes at once unless the outbox is full.</summary>
    /// <exception cref="DumplingHubConnectionLostException">The connection to the hub is gone.</exception>
    public ValueTask SendAsync(Dumpling dumpling, CancellationToken cancellationToken = default)
    {
        ThrowIfFailed();
        if (_outbox.Writer.TryWrite(dumpling)) return ValueTask.CompletedTask;
        return WaitAndSendAsync(dumpling, cancellationToken);
    }

    private async ValueTask WaitAndSendAsync(Dumpling dumpling, CancellationToken cancellationToken)
    {
        try
        {
            await _outbox.Writer.WriteAsync(dumpling, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            ThrowIfFailed();
            throw new InvalidOperationException("The sender is closed.");
        }
    }

    /// <summary>Sends everything queued, then closes normally (1000).</summary>
    public async Task CompleteAsync(CancellationToken cancellationToken = default)
    {
        _outbox.Writer.TryComplete();
        await _sendLoop.WaitAsync(cancellationToken).ConfigureAwait(false);
        ThrowIfFailed();
        await CloseAsync(WebSocketCloseStatus.NormalClosure, "").ConfigureAwait(false);
    }

    /// <summary>Stops without sending what is still queued and closes with 4101 <c>connection cancelled</c>.</summary>
    public async ValueTask DisposeAsync()
    {
        _stopping = true;
        _outbox.Writer.TryComplete();
        await CloseAsync((WebSocketCloseStatus)DumplingEater.ConnectionCancelled, "connection cancelled").ConfigureAwait(false);
    }

    private async Task CloseAsync(WebSocketCloseStatus code, string reason)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0) return;
        // One send at most is in flight once the loop sees _stopping; it must finish before the close frame.
        await Task.WhenAny(_sendLoop, Task.Delay(_options.CloseTimeout)).ConfigureAwait(false);
        _closing = true;
        using var timeout = new CancellationTokenSource(_options.CloseTimeout);
        try
        {
            if (_ws.State == WebSocketState.Open)
                await _ws.CloseOutputAsync(code, reason, timeout.Token).ConfigureAwait(false);
            await _receiveLoop.WaitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or IOException or ObjectDisposedException)
        {
            // The hub did not answer the close in time or the connection is already gone.
        }
        finally
        {
            _ws.Abort();
            _ws.Dispose();
        }
    }

    private async Task SendLoopAsync()
    {
        var reader = _outbox.Reader;
        try
        {
            while (!_stopping && await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                _stream.Holding = true;
                try
                {
                    while (!_stopping && reader.TryRead(out var dumpling))
                    {
                        await _ws.SendAsync(dumpling.Utf8Json, WebSocketMessageType.Text, true, CancellationToken.None).ConfigureAwait(false);
                        Interlocked.Increment(ref _sent);
                    }
                }
                finally
                {
                    _stream.Holding = false;
                }
                await _stream.FlushAsync(CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException)
        {
            Fail($"The connection to the hub at {_hub} broke while sending: {e.Message}", e);
        }
    }

    private async Task ReceiveLoopAsync()
    {
        // A hub sends a kitchen nothing but pings and its close; reading is what answers them.
        var scratch = new byte[1024];
        try
        {
            while (true)
            {
                var result = await _ws.ReceiveAsync(scratch.AsMemory(), CancellationToken.None).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    if (!_closing)
                        Fail($"The hub at {_hub} closed the connection ({(int?)_ws.CloseStatus} {_ws.CloseStatusDescription}).", null);
                    return;
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            if (!_closing) Fail($"The connection to the hub at {_hub} broke: {e.Message}", e);
        }
    }

    private void Fail(string message, Exception? inner)
    {
        _failure ??= new DumplingHubConnectionLostException(_hub.ToString(), message, inner);
        _stopping = true;
        _outbox.Writer.TryComplete();
    }

    private void ThrowIfFailed()
    {
        if (_failure is { } failure) throw failure;
    }
}
