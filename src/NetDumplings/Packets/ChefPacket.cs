using System.Runtime.CompilerServices;
using PacketDotNet;

namespace NetDumplings.Packets;

/// <summary>
/// One captured packet as a chef sees it: capture time, the raw bytes (a copy the chef may keep; it may share its array
/// with neighbouring packets),
/// the link type, its <see cref="Headers"/> (read once from the bytes and shared by every C# chef),
/// and the PacketDotNet packet, parsed on first read and shared likewise. PacketDotNet parses lazily
/// and is not thread-safe: use <see cref="Packet"/> only on the thread that handed you the packet.
/// </summary>
public sealed class ChefPacket
{
    private readonly ReadOnlyMemory<byte> _data;
    private Packet? _packet;
    private PacketHeaders _headers;
    private bool _headersRead;

    public ChefPacket(byte[] data, DateTimeOffset timestamp, LinkLayers linkType, int originalLength = -1, string? source = null)
        : this(new ReadOnlyMemory<byte>(data ?? throw new ArgumentNullException(nameof(data))), timestamp, linkType, originalLength, source) { }

    /// <summary>Over bytes that may be part of a larger array (the kitchen copies a file's packets into shared slabs).</summary>
    internal ChefPacket(ReadOnlyMemory<byte> data, DateTimeOffset timestamp, LinkLayers linkType, int originalLength = -1, string? source = null)
    {
        _data = data;
        Timestamp = timestamp;
        LinkType = linkType;
        OriginalLength = originalLength < 0 ? data.Length : originalLength;
        Source = source;
    }

    /// <summary>When the packet was captured (from the capture, not when a chef saw it).</summary>
    public DateTimeOffset Timestamp { get; }

    /// <summary>The capture time in seconds since the Unix epoch, as dumpling payloads carry times.</summary>
    public double EpochSeconds => Dumpling.ToEpochSeconds(Timestamp);

    /// <summary>The captured bytes (up to the snap length).</summary>
    public ReadOnlyMemory<byte> Data => _data;

    /// <summary>The packet's length on the wire (may exceed <see cref="Data"/> when the capture was truncated).</summary>
    public int OriginalLength { get; }

    /// <summary>The link-layer type of the capture (Ethernet, Linux cooked capture, raw IP, ...).</summary>
    public LinkLayers LinkType { get; }

    /// <summary>Where the packet came from: the interface name, or the capture file's path.</summary>
    public string? Source { get; }

    /// <summary>Where the link, network and transport headers are, read from the bytes on first use.</summary>
    public PacketHeaders Headers
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            if (!_headersRead)
            {
                _headers = PacketHeaders.Read(_data.Span, LinkType);
                _headersRead = true;
            }
            return _headers;
        }
    }

    /// <summary>The parsed packet; parsed once, on first read.</summary>
    public Packet Packet => _packet ??= Packet.ParsePacket(LinkType, DataArray());

    /// <summary>The bytes as an array holding just them: the array itself when the packet has all of it, else a copy.</summary>
    internal byte[] DataArray() =>
        System.Runtime.InteropServices.MemoryMarshal.TryGetArray(_data, out var whole) && whole.Offset == 0 && whole.Count == whole.Array!.Length
            ? whole.Array : _data.ToArray();

    /// <summary>
    /// The layer of type <typeparamref name="T"/> (IPv4Packet, UdpPacket, ArpPacket, ...) or null; also
    /// null when PacketDotNet cannot parse that far, since a truncated or malformed packet is ordinary
    /// traffic rather than a chef's error.
    /// </summary>
    public T? Extract<T>() where T : Packet => FromParse(static packet => packet.Extract<T>(), null);

    /// <summary>
    /// Reads something from the PacketDotNet parse, or <paramref name="fallback"/> when PacketDotNet cannot:
    /// it parses lazily, so even a layer's field can throw on a truncated or malformed packet.
    /// </summary>
    internal T FromParse<T>(Func<Packet, T> read, T fallback)
    {
        try
        {
            return read(Packet);
        }
        catch (Exception e) when (IsMalformedPacketError(e))
        {
            return fallback;
        }
    }

    /// <summary>
    /// What PacketDotNet throws on a packet it cannot parse (truncated, malformed, a link type it lacks); seen in fuzzing,
    /// including a bare Exception ("Malformed OSPF packet") that no other code here throws.
    /// </summary>
    internal static bool IsMalformedPacketError(Exception e) =>
        e is IndexOutOfRangeException or ArgumentException or InvalidOperationException or NotImplementedException or NullReferenceException or OverflowException
            or EndOfStreamException
        || e.GetType() == typeof(Exception);

    /// <summary>The same capture over bytes of its own, for another thread; headers already read come along.</summary>
    internal ChefPacket CopyFor(byte[] data) =>
        new(data, Timestamp, LinkType, OriginalLength, Source) { _headers = _headers, _headersRead = _headersRead };
}
