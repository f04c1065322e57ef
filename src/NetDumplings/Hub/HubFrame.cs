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

    public static HubFrame Create(ReadOnlySpan<byte> message, bool binary, string? chef, string? kitchen) =>
        new(WebSocketFrames.ServerFrame(message, binary), chef, kitchen);
}
