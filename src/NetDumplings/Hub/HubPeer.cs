using System.Diagnostics;
using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using NetDumplings.Protocol;

using NetDumplings.WebSockets;

namespace NetDumplings.Hub;

/// <summary>What a peer's receive returned: a whole message, its close, or a message over the limit.</summary>
internal enum ReceiveOutcome { Message, Closed, TooBig }

/// <summary>A connected kitchen or eater: its socket, WebSocket, announcement and address.</summary>
internal abstract class HubPeer(DumplingHub hub, WebSocket socket, FrameStream stream, IPEndPoint remote)
{
    private byte[] _buffer = new byte[4096];

    protected DumplingHub Hub { get; } = hub;
    public WebSocket Socket { get; } = socket;
    public FrameStream Stream { get; } = stream;
    public IPEndPoint Remote { get; } = remote;

    /// <summary>The peer's announcement, as it sent it (kitchen info or eater name and filters).</summary>
    public JsonElement Announcement { get; protected set; }

    public abstract string Role { get; }

    /// <summary>The announcement key that names this kind of peer (and that an announcement must have).</summary>
    protected abstract string NameKey { get; }

    public string Name =>
        Announcement.ValueKind == JsonValueKind.Object && Announcement.TryGetProperty(NameKey, out var n) && n.ValueKind == JsonValueKind.String
            ? n.GetString()! : "?";

    public override string ToString() => $"{Role} '{Name}' ({Remote})";

    /// <summary>The bytes of the last message received.</summary>
    protected ReadOnlySpan<byte> Message => _buffer.AsSpan(0, MessageLength);
    protected int MessageLength { get; private set; }
    protected WebSocketMessageType MessageType { get; private set; }

    /// <summary>Receives one whole message, refusing to grow past the hub's message limit.</summary>
    protected async Task<ReceiveOutcome> ReceiveAsync(CancellationToken cancel)
    {
        var limit = Hub.Options.MaxMessageBytes;
        // A big message once should not pin a big buffer for the life of the connection; shrink only
        // here, once the caller has finished with the last message, which still lives in the buffer.
        if (_buffer.Length > 256 * 1024 && MessageLength < 4096) _buffer = new byte[4096];
        var length = 0;
        while (true)
        {
            if (length == _buffer.Length)
            {
                if (length > limit) return ReceiveOutcome.TooBig;
                Array.Resize(ref _buffer, (int)Math.Min((long)_buffer.Length * 2, limit + 1L));
            }
            var result = await Socket.ReceiveAsync(_buffer.AsMemory(length), cancel);
            if (result.MessageType == WebSocketMessageType.Close) return ReceiveOutcome.Closed;
            length += result.Count;
            if (length > limit) return ReceiveOutcome.TooBig;
            if (result.EndOfMessage)
            {
                MessageLength = length;
                MessageType = result.MessageType;
                return ReceiveOutcome.Message;
            }
        }
    }

    /// <summary>Receives the announcement within <paramref name="within"/> (what is left of the hub's one deadline); false (after closing the peer) when it does not come or is not valid.</summary>
    public async Task<bool> ReceiveAnnouncementAsync(TimeSpan within, CancellationToken cancel)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        var receive = ReceiveAsync(timeout.Token);
        var finished = await Task.WhenAny(receive, Task.Delay(within > TimeSpan.Zero ? within : TimeSpan.Zero, cancel));
        if (finished != receive)
        {
            await CloseAsync(WebSocketCloseStatus.PolicyViolation, $"no announcement within {Hub.Options.AnnounceTimeout.TotalSeconds:0.#} s");
            timeout.Cancel();
            try { await receive; } catch (Exception e) when (e is OperationCanceledException or WebSocketException or IOException or ObjectDisposedException) { }
            Hub.Report(HubLogLevel.Warning, $"Closed {Role} at {Remote}: it sent no announcement within {Hub.Options.AnnounceTimeout.TotalSeconds:0.#} s.");
            return false;
        }
        var outcome = await receive;
        if (outcome == ReceiveOutcome.Closed) return false;
        if (outcome == ReceiveOutcome.TooBig)
        {
            await RefuseTooBigAsync();
            return false;
        }
        string? problem = null;
        try
        {
            using var doc = JsonDocument.Parse(_buffer.AsMemory(0, MessageLength));
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                problem = $"it must be a JSON object with '{NameKey}'";
            else if (!doc.RootElement.TryGetProperty(NameKey, out _))
                problem = $"no '{NameKey}' ({WrongPortHint})";
            else if (!IsUnicodeText(doc.RootElement))
                problem = "it holds an escape that is not Unicode text (a lone surrogate such as \\udc00)";
            else
                problem = ReadAnnouncement(doc.RootElement);
            // An announcement is kept for the peer's whole life and read into every status: bound it
            // (a real one is a few hundred bytes; a hostile one could otherwise pin 1 MiB per peer).
            // Checked last, so that a more telling reason (too many filters) is the one given.
            if (problem is null && MessageLength > Hub.Options.MaxAnnouncementBytes)
                problem = $"the announcement is {MessageLength:N0} bytes; at most {Hub.Options.MaxAnnouncementBytes:N0} are taken";
            if (problem is null) Announcement = doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            problem = $"not JSON ({e.Message})";
        }
        if (problem is null) return true;
        Hub.CountRefused();
        Hub.Report(HubLogLevel.Warning, $"Refused the announcement of the {Role} at {Remote}: {problem}.");
        // Clients recognise the prefix and stop retrying (a wrong port is not fixed by reconnecting).
        await CloseAsync(WebSocketCloseStatus.PolicyViolation, DumplingCloseCodes.AnnouncementRefusedPrefix + problem);
        return false;
    }

    /// <summary>Names the other port, for a peer that connected to the wrong one.</summary>
    protected abstract string WrongPortHint { get; }

    /// <summary>Reads what this kind of peer needs from its announcement; a problem refuses it.</summary>
    protected virtual string? ReadAnnouncement(JsonElement announcement) => null;

    /// <summary>
    /// False when a string or key holds an escaped lone surrogate: valid JSON, but reading it as text
    /// throws, which would end this peer's session and every status dumpling that copies the announcement.
    /// </summary>
    private static bool IsUnicodeText(JsonElement announcement)
    {
        try
        {
            using var check = new Utf8JsonWriter(System.IO.Stream.Null);
            announcement.WriteTo(check);
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    protected async Task RefuseTooBigAsync()
    {
        Hub.Report(HubLogLevel.Warning, $"Closed {this}: it sent a message over {Hub.Options.MaxMessageBytes} bytes.");
        await CloseAsync(WebSocketCloseStatus.MessageTooBig, $"message over {Hub.Options.MaxMessageBytes} bytes");
    }

    /// <summary>Closes with a code and reason, waiting briefly for the peer's answer, then drops the connection.</summary>
    public async Task CloseAsync(WebSocketCloseStatus status, string reason, TimeSpan? lingerForPeer = null)
    {
        reason = DumplingCloseCodes.FitReason(reason);
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            if (Socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
                await Socket.CloseOutputAsync(status, reason, cts.Token);
            // Dropping a socket with unread input resets the connection, and the peer's kernel then
            // throws away what we sent last (a kitchen's final acknowledgement). Where that matters,
            // give the peer a moment to close first while the session's reader drains its input.
            if (lingerForPeer is { } linger)
            {
                var deadline = DateTime.UtcNow + linger;
                while (Socket.State == WebSocketState.CloseSent && DateTime.UtcNow < deadline) await Task.Delay(5);
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException) { }
        finally
        {
            Socket.Abort();
        }
    }

    /// <summary>Runs the session, with the hub's keepalive, until the peer goes, the hub stops or the session ends it.</summary>
    public Task RunAsync(CancellationToken cancel) => RunWithKeepAliveAsync(() => RunSessionAsync(cancel), cancel);

    /// <summary>The role's own session: reading a kitchen's dumplings, or sending an eater its own.</summary>
    protected abstract Task RunSessionAsync(CancellationToken cancel);

    private static readonly byte[] PingFrame = [0x89, 0x00]; // a server's empty ping (RFC 6455)
    private long _lastHeard = Stopwatch.GetTimestamp();

    /// <summary>The peer's input was used up: it sent something (a pong, a message). Wired to the stream's read hook.</summary>
    protected void Heard() => Interlocked.Exchange(ref _lastHeard, Stopwatch.GetTimestamp());

    /// <summary>
    /// True while silence proves nothing: a kitchen the hub is not reading (held back), whose pongs wait
    /// behind its dumplings; an eater that is reading what the hub writes, whose pongs wait behind them.
    /// </summary>
    protected virtual bool ExcusedFromKeepAlive => false;

    /// <summary>
    /// Runs <paramref name="run"/> with the hub's keepalive: a ping every KeepAliveInterval, and the
    /// peer aborted when nothing was heard from it for KeepAliveInterval + KeepAliveTimeout while it had
    /// no excuse. Any input counts as an answer, not just the pong, which may be queued behind the input.
    /// </summary>
    private async Task RunWithKeepAliveAsync(Func<Task> run, CancellationToken cancel)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        var keepAlive = KeepAliveAsync(stop.Token);
        try
        {
            await run();
        }
        finally
        {
            stop.Cancel();
            await keepAlive;
        }
    }

    private async Task KeepAliveAsync(CancellationToken stop)
    {
        var (interval, timeout) = (Hub.Options.KeepAliveInterval, Hub.Options.KeepAliveTimeout);
        if (interval <= TimeSpan.Zero || interval == Timeout.InfiniteTimeSpan) return;
        var tick = TimeSpan.FromTicks(Math.Max(TimeSpan.FromMilliseconds(10).Ticks, Math.Min(interval.Ticks, timeout.Ticks) / 4));
        var lastPing = Stopwatch.GetTimestamp();
        var ping = Task.CompletedTask;
        try
        {
            using var timer = new PeriodicTimer(tick);
            while (await timer.WaitForNextTickAsync(stop) && Socket.State == WebSocketState.Open)
            {
                if (ExcusedFromKeepAlive) Heard(); // the silence counts from when the excuse ends
                if (Stopwatch.GetElapsedTime(Interlocked.Read(ref _lastHeard)) > interval + timeout)
                {
                    Hub.Report(HubLogLevel.Warning, $"Closed {this}: nothing heard from it for {(interval + timeout).TotalSeconds:0.###} s (keepalive).");
                    Socket.Abort();
                    return;
                }
                // One ping at a time: behind a stalled eater's write, the next one would only queue up.
                if (ping.IsCompleted && Stopwatch.GetElapsedTime(lastPing) >= interval)
                {
                    lastPing = Stopwatch.GetTimestamp();
                    ping = Stream.WriteAsync(PingFrame, stop).AsTask();
                }
            }
        }
        catch (OperationCanceledException) { }
        try { await ping; }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException or System.Net.Sockets.SocketException) { }
    }
}
