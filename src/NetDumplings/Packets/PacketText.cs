using System.Net;

namespace NetDumplings.Packets;

/// <summary>Addresses as the chefs' payloads write them.</summary>
public static class PacketText
{
    /// <summary>Lower-case hex pairs joined by colons, for hardware addresses of any length; "" for none.</summary>
    public static string Mac(ReadOnlySpan<byte> address)
    {
        if (address.IsEmpty) return "";
        Span<char> text = stackalloc char[address.Length * 3 - 1];
        for (var i = 0; i < address.Length; i++)
        {
            if (i > 0) text[i * 3 - 1] = ':';
            address[i].TryFormat(text[(i * 3)..], out _, "x2");
        }
        return new string(text);
    }

    /// <summary>An IPv4 or IPv6 address from its 4 or 16 bytes; null for any other length.</summary>
    public static string? Address(ReadOnlySpan<byte> address)
    {
        if (address.Length is not (4 or 16)) return null;
        Span<byte> text = stackalloc byte[MaxAddressLength];
        return System.Text.Encoding.ASCII.GetString(text[..FormatAddress(address, text)]);
    }

    /// <summary>The longest text of an address (IPv6 with an IPv4 address in it).</summary>
    public const int MaxAddressLength = 45;

    /// <summary>
    /// Writes an IPv4 or IPv6 address (4 or 16 bytes) as ASCII into <paramref name="text"/> (at least
    /// <see cref="MaxAddressLength"/> bytes), exactly as <see cref="IPAddress.ToString"/> writes it; returns the length.
    /// By hand rather than through IPAddress: the chefs write an address or two per dumpling, and IPAddress's
    /// formatting is code the runtime profiles and recompiles while a kitchen's first run is under way.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static int FormatAddress(ReadOnlySpan<byte> address, Span<byte> text)
    {
        var at = 0;
        if (address.Length == 4)
        {
            for (var i = 0; i < 4; i++)
            {
                if (i > 0) text[at++] = (byte)'.';
                int value = address[i];
                if (value >= 100) { text[at++] = (byte)('0' + value / 100); value %= 100; text[at++] = (byte)('0' + value / 10); value %= 10; }
                else if (value >= 10) { text[at++] = (byte)('0' + value / 10); value %= 10; }
                text[at++] = (byte)('0' + value);
            }
            return at;
        }
        if (address.Length != 16) throw new ArgumentException("An IP address is 4 or 16 bytes.", nameof(address));
        Span<ushort> groups = stackalloc ushort[8];
        for (var i = 0; i < 8; i++) groups[i] = (ushort)(address[2 * i] << 8 | address[2 * i + 1]);
        // IPv4 inside IPv6 (mapped, compatible, SIIT, ISATAP) is written dotted: IPAddress's rules, left to it.
        if ((groups[0] | groups[1] | groups[2] | groups[3]) == 0 || (groups[4] == 0 && groups[5] == 0x5EFE))
        {
            new IPAddress(address).TryFormat(text, out at);
            return at;
        }
        // RFC 5952: the longest run of two or more zero groups (the first of equals) becomes "::"; hex in lower case.
        int bestStart = -1, bestLength = 1, runStart = 0, runLength = 0;
        for (var i = 0; i < 8; i++)
        {
            if (groups[i] != 0) { runLength = 0; continue; }
            if (runLength++ == 0) runStart = i;
            if (runLength > bestLength) (bestStart, bestLength) = (runStart, runLength);
        }
        for (var i = 0; i < 8; i++)
        {
            if (i == bestStart)
            {
                text[at++] = (byte)':';
                text[at++] = (byte)':';
                i += bestLength - 1;
                continue;
            }
            if (i > 0 && i != bestStart + bestLength) text[at++] = (byte)':';
            var group = groups[i];
            var started = false;
            for (var shift = 12; shift >= 0; shift -= 4)
            {
                var digit = (group >> shift) & 0xF;
                if (digit == 0 && !started && shift > 0) continue;
                started = true;
                text[at++] = (byte)(digit < 10 ? '0' + digit : 'a' + digit - 10);
            }
        }
        return at;
    }
}
