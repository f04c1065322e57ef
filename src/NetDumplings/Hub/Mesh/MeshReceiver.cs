using System.Buffers;

namespace NetDumplings.Hub.Mesh;

/// <summary>
/// Takes other hubs' dumplings from NATS (on NATS.Net's read loop, through <see cref="MeshSubscription"/>) and gives them
/// to the hub's own publish path: at once while the hub takes them so, else queued in order for one drainer (bounded in
/// dumplings and bytes; beyond, dropped and counted). Knows each remote hub by its numbers: copies a second
/// subscription brings are not delivered again, holes in a subject's numbers are counted, and junk any NATS client
/// publishes is counted invalid.
/// </summary>
internal sealed class MeshReceiver(DumplingHub hub, NatsMeshOptions options, CancellationToken stopping)
{
    private const int MaxRemoteHubs = 64, MaxKitchensPerHub = 64;
    /// <summary>How far below a hub's last number a message still counts as a copy of one already delivered.</summary>
    private const long CopyWindow = 4 * MeshWire.MaxBatchDumplings;
    /// <summary>Subjects whose numbers are kept per remote hub before they start afresh.</summary>
    private const int MaxSubjectNumbers = 4096;

    private readonly DumplingHub _hub = hub;
    private readonly CancellationToken _stopping = stopping;
    private readonly object _remoteLock = new();
    private readonly Dictionary<string, RemoteHub> _remotes = [];   // by instance
    private readonly SparseLog _invalidLog = new();
    private long _received, _duplicates, _invalid, _dropped, _slowConsumerEvents, _remoteGap;

    // Remote dumplings the hub could not take at once (an eater held them back): delivered in order by one drainer.
    private readonly object _receiveLock = new();
    private readonly Queue<Incoming> _backlog = new();
    private int _backlogDumplings;
    private long _backlogBytes;
    private bool _draining, _dropping;

    /// <summary>What a message (or what is left of one) is: its dumplings, each after its length when <paramref name="Framed"/>.</summary>
    private readonly record struct MessageHead(string Subject, string HubName, string Instance, bool Binary, bool Framed, int Count);

    /// <summary>A message waiting for the hub.</summary>
    private sealed record Incoming(MessageHead Head, byte[] Bytes);

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

    private NatsMeshOptions Options { get; } = options;

    public long Received => Interlocked.Read(ref _received);
    public long Duplicates => Interlocked.Read(ref _duplicates);
    public long Invalid => Interlocked.Read(ref _invalid);
    public long Dropped => Interlocked.Read(ref _dropped);
    public long SlowConsumerEvents => Interlocked.Read(ref _slowConsumerEvents);
    public long RemoteGap => Interlocked.Read(ref _remoteGap);

    public MeshRemoteHub[] RemoteHubs()
    {
        lock (_remoteLock)
            return _remotes.Values.Select(r => new MeshRemoteHub(r.Name, r.Dumplings, r.Gap, r.LastSeen, [.. r.Kitchens.Order(StringComparer.Ordinal)])).ToArray();
    }

    /// <summary>
    /// The hub now takes only <paramref name="wanted"/>: a subject no longer taken forgets its numbers, so that taken again
    /// later, what was published meanwhile is no hole. (Checked subject by subject while that is cheap; beyond, all start
    /// afresh, blind to a hole at this moment only.)
    /// </summary>
    public void Subscribed(IReadOnlyList<string> wanted)
    {
        if (wanted is [var only] && only == MeshWire.SubjectFilter(null, null)) return;
        lock (_remoteLock)
        {
            var checks = (long)wanted.Count * _remotes.Values.Sum(r => r.LastBySubject.Count);
            foreach (var remote in _remotes.Values)
            {
                if (checks > 100_000) remote.LastBySubject.Clear();
                else
                    foreach (var subject in remote.LastBySubject.Keys.Where(s => !wanted.Any(w => MeshWire.Matches(w, s))).ToArray())
                        remote.LastBySubject.Remove(subject);
            }
        }
    }

    /// <summary>
    /// A remote message, on NATS.Net's read loop (its buffers are only lent): delivered there while the hub takes
    /// its dumplings at once; queued (up to <see cref="NatsMeshOptions.ReceiveQueueDumplings"/>, beyond that dropped and
    /// counted) while an eater holds the hub back, so NATS itself is never held.
    /// </summary>
    public ValueTask ReceiveAsync(string subject, ReadOnlySequence<byte>? headers, ReadOnlySequence<byte> payload)
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
            Refuse(subject, "?", $"its {MeshWire.OriginHeader} header is not '<instance> <first> <count> <t|b> <subject first> <hub name>'");
            return;
        }
        if (origin.Instance == _hub.InstanceId) return; // NATS echoes nothing to this hub: another client claiming to be it
        if (origin.First > 0 && !Track(origin, subject)) return;
        var head = new MessageHead(subject, origin.HubName, origin.Instance, origin.Binary, origin.Count > 1, origin.Count);

        lock (_receiveLock)
        {
            if (_draining)
            {
                if (_backlogDumplings + origin.Count > Options.ReceiveQueueDumplings || _backlogBytes + payload.Length > Options.ReceiveQueueBytes)
                {
                    Drop(origin, subject);
                    return;
                }
                _backlog.Enqueue(new Incoming(head, payload.ToArray()));
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
            if (DeliverSome(bytes, head, ref at, ref index, ref lastKitchen, out var pending))
            {
                _hub.SignalEaters();
                return;
            }
            // An eater holds the hub back: the rest of this message, and what comes meanwhile, wait for it in order.
            var rest = index < head.Count ? new Incoming(head with { Count = head.Count - index }, bytes[at..].ToArray()) : null;
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
    private bool DeliverSome(ReadOnlySpan<byte> message, in MessageHead head, ref int at, ref int index, ref string? lastKitchen, out ValueTask pending)
    {
        var (subject, hubName, count) = (head.Subject, head.HubName, head.Count);
        pending = ValueTask.CompletedTask;
        var received = 0;
        try
        {
            while (index < count)
            {
                ReadOnlySpan<byte> dumpling;
                if (!head.Framed)
                {
                    dumpling = message[at..];
                    at = message.Length;
                }
                else if (!MeshWire.TryReadNext(message, ref at, out dumpling))
                {
                    // A message that does not add up is refused beyond what it delivered.
                    Interlocked.Add(ref _invalid, count - index - 1);
                    Refuse(subject, hubName, $"it says it holds {count} dumplings, but dumpling {index + 1} runs past its end");
                    index = count;
                    return true;
                }
                index++;
                if (!DumplingHub.IsForwardable(dumpling, out var chef, out var kitchen, out _, out var error))
                {
                    Refuse(subject, hubName, error!);
                    continue;
                }
                received++;
                // A message's dumplings mostly share one kitchen: it is noted once, not under the lock per dumpling.
                if (kitchen is not null && !ReferenceEquals(kitchen, lastKitchen)) TrackKitchen(head.Instance, hubName, lastKitchen = kitchen);
                pending = _hub.PublishAsync(HubFrame.Create(dumpling, head.Binary, chef, kitchen), null, _stopping);
                if (!pending.IsCompletedSuccessfully) return false;
            }
            if (head.Framed && at != message.Length) Refuse(subject, hubName, $"{message.Length - at} bytes follow its {count} dumplings");
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
        Incoming? next = null;
        var index = 0;
        try
        {
            while (true)
            {
                await pending;
                _hub.SignalEaters();
                next = rest;
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
                        _backlogDumplings -= next.Head.Count;
                        _backlogBytes -= next.Bytes.Length;
                    }
                }
                var at = 0;
                index = 0;
                string? lastKitchen = null;
                while (!DeliverSome(next.Bytes, next.Head, ref at, ref index, ref lastKitchen, out pending))
                {
                    _hub.SignalEaters();
                    await pending;
                }
                pending = ValueTask.CompletedTask;
                next = null;
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested) { }
        catch (Exception e)
        {
            lock (_receiveLock)
            {
                // Nothing lost uncounted: what waited is dropped, as when the queue is full.
                var lost = _backlogDumplings + (rest?.Head.Count ?? 0) + (next is null ? 0 : next.Head.Count - index);
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
    private void Drop(MeshOrigin origin, string subject)
    {
        Interlocked.Add(ref _dropped, origin.Count);
        if (origin.First > 0)
            lock (_remoteLock) AddGap(Remote(origin.Instance, origin.HubName), origin.Count);
        if (_dropping) return;
        _dropping = true; // under _receiveLock: one event per stretch of drops
        Interlocked.Increment(ref _slowConsumerEvents);
        _hub.Report(HubLogLevel.Warning, $"This hub reads remote dumplings more slowly than the mesh sends them: its queue for them is full ({Options.ReceiveQueueDumplings} dumplings or {Options.ReceiveQueueBytes / (1024 * 1024)} MiB), so it drops some " +
            $"(from {subject} and after; counted in the status as mesh dropped and remote_gap).");
    }

    private void Refuse(string subject, string hubName, string error)
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
                AddGap(remote, origin.SubjectFirst - last - 1);
            if (remote.LastBySubject.Count >= MaxSubjectNumbers && !remote.LastBySubject.ContainsKey(subject)) remote.LastBySubject.Clear();
            remote.LastBySubject[subject] = origin.SubjectFirst + origin.Count - 1;
            return true;
        }
    }

    /// <summary>Dumplings of a remote hub this hub will never deliver: lost on the way, or dropped here (under <c>_remoteLock</c>).</summary>
    private void AddGap(RemoteHub remote, long dumplings)
    {
        remote.Gap += dumplings;
        Interlocked.Add(ref _remoteGap, dumplings);
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
}
