namespace NetDumplings.Hub;

/// <summary>
/// A dumpling as the hub forwards it: the exact bytes a kitchen sent, already framed as an unmasked
/// server WebSocket frame. Server frames are the same for every eater, so each dumpling is framed
/// once and the same bytes are written to every eater that wants it.
/// </summary>
internal sealed class HubFrame
{
    private HubFrame(byte[] bytes, string? chef, string? kitchen)
    {
        Bytes = bytes;
        Chef = chef;
        Kitchen = kitchen;
    }

    /// <summary>Frame header and message.</summary>
    public byte[] Bytes { get; }

    public string? Chef { get; }
    public string? Kitchen { get; }

    public static HubFrame Create(ReadOnlySpan<byte> message, bool binary, string? chef, string? kitchen)
    {
        var headerLength = message.Length < 126 ? 2 : message.Length <= ushort.MaxValue ? 4 : 10;
        var bytes = new byte[headerLength + message.Length];
        bytes[0] = (byte)(0x80 | (binary ? 0x2 : 0x1)); // FIN + text/binary opcode
        if (headerLength == 2)
        {
            bytes[1] = (byte)message.Length;
        }
        else if (headerLength == 4)
        {
            bytes[1] = 126;
            bytes[2] = (byte)(message.Length >> 8);
            bytes[3] = (byte)message.Length;
        }
        else
        {
            bytes[1] = 127;
            var length = (ulong)message.Length;
            for (var i = 0; i < 8; i++)
                bytes[2 + i] = (byte)(length >> (56 - 8 * i));
        }
        message.CopyTo(bytes.AsSpan(headerLength));
        return new HubFrame(bytes, chef, kitchen);
    }
}
