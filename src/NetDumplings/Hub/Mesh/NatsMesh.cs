using System.Buffers;
using System.Globalization;
using System.Threading.Channels;

using NATS.Client.Core;

namespace NetDumplings.Hub.Mesh;

/// <summary>
/// The hub's part in a mesh of hubs joined through NATS. Every dumpling a local kitchen sends is published once,
/// bytes untouched, to <c>netdumplings.v1.&lt;kitchen&gt;.&lt;chef&gt;.&lt;driver&gt;</c> (the format: <see cref="MeshWire"/>);
/// every dumpling another hub published is delivered to the local eaters through the hub's own publish path
/// (numbering, replay window, filters, backpressure) and never published again, so nothing loops. The hub subscribes
/// to what its eaters want (<see cref="MeshInterest"/>), and only while it has eaters; remote dumplings are delivered
/// on NATS.Net's read loop itself while the hub takes them at once, and queued (bounded, drops counted) while an
/// eater holds them back. While NATS is there a kitchen faster than it is held, as by a full eater; NATS being away
/// never holds the local fan-out (what cannot be published is counted lost); remote hubs' gaps are counted from
/// their numbers, and a copy a second subscription brings (while the subscriptions change) is known by them.
/// </summary>
internal sealed class NatsMesh : IAsyncDisposable
{
    private const int MaxRemoteHubs = 64, MaxKitchensPerHub = 64;
    private const int MaxDrain = 4096;
    /// <summary>Subjects one hub subscribes to at most; eaters' filters that would need more take the whole mesh.</summary>
    internal const int MaxSubjects = 256;
    /// <summary>How far below a hub's last number a message still counts as a copy of one already delivered.</summary>
    private const long CopyWindow = 4 * MeshWire.MaxBatchDumplings;
    /// <summary>Subjects whose numbers a hub keeps, published or per remote hub received, before it starts afresh.</summary>
    private const int MaxSubjectNumbers = 4096;
    /// <summary>Interests of eaters that left, kept for <see cref="NatsMeshOptions.IdleSubscription"/> (so one that comes back is replayed what it missed).</summary>
    private const int MaxLingering = 256;

    private readonly DumplingHub _hub;
    private readonly Channel<Outgoing> _outgoing;
    private readonly CancellationTokenSource _stopping = new();
    private readonly object _remoteLock = new();
    private readonly Dictionary<string, RemoteHub> _remotes = [];   // by instance
    private NatsConnection? _connection;
    private Task? _run, _publish;
    private long _publishWaits, _published, _publishLost, _received, _ownIgnored, _duplicates, _invalid, _dropped, _slowConsumerEvents, _remoteGap, _disconnects, _sequence;
    private readonly Dictionary<string, long> _subjectSequences = new(StringComparer.Ordinal); // the publish loop's own
    private readonly SparseLog _invalidLog = new(), _publishFailedLog = new();
    private string? _lastError;
    private readonly HashSet<string> _reported = []; // reasons already logged since the last successful join (RunAsync only)

    // What the local eaters want (live ones, and those that left within IdleSubscription), and what the hub has subscribed to.
    private readonly object _interestLock = new();
    private readonly Dictionary<object, MeshInterest> _eaters = [];
    private readonly Queue<(MeshInterest Interest, long Until)> _lingering = new();
    private long _interestVersion, _appliedVersion;
    private readonly SemaphoreSlim _interestChanged = new(0);
    private TaskCompletionSource _applied = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile IReadOnlyList<string> _subscribedSubjects = [];

    // Remote dumplings the hub could not take at once (an eater held them back): delivered in order by one drainer.
    private readonly object _receiveLock = new();
    private readonly Queue<Incoming> _backlog = new();
    private int _backlogDumplings;
    private long _backlogBytes;
    private bool _draining, _dropping;

    private readonly record struct Outgoing(string Subject, ReadOnlyMemory<byte> Message, bool Binary);

    /// <summary>A remote message (or what is left of one) waiting for the hub: its dumplings, each after its length when <paramref name="Framed"/>.</summary>
    private sealed record Incoming(string Subject, string HubName, string Instance, bool Binary, bool Framed, int Count, byte[] Bytes);

    private sealed class RemoteHub(string name)
    {
        public string Name { get; set; } = name;
        public long LastSequence;   // of all it published: only grows, so a copy is known
        public readonly Dictionary<string, long> LastBySubject = new(StringComparer.Ordinal); // for holes, whatever this hub subscribes to
        public long Dumplings;
        public long Gap;
        public DateTimeOffset LastSeen;
        public readonly HashSet<string> Kitchens = [];
    }

    public NatsMesh(DumplingHub hub, NatsMeshOptions options)
    {
        options.Validate();
        _hub = hub;
        Options = options;
        _outgoing = Channel.CreateBounded<Outgoing>(new BoundedChannelOptions(options.PublishQueueDumplings)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait, // TryWrite fails when full: the dumpling is counted lost
        });
    }

    public NatsMeshOptions Options { get; }

    /// <summary>Joined: connected to NATS (publishing); <see cref="Subscribed"/> says whether it takes remote dumplings too.</summary>
    public bool Connected => _connection?.ConnectionState == NatsConnectionState.Open;

    /// <summary>Taking remote dumplings: the hub has eaters, or had them within <see cref="NatsMeshOptions.IdleSubscription"/>.</summary>
    public bool Subscribed => Connected && _subscribedSubjects.Count > 0;

    /// <summary>
    /// A local eater is about to be admitted: the hub takes what it wants from now on, and this waits (up to 2 s,
    /// not at all while NATS is away) until NATS has the subscriptions, so the eater misses no remote dumpling published after it came.
    /// </summary>
    public async ValueTask EaterArrivingAsync(object eater, MeshInterest interest, CancellationToken cancel)
    {
        long version;
        Task applied;
        lock (_interestLock)
        {
            _eaters[eater] = interest;
            version = ++_interestVersion;
            applied = _applied.Task;
        }
        _interestChanged.Release();
        try
        {
            // Woken each time the subscriber has applied what the eaters want; done once that includes this one.
            var deadline = Environment.TickCount64 + 2000;
            while (Connected && Volatile.Read(ref _appliedVersion) < version)
            {
                var left = deadline - Environment.TickCount64;
                if (left <= 0) break;
                try { await applied.WaitAsync(TimeSpan.FromMilliseconds(Math.Min(left, 100)), cancel); }
                catch (TimeoutException) { }
                lock (_interestLock) applied = _applied.Task;
            }
        }
        catch (OperationCanceledException)
        {
            EaterLeft(eater);
            throw;
        }
    }

    /// <summary>A local eater is gone; what it wanted is still taken for <see cref="NatsMeshOptions.IdleSubscription"/>.</summary>
    public void EaterLeft(object eater)
    {
        lock (_interestLock)
        {
            if (!_eaters.Remove(eater, out var interest)) return;
            if (_lingering.Count == MaxLingering) _lingering.Dequeue();
            _lingering.Enqueue((interest, Environment.TickCount64 + (long)Options.IdleSubscription.TotalMilliseconds));
            _interestVersion++;
        }
        _interestChanged.Release();
    }

    /// <summary>What the eaters want now, and when that changes by itself (a left eater's interest expiring).</summary>
    private (List<MeshInterest> Interests, long Version, TimeSpan NextChange) CurrentInterests()
    {
        lock (_interestLock)
        {
            var now = Environment.TickCount64;
            while (_lingering.TryPeek(out var left) && left.Until <= now) _lingering.Dequeue();
            var interests = new List<MeshInterest>(_eaters.Values);
            interests.AddRange(_lingering.Select(l => l.Interest));
            var next = _lingering.Count == 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromMilliseconds(Math.Max(1, _lingering.Min(l => l.Until) - now));
            return (interests, _interestVersion, next);
        }
    }

    public void Start()
    {
        _run = Task.Run(RunAsync);
        _publish = Task.Run(PublishLoopAsync);
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string?, string, DumplingDriver), string> _subjects = new();

    /// <summary>A kitchen's subjects are few: made once each (bounded, in case names keep changing).</summary>
    private string CachedSubject(string? kitchen, string chef, DumplingDriver driver)
    {
        if (_subjects.TryGetValue((kitchen, chef, driver), out var subject)) return subject;
        subject = MeshWire.Subject(kitchen, chef, driver);
        if (_subjects.Count < 4096) _subjects[(kitchen, chef, driver)] = subject;
        return subject;
    }

    /// <summary>
    /// Queues a local kitchen's dumpling for NATS. While NATS is there and the queue is full, waits for room and the
    /// kitchen is held meanwhile, as a full eater holds it: what reaches this hub reaches the mesh. While NATS is away
    /// it never waits: the dumpling is counted lost, and the local eaters get it all the same.
    /// </summary>
    public ValueTask OfferAsync(HubFrame frame, DumplingDriver driver, KitchenSession? kitchen, CancellationToken cancel)
    {
        if (_connection?.ConnectionState != NatsConnectionState.Open)
        {
            Interlocked.Increment(ref _publishLost);
            return ValueTask.CompletedTask;
        }
        var item = new Outgoing(CachedSubject(frame.Kitchen, frame.Chef!, driver), frame.Message, frame.Binary);
        return _outgoing.Writer.TryWrite(item) ? ValueTask.CompletedTask : WaitForRoomAsync(item, kitchen, cancel);
    }

    private async ValueTask WaitForRoomAsync(Outgoing item, KitchenSession? kitchen, CancellationToken cancel)
    {
        Interlocked.Increment(ref _publishWaits);
        var start = kitchen?.HoldStarted() ?? 0;
        try
        {
            // Looked at again every 100 ms: NATS going away meanwhile ends the wait (counted lost), as it
            // would have had the queue had room; a publisher stuck on a dead connection holds no kitchen.
            while (true)
            {
                if (_connection?.ConnectionState != NatsConnectionState.Open)
                {
                    Interlocked.Increment(ref _publishLost);
                    return;
                }
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancel);
                wait.CancelAfter(TimeSpan.FromMilliseconds(100));
                try
                {
                    if (!await _outgoing.Writer.WaitToWriteAsync(wait.Token))
                    {
                        Interlocked.Increment(ref _publishLost); // the hub is stopping
                        return;
                    }
                    if (_outgoing.Writer.TryWrite(item)) return;
                }
                catch (OperationCanceledException) when (!cancel.IsCancellationRequested) { }
            }
        }
        finally
        {
            kitchen?.HoldEnded(start);
        }
    }

    private async Task PublishLoopAsync()
    {
        var reader = _outgoing.Reader;
        var drained = new List<Outgoing>(MaxDrain);
        var batch = new List<Outgoing>(MeshWire.MaxBatchDumplings);
        var payload = new ArrayBufferWriter<byte>(MeshWire.MaxBatchBytes + 1024);
        try
        {
            while (await reader.WaitToReadAsync(_stopping.Token))
            {
                // What has queued up goes together: each subject's dumplings in order, several a message.
                while (drained.Count < MaxDrain && reader.TryRead(out var item)) drained.Add(item);
                while (drained.Count > 0)
                {
                    var (subject, binary) = (drained[0].Subject, drained[0].Binary);
                    var bytes = 0;
                    var rest = 0;
                    for (var i = 0; i < drained.Count; i++)
                    {
                        var item = drained[i];
                        var fits = batch.Count < MeshWire.MaxBatchDumplings && (batch.Count == 0 || bytes + 4 + item.Message.Length <= MeshWire.MaxBatchBytes);
                        if (fits && string.Equals(item.Subject, subject, StringComparison.Ordinal) && item.Binary == binary)
                        {
                            batch.Add(item);
                            bytes += 4 + item.Message.Length;
                        }
                        else drained[rest++] = item;
                    }
                    drained.RemoveRange(rest, drained.Count - rest);
                    await PublishBatchAsync(subject, binary, batch, payload);
                    batch.Clear();
                }
            }
        }
        catch (OperationCanceledException) { }
    }

    private async ValueTask PublishBatchAsync(string subject, bool binary, List<Outgoing> batch, ArrayBufferWriter<byte> payload)
    {
        var connection = _connection;
        if (connection is null || connection.ConnectionState != NatsConnectionState.Open)
        {
            Interlocked.Add(ref _publishLost, batch.Count);
            return;
        }
        ReadOnlyMemory<byte> data;
        if (batch.Count == 1) data = batch[0].Message;
        else
        {
            payload.ResetWrittenCount();
            foreach (var item in batch) MeshWire.Append(payload, item.Message.Span);
            data = payload.WrittenMemory;
        }
        if (!_subjectSequences.TryGetValue(subject, out var subjectSequence) && _subjectSequences.Count >= MaxSubjectNumbers)
            _subjectSequences.Clear(); // many subjects: they start again from 1, which the others take as a fresh start, not a hole
        var headers = new NatsHeaders { [MeshWire.OriginHeader] = MeshWire.Origin(_hub.InstanceId, _sequence + 1, batch.Count, binary, subjectSequence + 1, Options.HubName) };
        try
        {
            await connection.PublishAsync(subject, data, headers, cancellationToken: _stopping.Token);
            // Numbered once sent: what could not be sent is counted here as lost, not again as a gap by the others.
            _sequence += batch.Count;
            _subjectSequences[subject] = subjectSequence + batch.Count;
            Interlocked.Add(ref _published, batch.Count);
        }
        catch (Exception e) when (e is not OperationCanceledException || !_stopping.IsCancellationRequested)
        {
            Interlocked.Add(ref _publishLost, batch.Count);
            if (_publishFailedLog.TryLog(out var unlogged))
                _hub.Report(HubLogLevel.Warning, $"Could not publish {batch.Count} dumpling(s) to the mesh ({subject}): {Describe(e)}; counted as publish_lost." +
                    SparseLog.More(unlogged, "publishes failed"));
        }
    }

    private NatsOpts NatsOptions()
    {
        var o = Options;
        var servers = string.Join(",", o.Servers.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(u => u.Contains("://") ? u : "nats://" + u));
        var tls = o.RequireTls || o.TlsCaFile is not null || o.TlsCertFile is not null || servers.Contains("tls://");
        return NatsOpts.Default with
        {
            Url = servers,
            Name = $"netdumplings hub {o.HubName}",
            Echo = false,
            AuthOpts = NatsAuthOpts.Default with
            {
                Token = o.Token,
                Username = o.User,
                Password = o.Password,
                CredsFile = o.CredentialsFile,
                NKeyFile = o.NKeyFile,
            },
            TlsOpts = NatsTlsOpts.Default with
            {
                Mode = tls ? TlsMode.Require : TlsMode.Auto,
                CaFile = o.TlsCaFile,
                CertFile = o.TlsCertFile,
                KeyFile = o.TlsKeyFile,
            },
            MaxReconnectRetry = -1,
            ReconnectWaitMin = TimeSpan.FromMilliseconds(200),
            ReconnectWaitMax = o.RetryInterval,
            IgnoreAuthErrorAbort = true,
            ConnectTimeout = TimeSpan.FromSeconds(2),
        };
    }

    private async Task RunAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            var connection = new NatsConnection(NatsOptions());
            try
            {
                await connection.ConnectAsync();
                Hook(connection);
                _connection = connection;
                _hub.Report(HubLogLevel.Information, $"Joined the mesh as '{Options.HubName}' through NATS at {connection.ServerInfo?.Host}:{connection.ServerInfo?.Port} ({Options.ServersForDisplay}).");
                _lastError = null;
                _reported.Clear();
                await SubscribeWhileInterestedAsync(connection);
                return;
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                _subscribedSubjects = [];
                if (_connection == connection) _connection = null;
                await connection.DisposeAsync();
                var reason = Describe(e);
                // Each reason said once (until the hub has joined): a hub waiting for NATS for hours logs no flood.
                if (_reported.Count < 16 && _reported.Add(reason))
                    _hub.Report(HubLogLevel.Warning, $"Cannot join the mesh through NATS at {Options.ServersForDisplay}: {reason}. " +
                        "The hub serves its own kitchens and eaters meanwhile and keeps trying.");
                _lastError = reason;
                try { await Task.Delay(Options.RetryInterval, _stopping.Token); }
                catch (OperationCanceledException) { return; }
            }
        }
    }

    /// <summary>
    /// Keeps the subscriptions to what the eaters want, for as long as the hub runs (none while it has no eaters);
    /// NATS.Net keeps them across reconnections. A change subscribes to the new subjects first and lets the old go
    /// once NATS has the new, so no eater misses a dumpling meanwhile; a copy the overlap brings is known by its number.
    /// </summary>
    private async Task SubscribeWhileInterestedAsync(NatsConnection connection)
    {
        var current = new Dictionary<string, MeshSubscription>(StringComparer.Ordinal);
        try
        {
            while (!_stopping.IsCancellationRequested)
            {
                var (interests, version, nextChange) = CurrentInterests();
                var wanted = MeshInterest.Subjects(interests, MaxSubjects);
                if (!wanted.SequenceEqual(_subscribedSubjects)) await ApplyAsync(connection, current, wanted);
                TaskCompletionSource applied;
                lock (_interestLock)
                {
                    Volatile.Write(ref _appliedVersion, version);
                    applied = _applied;
                    _applied = new(TaskCreationOptions.RunContinuationsAsynchronously);
                }
                applied.TrySetResult();
                await _interestChanged.WaitAsync(nextChange, _stopping.Token);
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested) { }
        finally
        {
            _subscribedSubjects = [];
            foreach (var subscription in current.Values)
            {
                try { await subscription.DisposeAsync(); }
                catch (Exception e) when (e is not OutOfMemoryException) { } // the connection may be gone already
            }
        }
    }

    private async Task ApplyAsync(NatsConnection connection, Dictionary<string, MeshSubscription> current, IReadOnlyList<string> wanted)
    {
        var was = _subscribedSubjects;
        var added = false;
        foreach (var subject in wanted)
        {
            if (current.ContainsKey(subject)) continue;
            var subscription = new MeshSubscription(connection, subject, this);
            await connection.AddSubAsync(subscription, _stopping.Token);
            current[subject] = subscription;
            added = true;
        }
        // NATS handles a connection's commands in order: once it answers, the new subscriptions are in place.
        if (added) await connection.PingAsync(_stopping.Token);
        foreach (var subject in current.Keys.Where(s => !wanted.Contains(s)).ToArray())
        {
            await current[subject].DisposeAsync();
            current.Remove(subject);
        }
        _subscribedSubjects = wanted;
        // A subject no longer taken forgets its numbers: taken again later, what was published meanwhile is no hole.
        // (Checked subject by subject while that is cheap; beyond, all start afresh, blind to a hole at this moment only.)
        lock (_remoteLock)
        {
            var checks = (long)wanted.Count * _remotes.Values.Sum(r => r.LastBySubject.Count);
            foreach (var remote in _remotes.Values)
            {
                if (wanted.Count == 1 && wanted[0] == MeshWire.SubjectFilter(null, null)) break;
                if (checks > 100_000) remote.LastBySubject.Clear();
                else
                    foreach (var subject in remote.LastBySubject.Keys.Where(s => !wanted.Any(w => MeshWire.Matches(w, s))).ToArray())
                        remote.LastBySubject.Remove(subject);
            }
        }
        if (wanted.Count == 0)
            _hub.Report(HubLogLevel.Verbose, $"No eaters for {Options.IdleSubscription.TotalSeconds:0} s: this hub takes no remote dumplings until one comes.");
        else if (!was.SequenceEqual(wanted))
            _hub.Report(HubLogLevel.Verbose, $"Taking from the mesh what the eaters want: {string.Join(", ", wanted.Take(8))}{(wanted.Count > 8 ? $" and {wanted.Count - 8} more" : "")}.");
    }

    private static string Describe(Exception e)
    {
        for (var x = e; x is not null; x = x.InnerException)
            if (x.Message.Contains("authorization", StringComparison.OrdinalIgnoreCase) || x.Message.Contains("authentication", StringComparison.OrdinalIgnoreCase))
                return $"NATS refused this hub's credentials ({x.Message.Trim()}): check -NatsUser/-NatsPassword, -NatsToken or -NatsCredentialsFile";
        var messages = new List<string>();
        for (var x = e; x is not null && messages.Count < 3; x = x.InnerException)
            if (!string.IsNullOrWhiteSpace(x.Message)) messages.Add(x.Message.Trim().TrimEnd('.'));
        return string.Join(": ", messages.Distinct());
    }

    private void Hook(NatsConnection connection)
    {
        // (NATS.Net's MessageDropped and SlowConsumerDetected are its own subscriptions' channels; this hub's queue for
        // remote dumplings is its own, and counts its drops in Receive.)
        connection.ConnectionDisconnected += (_, args) =>
        {
            Interlocked.Increment(ref _disconnects);
            if (!_stopping.IsCancellationRequested)
                _hub.Report(HubLogLevel.Warning, $"Lost NATS ({args.Message}): local kitchens and eaters go on; dumplings for the mesh are counted lost until it is back.");
            return default;
        };
        connection.ConnectionOpened += (_, _) =>
        {
            if (!_stopping.IsCancellationRequested)
                _hub.Report(HubLogLevel.Information, $"Back in the mesh through NATS ({Options.ServersForDisplay}).");
            return default;
        };
        connection.ServerError += (_, args) =>
        {
            _hub.Report(HubLogLevel.Warning, $"NATS said: {args.Error}.");
            return default;
        };
    }

    /// <summary>
    /// A remote message, on NATS.Net's read loop (its buffers are only lent): delivered there while the hub takes
    /// its dumplings at once; queued (up to <see cref="NatsMeshOptions.ReceiveQueueDumplings"/>, beyond that dropped and
    /// counted) while an eater holds the hub back, so NATS itself is never held.
    /// </summary>
    internal ValueTask ReceiveAsync(string subject, ReadOnlySequence<byte>? headers, ReadOnlySequence<byte> payload)
    {
        // Nothing may escape to NATS.Net: an exception there would end the subscription, and with it all remote delivery.
        try
        {
            Receive(subject, headers, payload);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested) { }
        catch (Exception e)
        {
            _hub.Report(HubLogLevel.Error, $"Could not take a message from the mesh ({subject}): {e}");
        }
        return ValueTask.CompletedTask;
    }

    private void Receive(string subject, ReadOnlySequence<byte>? headers, ReadOnlySequence<byte> payload)
    {
        // A message without our header (another NATS client publishing a dumpling) is one dumpling from no known hub.
        var origin = new MeshOrigin("?", 0, 1, false, 0, "?");
        var read = OriginRead.Absent;
        if (headers is { } h && h.Length > 0)
        {
            read = MeshWire.ReadOrigin(h, out var found);
            if (read == OriginRead.Found) origin = found;
        }
        if (read == OriginRead.Malformed)
        {
            Invalid(subject, "?", $"its {MeshWire.OriginHeader} header is not '<instance> <first> <count> <t|b> <subject first> <hub name>'");
            return;
        }
        if (origin.Instance == _hub.InstanceId)
        {
            Interlocked.Add(ref _ownIgnored, origin.Count);
            return;
        }
        if (origin.First > 0 && !Track(origin, subject)) return;

        lock (_receiveLock)
        {
            if (_draining)
            {
                if (_backlogDumplings + origin.Count > Options.ReceiveQueueDumplings || _backlogBytes + payload.Length > Options.ReceiveQueueBytes)
                {
                    Dropped(origin, subject);
                    return;
                }
                _backlog.Enqueue(new Incoming(subject, origin.HubName, origin.Instance, origin.Binary, origin.Count > 1, origin.Count, payload.ToArray()));
                _backlogDumplings += origin.Count;
                _backlogBytes += payload.Length;
                return;
            }
        }

        byte[]? rented = null;
        ReadOnlySpan<byte> bytes;
        if (payload.IsSingleSegment) bytes = payload.FirstSpan;
        else
        {
            var copy = (rented = ArrayPool<byte>.Shared.Rent((int)payload.Length)).AsSpan(0, (int)payload.Length);
            payload.CopyTo(copy);
            bytes = copy;
        }
        try
        {
            int at = 0, index = 0;
            string? lastKitchen = null;
            if (DeliverSome(bytes, subject, origin.HubName, origin.Instance, origin.Binary, origin.Count > 1, origin.Count, ref at, ref index, ref lastKitchen, out var pending))
            {
                _hub.SignalEaters();
                return;
            }
            // An eater holds the hub back: the rest of this message, and what comes meanwhile, wait for it in order.
            var rest = index < origin.Count ? new Incoming(subject, origin.HubName, origin.Instance, origin.Binary, origin.Count > 1, origin.Count - index, bytes[at..].ToArray()) : null;
            lock (_receiveLock) _draining = true;
            _ = DrainAsync(pending, rest);
            return;
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// Gives the hub a message's dumplings from dumpling <paramref name="index"/> (at byte <paramref name="at"/>) on. False when
    /// one was parked behind a full eater (it is taken; <paramref name="pending"/> completes when the next may follow).
    /// </summary>
    private bool DeliverSome(ReadOnlySpan<byte> message, string subject, string hubName, string instance, bool binary, bool framed, int count,
        ref int at, ref int index, ref string? lastKitchen, out ValueTask pending)
    {
        pending = ValueTask.CompletedTask;
        var received = 0;
        try
        {
            while (index < count)
            {
                ReadOnlySpan<byte> dumpling;
                if (!framed)
                {
                    dumpling = message[at..];
                    at = message.Length;
                }
                else if (!MeshWire.TryReadNext(message, ref at, out dumpling))
                {
                    // A message that does not add up is refused beyond what it delivered.
                    Interlocked.Add(ref _invalid, count - index - 1);
                    Invalid(subject, hubName, $"it says it holds {count} dumplings, but dumpling {index + 1} runs past its end");
                    index = count;
                    return true;
                }
                index++;
                if (!DumplingHub.IsForwardable(dumpling, out var chef, out var kitchen, out var error))
                {
                    Invalid(subject, hubName, error!);
                    continue;
                }
                received++;
                // A message's dumplings mostly share one kitchen: it is noted once, not under the lock per dumpling.
                if (kitchen is not null && !ReferenceEquals(kitchen, lastKitchen)) TrackKitchen(instance, hubName, lastKitchen = kitchen);
                pending = _hub.PublishAsync(HubFrame.Create(dumpling, binary, chef, kitchen), null, _stopping.Token);
                if (!pending.IsCompletedSuccessfully) return false;
            }
            if (framed && at != message.Length) Invalid(subject, hubName, $"{message.Length - at} bytes follow its {count} dumplings");
            return true;
        }
        finally
        {
            Interlocked.Add(ref _received, received);
        }
    }

    /// <summary>Waits for the eater that held the hub back, then delivers what queued meanwhile, in order, until none is left.</summary>
    private async Task DrainAsync(ValueTask pending, Incoming? rest)
    {
        try
        {
            while (true)
            {
                await pending;
                _hub.SignalEaters();
                var next = rest;
                rest = null;
                if (next is null)
                {
                    lock (_receiveLock)
                    {
                        if (!_backlog.TryDequeue(out next))
                        {
                            _draining = _dropping = false;
                            return;
                        }
                        _backlogDumplings -= next.Count;
                        _backlogBytes -= next.Bytes.Length;
                    }
                }
                int at = 0, index = 0;
                string? lastKitchen = null;
                while (!DeliverSome(next.Bytes, next.Subject, next.HubName, next.Instance, next.Binary, next.Framed, next.Count, ref at, ref index, ref lastKitchen, out pending))
                {
                    _hub.SignalEaters();
                    await pending;
                }
                pending = ValueTask.CompletedTask;
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested) { }
        catch (Exception e)
        {
            lock (_receiveLock)
            {
                // Nothing lost uncounted: what waited is dropped, as when the queue is full.
                var lost = _backlogDumplings + (rest?.Count ?? 0);
                Interlocked.Add(ref _dropped, lost);
                Interlocked.Add(ref _remoteGap, lost);
                _hub.Report(HubLogLevel.Error, $"Could not deliver remote dumplings ({lost} waiting are dropped, counted as mesh dropped): {e}");
                _backlog.Clear();
                _backlogDumplings = 0;
                _backlogBytes = 0;
                _draining = _dropping = false;
            }
        }
    }

    /// <summary>The hub's queue for remote dumplings is full: NATS core keeps nothing, so this message is lost here, and counted.</summary>
    private void Dropped(MeshOrigin origin, string subject)
    {
        Interlocked.Add(ref _dropped, origin.Count);
        if (origin.First > 0)
            lock (_remoteLock)
            {
                var remote = Remote(origin.Instance, origin.HubName);
                remote.Gap += origin.Count;
                Interlocked.Add(ref _remoteGap, origin.Count);
            }
        if (_dropping) return;
        _dropping = true; // under _receiveLock: one event per stretch of drops
        Interlocked.Increment(ref _slowConsumerEvents);
        _hub.Report(HubLogLevel.Warning, $"This hub reads remote dumplings more slowly than the mesh sends them: its queue for them is full ({Options.ReceiveQueueDumplings} dumplings or {Options.ReceiveQueueBytes / (1024 * 1024)} MiB), so it drops some " +
            $"(from {subject} and after; counted in the status as mesh dropped and remote_gap).");
    }

    private void Invalid(string subject, string hubName, string error)
    {
        Interlocked.Increment(ref _invalid);
        if (_invalidLog.TryLog(out var unlogged))
            _hub.Report(HubLogLevel.Warning, $"Skipped an invalid dumpling from the mesh ({subject}, hub '{hubName}'): {error}." +
                SparseLog.More(unlogged, "were skipped (all counted as mesh invalid)"));
    }

    /// <summary>
    /// Notes a remote message's numbers: false for a copy (a second subscription brought it while they changed);
    /// a jump in its subject's numbers is what the mesh lost between us (NATS away, or dropped on the way).
    /// </summary>
    private bool Track(MeshOrigin origin, string subject)
    {
        lock (_remoteLock)
        {
            var remote = Remote(origin.Instance, origin.HubName);
            // A copy comes right after the message it copies (NATS sends one message to all of a connection's matching
            // subscriptions at once); a number far below is not a copy but a fresh start (or another client's lie), so a
            // lie can silence a hub for a moment, not for good.
            if (origin.First <= remote.LastSequence && origin.First > remote.LastSequence - CopyWindow)
            {
                Interlocked.Add(ref _duplicates, origin.Count);
                return false;
            }
            remote.LastSequence = origin.First + origin.Count - 1;
            remote.Dumplings += origin.Count;
            remote.LastSeen = DateTimeOffset.UtcNow;
            if (remote.LastBySubject.TryGetValue(subject, out var last) && origin.SubjectFirst > last + 1)
            {
                var gap = origin.SubjectFirst - last - 1;
                remote.Gap += gap;
                Interlocked.Add(ref _remoteGap, gap);
            }
            if (remote.LastBySubject.Count >= MaxSubjectNumbers && !remote.LastBySubject.ContainsKey(subject)) remote.LastBySubject.Clear();
            remote.LastBySubject[subject] = origin.SubjectFirst + origin.Count - 1;
            return true;
        }
    }

    private void TrackKitchen(string instance, string name, string kitchen)
    {
        lock (_remoteLock)
        {
            var remote = Remote(instance, name);
            remote.LastSeen = DateTimeOffset.UtcNow;
            if (remote.Kitchens.Count < MaxKitchensPerHub) remote.Kitchens.Add(kitchen);
        }
    }

    private RemoteHub Remote(string instance, string name)
    {
        if (!_remotes.TryGetValue(instance, out var remote))
        {
            if (_remotes.Count >= MaxRemoteHubs)
            {
                var oldest = _remotes.MinBy(r => r.Value.LastSeen).Key;
                _remotes.Remove(oldest);
            }
            _remotes[instance] = remote = new RemoteHub(name);
        }
        remote.Name = name;
        return remote;
    }

    public MeshStatus GetStatus()
    {
        MeshRemoteHub[] remotes;
        lock (_remoteLock)
            remotes = _remotes.Values.Select(r => new MeshRemoteHub(r.Name, r.Dumplings, r.Gap, r.LastSeen, [.. r.Kitchens.Order(StringComparer.Ordinal)])).ToArray();
        return new MeshStatus(Options.HubName, Options.ServersForDisplay, Connected,
            Interlocked.Read(ref _published), Interlocked.Read(ref _publishLost), Interlocked.Read(ref _received),
            Interlocked.Read(ref _dropped), Interlocked.Read(ref _slowConsumerEvents), Interlocked.Read(ref _remoteGap), remotes)
        {
            Disconnects = Interlocked.Read(ref _disconnects),
            PublishWaits = Interlocked.Read(ref _publishWaits),
            Subscribed = Subscribed,
            Subjects = _subscribedSubjects,
            Duplicates = Interlocked.Read(ref _duplicates),
            Invalid = Interlocked.Read(ref _invalid),
            LastError = _lastError,
        };
    }

    public async ValueTask DisposeAsync()
    {
        _stopping.Cancel();
        _outgoing.Writer.TryComplete();
        var tasks = new[] { _run, _publish }.Where(t => t is not null).Cast<Task>().ToArray();
        await Task.WhenAny(Task.WhenAll(tasks), Task.Delay(TimeSpan.FromSeconds(5)));
        if (_connection is { } connection) await connection.DisposeAsync();
        _stopping.Dispose();
    }
}
