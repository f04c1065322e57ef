using System.Buffers;
using System.Globalization;
using System.Threading.Channels;

using NATS.Client.Core;

namespace NetDumplings.Hub.Mesh;

/// <summary>
/// The hub's part in a mesh of hubs joined through NATS. Every dumpling a local kitchen sends is
/// published once, bytes untouched, to <c>netdumplings.v1.&lt;kitchen&gt;.&lt;chef&gt;.&lt;driver&gt;</c> (the format:
/// <see cref="MeshWire"/>); every dumpling another hub published is delivered to the local eaters through
/// the hub's own publish path (numbering, replay window, filters, backpressure) and never published again,
/// so nothing loops. While NATS is there a kitchen faster than it is held, as by a full eater; NATS being away
/// never holds the local fan-out (what cannot be published is counted lost); remote hubs' gaps are counted from
/// their numbers. The hub takes remote dumplings only while it has eaters.
/// </summary>
internal sealed class NatsMesh : IAsyncDisposable
{
    private const int MaxRemoteHubs = 64, MaxKitchensPerHub = 64;
    private const int MaxDrain = 4096;

    private readonly DumplingHub _hub;
    private readonly Channel<Outgoing> _outgoing;
    private readonly CancellationTokenSource _stopping = new();
    private readonly object _remoteLock = new();
    private readonly Dictionary<string, RemoteHub> _remotes = [];   // by instance
    private NatsConnection? _connection;
    private Task? _run, _publish;
    private long _publishWaits, _published, _publishLost, _received, _ownIgnored, _invalid, _dropped, _slowConsumerEvents, _remoteGap, _disconnects, _sequence;
    private string? _lastError;
    private readonly HashSet<string> _reported = []; // reasons already logged since the last successful join (RunAsync only)
    private volatile bool _subscribed;
    // Local eaters (the mesh is subscribed while there are any, and IdleSubscription after the last left), and who waits for that.
    private int _eaters;
    private long _idleSinceTicks = Environment.TickCount64;
    private readonly SemaphoreSlim _interestChanged = new(0);
    private TaskCompletionSource _subscribedSignal = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private readonly record struct Outgoing(string Subject, ReadOnlyMemory<byte> Message, bool Binary);

    private sealed class RemoteHub(string name)
    {
        public string Name { get; set; } = name;
        public long LastSequence;
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
    public bool Subscribed => Connected && _subscribed;

    /// <summary>
    /// A local eater is about to be admitted: the hub takes remote dumplings from now on, and this waits (up to 2 s,
    /// not at all while NATS is away) until NATS has the subscription, so the eater misses no remote dumpling published after it came.
    /// </summary>
    public async ValueTask EaterArrivingAsync(CancellationToken cancel)
    {
        var signal = Volatile.Read(ref _subscribedSignal);
        if (Interlocked.Increment(ref _eaters) == 1) _interestChanged.Release();
        if (_subscribed || !Connected) return;
        try
        {
            await signal.Task.WaitAsync(TimeSpan.FromSeconds(2), cancel);
        }
        catch (TimeoutException) { }
        catch (OperationCanceledException)
        {
            EaterLeft();
            throw;
        }
    }

    /// <summary>A local eater is gone; with the last, the subscription ends after <see cref="NatsMeshOptions.IdleSubscription"/>.</summary>
    public void EaterLeft()
    {
        if (Interlocked.Decrement(ref _eaters) != 0) return;
        Volatile.Write(ref _idleSinceTicks, Environment.TickCount64);
        _interestChanged.Release();
    }

    private bool Interested => Volatile.Read(ref _eaters) > 0
        || Environment.TickCount64 - Volatile.Read(ref _idleSinceTicks) < Options.IdleSubscription.TotalMilliseconds;

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
        var headers = new NatsHeaders { [MeshWire.OriginHeader] = MeshWire.Origin(_hub.InstanceId, _sequence + 1, batch.Count, binary, Options.HubName) };
        try
        {
            await connection.PublishAsync(subject, data, headers, cancellationToken: _stopping.Token);
            // Numbered once sent: what could not be sent is counted here as lost, not again as a gap by the others.
            _sequence += batch.Count;
            Interlocked.Add(ref _published, batch.Count);
        }
        catch (Exception e) when (e is not OperationCanceledException || !_stopping.IsCancellationRequested)
        {
            Interlocked.Add(ref _publishLost, batch.Count);
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
            SubPendingChannelCapacity = o.ReceiveQueueDumplings,
            SubPendingChannelFullMode = BoundedChannelFullMode.DropNewest,
            SuppressSlowConsumerWarnings = true,
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
                _subscribed = false;
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

    /// <summary>Subscribes while the hub has eaters (or had them lately), for as long as the hub runs; NATS.Net keeps the subscription across reconnections.</summary>
    private async Task SubscribeWhileInterestedAsync(NatsConnection connection)
    {
        while (!_stopping.IsCancellationRequested)
        {
            while (!Interested)
                await _interestChanged.WaitAsync(_stopping.Token);
            await using (var subscription = await connection.SubscribeCoreAsync<byte[]>(MeshWire.SubjectPrefix + ".>", cancellationToken: _stopping.Token))
            {
                // NATS handles a connection's commands in order: once it answers, the subscription is in place.
                await connection.PingAsync(_stopping.Token);
                lock (_remoteLock)
                    foreach (var remote in _remotes.Values) remote.LastSequence = 0; // what was published meanwhile is not a gap
                _subscribed = true;
                Interlocked.Exchange(ref _subscribedSignal, new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
                using var idle = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
                var watch = EndWhenIdleAsync(idle);
                try
                {
                    await ReceiveAsync(subscription, idle.Token);
                }
                catch (OperationCanceledException) when (!_stopping.IsCancellationRequested) { }
                finally
                {
                    _subscribed = false;
                    idle.Cancel();
                    await watch;
                }
            }
            if (!_stopping.IsCancellationRequested)
                _hub.Report(HubLogLevel.Verbose, $"No eaters for {Options.IdleSubscription.TotalSeconds:0} s: this hub takes no remote dumplings until one comes.");
        }
    }

    private async Task EndWhenIdleAsync(CancellationTokenSource idle)
    {
        try
        {
            while (Interested)
            {
                var left = Options.IdleSubscription.TotalMilliseconds - (Environment.TickCount64 - Volatile.Read(ref _idleSinceTicks));
                var wait = Volatile.Read(ref _eaters) > 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromMilliseconds(Math.Clamp(left, 1, int.MaxValue));
                await _interestChanged.WaitAsync(wait, idle.Token);
            }
            idle.Cancel();
        }
        catch (OperationCanceledException) { }
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
        connection.MessageDropped += (_, _) =>
        {
            Interlocked.Increment(ref _dropped);
            return default;
        };
        connection.SlowConsumerDetected += (_, _) =>
        {
            Interlocked.Increment(ref _slowConsumerEvents);
            _hub.Report(HubLogLevel.Warning, "This hub reads remote dumplings more slowly than the mesh sends them: NATS.Net is dropping some (counted in the status as mesh dropped).");
            return default;
        };
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

    private async Task ReceiveAsync(INatsSub<byte[]> subscription, CancellationToken cancel)
    {
        var reader = subscription.Msgs;
        while (await reader.WaitToReadAsync(cancel))
        {
            // The eaters are woken once what has arrived is queued, not per dumpling (as for a kitchen's burst).
            while (reader.TryRead(out var msg)) await DeliverAsync(msg);
            _hub.SignalEaters();
        }
    }

    private async ValueTask DeliverAsync(NatsMsg<byte[]> msg)
    {
        var message = msg.Data ?? [];
        string instance = "?", name = "?";
        long first = 0;
        int count = 1;
        var binary = false;
        if (msg.Headers is { } headers && headers.TryGetValue(MeshWire.OriginHeader, out var origin)
            && !MeshWire.TryParseOrigin(origin.ToString(), out instance, out first, out count, out binary, out name))
        {
            Invalid(msg.Subject, "?", $"its {MeshWire.OriginHeader} header is not '<instance> <first> <count> <t|b> <hub name>'");
            return;
        }
        if (instance == _hub.InstanceId)
        {
            Interlocked.Add(ref _ownIgnored, count);
            return;
        }
        Track(instance, name, first, count);
        string? lastKitchen = null;
        if (count == 1)
        {
            await DeliverOneAsync(message, binary, msg.Subject, instance, name, ref lastKitchen);
            return;
        }
        // Several: each after its length. A message that does not add up is refused whole, beyond what it delivered.
        var at = 0;
        for (var i = 0; i < count; i++)
        {
            if (!MeshWire.TryReadNext(message, ref at, out var dumpling))
            {
                Interlocked.Add(ref _invalid, count - i - 1);
                Invalid(msg.Subject, name, $"it says it holds {count} dumplings, but dumpling {i + 1} runs past its end");
                return;
            }
            await DeliverOneAsync(dumpling, binary, msg.Subject, instance, name, ref lastKitchen);
        }
        if (at != message.Length) Invalid(msg.Subject, name, $"{message.Length - at} bytes follow its {count} dumplings");
    }

    private ValueTask DeliverOneAsync(ReadOnlyMemory<byte> message, bool binary, string subject, string instance, string hubName, ref string? lastKitchen)
    {
        if (!DumplingHub.IsForwardable(message.Span, out var chef, out var kitchen, out var error))
        {
            Invalid(subject, hubName, error!);
            return ValueTask.CompletedTask;
        }
        Interlocked.Increment(ref _received);
        // A message's dumplings mostly share one kitchen: it is noted once, not under the lock per dumpling.
        if (kitchen is not null && !ReferenceEquals(kitchen, lastKitchen)) TrackKitchen(instance, hubName, lastKitchen = kitchen);
        return _hub.PublishAsync(HubFrame.Create(message.Span, binary, chef, kitchen), null, _stopping.Token);
    }

    private void Invalid(string subject, string hubName, string error)
    {
        Interlocked.Increment(ref _invalid);
        _hub.Report(HubLogLevel.Warning, $"Skipped an invalid dumpling from the mesh ({subject}, hub '{hubName}'): {error}.");
    }

    private void Track(string instance, string name, long first, int count)
    {
        lock (_remoteLock)
        {
            var remote = Remote(instance, name);
            remote.Dumplings += count;
            remote.LastSeen = DateTimeOffset.UtcNow;
            if (first > 0)
            {
                // A hub numbers what it publishes: a jump is what the mesh lost between us (NATS away, or dropped).
                if (remote.LastSequence > 0 && first > remote.LastSequence + 1)
                {
                    var gap = first - remote.LastSequence - 1;
                    remote.Gap += gap;
                    Interlocked.Add(ref _remoteGap, gap);
                }
                remote.LastSequence = Math.Max(remote.LastSequence, first + count - 1);
            }
        }
    }

    private void TrackKitchen(string instance, string name, string kitchen)
    {
        lock (_remoteLock)
        {
            var remote = Remote(instance, name);
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
