using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Threading.Channels;

using NATS.Client.Core;

namespace NetDumplings.Hub.Mesh;

/// <summary>
/// The hub's part in a mesh of hubs joined through NATS. Every dumpling a local kitchen sends is
/// published once, bytes untouched, to <c>netdumplings.v1.&lt;kitchen&gt;.&lt;chef&gt;.&lt;driver&gt;</c> with the
/// origin hub in headers; every dumpling another hub published is delivered to the local eaters through
/// the hub's own publish path (numbering, replay window, filters, backpressure) and never published again,
/// so nothing loops. NATS being away never holds the local fan-out: publishing goes through a bounded
/// queue and what cannot be published is counted lost; remote hubs' gaps are counted from their numbers.
/// </summary>
internal sealed class NatsMesh : IAsyncDisposable
{
    public const string SubjectPrefix = "netdumplings.v1";
    public const string HubHeader = "Nd-Hub";
    public const string InstanceHeader = "Nd-Hub-Instance";
    public const string SequenceHeader = "Nd-Seq";
    public const string BinaryHeader = "Nd-Binary";
    private const int MaxRemoteHubs = 64, MaxKitchensPerHub = 64;

    private readonly DumplingHub _hub;
    private readonly Channel<Outgoing> _outgoing;
    private readonly CancellationTokenSource _stopping = new();
    private readonly object _remoteLock = new();
    private readonly Dictionary<string, RemoteHub> _remotes = [];   // by instance
    private NatsConnection? _connection;
    private Task? _run, _publish;
    private long _published, _publishLost, _received, _ownIgnored, _invalid, _dropped, _slowConsumerEvents, _remoteGap, _disconnects, _sequence;
    private string? _lastError;
    private readonly HashSet<string> _reported = []; // reasons already logged since the last successful join (RunAsync only)
    private volatile bool _subscribed;

    private readonly record struct Outgoing(string Subject, byte[] Message, bool Binary);

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

    public bool Connected => _connection?.ConnectionState == NatsConnectionState.Open && _subscribed;

    public void Start()
    {
        _run = Task.Run(RunAsync);
        _publish = Task.Run(PublishLoopAsync);
    }

    /// <summary>A subject token for a name: ASCII letters, digits, '-' and '_' as they are, anything else (., *, &gt;, spaces, %...) as %XX of its UTF-8.</summary>
    internal static string SubjectToken(string? name)
    {
        if (string.IsNullOrEmpty(name)) return "_";
        var b = new StringBuilder(name.Length);
        foreach (var c in Encoding.UTF8.GetBytes(name))
        {
            if (c is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or >= (byte)'0' and <= (byte)'9' or (byte)'-' or (byte)'_')
                b.Append((char)c);
            else
                b.Append('%').Append(c.ToString("X2", CultureInfo.InvariantCulture));
        }
        return b.ToString();
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string?, string, DumplingDriver), string> _subjects = new();

    /// <summary>A kitchen's subjects are few: made once each (bounded, in case names keep changing).</summary>
    private string CachedSubject(string? kitchen, string chef, DumplingDriver driver)
    {
        if (_subjects.TryGetValue((kitchen, chef, driver), out var subject)) return subject;
        subject = Subject(kitchen, chef, driver);
        if (_subjects.Count < 4096) _subjects[(kitchen, chef, driver)] = subject;
        return subject;
    }

    internal static string Subject(string? kitchen, string chef, DumplingDriver driver) =>
        $"{SubjectPrefix}.{SubjectToken(kitchen)}.{SubjectToken(chef)}.{(driver == DumplingDriver.Packet ? "packet" : "interval")}";

    /// <summary>Queues a local kitchen's dumpling for NATS; never waits. Lost (and counted) when NATS is away or the queue is full.</summary>
    public void Offer(ReadOnlySpan<byte> message, bool binary, string? kitchen, string chef, DumplingDriver driver)
    {
        if (_connection?.ConnectionState != NatsConnectionState.Open || !_outgoing.Writer.TryWrite(new Outgoing(CachedSubject(kitchen, chef, driver), message.ToArray(), binary)))
            Interlocked.Increment(ref _publishLost);
    }

    private async Task PublishLoopAsync()
    {
        var reader = _outgoing.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_stopping.Token))
            {
                while (reader.TryRead(out var item))
                {
                    var connection = _connection;
                    if (connection is null || connection.ConnectionState != NatsConnectionState.Open)
                    {
                        Interlocked.Increment(ref _publishLost);
                        continue;
                    }
                    var headers = new NatsHeaders
                    {
                        [HubHeader] = Options.HubName,
                        [InstanceHeader] = _hub.InstanceId,
                        [SequenceHeader] = (++_sequence).ToString(CultureInfo.InvariantCulture),
                    };
                    if (item.Binary) headers[BinaryHeader] = "1";
                    try
                    {
                        await connection.PublishAsync(item.Subject, item.Message, headers, cancellationToken: _stopping.Token);
                        Interlocked.Increment(ref _published);
                    }
                    catch (Exception e) when (e is not OperationCanceledException || !_stopping.IsCancellationRequested)
                    {
                        // Not sent: its number goes to the next, so the other hubs count it once (here, as lost), not again as a gap.
                        _sequence--;
                        Interlocked.Increment(ref _publishLost);
                    }
                }
            }
        }
        catch (OperationCanceledException) { }
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
                await using var subscription = await connection.SubscribeCoreAsync<byte[]>(SubjectPrefix + ".>", cancellationToken: _stopping.Token);
                _subscribed = true;
                await ReceiveAsync(subscription);
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

    private async Task ReceiveAsync(INatsSub<byte[]> subscription)
    {
        var reader = subscription.Msgs;
        while (await reader.WaitToReadAsync(_stopping.Token))
        {
            // The eaters are woken once what has arrived is queued, not per dumpling (as for a kitchen's burst).
            while (reader.TryRead(out var msg)) await DeliverAsync(msg);
            _hub.SignalEaters();
        }
    }

    private async ValueTask DeliverAsync(NatsMsg<byte[]> msg)
    {
        var headers = msg.Headers;
        string? instance = null, name = null;
        long sequence = 0;
        var binary = false;
        if (headers is not null)
        {
            if (headers.TryGetValue(InstanceHeader, out var v)) instance = v.ToString();
            if (headers.TryGetValue(HubHeader, out v)) name = v.ToString();
            if (headers.TryGetValue(SequenceHeader, out v)) long.TryParse(v.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out sequence);
            binary = headers.TryGetValue(BinaryHeader, out v) && v.ToString() == "1";
        }
        if (instance == _hub.InstanceId)
        {
            Interlocked.Increment(ref _ownIgnored);
            return;
        }
        var message = msg.Data ?? [];
        if (!DumplingHub.IsForwardable(message, out var chef, out var kitchen, out var error))
        {
            Interlocked.Increment(ref _invalid);
            _hub.Report(HubLogLevel.Warning, $"Skipped an invalid dumpling from the mesh ({msg.Subject}, hub '{name ?? "?"}'): {error}.");
            return;
        }
        Interlocked.Increment(ref _received);
        Track(instance ?? "?", name ?? "?", sequence, kitchen);
        await _hub.PublishAsync(HubFrame.Create(message, binary, chef, kitchen), null, _stopping.Token);
    }

    private void Track(string instance, string name, long sequence, string? kitchen)
    {
        lock (_remoteLock)
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
            remote.Dumplings++;
            remote.LastSeen = DateTimeOffset.UtcNow;
            if (sequence > 0)
            {
                // A hub numbers what it publishes: a jump is what the mesh lost between us (NATS away, or dropped).
                if (remote.LastSequence > 0 && sequence > remote.LastSequence + 1)
                {
                    var gap = sequence - remote.LastSequence - 1;
                    remote.Gap += gap;
                    Interlocked.Add(ref _remoteGap, gap);
                }
                if (sequence > remote.LastSequence) remote.LastSequence = sequence;
            }
            if (kitchen is not null && remote.Kitchens.Count < MaxKitchensPerHub) remote.Kitchens.Add(kitchen);
        }
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

/// <summary>A remote hub as this one sees it through the mesh.</summary>
public sealed record MeshRemoteHub(string HubName, long Dumplings, long Gap, DateTimeOffset LastSeen, IReadOnlyList<string> Kitchens);

/// <summary>The mesh part of a hub's status.</summary>
public sealed record MeshStatus(
    string HubName, string Servers, bool Connected, long Published, long PublishLost, long Received,
    long Dropped, long SlowConsumerEvents, long RemoteGap, IReadOnlyList<MeshRemoteHub> RemoteHubs)
{
    public long Disconnects { get; init; }
    public long Invalid { get; init; }
    public string? LastError { get; init; }
}
