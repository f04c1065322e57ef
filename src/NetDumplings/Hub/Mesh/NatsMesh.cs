using NATS.Client.Core;

namespace NetDumplings.Hub.Mesh;

/// <summary>
/// The hub's part in a mesh of hubs joined through NATS: the connection (kept, or retried while NATS is away, which
/// never holds the local fan-out), and the subscriptions, kept to what the local eaters want (<see cref="MeshInterest"/>)
/// and only while the hub has eaters. What local kitchens send goes out through <see cref="MeshPublisher"/>, once,
/// bytes untouched, to <c>netdumplings.v1.&lt;kitchen&gt;.&lt;chef&gt;.&lt;driver&gt;</c> (the format: <see cref="MeshWire"/>);
/// what other hubs published comes in through <see cref="MeshReceiver"/> to the local eaters, by the hub's own publish
/// path (numbering, replay window, filters, backpressure), and is never published again, so nothing loops.
/// </summary>
internal sealed class NatsMesh : IAsyncDisposable
{
    /// <summary>Subjects one hub subscribes to at most; eaters' filters that would need more take the whole mesh.</summary>
    internal const int MaxSubjects = 256;
    /// <summary>Interests of eaters that left, kept for <see cref="NatsMeshOptions.IdleSubscription"/> (so one that comes back is replayed what it missed).</summary>
    private const int MaxLingering = 256;

    private readonly DumplingHub _hub;
    private readonly CancellationTokenSource _stopping = new();
    private NatsConnection? _connection;
    private Task? _run, _publish;
    private readonly MeshPublisher _publisher;
    private readonly MeshReceiver _receiver;
    private long _disconnects;
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

    public NatsMesh(DumplingHub hub, NatsMeshOptions options)
    {
        options.Validate();
        _hub = hub;
        Options = options;
        _publisher = new MeshPublisher(hub, options, () => _connection, _stopping.Token);
        _receiver = new MeshReceiver(hub, options, _stopping.Token);
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

    /// <summary>A local eater is gone (called once for every eater that arrived; again is harmless); what it wanted is still taken for <see cref="NatsMeshOptions.IdleSubscription"/>.</summary>
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
        _publish = Task.Run(_publisher.PublishLoopAsync);
    }

    /// <summary>Queues a local kitchen's dumpling for the mesh (<see cref="MeshPublisher.OfferAsync"/>).</summary>
    public ValueTask OfferAsync(HubFrame frame, DumplingDriver driver, KitchenSession? kitchen, CancellationToken cancel) =>
        _publisher.OfferAsync(frame, driver, kitchen, cancel);

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
            var subscription = new MeshSubscription(connection, subject, _receiver);
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
        _receiver.Subscribed(wanted);
        if (wanted.Count == 0)
            _hub.Report(HubLogLevel.Verbose, $"No eaters for {Options.IdleSubscription.TotalSeconds:0} s: this hub takes no remote dumplings until one comes.");
        else if (!was.SequenceEqual(wanted))
            _hub.Report(HubLogLevel.Verbose, $"Taking from the mesh what the eaters want: {string.Join(", ", wanted.Take(8))}{(wanted.Count > 8 ? $" and {wanted.Count - 8} more" : "")}.");
    }

    internal static string Describe(Exception e)
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

    public MeshStatus GetStatus() =>
        new(Options.HubName, Options.ServersForDisplay, Connected, _publisher.Published, _publisher.PublishLost, _receiver.Received,
            _receiver.Dropped, _receiver.SlowConsumerEvents, _receiver.RemoteGap, _receiver.RemoteHubs())
        {
            Disconnects = Interlocked.Read(ref _disconnects),
            PublishWaits = _publisher.PublishWaits,
            Subscribed = Subscribed,
            Subjects = _subscribedSubjects,
            Duplicates = _receiver.Duplicates,
            Invalid = _receiver.Invalid,
            LastError = _lastError,
        };

    public async ValueTask DisposeAsync()
    {
        _stopping.Cancel();
        _publisher.Complete();
        var tasks = new[] { _run, _publish }.Where(t => t is not null).Cast<Task>().ToArray();
        await Task.WhenAny(Task.WhenAll(tasks), Task.Delay(TimeSpan.FromSeconds(5)));
        if (_connection is { } connection) await connection.DisposeAsync();
        _stopping.Dispose();
    }
}
