using NetDumplings.Protocol;
using System.Net.WebSockets;
using NetDumplings.Hub;

namespace NetDumplings.Kitchen;

/// <summary>
/// Sends a kitchen's dumplings to a hub over one WebSocket: announce, then one text frame per
/// dumpling. When the hub is unreachable or goes away it reconnects with backoff while the outbox
/// holds what the chefs make; a dumpling whose send failed is sent again after the reconnect.
/// </summary>
internal sealed class HubSender : DumplingSink
{
    private const int BurstSize = 256;
    private static readonly TimeSpan Linger = TimeSpan.FromMilliseconds(1);
    private readonly HubAddress _hub;
    private readonly Backoff _backoff;
    private readonly Action<KitchenNotice> _notify;
    private readonly CancellationTokenSource _abort = new();
    private byte[] _announcement = [];
    private Task _run = Task.CompletedTask;
    private volatile bool _connected;
    private long _connects;
    private volatile bool _cancelledByUser;

    public HubSender(HubAddress hub, int capacity, Backoff backoff, Action<KitchenNotice> notify) : base(capacity)
    {
        _hub = hub;
        _backoff = backoff;
        _notify = notify;
    }

    public override bool Connected => _connected;
    public override long Connects => Interlocked.Read(ref _connects);

    public override void Start(byte[] announcement)
    {
        _announcement = announcement;
        _run = Task.Run(RunAsync);
    }

    private async Task RunAsync()
    {
        var attempt = 0;
        var pending = new List<Dumpling>(BurstSize);
        var frames = new ClientFrameWriter();
        var token = _abort.Token;
        while (!token.IsCancellationRequested)
        {
            HubConnection connection;
            try
            {
                using var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(token);
                connectTimeout.CancelAfter(TimeSpan.FromSeconds(10));
                connection = await HubConnection.ConnectAsync(_hub, connectTimeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (!token.IsCancellationRequested)
            {
                var delay = _backoff.Delay(attempt++);
                _notify(new KitchenNotice(attempt == 1 ? KitchenNoticeLevel.Warning : KitchenNoticeLevel.Verbose,
                    $"Cannot reach the hub at {_hub}: {e.Message}. Retrying in {delay.TotalSeconds:0.##} s; dumplings wait in the outbox."));
                if (!await DelayAsync(delay, token).ConfigureAwait(false)) break;
                continue;
            }
            catch (OperationCanceledException)
            {
                break;
            }
            await using var _ = connection;
            var socket = connection.WebSocket;

            attempt = 0;
            _connected = true;
            Interlocked.Increment(ref _connects);
            _notify(new KitchenNotice(KitchenNoticeLevel.Verbose, $"Connected to the hub at {_hub}."));
            using var lost = CancellationTokenSource.CreateLinkedTokenSource(token);
            var receiving = WatchForCloseAsync(socket, lost);
            try
            {
                await socket.SendAsync(_announcement, WebSocketMessageType.Text, true, lost.Token).ConfigureAwait(false);
                while (true)
                {
                    if (pending.Count == 0)
                    {
                        if (!Outbox.Reader.TryRead(out var next))
                        {
                            if (!await Outbox.Reader.WaitToReadAsync(lost.Token).ConfigureAwait(false))
                            {
                                await CloseAsync(socket).ConfigureAwait(false);
                                _connected = false;
                                return;
                            }
                            continue;
                        }
                        // Linger a moment when only a few are waiting: under load a burst then carries
                        // dozens of dumplings for one wake-up and one socket write instead of one each.
                        if (Outbox.Reader.Count < BurstSize / 4)
                            await Task.Delay(Linger, lost.Token).ConfigureAwait(false);
                        pending.Add(next);
                        while (pending.Count < BurstSize && Outbox.Reader.TryRead(out next)) pending.Add(next);
                    }
                    // A burst: frame the dumplings into one buffer and write it at once. Until that write
                    // succeeds they stay pending and are sent again after a reconnect (at least once).
                    frames.Clear();
                    foreach (var dumpling in pending) frames.AddText(dumpling.Utf8Json.Span);
                    await connection.Stream.WriteAsync(frames.Written, lost.Token).ConfigureAwait(false);
                    CountSent(pending.Count);
                    pending.Clear();
                }
            }
            catch (Exception e) when (!token.IsCancellationRequested)
            {
                _notify(new KitchenNotice(KitchenNoticeLevel.Warning,
                    $"Lost the hub at {_hub} ({(e is OperationCanceledException ? "it closed the connection" : e.Message)}); reconnecting."));
            }
            catch (OperationCanceledException)
            {
            }
            finally
            {
                _connected = false;
                lost.Cancel();
                await receiving.ConfigureAwait(false);
            }
            if (!token.IsCancellationRequested && !await DelayAsync(_backoff.Delay(attempt++), token).ConfigureAwait(false)) break;
        }

        // Gave up (stopped before the outbox drained): what is left is lost, and counted.
        var left = pending.Count;
        while (Outbox.Reader.TryRead(out _)) left++;
        CountDropped(left);
    }

    private static async Task<bool> DelayAsync(TimeSpan delay, CancellationToken token)
    {
        try
        {
            await Task.Delay(delay, token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>The hub sends nothing to kitchens; reading notices its close frame (1001 on shutdown) or a dead connection.</summary>
    private static async Task WatchForCloseAsync(WebSocket socket, CancellationTokenSource lost)
    {
        var buffer = new byte[1024];
        try
        {
            while (!lost.IsCancellationRequested)
            {
                var result = await socket.ReceiveAsync(buffer, lost.Token).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close) break;
            }
        }
        catch (Exception)
        {
        }
        lost.Cancel();
    }

    private async Task CloseAsync(WebSocket socket)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            if (_cancelledByUser)
                await socket.CloseOutputAsync((WebSocketCloseStatus)4101, "connection cancelled", timeout.Token).ConfigureAwait(false);
            else
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "kitchen finished", timeout.Token).ConfigureAwait(false);
        }
        catch (Exception)
        {
        }
    }

    public override async Task CompleteAsync(TimeSpan drainTimeout, bool cancelledByUser)
    {
        _cancelledByUser = cancelledByUser;
        Outbox.Writer.TryComplete();
        // A user who stops a kitchen whose hub is away wants it stopped, not a wait for the hub.
        if (cancelledByUser && !_connected) drainTimeout = TimeSpan.Zero;
        if (await Task.WhenAny(_run, Task.Delay(drainTimeout)).ConfigureAwait(false) != _run)
        {
            _notify(new KitchenNotice(KitchenNoticeLevel.Warning,
                $"Gave up delivering to the hub at {_hub} after {drainTimeout.TotalSeconds:0.#} s; {Outbox.Reader.Count} dumplings were not sent."));
            _abort.Cancel();
            await _run.ConfigureAwait(false);
        }
        _abort.Dispose();
    }
}
