using System.Collections;
using System.Threading.Channels;

namespace NetDumplings.PowerShell.ScriptChefs;

/// <summary>The item a scriptblock chef's pipeline receives when the kitchen pokes it.</summary>
internal sealed class IntervalTick
{
    public static readonly IntervalTick Instance = new();
    private IntervalTick() { }
    public override string ToString() => "interval";
}

/// <summary>
/// A scriptblock chef's input: packets (bounded: when full the kitchen's packet is dropped and counted,
/// so a slow chef never stalls a live capture, or the kitchen waits for room when it replays a file)
/// and interval ticks (never dropped), read by the chef's
/// pipeline as one endless enumerable. Unlike a PSDataCollection input, which keeps every item it was
/// given, an item is gone once read, so a chef can run for days.
/// </summary>
internal sealed class ChefInbox : IEnumerable<object>
{
    private readonly Channel<object> _channel = Channel.CreateUnbounded<object>(new UnboundedChannelOptions());
    private readonly CancellationTokenSource _halt = new();
    private readonly int _capacity;
    private readonly SemaphoreSlim _room;

    public ChefInbox(int capacity)
    {
        _capacity = capacity;
        _room = new SemaphoreSlim(capacity, capacity);
    }

    /// <summary>The item the chef's pipeline is handling now (read on the pipeline's own thread).</summary>
    public object? Current { get; private set; }

    /// <summary>True once the pipeline has read everything up to the end of the input (or the halt).</summary>
    public bool ReadToEnd { get; private set; }

    /// <summary>True once <see cref="Halt"/> was called.</summary>
    public bool Halted => _halt.IsCancellationRequested;

    /// <summary>Packets waiting.</summary>
    public int Count => _capacity - _room.CurrentCount;

    /// <summary>Takes a place for one packet; false when the inbox is full or closed.</summary>
    public bool TryReserve() => !_halt.IsCancellationRequested && _room.Wait(0);

    /// <summary>Takes a place for one packet, waiting for one; false when the inbox is halted or <paramref name="cancel"/> fires.</summary>
    public bool Reserve(CancellationToken cancel)
    {
        if (_room.Wait(0)) return !_halt.IsCancellationRequested || Release();
        using var either = CancellationTokenSource.CreateLinkedTokenSource(cancel, _halt.Token);
        try
        {
            _room.Wait(either.Token);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        return !_halt.IsCancellationRequested || Release();
    }

    private bool Release()
    {
        _room.Release();
        return false;
    }

    /// <summary>Adds a packet after <see cref="TryReserve"/>; false when the inbox was closed meanwhile.</summary>
    public bool AddReserved(object packet)
    {
        if (_channel.Writer.TryWrite(packet)) return true;
        _room.Release();
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
        if (discarded > 0) _room.Release(discarded);
        return discarded;
    }

    public IEnumerator<object> GetEnumerator()
    {
        var reader = _channel.Reader;
        while (!_halt.IsCancellationRequested)
        {
            if (reader.TryRead(out var item))
            {
                if (item is not IntervalTick) _room.Release();
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
