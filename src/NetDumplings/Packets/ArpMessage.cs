using System.Buffers.Binary;

namespace NetDumplings.Packets;

/// <summary>
/// An ARP message (RFC 826) of any hardware and protocol address sizes (Ethernet and IPv4 are 6 and 4;
/// InfiniBand's hardware addresses are 20), read in place.
/// </summary>
public readonly ref struct ArpMessage
{
    public const int Request = 1, Reply = 2;

    private const int FixedLength = 8;

    private readonly ReadOnlySpan<byte> _message;

    private ArpMessage(ReadOnlySpan<byte> message) => _message = message;

    /// <summary>Reads the message at the start of <paramref name="bytes"/>; false when its addresses do not fit.</summary>
    public static bool TryRead(ReadOnlySpan<byte> bytes, out ArpMessage message)
    {
        message = default;
        if (bytes.Length < FixedLength) return false;
        var length = FixedLength + 2 * (bytes[4] + bytes[5]);
        if (bytes.Length < length) return false;
        message = new ArpMessage(bytes[..length]);
        return true;
    }

    /// <summary>The message's length, up to its last address (without any padding after it).</summary>
    public int Length => _message.Length;

    /// <summary>True for the empty message that stands for "no ARP here"; its fields read as zero and empty.</summary>
    public bool IsEmpty => _message.IsEmpty;

    public int HardwareType => IsEmpty ? 0 : BinaryPrimitives.ReadUInt16BigEndian(_message);
    public int ProtocolType => IsEmpty ? 0 : BinaryPrimitives.ReadUInt16BigEndian(_message[2..]);
    public int Operation => IsEmpty ? 0 : BinaryPrimitives.ReadUInt16BigEndian(_message[6..]);

    private int HardwareLength => IsEmpty ? 0 : _message[4];
    private int ProtocolLength => IsEmpty ? 0 : _message[5];

    public ReadOnlySpan<byte> SenderHardwareAddress => Field(FixedLength, HardwareLength);
    public ReadOnlySpan<byte> SenderProtocolAddress => Field(FixedLength + HardwareLength, ProtocolLength);
    public ReadOnlySpan<byte> TargetHardwareAddress => Field(FixedLength + HardwareLength + ProtocolLength, HardwareLength);
    public ReadOnlySpan<byte> TargetProtocolAddress => Field(FixedLength + 2 * HardwareLength + ProtocolLength, ProtocolLength);

    private ReadOnlySpan<byte> Field(int offset, int length) => IsEmpty ? default : _message.Slice(offset, length);
}
