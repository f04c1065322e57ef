using System.Runtime.CompilerServices;
using System.Buffers.Binary;

namespace NetDumplings.Chefs;

/// <summary>
/// Counts per name for one interval summary, holding at most <see cref="Capacity"/> names: a name past that
/// is counted in <see cref="Other"/>, so a flood of distinct names costs no more memory than the cap.
/// </summary>
internal sealed class BoundedCounter(int capacity)
{
    private readonly Dictionary<string, long> _counts = new(StringComparer.Ordinal);

    public int Capacity { get; } = capacity;
    public long Other { get; private set; }
    public int Count => _counts.Count;

    public void Add(string name, long amount = 1)
    {
        if (_counts.TryGetValue(name, out var count)) _counts[name] = count + amount;
        else if (_counts.Count < Capacity) _counts[name] = amount;
        else Other += amount;
    }

    /// <summary>The <paramref name="top"/> largest counts, largest first (ties by name, so the order is stable).</summary>
    public Dictionary<string, long> Top(int top)
    {
        var result = new Dictionary<string, long>(Math.Min(top, _counts.Count), StringComparer.Ordinal);
        foreach (var (name, count) in _counts.OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal).Take(top))
            result[name] = count;
        return result;
    }

    public void Clear()
    {
        _counts.Clear();
        Other = 0;
    }
}

/// <summary>IP addresses as 128-bit keys (IPv4 as an IPv4-mapped IPv6 address), so tables need no strings per packet.</summary>
internal static class AddressKey
{
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static UInt128 Of(ReadOnlySpan<byte> address) => address.Length switch
    {
        16 => BinaryPrimitives.ReadUInt128BigEndian(address),
        4 => ((UInt128)0xFFFF << 32) | BinaryPrimitives.ReadUInt32BigEndian(address),
        _ => 0,
    };

    public static bool IsIPv4(UInt128 key) => key >> 32 == 0xFFFF;

    public static string Text(UInt128 key)
    {
        Span<byte> text = stackalloc byte[Packets.PacketText.MaxAddressLength];
        return System.Text.Encoding.ASCII.GetString(text[..Format(key, text)]);
    }

    /// <summary>The address as ASCII text into <paramref name="text"/> (at least <see cref="Packets.PacketText.MaxAddressLength"/> bytes); returns the length.</summary>
    public static int Format(UInt128 key, Span<byte> text)
    {
        Span<byte> bytes = stackalloc byte[16];
        return Packets.PacketText.FormatAddress(bytes[..Write(key, bytes)], text);
    }

    /// <summary>The address's bytes as on the wire (4 for IPv4, 16 for IPv6) into <paramref name="bytes"/>; returns how many.</summary>
    public static int Write(UInt128 key, Span<byte> bytes)
    {
        if (IsIPv4(key))
        {
            BinaryPrimitives.WriteUInt32BigEndian(bytes, (uint)key);
            return 4;
        }
        BinaryPrimitives.WriteUInt128BigEndian(bytes, key);
        return 16;
    }
}

/// <summary>The chefs' table keys' hash: each part mixed in by multiplying with the golden-ratio constant.</summary>
internal static class TableHash
{
    private const ulong Prime = 0x9E3779B97F4A7C15;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Add(ulong hash, UInt128 value) => (hash ^ (ulong)value ^ (ulong)(value >> 64) * Prime) * Prime;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Add(ulong hash, ulong value) => (hash ^ value) * Prime;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Finish(ulong hash) => (uint)(hash >> 32) ^ (uint)hash;
}

/// <summary>A key of a <see cref="KeyTable{TKey, TValue}"/>: its own hash and equality, with no comparer in between.</summary>
internal interface ITableKey<TSelf> where TSelf : struct
{
    uint Hash();
    bool Same(in TSelf other);
}

/// <summary>
/// A hash table for the built-in chefs' per-packet lookups (pending DNS queries, talkers): a Dictionary's job, in this
/// assembly and compiled fully optimised at once. Dictionary over our structs is CoreLib code the runtime compiles
/// unoptimised, then profiles, then recompiles while a kitchen's first run is under way, at a cost measured there.
/// </summary>
internal sealed class KeyTable<TKey, TValue> where TKey : struct, ITableKey<TKey>
{
    private struct Entry
    {
        public TKey Key;
        public TValue Value;
        public uint Hash;
        public int Next;   // the next entry of its bucket (or of the free list), as index + 1; 0 for none
    }

    private int[] _buckets = new int[16];   // the bucket's first entry, as index + 1; 0 for none
    private Entry[] _entries = new Entry[8];
    private int _used, _free = -1;

    public int Count { get; private set; }

    /// <summary>The value of <paramref name="key"/>, added as default when it was not there.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public ref TValue GetOrAdd(in TKey key, out bool existed)
    {
        var hash = key.Hash();
        var at = Find(key, hash);
        existed = at >= 0;
        if (existed) return ref _entries[at].Value;
        int index;
        if (_free >= 0)
        {
            index = _free;
            _free = _entries[index].Next - 1;
        }
        else
        {
            if (_used == _entries.Length) Grow();
            index = _used++;
        }
        ref var bucket = ref _buckets[hash & (uint)(_buckets.Length - 1)];
        _entries[index] = new Entry { Key = key, Hash = hash, Next = bucket };
        bucket = index + 1;
        Count++;
        return ref _entries[index].Value;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool TryGetValue(in TKey key, out TValue value)
    {
        var at = Find(key, key.Hash());
        value = at >= 0 ? _entries[at].Value : default!;
        return at >= 0;
    }

    public bool ContainsKey(in TKey key) => Find(key, key.Hash()) >= 0;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool Remove(in TKey key, out TValue value)
    {
        var hash = key.Hash();
        ref var link = ref _buckets[hash & (uint)(_buckets.Length - 1)];
        while (link != 0)
        {
            var index = link - 1;
            ref var entry = ref _entries[index];
            if (entry.Hash == hash && entry.Key.Same(key))
            {
                value = entry.Value;
                link = entry.Next;
                entry = new Entry { Next = _free + 1 };
                _free = index;
                Count--;
                return true;
            }
            link = ref entry.Next;
        }
        value = default!;
        return false;
    }

    public void Clear()
    {
        Array.Clear(_buckets);
        Array.Clear(_entries, 0, _used);
        _used = 0;
        _free = -1;
        Count = 0;
    }

    /// <summary>Every key and value, in no particular order (for interval summaries).</summary>
    public IEnumerable<(TKey Key, TValue Value)> Entries()
    {
        for (var bucket = 0; bucket < _buckets.Length; bucket++)
            for (var at = _buckets[bucket] - 1; at >= 0; at = _entries[at].Next - 1)
                yield return (_entries[at].Key, _entries[at].Value);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private int Find(in TKey key, uint hash)
    {
        for (var at = _buckets[hash & (uint)(_buckets.Length - 1)] - 1; at >= 0; at = _entries[at].Next - 1)
            if (_entries[at].Hash == hash && _entries[at].Key.Same(key)) return at;
        return -1;
    }

    // Only when every entry is in use (no free ones): all of them go into the new buckets.
    private void Grow()
    {
        Array.Resize(ref _entries, _entries.Length * 2);
        _buckets = new int[_entries.Length * 2];
        for (var index = 0; index < _used; index++)
        {
            ref var bucket = ref _buckets[_entries[index].Hash & (uint)(_buckets.Length - 1)];
            _entries[index].Next = bucket;
            bucket = index + 1;
        }
    }
}

/// <summary>A first-in first-out queue for the same reason as <see cref="KeyTable{TKey, TValue}"/> (a chef's per-packet Queue).</summary>
internal sealed class RingQueue<T>
{
    private T[] _items = new T[16];   // a power of two
    private int _head;

    public int Count { get; private set; }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Enqueue(in T item)
    {
        if (Count == _items.Length) Grow();
        _items[(_head + Count) & (_items.Length - 1)] = item;
        Count++;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool TryPeek(out T item)
    {
        item = Count > 0 ? _items[_head] : default!;
        return Count > 0;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public T Dequeue()
    {
        if (Count == 0) throw new InvalidOperationException("The queue is empty.");
        var item = _items[_head];
        _items[_head] = default!;
        _head = (_head + 1) & (_items.Length - 1);
        Count--;
        return item;
    }

    private void Grow()
    {
        var bigger = new T[_items.Length * 2];
        for (var i = 0; i < Count; i++) bigger[i] = _items[(_head + i) & (_items.Length - 1)];
        _items = bigger;
        _head = 0;
    }
}

/// <summary>A host's address as a <see cref="KeyTable{TKey, TValue}"/> key.</summary>
internal readonly record struct HostKey(UInt128 Address) : ITableKey<HostKey>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint Hash() => TableHash.Finish(TableHash.Add(0, Address));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Same(in HostKey other) => Address == other.Address;
}
