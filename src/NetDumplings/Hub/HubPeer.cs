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

    /// <summary>Runs the session until the peer goes, the hub stops or the session ends it.</summary>
    public abstract Task RunAsync(CancellationToken cancel);
}
