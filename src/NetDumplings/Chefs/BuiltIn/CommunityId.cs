using System.Buffers.Binary;
using System.Buffers.Text;
using System.Runtime.CompilerServices;

namespace NetDumplings.Chefs;

/// <summary>
/// Community ID (version 1, seed 0), the flow hash Zeek, Suricata and others put beside their flow records so one
/// flow can be found across tools: <c>1:</c> and the base64 of a SHA-1 over the flow's ends.
/// </summary>
internal static class CommunityId
{
    /// <summary>
    /// A flow's Community ID into <paramref name="text"/> (at least 30 bytes): "1:" and the base64 of the SHA-1 of seed,
    /// addresses, protocol, padding and ports, the smaller end (<paramref name="a"/>, <paramref name="portA"/>) first.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static ReadOnlySpan<byte> Write(UInt128 a, UInt128 b, byte protocol, int portA, int portB, Span<byte> text)
    {
        Span<byte> input = stackalloc byte[2 + 16 + 16 + 2 + 4];
        var at = 2;   // the seed, 0
        input[..2].Clear();
        at += AddressKey.Write(a, input[at..]);
        at += AddressKey.Write(b, input[at..]);
        input[at++] = protocol;
        input[at++] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(input[at..], (ushort)portA);
        BinaryPrimitives.WriteUInt16BigEndian(input[(at + 2)..], (ushort)portB);
        at += 4;
        Span<byte> hash = stackalloc byte[20];
        Sha1OneBlock(input[..at], hash);
        "1:"u8.CopyTo(text);
        Base64.EncodeToUtf8(hash, text[2..], out _, out var written);
        return text[..(2 + written)];
    }

    /// <summary>
    /// SHA-1 (FIPS 180-4) of a message short enough for one 64-byte block, as a Community ID's always is: the
    /// platform's SHA1 goes through OpenSSL at ~0.5 µs a call, several times this for 40 bytes, once per flow.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Sha1OneBlock(ReadOnlySpan<byte> message, Span<byte> hash)
    {
        if (message.Length > 55) throw new ArgumentException("One block holds at most 55 bytes of message.", nameof(message));
        Span<byte> block = stackalloc byte[64];
        block.Clear();
        message.CopyTo(block);
        block[message.Length] = 0x80;
        BinaryPrimitives.WriteUInt64BigEndian(block[56..], (ulong)message.Length * 8);
        Span<uint> w = stackalloc uint[80];
        for (var t = 0; t < 16; t++) w[t] = BinaryPrimitives.ReadUInt32BigEndian(block[(t * 4)..]);
        for (var t = 16; t < 80; t++) w[t] = uint.RotateLeft(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
        uint h0 = 0x67452301, h1 = 0xEFCDAB89, h2 = 0x98BADCFE, h3 = 0x10325476, h4 = 0xC3D2E1F0;
        uint a = h0, b = h1, c = h2, d = h3, e = h4;
        for (var t = 0; t < 80; t++)
        {
            var (f, k) = t switch
            {
                < 20 => ((b & c) | (~b & d), 0x5A827999u),
                < 40 => (b ^ c ^ d, 0x6ED9EBA1u),
                < 60 => ((b & c) | (b & d) | (c & d), 0x8F1BBCDCu),
                _ => (b ^ c ^ d, 0xCA62C1D6u),
            };
            var temp = uint.RotateLeft(a, 5) + f + e + k + w[t];
            (e, d, c, b, a) = (d, c, uint.RotateLeft(b, 30), a, temp);
        }
        BinaryPrimitives.WriteUInt32BigEndian(hash, h0 + a);
        BinaryPrimitives.WriteUInt32BigEndian(hash[4..], h1 + b);
        BinaryPrimitives.WriteUInt32BigEndian(hash[8..], h2 + c);
        BinaryPrimitives.WriteUInt32BigEndian(hash[12..], h3 + d);
        BinaryPrimitives.WriteUInt32BigEndian(hash[16..], h4 + e);
    }
}
