using System.Runtime.CompilerServices;
using NetDumplings.Chefs;
using NetDumplings.Packets;

namespace NetDumplings.Kitchen;

// The dispatcher: the one thread that calls chefs, and the outlet through which chefs serve from elsewhere.
public sealed partial class DumplingKitchen
{
    // Called once per kitchen and looping for all of it: tiering promotes by calls, so without this every
    // kitchen run loops in on-stack-replaced code and the method never reaches tier 1. Measured with
    // ReadAll's: ~9% less CPU per 1M-packet run once warm; the first run in a fresh pwsh unchanged.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void DispatchLoop()
    {
        var reader = _queue.Reader;
        try
        {
            while (true)
            {
                while (reader.TryRead(out var item))
                {
                    if (item.Batch is { } batch)
                    {
                        for (var i = 0; i < item.BatchCount; i++)
                        {
                            Cook(batch[i]);
                            if (_pokePending != 0 && Interlocked.Exchange(ref _pokePending, 0) != 0) Poke();
                        }
                    }
                    else if (item.IsPoke) Poke();
                    else Cook(item);
                    if (_pokePending != 0 && Interlocked.Exchange(ref _pokePending, 0) != 0) Poke();
                }
                if (_pokePending != 0 && Interlocked.Exchange(ref _pokePending, 0) != 0) Poke();
                if (!reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult()) break;
            }
            if (_options.FinalPoke) Poke();
        }
        finally
        {
            foreach (var slot in _chefs)
            {
                try
                {
                    slot.Chef.OnStop();
                }
                catch (Exception e)
                {
                    ChefFailed(slot, e, null, "stopping");
                }
                slot.Chef.Attach(null);
            }
            _dispatcherDone.TrySetResult();
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Cook(in KitchenItem item)
    {
        var source = item.Source!;
        var packet = new ChefPacket(item.Data, new DateTimeOffset(item.TimestampTicks, TimeSpan.Zero), source.LinkType,
            item.OriginalLength, source.Name);
        Interlocked.Increment(ref _processed);
        // Read once here for every chef; only this thread writes the counts.
        var status = packet.Headers.Status;
        if (status != PacketDecodeStatus.Decoded) _undecoded[(int)status]++;
        var chefs = _chefs;
        for (var i = 0; i < chefs.Count; i++)
        {
            var slot = chefs[i];
            slot.Packets++;
            object? payload;
            try
            {
                payload = slot.Chef.OnPacket(packet);
            }
            catch (Exception e)
            {
                ChefFailed(slot, e, packet.Timestamp, "handling a packet");
                continue;
            }
            if (payload is not null) Emit(slot, payload, DumplingDriver.Packet, wait: _files.Count > 0);
        }
    }

    private void Poke()
    {
        Interlocked.Increment(ref _pokes);
        foreach (var slot in _chefs)
        {
            slot.Pokes++;
            object? payload;
            try
            {
                payload = slot.Chef.OnInterval();
            }
            catch (Exception e)
            {
                ChefFailed(slot, e, null, "handling an interval poke");
                continue;
            }
            if (payload is not null) Emit(slot, payload, DumplingDriver.Interval, wait: _files.Count > 0);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Emit(ChefSlot slot, object payload, DumplingDriver driver, bool wait)
    {
        Dumpling dumpling;
        try
        {
            dumpling = DumplingCodec.Create(slot.EnvelopeHead ??= DumplingCodec.MakeEnvelopeHead(slot.Name, _options.Name), slot.Name, _options.Name, driver, payload);
        }
        catch (Exception e)
        {
            ChefFailed(slot, new InvalidOperationException($"its payload cannot be made into JSON: {e.Message}", e), null, "serving");
            return;
        }
        if (dumpling.Utf8Json.Length > _options.MaxDumplingBytes)
        {
            // A hub closes a sender over its message limit (1009): never send one, or the kitchen would loop on it.
            ChefFailed(slot, new InvalidOperationException(
                $"its dumpling is {dumpling.Utf8Json.Length:N0} bytes, over the hub's limit of {_options.MaxDumplingBytes:N0}; it was not sent"), null, "serving");
            return;
        }
        Interlocked.Increment(ref slot.Dumplings);
        Interlocked.Increment(ref _made);
        // File replay slows down rather than lose dumplings; live capture cannot wait.
        // Once the user has stopped the kitchen, nothing may wait (the consumer may be gone).
        if (wait && !_stop.IsCancellationRequested) _sink.Put(dumpling, _stop.Token);
        else _sink.Offer(dumpling);
    }

    private void ChefFailed(ChefSlot slot, Exception error, DateTimeOffset? packetTime, string doing)
    {
        var count = Interlocked.Increment(ref slot.Errors);
        if (count <= _options.ChefErrorsReported)
        {
            var when = packetTime is { } t ? $" (packet captured {t:O})" : "";
            var more = count == _options.ChefErrorsReported ? " Further errors of this chef are only counted." : "";
            Notify(new KitchenNotice(KitchenNoticeLevel.Error,
                $"Chef '{slot.Name}' failed {doing}{when}: {error.Message}{more}", slot.Name, error));
        }
    }

    private sealed class ChefSlot(DumplingChef chef)
    {
        public readonly DumplingChef Chef = chef;
        public readonly string Name = SafeName(chef);
        public long Packets, Pokes, Dumplings, Errors;
        /// <summary>This chef's dumplings' envelope head in this kitchen (made at its first dumpling).</summary>
        public byte[]? EnvelopeHead;

        public ChefStatistics Snapshot() =>
            new(Name, Volatile.Read(ref Packets), Volatile.Read(ref Pokes), Interlocked.Read(ref Dumplings), Interlocked.Read(ref Errors), DroppedBy(Chef));

        private static long DroppedBy(DumplingChef chef)
        {
            try { return chef.PacketsDropped; } catch { return 0; }
        }
    }

    /// <summary>Out-of-band Serve and ReportError, from any thread (a scriptblock chef's runspace, a chef's own timer).</summary>
    private sealed class Outlet(DumplingKitchen kitchen) : IChefOutlet
    {
        public void Serve(DumplingChef chef, object? payload, DumplingDriver driver)
        {
            if (payload is null) return;
            var slot = kitchen.SlotOf(chef);
            // Not the dispatcher thread: wait for room only in file replay, and never past the kitchen's stop.
            kitchen.Emit(slot, payload, driver, wait: kitchen._files.Count > 0);
        }

        public void ReportError(DumplingChef chef, Exception error, DateTimeOffset? packetTime) =>
            kitchen.ChefFailed(kitchen.SlotOf(chef), error, packetTime, "on its own thread");
    }

    private ChefSlot SlotOf(DumplingChef chef)
    {
        foreach (var slot in _chefs)
            if (ReferenceEquals(slot.Chef, chef)) return slot;
        throw new InvalidOperationException($"Chef '{SafeName(chef)}' is not cooking in kitchen '{_options.Name}'.");
    }
}
