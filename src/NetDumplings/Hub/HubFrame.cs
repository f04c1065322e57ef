using NetDumplings.WebSockets;

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

    /// <summary>The message without its frame header: the kitchen's bytes as they came (server frames are unmasked).</summary>
    public ReadOnlyMemory<byte> Message => Bytes.AsMemory((Bytes[1] & 0x7F) switch { < 126 => 2, 126 => 4, _ => 10 });

    /// <summary>Sent as a binary frame (opcode 2), not text.</summary>
    public bool Binary => (Bytes[0] & 0x0F) == 2;

    /// <summary>
    /// The dumpling's number in this hub's stream (from 1, set as it is published); 0 for the hub's own
    /// status dumplings, which are never replayed and take no number.
    /// </summary>
    public long Sequence { get; set; }

    /// <summary>
    /// Looks like one of the hub's own status dumplings (chef SystemStatusChef, no kitchen). An eater
    /// cannot tell a kitchen's look-alike from the real one, so such a dumpling takes no number either.
    /// </summary>
    public bool TakesNoNumber => Protocol.HubStatusReport.IsStatus(Chef, Kitchen);

    public static HubFrame Create(ReadOnlySpan<byte> message, bool binary, string? chef, string? kitchen) =>
        new(WebSocketFrames.ServerFrame(message, binary), chef, kitchen);

    /// <summary>A frame the hub writes to one eater only (a notice), never queued or numbered.</summary>
    public static byte[] Notice(Protocol.HubNotice notice) => WebSocketFrames.ServerFrame(notice.ToUtf8Json(), binary: false);
}
