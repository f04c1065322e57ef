using System.Globalization;
using System.Text;
using NetDumplings.Kitchen;

namespace NetDumplings.PowerShell.Conversion;

/// <summary>
/// A kitchen's statistics as the lines a person reads: the format view shows them, and a foreground
/// kitchen stopped with Ctrl+C (whose pipeline takes no more objects) prints the same text on the host.
/// </summary>
public static class StatisticsText
{
    public static string Format(KitchenStatistics s)
    {
        var c = CultureInfo.CurrentCulture;
        var hub = s.HubConnected switch
        {
            null => "none (-NoHub: dumplings to the pipeline)",
            { } connected => $"{(connected ? "connected" : "disconnected")}, {s.HubConnects} {(s.HubConnects == 1 ? "connection" : "connections")} made",
        };
        var text = new StringBuilder()
            .AppendLine(c, $"Kitchen    : {s.KitchenName}, ran {s.Elapsed:hh\\:mm\\:ss\\.f}")
            .AppendLine(c, $"Packets    : {s.PacketsCaptured:N0} captured, {s.PacketsProcessed:N0} processed ({s.PacketsPerSecond:N0}/s)")
            .AppendLine(c, $"Drops      : {s.KernelDrops:N0} by the kernel, {s.QueueDrops:N0} from a full queue")
            .AppendLine(c, $"Dumplings  : {s.DumplingsMade:N0} made, {s.DumplingsSent:N0} sent, {s.DumplingsDropped:N0} dropped, {s.DumplingsQueued:N0} queued")
            .AppendLine(c, $"Hub        : {hub}");
        if (s.NoticesDropped > 0) text.AppendLine(c, $"Notices    : {s.NoticesDropped:N0} dropped (nobody read them in time)");
        if (s.Chefs.Count == 0) return text.ToString().TrimEnd();
        text.AppendLine();
        string[] headers = ["Chef", "Packets", "Pokes", "Dumplings", "Errors", "Dropped"];
        var rows = s.Chefs.Select(x => new[] { x.Name, x.Packets.ToString("N0", c), x.Pokes.ToString("N0", c), x.Dumplings.ToString("N0", c), x.Errors.ToString("N0", c), x.Dropped.ToString("N0", c) }).ToList();
        var widths = headers.Select((h, i) => Math.Max(h.Length, rows.Max(r => r[i].Length))).ToArray();
        string Line(IReadOnlyList<string> cells) => string.Join(" ", cells.Select((v, i) => i == 0 ? v.PadRight(widths[i]) : v.PadLeft(widths[i])));
        text.AppendLine(Line(headers)).AppendLine(Line(widths.Select(w => new string('-', w)).ToArray()));
        foreach (var row in rows) text.AppendLine(Line(row));
        return text.ToString().TrimEnd();
    }
}
