using System.Collections;
using System.Threading.Channels;

namespace NetDumplings.PowerShell.Chefs;

/// <summary>The item a scriptblock chef's pipeline receives when the kitchen pokes it.</summary>
internal sealed class IntervalTick
{
    public static readonly IntervalTick Instance = new();
    private IntervalTick() { }
    public override string ToString() => "interval";
}

/// <summary>
/// A scriptblock chef's input: packets (bounded: when full the kitchen's packet is dropped and counted,
/// so a slow chef never stalls the capture) and interval ticks (never dropped), read by the chef's
/// pipeline as one endless enumerable. Unlike a PSDataCollection input, which keeps every item it was
/// given, an item is gone once read, so a chef can run for days.
/// </summary>
internal sealed class ChefInbox : IEnumerable<object>
{
    private readonly Channel<object> _channel = Channel.CreateUnbounded<object>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _halt = new();
    private readonly int _capacity;
    private int _pending;

    public ChefInbox(int capacity) => _capacity = capacity;

    /// <summary>The item the chef's pipeline is handling now (read on the pipeline's own thread).</summary>
    public object? Current { get; private set; }

    /// <summary>True once the pipeline has read everything up to the end of the input (or the halt).</summary>
    public bool ReadToEnd { get; private set; }

    /// <summary>True once <see cref="Halt"/> was called.</summary>
    public bool Halted => _halt.IsCancellationRequested;

    /// <summary>Packets waiting.</summary>
    public int Count => Volatile.Read(ref _pending);

    /// <summary>Takes a place for one packet; false when the inbox is full or closed.</summary>
    public bool TryReserve()
    {
        if (_halt.IsCancellationRequested) return false;
        if (Interlocked.Increment(ref _pending) <= _capacity) return true;
        Interlocked.Decrement(ref _pending);
        return false;
    }

    /// <summary>Adds a packet after <see cref="TryReserve"/>; false when the inbox was closed meanwhile.</summary>
    public bool AddReserved(object packet)
    {
        if (_channel.Writer.TryWrite(packet)) return true;
        Interlocked.Decrement(ref _pending);
        return false;
    }

    public bool AddTick() => !_halt.IsCancellationRequested && _channel.Writer.TryWrite(IntervalTick.Instance);

    /// <summary>No more items: the pipeline ends once it has handled what is queued.</summary>
    public void Complete() => _channel.Writer.TryComplete();

    /// <summary>Ends the pipeline's input now; returns how many packets were still waiting (discarded).</summary>
    public int Halt()
    {
        _channel.Writer.TryComplete();
        _halt.Cancel();
        var discarded = 0;
        while (_channel.Reader.TryRead(out var item))
            if (item is not IntervalTick) discarded++;
        Interlocked.Add(ref _pending, -discarded);
        return discarded;
    }

    public IEnumerator<object> GetEnumerator()
    {
        var reader = _channel.Reader;
        while (!_halt.IsCancellationRequested)
        {
            if (reader.TryRead(out var item))
            {
                if (item is not IntervalTick) Interlocked.Decrement(ref _pending);
                Current = item;
                yield return item;
                continue;
            }
            if (!WaitForItem(reader)) break;
        }
        ReadToEnd = true;
    }

    private bool WaitForItem(ChannelReader<object> reader)
    {
        try
        {
            var wait = reader.WaitToReadAsync(_halt.Token);
            return wait.IsCompletedSuccessfully ? wait.Result : wait.AsTask().GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
