using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using System.Text;
using System.Threading.Channels;
using NetDumplings.Protocol;

namespace NetDumplings.Client;

/// <summary>
/// The eater role of the one client stack: announces itself (with the chefs/kitchens filter
/// extension), then yields every dumpling that matches its filters. It filters on its own side too,
/// since an original Python hub ignores the extension. Receiving, decoding and filtering run on a
/// background task ahead of the consumer (bounded by <see cref="DumplingEaterOptions.ReadAhead"/>).
/// A lost hub is reconnected with backoff (reported through <see cref="Event"/>); a malformed
/// message is reported and skipped. From a NetDumplings hub it asks for notices (an extension): what
/// the hub dropped for it is reported as <see cref="HubClientEventKind.DumplingsLost"/>, and after a
/// reconnect it resumes after the last dumpling it got, so what the hub's replay window still holds
/// is not lost, and nothing comes twice. Closing says why, as the original eaters do: 4101 when the
/// consumer stops, 4102 when <see cref="DumplingEaterOptions.Count"/> dumplings were eaten.
/// </summary>
public sealed class DumplingEater
{
    public const int ConnectionCancelled = DumplingCloseCodes.ConnectionCancelled;
    public const int EaterIsFull = DumplingCloseCodes.EaterIsFull;

    private readonly DumplingEaterOptions _options;
    private readonly NamePattern[] _chefs;
    private readonly NamePattern[] _kitchens;

    public DumplingEater(DumplingEaterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Count is <= 0) throw new ArgumentOutOfRangeException(nameof(options), "Count must be at least 1.");
        if (options.ReadAhead < 1) throw new ArgumentOutOfRangeException(nameof(options), "ReadAhead must be at least 1.");
        _options = options;
        _chefs = options.Chefs.Select(n => new NamePattern(n)).ToArray();
        _kitchens = options.Kitchens.Select(n => new NamePattern(n)).ToArray();
    }

    public DumplingEaterOptions Options => _options;

    // Where this eater is in the hub's numbered stream (the notices extension); the pump's alone.
    private string? _hubId;     // the hub instance the numbers belong to
    private long _lastSeq;      // the last number this eater got (or was told it is past)
    private long _nextSeq;      // the number the next numbered dumpling has; 0 when unknown

    /// <summary>Dumplings the hub sent again that this eater already had (after a resume); skipped, never yielded.</summary>
    public long Duplicates { get; private set; }

    /// <summary>Dumplings the hub said it dropped for this eater, or no longer held when it resumed.</summary>
    public long Lost { get; private set; }

    /// <summary>
    /// Connections, disconnections, reconnect attempts and malformed messages. Raised on the thread
    /// that is enumerating <see cref="EatAsync"/>, in order with the dumplings.
    /// </summary>
    public event EventHandler<HubClientEventArgs>? Event;

    /// <summary>Matching dumplings eaten so far (across reconnects).</summary>
    public long Eaten { get; private set; }

    /// <summary>The close code this eater sent last (4101 or 4102), or null before it closed.</summary>
    public int? CloseCode { get; private set; }

    /// <summary>True when the dumpling passes this eater's chef, kitchen and driver filters.</summary>
    public bool Matches(Dumpling dumpling) =>
        (_options.Driver is null || dumpling.Driver == _options.Driver) &&
        NamePattern.MatchesAny(_chefs, dumpling.Chef) &&
        NamePattern.MatchesAny(_kitchens, dumpling.Kitchen);

    /// <summary>
    /// The announcement sent after connecting: <c>{"eater_name": ..., "chefs": [...], "kitchens": [...],
    /// "notices": true}</c>, and after a reconnect <c>"resume_after": {"hub_id": ..., "seq": n}</c>.
    /// </summary>
    public byte[] Announcement() => new EaterAnnouncement(_options.EaterName)
    {
        // Our hub matches these (wildcards, case-insensitive) before sending; an original hub
        // ignores them, which is why the eater filters on its side as well.
        Chefs = _options.HubSideFilter ? _options.Chefs : [],
        Kitchens = _options.HubSideFilter ? _options.Kitchens : [],
        Notices = _options.Notices,
        ResumeAfter = _options.Notices && _options.Resume && _hubId is not null ? new EaterResumePoint(_hubId, _lastSeq) : null,
    }.ToUtf8Json();

    /// <summary>
    /// Connects and yields matching dumplings until the count is reached, the token is cancelled
    /// (<see cref="OperationCanceledException"/>, after closing with 4101), the consumer stops
    /// enumerating (closes with 4101), or the hub is lost for good.
    /// </summary>
    /// <exception cref="DumplingHubUnreachableException">The first connection failed, or every reconnect allowed.</exception>
    /// <exception cref="DumplingHubConnectionLostException">The hub went away and reconnecting is off.</exception>
    /// <exception cref="DumplingHubRefusedException">The hub refused this eater (e.g. that is its in-port).</exception>
    public async IAsyncEnumerable<Dumpling> EatAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        // Dumplings and reports share one queue, so reports reach the consumer in order with the dumplings.
        var queue = Channel.CreateBounded<object>(new BoundedChannelOptions(_options.ReadAhead) { SingleReader = true, SingleWriter = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var pump = Task.Run(() => PumpAsync(queue.Writer, stop.Token), CancellationToken.None);
        try
        {
            var reader = queue.Reader;
            while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (reader.TryRead(out var item))
                {
                    if (item is HubClientEventArgs report)
                    {
                        Raise(report);
                        continue;
                    }
                    Eaten++;
                    yield return (Dumpling)item;
                }
            }
            await reader.Completion.ConfigureAwait(false); // rethrows why the pump ended, if it failed
        }
        finally
        {
            stop.Cancel();
            // The pump closes the connection (4101) when stopped; bounded by the close timeout.
            await Task.WhenAny(pump, Task.Delay(_options.CloseTimeout + TimeSpan.FromSeconds(1))).ConfigureAwait(false);
        }
    }

    private async Task PumpAsync(ChannelWriter<object> queue, CancellationToken stop)
    {
        // A report waits for room like a dumpling (the consumer is reading behind), never dropped.
        var connector = new HubConnector(_options, Announcement, "eater", e => Report(queue, e, stop).AsTask().GetAwaiter().GetResult());
        (_hubId, _lastSeq, _nextSeq) = (null, 0, 0);
        HubConnection? connection = null;
        long matched = 0;
        try
        {
            connection = await connector.ConnectAsync(reconnecting: false, stop).ConfigureAwait(false);
            while (true)
            {
                HubMessageKind kind;
                Exception? lost = null;
                try
                {
                    (kind, _) = await connection.ReceiveAsync(_options.MaxMessageBytes).WaitAsync(stop).ConfigureAwait(false);
                }
                catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException)
                {
                    lost = e;
                    kind = HubMessageKind.Closed;
                }

                if (kind == HubMessageKind.Closed)
                {
                    if (connection.Refusal(connector.Role) is { } refusal) throw refusal;
                    var reason = connection.LostReason(lost);
                    await Report(queue, new HubClientEventArgs(HubClientEventKind.Disconnected, reason) { Exception = lost }, stop).ConfigureAwait(false);
                    await connection.CloseAsync(DumplingCloseCodes.Normal, "", _options.CloseTimeout).ConfigureAwait(false);
                    await connection.DisposeAsync().ConfigureAwait(false);
                    connection = null;
                    if (!_options.Reconnect)
                        throw new DumplingHubConnectionLostException(_options.Hub.ToString(), reason, lost);
                    connection = await connector.ConnectAsync(reconnecting: true, stop).ConfigureAwait(false);
                    continue;
                }
                if (kind == HubMessageKind.TooLarge)
                {
                    await Report(queue, new HubClientEventArgs(HubClientEventKind.MalformedMessage,
                        $"The hub sent a message larger than {_options.MaxMessageBytes:N0} bytes; it was skipped."), stop).ConfigureAwait(false);
                    continue;
                }

                if (_options.Notices && HubNotice.IsNotice(connection.Message.Span, out var notice))
                {
                    // A notice of a kind this version does not know is skipped.
                    if (notice is { } known) await OnNoticeAsync(known, queue, stop).ConfigureAwait(false);
                    continue;
                }

                // The dumpling keeps its bytes, so each message gets its own copy.
                var bytes = connection.Message.ToArray();
                if (!DumplingCodec.TryParse(bytes, out var dumpling, out var error))
                {
                    // The hub numbered it all the same (it forwards what has metadata.chef).
                    if (_nextSeq != 0 && DumplingCodec.TryReadEnvelope(bytes, out var chef, out var kitchen, out _) && IsRepeat(chef, kitchen))
                        continue;
                    await Report(queue, new HubClientEventArgs(HubClientEventKind.MalformedMessage, $"The hub sent a message that is not a dumpling: {error}.")
                    {
                        RawMessage = Shorten(bytes),
                    }, stop).ConfigureAwait(false);
                    continue;
                }
                if (IsRepeat(dumpling!.Chef, dumpling.Kitchen)) continue;
                if (!Matches(dumpling!)) continue;
                if (_options.DecodeText) _ = dumpling!.Json; // decoded here, off the consumer's thread

                if (_options.Count is { } count && ++matched >= count)
                {
                    // Close before handing over the last one, so a consumer that stops right there
                    // has left the hub with the right reason.
                    CloseCode = EaterIsFull;
                    var closing = connection;
                    connection = null;
                    await closing.CloseAsync(EaterIsFull, DumplingCloseCodes.EaterIsFullReason, _options.CloseTimeout).ConfigureAwait(false);
                    await closing.DisposeAsync().ConfigureAwait(false);
                    await queue.WriteAsync(dumpling!, stop).ConfigureAwait(false);
                    queue.TryComplete();
                    return;
                }
                if (!queue.TryWrite(dumpling!)) await queue.WriteAsync(dumpling!, stop).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            queue.TryComplete();
        }
        catch (Exception e)
        {
            queue.TryComplete(e);
        }
        finally
        {
            if (connection is not null)
            {
                CloseCode = ConnectionCancelled;
                await connection.CloseAsync(ConnectionCancelled, DumplingCloseCodes.ConnectionCancelledReason, _options.CloseTimeout).ConfigureAwait(false);
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private ValueTask OnNoticeAsync(HubNotice notice, ChannelWriter<object> queue, CancellationToken stop)
    {
        switch (notice.Kind)
        {
            case HubNoticeKind.Hub:
                // A new connection: the stream starts after this number (where we resumed, or from now).
                (_hubId, _lastSeq, _nextSeq) = (notice.HubId, notice.Sequence, 0);
                return ValueTask.CompletedTask;
            case HubNoticeKind.Sequence:
                // Everything before it that this eater wants has come: it is past those numbers.
                _nextSeq = notice.Sequence;
                _lastSeq = Math.Max(_lastSeq, notice.Sequence - 1);
                return ValueTask.CompletedTask;
            case HubNoticeKind.Dropped:
                Lost += notice.Count;
                return Report(queue, new HubClientEventArgs(HubClientEventKind.DumplingsLost,
                    $"The hub at {_options.Hub} dropped {notice.Count:N0} dumplings for this eater: its queue there was full " +
                    $"(the hub's overflow policy drops the oldest); {notice.Total:N0} on this connection so far.") { Count = notice.Count }, stop);
            case HubNoticeKind.Missed:
                Lost += notice.Count;
                return Report(queue, new HubClientEventArgs(HubClientEventKind.DumplingsLost,
                    $"Reconnected to the hub at {_options.Hub}, but {notice.Count:N0} dumplings it took meanwhile had already left its " +
                    "replay window and are lost (fewer, if this eater's filters would have skipped some).") { Count = notice.Count }, stop);
            default:
                return ValueTask.CompletedTask;
        }
    }

    /// <summary>
    /// Numbers a dumpling from the hub's notices (the hub's status dumplings take none) and says
    /// whether this eater already had it. Numbering comes before filtering: the hub counts every
    /// dumpling it sends this eater.
    /// </summary>
    private bool IsRepeat(string? chef, string? kitchen)
    {
        if (_nextSeq == 0 || HubStatusReport.IsStatus(chef, kitchen)) return false;
        var seq = _nextSeq++;
        if (seq <= _lastSeq)
        {
            Duplicates++;
            return true;
        }
        _lastSeq = seq;
        return false;
    }

    private static ValueTask Report(ChannelWriter<object> queue, HubClientEventArgs report, CancellationToken stop) =>
        queue.TryWrite(report) ? ValueTask.CompletedTask : queue.WriteAsync(report, stop);

    private void Raise(HubClientEventArgs args) => Event?.Invoke(this, args);

    private static string Shorten(byte[] bytes)
    {
        var text = Encoding.UTF8.GetString(bytes, 0, Math.Min(bytes.Length, 400));
        return bytes.Length > 400 ? text + "..." : text;
    }
}
