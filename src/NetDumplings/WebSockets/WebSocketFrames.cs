using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace NetDumplings.WebSockets;

/// <summary>
/// RFC 6455 data frames built by hand. The hub frames each dumpling once (unmasked) and writes the
/// same bytes to every eater; clients frame a burst of dumplings (masked) into one buffer and send it
/// with one socket write. ManagedWebSocket.SendAsync costs several microseconds and a syscall per
/// message; this is a copy (and, for clients, an XOR). Control frames stay with the WebSocket object.
/// </summary>
public static class WebSocketFrames
{
    /// <summary>Header bytes for a payload of this length (without the 4-byte mask).</summary>
    public static int HeaderLength(int payloadLength) => payloadLength < 126 ? 2 : payloadLength <= ushort.MaxValue ? 4 : 10;

    /// <summary>Bytes a whole frame takes.</summary>
    public static int FrameLength(int payloadLength, bool masked) => HeaderLength(payloadLength) + (masked ? 4 : 0) + payloadLength;

    /// <summary>
    /// Writes one final (FIN) text or binary frame into <paramref name="destination"/>, which must hold
    /// <see cref="FrameLength"/> bytes; masked (a client's) when <paramref name="maskKey"/> is given.
    /// </summary>
    public static int Write(Span<byte> destination, ReadOnlySpan<byte> payload, bool binary, uint? maskKey)
    {
        var header = HeaderLength(payload.Length);
        destination[0] = (byte)(0x80 | (binary ? 0x2 : 0x1));
        var maskBit = maskKey is null ? (byte)0 : (byte)0x80;
        if (header == 2) destination[1] = (byte)(maskBit | payload.Length);
        else if (header == 4)
        {
            destination[1] = (byte)(maskBit | 126);
            BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)payload.Length);
        }
        else
        {
            destination[1] = (byte)(maskBit | 127);
            BinaryPrimitives.WriteUInt64BigEndian(destination[2..], (ulong)payload.Length);
        }
        var offset = header;
        if (maskKey is { } key)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(destination[offset..], key);
            offset += 4;
            var body = destination.Slice(offset, payload.Length);
            payload.CopyTo(body);
            Mask(body, key);
        }
        else
        {
            payload.CopyTo(destination[offset..]);
        }
        return offset + payload.Length;
    }

    /// <summary>A whole unmasked (server) frame as a new array.</summary>
    public static byte[] ServerFrame(ReadOnlySpan<byte> payload, bool binary)
    {
        var bytes = new byte[FrameLength(payload.Length, masked: false)];
        Write(bytes, payload, binary, null);
        return bytes;
    }

    /// <summary>
    /// A client's masking key. The key only keeps browsers' proxies safe from script-chosen bytes
    /// (RFC 6455 10.3); our clients send JSON they built, so a fast PRNG will do.
    /// </summary>
    /// <summary>An unmasked (server's) close frame with a code and a reason cut to fit the 125-byte control frame.</summary>
    public static byte[] ServerClose(int code, string reason)
    {
        var text = System.Text.Encoding.UTF8.GetBytes(reason);
        if (text.Length > 123) text = text[..123];
        var frame = new byte[4 + text.Length];
        frame[0] = 0x88;
        frame[1] = (byte)(2 + text.Length);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(2), (ushort)code);
        text.CopyTo(frame, 4);
        return frame;
    }

    public static uint NewMaskKey() => (uint)Random.Shared.Next() ^ ((uint)Random.Shared.Next() << 1);

    private static void Mask(Span<byte> data, uint key)
    {
        var wide = key | ((ulong)key << 32);
        var words = MemoryMarshal.Cast<byte, ulong>(data);
        for (var i = 0; i < words.Length; i++) words[i] ^= wide;
        for (var i = words.Length * 8; i < data.Length; i++) data[i] ^= (byte)(key >> (8 * (i & 3)));
    }
}

/// <summary>A growable buffer of client frames: a burst of dumplings framed back to back for one write.</summary>
public sealed class ClientFrameBuffer
{
    private byte[] _buffer;
    private int _length;

    public ClientFrameBuffer(int initialBytes = 256 * 1024) => _buffer = new byte[initialBytes];

    public ReadOnlyMemory<byte> Written => _buffer.AsMemory(0, _length);
    public int Length => _length;

    public void Clear() => _length = 0;

    public void AddText(ReadOnlySpan<byte> payload)
    {
        var needed = _length + WebSocketFrames.FrameLength(payload.Length, masked: true);
        if (needed > _buffer.Length) Array.Resize(ref _buffer, Math.Max(needed, _buffer.Length * 2));
        _length += WebSocketFrames.Write(_buffer.AsSpan(_length), payload, binary: false, WebSocketFrames.NewMaskKey());
    }
}
