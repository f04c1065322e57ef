using NetDumplings.Protocol;
using System.Buffers;
using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;

namespace NetDumplings.Eater;

/// <summary>
/// A hub client on the out-port: announces itself (with the chefs/kitchens filter extension), then
/// yields every dumpling that matches its filters. It filters on its own side too, since an original
/// Python hub ignores the extension. A lost hub is reconnected with backoff (reported through
/// <see cref="Event"/>); a malformed message is reported and skipped. Closing says why, as the
/// original eaters do: 4101 when the consumer stops, 4102 when <see cref="DumplingEaterOptions.Count"/>
/// dumplings were eaten.
/// </summary>
public sealed class DumplingEater
{
    public const int ConnectionCancelled = 4101;
    public const int EaterIsFull = 4102;
    private const string ConnectionCancelledReason = "connection cancelled";
    private const string EaterIsFullReason = "dumpling eater is full";
    private const int InitialBufferBytes = 64 * 1024;

    private readonly DumplingEaterOptions _options;
    private readonly NamePattern[] _chefs;
    private readonly NamePattern[] _kitchens;

    public DumplingEater(DumplingEaterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Count is <= 0) throw new ArgumentOutOfRangeException(nameof(options), "Count must be at least 1.");
        _options = options;
        _chefs = options.Chefs.Select(n => new NamePattern(n)).ToArray();
        _kitchens = options.Kitchens.Select(n => new NamePattern(n)).ToArray();
    }

    public DumplingEaterOptions Options => _options;

    /// <summary>
    /// Connections, disconnections, reconnect attempts and malformed messages. Raised on the thread
    /// that is enumerating <see cref="EatAsync"/>, in order with the dumplings.
    /// </summary>
    public event EventHandler<DumplingEaterEventArgs>? Event;

    /// <summary>Matching dumplings eaten so far (across reconnects).</summary>
    public long Eaten { get; private set; }

    /// <summary>The close code this eater sent last (4101 or 4102), or null before it closed.</summary>
    public int? CloseCode { get; private set; }

    /// <summary>True when the dumpling passes this eater's chef, kitchen and driver filters.</summary>
    public bool Matches(Dumpling dumpling) =>
        (_options.Driver is null || dumpling.Driver == _options.Driver) &&
        NamePattern.MatchesAny(_chefs, dumpling.Chef) &&
        NamePattern.MatchesAny(_kitchens, dumpling.Kitchen);

    /// <summary>The announcement sent after connecting: <c>{"eater_name": ..., "chefs": [...], "kitchens": [...]}</c>.</summary>
    public byte[] Announcement()
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("eater_name", _options.EaterName);
            // Our hub matches these (wildcards, case-insensitive) before sending; an original
            // hub ignores them, which is why the eater filters on its side as well.
            if (_options.HubSideFilter && _chefs.Length > 0)
                WriteNames(writer, "chefs", _chefs);
            if (_options.HubSideFilter && _kitchens.Length > 0)
                WriteNames(writer, "kitchens", _kitchens);
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteNames(Utf8JsonWriter writer, string name, NamePattern[] patterns)
    {
        writer.WriteStartArray(name);
        foreach (var p in patterns) writer.WriteStringValue(p.Pattern);
        writer.WriteEndArray();
    }

    /// <summary>
    /// Connects and yields matching dumplings until the count is reached, the token is cancelled
    /// (<see cref="OperationCanceledException"/>, after closing with 4101), the consumer stops
    /// enumerating (closes with 4101), or the hub is lost for good.
    /// </summary>
    /// <exception cref="DumplingHubUnreachableException">The first connection failed, or every reconnect allowed.</exception>
    /// <exception cref="DumplingHubConnectionLostException">The hub went away and reconnecting is off.</exception>
    public async IAsyncEnumerable<Dumpling> EatAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(InitialBufferBytes);
        ClientWebSocket? ws = await ConnectAsync(cancellationToken).ConfigureAwait(false);
        Task<ValueWebSocketReceiveResult>? pendingReceive = null;
        try
        {
            while (true)
            {
                // Read one whole message; the hub sends each dumpling as one text frame.
                var length = 0;
                var tooLarge = false;
                Exception? lost = null;
                WebSocketMessageType type = WebSocketMessageType.Text;
                while (true)
                {
                    if (length == buffer.Length)
                    {
                        if (buffer.Length >= _options.MaxMessageBytes) { tooLarge = true; length = 0; }
                        else buffer = Grow(buffer);
                    }
                    ValueWebSocketReceiveResult result;
                    try
                    {
                        var receive = ws!.ReceiveAsync(buffer.AsMemory(length), CancellationToken.None);
                        if (receive.IsCompletedSuccessfully)
                            result = receive.Result;
                        else
                        {
                            // Not cancelling the receive itself: ClientWebSocket aborts on a cancelled
                            // receive, and we still want to send our close code.
                            pendingReceive = receive.AsTask();
                            result = await pendingReceive.WaitAsync(cancellationToken).ConfigureAwait(false);
                            pendingReceive = null;
                        }
                    }
                    catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                    {
                        throw;
                    }
                    catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException)
                    {
                        pendingReceive = null;
                        lost = e;
                        break;
                    }
                    type = result.MessageType;
                    if (type == WebSocketMessageType.Close) break;
                    length += result.Count;
                    if (result.EndOfMessage) break;
                }

                if (lost is not null || type == WebSocketMessageType.Close)
                {
                    var reason = lost is not null
                        ? $"The connection to the hub at {_options.Hub} broke: {lost.Message}"
                        : $"The hub at {_options.Hub} closed the connection ({(int?)ws!.CloseStatus} {ws.CloseStatusDescription}).";
                    Raise(new DumplingEaterEventArgs(DumplingEaterEventKind.Disconnected, reason) { Exception = lost });
                    var closed = ws!;
                    ws = null;
                    await HubSocket.CloseAsync(closed, 1000, "", _options.CloseTimeout, null).ConfigureAwait(false);
                    if (!_options.Reconnect)
                        throw new DumplingHubConnectionLostException(_options.Hub.ToString(), reason, lost);
                    ws = await ReconnectAsync(cancellationToken).ConfigureAwait(false);
                    continue;
                }

                if (tooLarge)
                {
                    Raise(new DumplingEaterEventArgs(DumplingEaterEventKind.MalformedMessage,
                        $"The hub sent a message larger than {_options.MaxMessageBytes:N0} bytes; it was skipped."));
                    continue;
                }

                // The dumpling keeps its bytes, so each message gets its own copy.
                var bytes = buffer.AsSpan(0, length).ToArray();
                if (!DumplingCodec.TryParse(bytes, out var dumpling, out var error))
                {
                    Raise(new DumplingEaterEventArgs(DumplingEaterEventKind.MalformedMessage, $"The hub sent a message that is not a dumpling: {error}.")
                    {
                        RawMessage = Shorten(bytes),
                    });
                    continue;
                }
                if (!Matches(dumpling!)) continue;

                Eaten++;
                var full = _options.Count is { } count && Eaten >= count;
                if (full)
                {
                    // Close before handing over the last one, so a consumer that stops right there
                    // has left the hub with the right reason.
                    var closing = ws!;
                    ws = null;
                    CloseCode = EaterIsFull;
                    await HubSocket.CloseAsync(closing, EaterIsFull, EaterIsFullReason, _options.CloseTimeout, null).ConfigureAwait(false);
                }
                yield return dumpling!;
                if (full) yield break;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            if (ws is not null)
            {
                CloseCode = ConnectionCancelled;
                await HubSocket.CloseAsync(ws, ConnectionCancelled, ConnectionCancelledReason, _options.CloseTimeout, pendingReceive).ConfigureAwait(false);
            }
        }
    }

    private async Task<ClientWebSocket> ConnectAsync(CancellationToken cancellationToken)
    {
        var ws = await HubSocket.ConnectAsync(_options.Hub, _options.KeepAliveInterval, _options.KeepAliveTimeout,
            _options.ConnectTimeout, null, cancellationToken).ConfigureAwait(false);
        try
        {
            await ws.SendAsync(Announcement(), WebSocketMessageType.Text, true, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            ws.Dispose();
            throw new DumplingHubUnreachableException(_options.Hub.ToString(), $"The hub at {_options.Hub} dropped the connection during the announcement: {e.Message}", e);
        }
        Raise(new DumplingEaterEventArgs(DumplingEaterEventKind.Connected, $"Connected to the hub at {_options.Hub} as '{_options.EaterName}'."));
        return ws;
    }

    private async Task<ClientWebSocket> ReconnectAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            if (_options.MaxReconnectAttempts is { } max && attempt >= max)
                throw new DumplingHubUnreachableException(_options.Hub.ToString(),
                    $"Gave up reconnecting to the hub at {_options.Hub} after {max} attempts.");
            var delay = _options.ReconnectBackoff.Delay(attempt);
            Raise(new DumplingEaterEventArgs(DumplingEaterEventKind.Reconnecting,
                $"Reconnecting to the hub at {_options.Hub} in {delay.TotalSeconds:0.##} s (attempt {attempt + 1}).") { Attempt = attempt + 1, Delay = delay });
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            try
            {
                return await ConnectAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (DumplingHubUnreachableException e)
            {
                Raise(new DumplingEaterEventArgs(DumplingEaterEventKind.ReconnectFailed, e.Message) { Exception = e, Attempt = attempt + 1 });
            }
        }
    }

    private void Raise(DumplingEaterEventArgs args) => Event?.Invoke(this, args);

    private byte[] Grow(byte[] buffer)
    {
        var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, _options.MaxMessageBytes));
        buffer.CopyTo(bigger, 0);
        ArrayPool<byte>.Shared.Return(buffer);
        return bigger;
    }

    private static string Shorten(byte[] bytes)
    {
        var text = Encoding.UTF8.GetString(bytes, 0, Math.Min(bytes.Length, 400));
        return bytes.Length > 400 ? text + "..." : text;
    }
}
