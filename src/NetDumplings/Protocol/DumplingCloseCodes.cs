namespace NetDumplings.Protocol;

/// <summary>
/// The WebSocket close codes the dumpling protocol uses (PROTOCOL.md, close codes), with the reasons
/// the original sends, so that every client and the hub close with the same words.
/// </summary>
public static class DumplingCloseCodes
{
    /// <summary>1000: a kitchen or Send-Dumpling that finished its input.</summary>
    public const int Normal = 1000;

    /// <summary>1001: the hub shutting down.</summary>
    public const int GoingAway = 1001;

    /// <summary>1008: a refused announcement, or an eater cut off for reading too slowly.</summary>
    public const int PolicyViolation = 1008;

    /// <summary>1009: a message over the hub's limit.</summary>
    public const int MessageTooBig = 1009;

    /// <summary>4101: a kitchen or eater closing because its user stopped it.</summary>
    public const int ConnectionCancelled = 4101;
    public const string ConnectionCancelledReason = "connection cancelled";

    /// <summary>4102: an eater that ate the number of dumplings it was asked for.</summary>
    public const int EaterIsFull = 4102;
    public const string EaterIsFullReason = "dumpling eater is full";

    /// <summary>The start of every close reason with which a hub refuses an announcement; a client seeing it stops retrying.</summary>
    public const string AnnouncementRefusedPrefix = "announcement refused: ";

    /// <summary>A WebSocket close reason is at most 123 bytes on the wire: cut longer ones at a character boundary.</summary>
    public static string FitReason(string reason)
    {
        if (System.Text.Encoding.UTF8.GetByteCount(reason) <= 123) return reason;
        var cut = reason.Length;
        while (cut > 0 && System.Text.Encoding.UTF8.GetByteCount(reason.AsSpan(0, cut)) > 120) cut--;
        if (cut > 0 && char.IsHighSurrogate(reason[cut - 1])) cut--;
        return reason[..cut] + "...";
    }
}
