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
