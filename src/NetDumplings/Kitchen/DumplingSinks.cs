using System.Threading.Channels;
using NetDumplings.Client;
using NetDumplings.Protocol;

namespace NetDumplings.Kitchen;

/// <summary>Where a kitchen's dumplings go: a hub, or a local consumer. Posting is safe from any thread.</summary>
internal abstract class DumplingSink
{
    /// <summary>Dumplings delivered (to the hub, or taken by the local consumer).</summary>
    public abstract long Sent { get; }

    /// <summary>Dumplings lost, and counted: outbox full, too large, or held when the kitchen gave up delivering.</summary>
    public abstract long Dropped { get; }

    /// <summary>Dumplings made but neither delivered nor dropped yet.</summary>
    public abstract long Queued { get; }

    /// <summary>Whether the hub is connected now; null for a kitchen without a hub.</summary>
    public virtual bool? Connected => null;
    public virtual long Connects => 0;

    /// <summary>Posts without waiting: when the outbox is full the dumpling is dropped and counted (live capture).</summary>
    public abstract void Offer(Dumpling dumpling);

    /// <summary>Posts, waiting for room (file replay: slow down rather than lose dumplings).</summary>
    public abstract void Put(Dumpling dumpling, CancellationToken cancellationToken);

    public abstract void Start(KitchenAnnouncement announcement);

    /// <summary>No more dumplings: deliver what is held (up to <paramref name="drainTimeout"/>), then close.</summary>
    public abstract Task CompleteAsync(TimeSpan drainTimeout, bool cancelledByUser);
}

/// <summary>A kitchen's dumplings to a hub, through the one client stack's sender (outbox, reconnect, acknowledgements).</summary>
internal sealed class HubDumplingSink(DumplingSenderOptions options, Action<HubClientEventArgs> onEvent) : DumplingSink
{
    private DumplingSender? _sender;
    private long _notTaken; // Put after the sender stopped for good

    public override long Sent => _sender?.Sent ?? 0;
    public override long Dropped => (_sender?.Dropped ?? 0) + Interlocked.Read(ref _notTaken);
    public override long Queued => _sender?.Queued ?? 0;
    public override bool? Connected => _sender?.Connected ?? false;
    public override long Connects => _sender?.Connects ?? 0;

    /// <summary>Why the sender stopped for good (a refusal: wrong port), if it did.</summary>
    public Exception? Failure => _sender?.Failure;

    public override void Start(KitchenAnnouncement announcement) =>
        _sender = DumplingSender.Start(announcement, options, (_, e) => onEvent(e));

    public override void Offer(Dumpling dumpling) => _sender!.TryOffer(dumpling);

    public override void Put(Dumpling dumpling, CancellationToken cancellationToken)
    {
        try
        {
            var send = _sender!.SendAsync(dumpling, cancellationToken);
            if (!send.IsCompletedSuccessfully) send.AsTask().GetAwaiter().GetResult();
        }
        catch (DumplingTooLargeException)
        {
            _sender!.TryOffer(dumpling); // counts it as dropped and reports it
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException)
        {
            Interlocked.Increment(ref _notTaken);
        }
    }

    public override Task CompleteAsync(TimeSpan drainTimeout, bool cancelledByUser) =>
        _sender?.CompleteAsync(drainTimeout, cancelledByUser) ?? Task.CompletedTask;
}

/// <summary>Dumplings for a consumer in this process (the cmdlet without a hub): a channel it drains.</summary>
internal sealed class LocalDumplingSink : DumplingSink
{
    private readonly Channel<Dumpling> _outbox;
    private long _sent, _dropped;

    public LocalDumplingSink(int capacity)
    {
        _outbox = Channel.CreateBounded<Dumpling>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
        });
        Reader = new CountingReader(this);
    }

    public ChannelReader<Dumpling> Reader { get; }

    public override long Sent => Interlocked.Read(ref _sent);
    public override long Dropped => Interlocked.Read(ref _dropped);
    public override long Queued => _outbox.Reader.Count;

    public override void Offer(Dumpling dumpling)
    {
        if (!_outbox.Writer.TryWrite(dumpling)) Interlocked.Increment(ref _dropped);
    }

    public override void Put(Dumpling dumpling, CancellationToken cancellationToken)
    {
        if (_outbox.Writer.TryWrite(dumpling)) return;
        try
        {
            _outbox.Writer.WriteAsync(dumpling, cancellationToken).AsTask().GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is OperationCanceledException or ChannelClosedException)
        {
            Interlocked.Increment(ref _dropped);
        }
    }

    public override void Start(KitchenAnnouncement announcement) { }

    public override Task CompleteAsync(TimeSpan drainTimeout, bool cancelledByUser)
    {
        _outbox.Writer.TryComplete();
        return Task.CompletedTask;
    }

    // "Sent" counts what the consumer took.
    private sealed class CountingReader(LocalDumplingSink sink) : ChannelReader<Dumpling>
    {
        public override Task Completion => sink._outbox.Reader.Completion;
        public override bool CanCount => true;
        public override int Count => sink._outbox.Reader.Count;

        public override bool TryRead(out Dumpling item)
        {
            if (!sink._outbox.Reader.TryRead(out item!)) return false;
            Interlocked.Increment(ref sink._sent);
            return true;
        }

        public override ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default) =>
            sink._outbox.Reader.WaitToReadAsync(cancellationToken);
    }
}
