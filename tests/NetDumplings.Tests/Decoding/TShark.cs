using System.Diagnostics;

namespace NetDumplings.Tests.Decoding;

/// <summary>Debian's tshark, the reference the chefs are checked against; tests skip with advice when it is absent.</summary>
internal static class TShark
{
    public const string Advice = "Debian's tshark is not installed: apt-get install tshark (./build.ps1 -Task Test installs it when run as root).";

    public static readonly string? Path = new[] { "/usr/bin/tshark", "/usr/local/bin/tshark" }.FirstOrDefault(File.Exists);

    public static bool Available => Path is not null;

    /// <summary>Runs tshark on a capture and returns what it printed; throws with its errors when it fails.</summary>
    public static string Run(string capture, params string[] arguments)
    {
        var start = new ProcessStartInfo(Path!) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in (string[])["-n", "-r", capture, .. arguments]) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(60_000)) { process.Kill(); throw new TimeoutException($"tshark on {capture} took over a minute"); }
        if (process.ExitCode != 0) throw new InvalidOperationException($"tshark failed ({process.ExitCode}): {error.Result}");
        return output;
    }

    /// <summary>One row per frame: each field's values (every occurrence, outermost first; empty when absent).</summary>
    public static List<Dictionary<string, string[]>> Fields(string capture, params string[] fields)
    {
        var arguments = new List<string>
        {
            "--enable-protocol", "communityid", "-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE",
            "-T", "fields", "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=;",
        };
        foreach (var field in fields) arguments.AddRange(["-e", field]);
        var rows = new List<Dictionary<string, string[]>>();
        foreach (var line in Run(capture, [.. arguments]).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var values = line.TrimEnd('\r').Split('\t');
            var row = new Dictionary<string, string[]>();
            for (var i = 0; i < fields.Length; i++)
                row[fields[i]] = i < values.Length && values[i].Length > 0 ? values[i].Split(';') : [];
            rows.Add(row);
        }
        return rows;
    }

    /// <summary>A conversation from <c>-z conv,tcp</c> or <c>conv,udp</c>: endpoints A and B, frames each way, start (relative) and duration.</summary>
    public sealed record Conversation(string Protocol, string A, int PortA, string B, int PortB, long FramesBToA, long FramesAToB, double RelativeStart, double Duration);

    public static List<Conversation> Conversations(string capture)
    {
        var output = Run(capture, "-q", "-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE", "-z", "conv,tcp", "-z", "conv,udp");
        var list = new List<Conversation>();
        var protocol = "";
        foreach (var raw in output.Split('\n'))
        {
            var line = raw.Trim();
            if (line.StartsWith("TCP Conversations")) protocol = "tcp";
            else if (line.StartsWith("UDP Conversations")) protocol = "udp";
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 13 || parts[1] != "<->") continue;
            // A:port <-> B:port  frames bytes "bytes"  frames bytes "bytes"  frames bytes "bytes"  start  duration
            var (a, portA) = Endpoint(parts[0]);
            var (b, portB) = Endpoint(parts[2]);
            list.Add(new Conversation(protocol, a, portA, b, portB, long.Parse(parts[3]), long.Parse(parts[6]),
                double.Parse(parts[^2], System.Globalization.CultureInfo.InvariantCulture), double.Parse(parts[^1], System.Globalization.CultureInfo.InvariantCulture)));
        }
        return list;
    }

    private static (string, int) Endpoint(string text)
    {
        var colon = text.LastIndexOf(':');
        return (text[..colon], int.Parse(text[(colon + 1)..]));
    }
}
