using System.Net.WebSockets;
using System.Text.Json;
using System.Threading.Channels;
using NetDumplings.Protocol;
using NetDumplings.WebSockets;

namespace NetDumplings.Client;

/// <summary>
/// The kitchen role of the one client stack, for kitchens and Send-Dumpling alike: announces a
/// kitchen, then sends dumplings from a bounded outbox on a background task, in bursts (one socket
/// write for many). When the hub goes away it reconnects with backoff while the outbox holds what
/// is made meanwhile.
/// Delivery: a hub of ours acknowledges what it has taken (a protocol extension the kitchen asks
/// for in its announcement); what was written but not acknowledged when a connection broke is sent
/// again after the reconnect, so each dumpling is delivered once or counted as not sent. With a hub
/// that sends no acknowledgements (the original), a burst whose write failed is sent again (at least once).
/// </summary>
public sealed class DumplingSender : IAsyncDisposable
{
    private const int BurstSize = 256;
    private static readonly TimeSpan Linger = TimeSpan.FromMilliseconds(1);

    private readonly DumplingSenderOptions _options;
    private readonly HubConnector _connector;
    private readonly Channel<Dumpling> _outbox;
    private readonly CancellationTokenSource _abort = new();
    private readonly object _lock = new();
    private readonly List<Dumpling> _resend = [];          // to send first on the next connection
    // Written (or being written) and not yet acknowledged on this connection, with each one's number on it:
    // an acknowledgement can arrive before the write that carried the dumpling has even returned.
    private readonly Queue<(long Number, Dumpling Dumpling)> _unacknowledged = new();
    private TaskCompletionSource _acknowledged = NewSignal();
    private Task _run = Task.CompletedTask;
    private volatile Exception? _failure;
    private volatile bool _connected;
    private volatile bool _cancelledByUser;
    private bool _acknowledging;   // this connection's hub acknowledges (guarded by _lock)
    private long _connectionWritten; // messages handed to this connection's socket (guarded by _lock)
    private long _sent, _dropped, _connects;

    private DumplingSender(KitchenAnnouncement announcement, DumplingSenderOptions options)
    {
        _options = options;
        var bytes = (announcement with { Acknowledge = true }).ToUtf8Json();
        _connector = new HubConnector(options, () => bytes, "kitchen", Raise);
        _outbox = Channel.CreateBounded<Dumpling>(new BoundedChannelOptions(options.OutboxCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <summary>Connection changes and lost dumplings. Raised on background threads: hand them on, never block.</summary>
    public event EventHandler<HubClientEventArgs>? Event;

    public DumplingSenderOptions Options => _options;

    /// <summary>Dumplings the hub has taken (acknowledged, or written to a hub that does not acknowledge).</summary>
    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>Dumplings lost and counted: outbox full, too large, or still held when the sender gave up.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Dumplings held: in the outbox, or written and not yet acknowledged.</summary>
    public long Queued
    {
        get { lock (_lock) return _outbox.Reader.Count + _resend.Count + _unacknowledged.Count; }
    }

    public bool Connected => _connected;
    public long Connects => Interlocked.Read(ref _connects);

    /// <summary>After the sender stopped: the dumplings it could not deliver (also counted in <see cref="Dropped"/>), in order.</summary>
    public IReadOnlyList<Dumpling> NotDelivered { get; private set; } = [];

    /// <summary>Why the sender stopped for good, if it did (refused, or the hub lost with reconnecting off).</summary>
    public Exception? Failure => _failure;

    /// <summary>Connects to the hub's in-port and announces (failing at once when it cannot), then sends in the background.</summary>
    /// <exception cref="DumplingHubUnreachableException">The hub cannot be reached.</exception>
    /// <exception cref="DumplingHubRefusedException">The hub refused this kitchen (e.g. that is its out-port).</exception>
    public static async Task<DumplingSender> ConnectAsync(HubAddress hub, KitchenAnnouncement announcement,
        DumplingSenderOptions? options = null, CancellationToken cancellationToken = default)
    {
        var sender = new DumplingSender(announcement, (options ?? new DumplingSenderOptions()) with { Hub = hub });
        var connection = await sender._connector.ConnectAsync(reconnecting: false, cancellationToken).ConfigureAwait(false);
        var refusal = await sender.AwaitWelcomeAsync(connection).ConfigureAwait(false);
        if (refusal is not null)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw refusal;
        }
        sender._run = Task.Run(() => sender.RunAsync(connection));
        return sender;
    }

    /// <summary>Starts connecting in the background (a kitchen: it waits for its hub when <see cref="HubClientOptions.WaitForHub"/>).</summary>
    public static DumplingSender Start(KitchenAnnouncement announcement, DumplingSenderOptions options, EventHandler<HubClientEventArgs>? onEvent = null)
    {
        var sender = new DumplingSender(announcement, options);
        if (onEvent is not null) sender.Event += onEvent;
        sender._run = Task.Run(() => sender.RunAsync(null));
        return sender;
    }

    /// <summary>Queues without waiting: false (dropped and counted) when the outbox is full or the dumpling too large.</summary>
    public bool TryOffer(Dumpling dumpling)
    {
        if (dumpling.Utf8Json.Length > _options.MaxDumplingBytes)
        {
            Lose(1, new DumplingTooLargeException(dumpling.Utf8Json.Length, _options.MaxDumplingBytes).Message);
            return false;
        }
        if (_outbox.Writer.TryWrite(dumpling)) return true;
        Interlocked.Increment(ref _dropped);
        return false;
    }

    /// <summary>Queues a dumpling; completes at once unless the outbox is full (then it waits for room).</summary>
    /// <exception cref="DumplingTooLargeException">Too large for the hub: not sent, and the sender goes on.</exception>
    /// <exception cref="DumplingHubConnectionLostException">The sender stopped for good (see <see cref="Failure"/>).</exception>
    public ValueTask SendAsync(Dumpling dumpling, CancellationToken cancellationToken = default)
    {
        ThrowIfFailed();
        if (dumpling.Utf8Json.Length > _options.MaxDumplingBytes)
            throw new DumplingTooLargeException(dumpling.Utf8Json.Length, _options.MaxDumplingBytes);
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

    /// <summary>
    /// No more dumplings: delivers what is held (reconnecting if need be) within <paramref name="drainTimeout"/>,
    /// then closes (1000, or 4101 when <paramref name="cancelledByUser"/>). What could not be delivered is counted as dropped.
    /// </summary>
    public async Task CompleteAsync(TimeSpan drainTimeout, bool cancelledByUser = false, CancellationToken cancellationToken = default)
    {
        _cancelledByUser = cancelledByUser;
        _outbox.Writer.TryComplete();
        // A user who stops a sender whose hub is away wants it stopped, not a wait for the hub.
        if (cancelledByUser && !_connected) drainTimeout = TimeSpan.Zero;
        var finished = false;
        try
        {
            finished = await Task.WhenAny(_run, Task.Delay(drainTimeout, cancellationToken)).ConfigureAwait(false) == _run;
        }
        finally
        {
            if (!finished)
            {
                _abort.Cancel();
                await _run.ConfigureAwait(false);
            }
        }
    }

    /// <summary>Sends everything queued, then closes normally (1000); throws when the sender stopped for good.</summary>
    public async Task CompleteAsync(CancellationToken cancellationToken = default)
    {
        await CompleteAsync(Timeout.InfiniteTimeSpan, cancelledByUser: false, cancellationToken).ConfigureAwait(false);
        ThrowIfFailed();
    }

    /// <summary>Stops without sending what is still queued (counted as dropped) and closes with 4101 <c>connection cancelled</c>.</summary>
    public async ValueTask DisposeAsync()
    {
        _cancelledByUser = true;
        _outbox.Writer.TryComplete();
        _abort.Cancel();
        await _run.ConfigureAwait(false);
    }

    private async Task RunAsync(HubConnection? connection)
    {
        var token = _abort.Token;
        var frames = new ClientFrameBuffer();
        var burst = new List<Dumpling>(BurstSize);
        var reconnecting = false;
        try
        {
            while (!token.IsCancellationRequested)
            {
                if (connection is null)
                {
                    connection = await _connector.ConnectAsync(reconnecting, token).ConfigureAwait(false);
                    if (await AwaitWelcomeAsync(connection).ConfigureAwait(false) is { } refusal) throw refusal;
                }
                reconnecting = true;
                await using (connection.ConfigureAwait(false))
                {
                    _connected = true;
                    Interlocked.Increment(ref _connects);
                    var done = await SendOverAsync(connection, frames, burst, token).ConfigureAwait(false);
                    _connected = false;
                    if (done) return;
                }
                connection = null;
                if (!_options.Reconnect && !token.IsCancellationRequested)
                    throw _failure ?? new DumplingHubConnectionLostException(_options.Hub.ToString(), $"Lost the hub at {_options.Hub}.");
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is DumplingHubRefusedException or DumplingHubUnreachableException or DumplingHubConnectionLostException)
        {
            _failure ??= e;
            Raise(new HubClientEventArgs(HubClientEventKind.Disconnected, e.Message) { Exception = e });
        }
        finally
        {
            _connected = false;
            _outbox.Writer.TryComplete();
            // Stopped before everything was delivered: what is left is lost, and counted.
            var left = new List<Dumpling>();
            lock (_lock)
            {
                left.AddRange(_resend);
                left.AddRange(_unacknowledged.Select(u => u.Dumpling));
                _resend.Clear();
                _unacknowledged.Clear();
            }
            left.AddRange(burst);
            while (_outbox.Reader.TryRead(out var queued)) left.Add(queued);
            NotDelivered = left;
            if (left.Count > 0) Lose(left.Count, $"{left.Count} dumplings were not delivered to the hub at {_options.Hub}{(_failure is null ? "" : $" ({_failure.Message.TrimEnd('.')})")}.");
        }
    }

    /// <summary>
    /// Sends over one connection until the outbox is complete and delivered (true) or the connection
    /// is lost (false; what it held goes back to be resent).
    /// </summary>
    private async Task<bool> SendOverAsync(HubConnection connection, ClientFrameBuffer frames, List<Dumpling> burst, CancellationToken token)
    {
        using var lost = CancellationTokenSource.CreateLinkedTokenSource(token);
        var receiving = ReadAcknowledgementsAsync(connection, lost);
        var completed = false;
        try
        {
            while (true)
            {
                if (burst.Count == 0 && !await FillBurstAsync(burst, lost.Token).ConfigureAwait(false))
                {
                    completed = await WaitForAcknowledgementsAsync(lost.Token).ConfigureAwait(false);
                    break;
                }
                await WaitForWindowAsync(burst.Count, lost.Token).ConfigureAwait(false);
                frames.Clear();
                foreach (var dumpling in burst) frames.AddText(dumpling.Utf8Json.Span);
                var tracked = Track(burst);
                await connection.Stream.WriteAsync(frames.Written, lost.Token).ConfigureAwait(false);
                if (!tracked) Interlocked.Add(ref _sent, burst.Count);
                burst.Clear();
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or WebSocketException or ObjectDisposedException)
        {
            if (!token.IsCancellationRequested && _failure is null)
                Raise(new HubClientEventArgs(HubClientEventKind.Disconnected,
                    $"Lost the hub at {_options.Hub} ({(e is OperationCanceledException ? "it closed the connection" : e.Message)}); reconnecting.") { Exception = e });
        }
        finally
        {
            if (completed || token.IsCancellationRequested)
                await connection.CloseAsync(_cancelledByUser ? DumplingCloseCodes.ConnectionCancelled : DumplingCloseCodes.Normal,
                    _cancelledByUser ? DumplingCloseCodes.ConnectionCancelledReason : "kitchen finished", _options.CloseTimeout).ConfigureAwait(false);
            // A write that failed (the hub closed) must not cut short the reader: the hub's last
            // acknowledgements come just before its close, and what they cover must not be resent.
            if (!completed && !token.IsCancellationRequested)
                await Task.WhenAny(receiving, Task.Delay(_options.CloseTimeout, CancellationToken.None)).ConfigureAwait(false);
            lost.Cancel();
            await receiving.ConfigureAwait(false);
            Requeue(burst);
        }
        if (_failure is not null) throw _failure;
        return completed;
    }

    /// <summary>Takes the next burst: what must be resent first, then the outbox. False when the outbox is complete and empty.</summary>
    private async Task<bool> FillBurstAsync(List<Dumpling> burst, CancellationToken token)
    {
        lock (_lock)
        {
            var n = Math.Min(BurstSize, _resend.Count);
            if (n > 0)
            {
                burst.AddRange(_resend.GetRange(0, n));
                _resend.RemoveRange(0, n);
                return true;
            }
        }
        Dumpling? first;
        while (!_outbox.Reader.TryRead(out first))
            if (!await _outbox.Reader.WaitToReadAsync(token).ConfigureAwait(false)) return false;
        // Taken from the outbox, it is in the burst at once: a connection lost from here on resends it.
        burst.Add(first);
        // Linger a moment when only a few are waiting: under load a burst then carries dozens of
        // dumplings for one wake-up and one socket write instead of one each.
        if (_outbox.Reader.Count < BurstSize / 4) await Task.Delay(Linger, token).ConfigureAwait(false);
        while (burst.Count < BurstSize && _outbox.Reader.TryRead(out var next)) burst.Add(next);
        return true;
    }

    /// <summary>
    /// Numbers the burst about to be written. With a hub that acknowledges, the burst moves into the
    /// unacknowledged queue before the write (its acknowledgement may come back first); true then.
    /// Otherwise it stays in the burst until the write succeeds (resent if it fails); false.
    /// </summary>
    private bool Track(List<Dumpling> burst)
    {
        lock (_lock)
        {
            if (!_acknowledging)
            {
                _connectionWritten += burst.Count;
                return false;
            }
            foreach (var d in burst) _unacknowledged.Enqueue((_connectionWritten++, d));
        }
        burst.Clear();
        return true;
    }

    private void Requeue(List<Dumpling> burst)
    {
        lock (_lock)
        {
            // Unacknowledged first (they were written first), then the burst whose write failed.
            _resend.InsertRange(0, [.. _unacknowledged.Select(u => u.Dumpling), .. burst]);
            _unacknowledged.Clear();
            _acknowledging = false;
            _connectionWritten = 0;
        }
        burst.Clear();
    }

    /// <summary>
    /// Waits briefly for the hub's first word after the announcement: an acknowledgement (a hub that
    /// acknowledges), or a close that refuses this kitchen (a wrong port). Returns the refusal, if any.
    /// </summary>
    private async Task<DumplingHubRefusedException?> AwaitWelcomeAsync(HubConnection connection)
    {
        var receive = connection.ReceiveAsync(1024);
        // Not answered in time: the reader below picks up the same receive.
        if (await Task.WhenAny(receive, Task.Delay(_options.AcknowledgementWait)).ConfigureAwait(false) != receive)
            return null;
        try
        {
            var (kind, _) = await receive.ConfigureAwait(false);
            if (kind == HubMessageKind.Closed) return connection.Refusal(_connector.Role) ?? null;
            if (kind == HubMessageKind.Message) TakeAcknowledgement(connection.Message.Span);
        }
        catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException)
        {
        }
        return null;
    }

    /// <summary>The hub sends a kitchen nothing but acknowledgements, pings and its close.</summary>
    private async Task ReadAcknowledgementsAsync(HubConnection connection, CancellationTokenSource lost)
    {
        try
        {
            while (!lost.IsCancellationRequested)
            {
                var (kind, _) = await connection.ReceiveAsync(1024).WaitAsync(lost.Token).ConfigureAwait(false);
                if (kind == HubMessageKind.Closed)
                {
                    if (connection.Refusal(_connector.Role) is { } refusal) _failure ??= refusal;
                    // Answer the hub's close (RFC 6455), so it can drop the connection without a reset.
                    else await connection.CloseAsync((int)(connection.Socket.CloseStatus ?? WebSocketCloseStatus.NormalClosure), "", _options.CloseTimeout).ConfigureAwait(false);
                    break;
                }
                if (kind == HubMessageKind.Message) TakeAcknowledgement(connection.Message.Span);
            }
        }
        catch (Exception)
        {
        }
        lost.Cancel();
    }

    private void TakeAcknowledgement(ReadOnlySpan<byte> message)
    {
        if (!TryReadAcknowledgement(message, out var count)) return;
        TaskCompletionSource signal;
        long taken = 0;
        lock (_lock)
        {
            _acknowledging = true;
            // The hub counts every message on this connection: the first n are taken. Those written
            // before acknowledgements began were counted as sent when written and are not queued.
            while (_unacknowledged.Count > 0 && _unacknowledged.Peek().Number < count)
            {
                _unacknowledged.Dequeue();
                taken++;
            }
            signal = _acknowledged;
            _acknowledged = NewSignal();
        }
        Interlocked.Add(ref _sent, taken);
        signal.TrySetResult();
    }

    private static bool TryReadAcknowledgement(ReadOnlySpan<byte> message, out long count)
    {
        count = 0;
        try
        {
            var reader = new Utf8JsonReader(message);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isAck = reader.ValueTextEquals(KitchenAnnouncement.AcknowledgementKey);
                if (!reader.Read()) return false;
                if (isAck && reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out count)) return true;
                reader.Skip();
            }
        }
        catch (JsonException)
        {
        }
        return false;
    }

    /// <summary>With a hub that acknowledges, never hold more than the window unacknowledged.</summary>
    private async Task WaitForWindowAsync(int adding, CancellationToken token)
    {
        while (true)
        {
            Task wait;
            lock (_lock)
            {
                if (!_acknowledging || _unacknowledged.Count == 0 || _unacknowledged.Count + adding <= _options.MaxUnacknowledged) return;
                wait = _acknowledged.Task;
            }
            await wait.WaitAsync(token).ConfigureAwait(false);
        }
    }

    /// <summary>The outbox is done: with a hub that acknowledges, wait until it has taken everything. True when it has.</summary>
    private async Task<bool> WaitForAcknowledgementsAsync(CancellationToken token)
    {
        while (true)
        {
            Task wait;
            lock (_lock)
            {
                if (_unacknowledged.Count == 0) return true;
                wait = _acknowledged.Task;
            }
            await wait.WaitAsync(token).ConfigureAwait(false);
        }
    }

    private void Lose(long count, string message)
    {
        Interlocked.Add(ref _dropped, count);
        Raise(new HubClientEventArgs(HubClientEventKind.DumplingsLost, message) { Count = count });
    }

    private void Raise(HubClientEventArgs e)
    {
        try { Event?.Invoke(this, e); }
        catch { /* a listener's failure must not stop the sender */ }
    }

    private void ThrowIfFailed()
    {
        if (_failure is { } failure) throw failure is DumplingHubRefusedException ? failure
            : new DumplingHubConnectionLostException(_options.Hub.ToString(), failure.Message, failure);
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
