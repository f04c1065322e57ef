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
    public static string? Address(ReadOnlySpan<byte> address) => address.Length is 4 or 16 ? new IPAddress(address).ToString() : null;
}
