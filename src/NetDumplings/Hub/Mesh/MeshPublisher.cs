using System.Buffers;
using System.Threading.Channels;

using NATS.Client.Core;

namespace NetDumplings.Hub.Mesh;

/// <summary>
/// Publishes what the hub's own kitchens send, once each, bytes untouched: a bounded queue (a kitchen faster than NATS
/// is held, as by a full eater, while NATS is there; counted lost while it is away), drained a subject at a time,
/// several dumplings a message under load, each message numbered in all this hub published and in its subject
/// (<see cref="MeshWire.OriginHeader"/>).
/// </summary>
internal sealed class MeshPublisher
{
    private const int MaxDrain = 4096;
    /// <summary>Subjects whose numbers are kept before they all start afresh (the others take a restart from 1 as no hole).</summary>
    private const int MaxSubjectNumbers = 4096;

    private readonly DumplingHub _hub;
    private readonly NatsMeshOptions _options;
    private readonly Func<NatsConnection?> _connection;
    private readonly CancellationToken _stopping;
    private readonly Channel<Outgoing> _outgoing;
    private readonly Dictionary<string, long> _subjectSequences = new(StringComparer.Ordinal); // the publish loop's own
    private readonly SparseLog _publishFailedLog = new();
    private long _publishWaits, _published, _publishLost, _sequence;

    private readonly record struct Outgoing(string Subject, ReadOnlyMemory<byte> Message, bool Binary);

    public MeshPublisher(DumplingHub hub, NatsMeshOptions options, Func<NatsConnection?> connection, CancellationToken stopping)
    {
        (_hub, _options, _connection, _stopping) = (hub, options, connection, stopping);
        _outgoing = Channel.CreateBounded<Outgoing>(new BoundedChannelOptions(options.PublishQueueDumplings)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait, // TryWrite fails when full: the dumpling is counted lost
        });
    }

    public long Published => Interlocked.Read(ref _published);
    public long PublishLost => Interlocked.Read(ref _publishLost);
    public long PublishWaits => Interlocked.Read(ref _publishWaits);

    /// <summary>No more dumplings: the loop ends once the hub stops.</summary>
    public void Complete() => _outgoing.Writer.TryComplete();

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
        if (_connection()?.ConnectionState != NatsConnectionState.Open)
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
                if (_connection()?.ConnectionState != NatsConnectionState.Open)
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

    public async Task PublishLoopAsync()
    {
        var reader = _outgoing.Reader;
        var drained = new List<Outgoing>(MaxDrain);
        var batch = new List<Outgoing>(MeshWire.MaxBatchDumplings);
        var payload = new ArrayBufferWriter<byte>(MeshWire.MaxBatchBytes + 1024);
        try
        {
            while (await reader.WaitToReadAsync(_stopping))
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
        var connection = _connection();
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
        var headers = new NatsHeaders { [MeshWire.OriginHeader] = MeshWire.Origin(_hub.InstanceId, _sequence + 1, batch.Count, binary, subjectSequence + 1, _options.HubName) };
        try
        {
            await connection.PublishAsync(subject, data, headers, cancellationToken: _stopping);
            // Numbered once sent: what could not be sent is counted here as lost, not again as a gap by the others.
            _sequence += batch.Count;
            _subjectSequences[subject] = subjectSequence + batch.Count;
            Interlocked.Add(ref _published, batch.Count);
        }
        catch (Exception e) when (e is not OperationCanceledException || !_stopping.IsCancellationRequested)
        {
            Interlocked.Add(ref _publishLost, batch.Count);
            if (_publishFailedLog.TryLog(out var unlogged))
                _hub.Report(HubLogLevel.Warning, $"Could not publish {batch.Count} dumpling(s) to the mesh ({subject}): {NatsMesh.Describe(e)}; counted as publish_lost." +
                    SparseLog.More(unlogged, "publishes failed"));
        }
    }
}
