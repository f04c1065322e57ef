using System.Buffers.Binary;
using PacketDotNet;

namespace NetDumplings.Traffic;

/// <summary>
/// Writes classic pcap files (microsecond timestamps). The format is a 24-byte header and a 16-byte
/// header per record, so writing it ourselves is simpler and faster than opening a libpcap dumper,
/// and works where libpcap is missing.
/// </summary>
public sealed class PcapFileWriter : IDisposable
{
    private readonly Stream _stream;
    private readonly byte[] _recordHeader = new byte[16];

    public PcapFileWriter(string path, LinkLayers linkType = LinkLayers.Ethernet, int snapLength = 262144)
        : this(new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16), linkType, snapLength) { }

    public PcapFileWriter(Stream stream, LinkLayers linkType = LinkLayers.Ethernet, int snapLength = 262144)
    {
        _stream = stream;
        SnapLength = snapLength;
        Span<byte> header = stackalloc byte[24];
        BinaryPrimitives.WriteUInt32LittleEndian(header, 0xa1b2c3d4);
        BinaryPrimitives.WriteUInt16LittleEndian(header[4..], 2);
        BinaryPrimitives.WriteUInt16LittleEndian(header[6..], 4);
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], 0);  // thiszone
        BinaryPrimitives.WriteUInt32LittleEndian(header[12..], 0); // sigfigs
        BinaryPrimitives.WriteInt32LittleEndian(header[16..], snapLength);
        BinaryPrimitives.WriteUInt32LittleEndian(header[20..], (uint)linkType);
        _stream.Write(header);
    }

    public int SnapLength { get; }

    public long PacketsWritten { get; private set; }

    public void Write(ReadOnlySpan<byte> packet, DateTimeOffset timestamp)
    {
        var micros = (timestamp.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;
        var captured = Math.Min(packet.Length, SnapLength);
        BinaryPrimitives.WriteUInt32LittleEndian(_recordHeader, (uint)(micros / 1_000_000));
        BinaryPrimitives.WriteUInt32LittleEndian(_recordHeader.AsSpan(4), (uint)(micros % 1_000_000));
        BinaryPrimitives.WriteInt32LittleEndian(_recordHeader.AsSpan(8), captured);
        BinaryPrimitives.WriteInt32LittleEndian(_recordHeader.AsSpan(12), packet.Length);
        _stream.Write(_recordHeader);
        _stream.Write(packet[..captured]);
        PacketsWritten++;
    }

    public void Dispose() => _stream.Dispose();
}
