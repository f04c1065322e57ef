using System.Threading.Channels;

namespace NetDumplings.Kitchen;

/// <summary>Where a kitchen's dumplings go: a hub, or a local consumer. Posting is safe from any thread.</summary>
internal abstract class DumplingSink
{
    protected readonly Channel<Dumpling> Outbox;
    private long _sent;
    private long _dropped;

    protected DumplingSink(int capacity)
    {
        Outbox = Channel.CreateBounded<Dumpling>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
        });
    }

    public long Sent => Interlocked.Read(ref _sent);
    public long Dropped => Interlocked.Read(ref _dropped);
    public virtual bool Connected => true;
    public virtual long Connects => 0;

    /// <summary>Posts without waiting: when the outbox is full the dumpling is dropped and counted.</summary>
    public void Offer(Dumpling dumpling)
    {
        if (!Outbox.Writer.TryWrite(dumpling)) Interlocked.Increment(ref _dropped);
    }

    /// <summary>Posts, waiting for room (file replay: slow down rather than lose dumplings).</summary>
    public void Put(Dumpling dumpling, CancellationToken cancellationToken)
    {
        if (Outbox.Writer.TryWrite(dumpling)) return;
        try
        {
            Outbox.Writer.WriteAsync(dumpling, cancellationToken).AsTask().GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is OperationCanceledException or ChannelClosedException)
        {
            Interlocked.Increment(ref _dropped);
        }
    }

    protected void CountSent(long count = 1) => Interlocked.Add(ref _sent, count);
    protected void CountDropped(long count) => Interlocked.Add(ref _dropped, count);

    public abstract void Start(byte[] announcement);

    /// <summary>No more dumplings: deliver what is held (up to <paramref name="drainTimeout"/>), then close.</summary>
    public abstract Task CompleteAsync(TimeSpan drainTimeout, bool cancelledByUser);
}

/// <summary>Dumplings for a consumer in this process (the cmdlet without a hub): a channel it drains.</summary>
internal sealed class LocalDumplingSink : DumplingSink
{
    private readonly Channel<Dumpling> _delivered;

    public LocalDumplingSink(int capacity) : base(capacity)
    {
        // The outbox itself is what the consumer reads; "sent" counts what it took.
        _delivered = Outbox;
        Reader = new CountingReader(this);
    }

    public ChannelReader<Dumpling> Reader { get; }

    public override void Start(byte[] announcement) { }

    public override Task CompleteAsync(TimeSpan drainTimeout, bool cancelledByUser)
    {
        _delivered.Writer.TryComplete();
        return Task.CompletedTask;
    }

    private sealed class CountingReader(LocalDumplingSink sink) : ChannelReader<Dumpling>
    {
        public override Task Completion => sink._delivered.Reader.Completion;
        public override bool CanCount => true;
        public override int Count => sink._delivered.Reader.Count;

        public override bool TryRead(out Dumpling item)
        {
            if (!sink._delivered.Reader.TryRead(out item!)) return false;
            sink.CountSent();
            return true;
        }

        public override ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default) =>
            sink._delivered.Reader.WaitToReadAsync(cancellationToken);
    }
}
