using System.Diagnostics;
using System.Text.RegularExpressions;

namespace NetDumplings.Bench;

public interface IBenchScenario
{
    string Name { get; }
    string Description { get; }
    Task RunAsync(BenchOptions options);
}

public sealed record BenchOptions(IReadOnlyList<string> Patterns, string? ModulePath, int Repeats)
{
    /// <summary>Set in a child started by <see cref="FreshProcess"/>: run this one case once, print its figures, exit.</summary>
    public string? FirstRunCase { get; init; }

    /// <summary>What the parent passes to that case (a capture path, a port).</summary>
    public IReadOnlyList<string> CaseArguments { get; init; } = [];

    public static BenchOptions Parse(string[] args)
    {
        var patterns = (Environment.GetEnvironmentVariable("ND_BENCH_SCENARIO") ?? "*").Split(',', StringSplitOptions.RemoveEmptyEntries).ToList();
        string? module = null, firstRun = null;
        var caseArguments = new List<string>();
        var repeats = 5;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--scenario": patterns = args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries).ToList(); break;
                case "--module": module = args[++i]; break;
                case "--repeats": repeats = int.Parse(args[++i]); break;
                case "--first-run": firstRun = args[++i]; break;
                case "--case-arg": caseArguments.Add(args[++i]); break;
                default: throw new ArgumentException($"Unknown argument '{args[i]}'. Use --scenario a,b* --module path --repeats N.");
            }
        }
        return new BenchOptions(patterns, module, repeats) { FirstRunCase = firstRun, CaseArguments = caseArguments };
    }

    public bool Matches(string name) => Patterns.Any(p =>
        Regex.IsMatch(name, "^" + Regex.Escape(p).Replace("\\*", ".*").Replace("\\?", ".") + "$", RegexOptions.IgnoreCase));
}

public static class Measure
{
    /// <summary>Runs <paramref name="body"/> (returning how many operations it did) and returns operations per second.</summary>
    public static double Rate(Func<long> body)
    {
        var sw = Stopwatch.StartNew();
        var ops = body();
        return ops / sw.Elapsed.TotalSeconds;
    }

    /// <summary>Bytes allocated on this thread per operation.</summary>
    public static double AllocatedPerOp(long ops, Action body)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        body();
        return (GC.GetAllocatedBytesForCurrentThread() - before) / (double)ops;
    }

    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        if (sorted.Length == 0) return double.NaN;
        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    public static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p / 100 * sorted.Length) - 1)];

    /// <summary>The median of <paramref name="repeats"/> runs of <paramref name="run"/>.</summary>
    public static double MedianOf(int repeats, Func<double> run) => Median(Enumerable.Range(0, repeats).Select(_ => run()));
}

/// <summary>Prints a plain Markdown table, so figures paste straight into the README.</summary>
public sealed class BenchTable(params string[] headers)
{
    private readonly List<string[]> _rows = [];

    public void Add(params object[] cells) => _rows.Add(cells.Select(Format).ToArray());

    private static string Format(object cell) => cell switch
    {
        double d when double.IsNaN(d) => "n/a",
        double d when Math.Abs(d) >= 100 => d.ToString("N0"),
        double d => d.ToString("0.###"),
        _ => (cell.ToString() ?? "").Replace("|", "\\|"), // a pipeline in a cell must not end it
    };

    public void Print()
    {
        var widths = headers.Select((h, i) => Math.Max(h.Length, _rows.Count == 0 ? 0 : _rows.Max(r => r[i].Length))).ToArray();
        string Line(IEnumerable<string> cells) => "| " + string.Join(" | ", cells.Select((c, i) => c.PadRight(widths[i]))) + " |";
        Console.WriteLine(Line(headers));
        Console.WriteLine("| " + string.Join(" | ", widths.Select(w => new string('-', w))) + " |");
        foreach (var row in _rows) Console.WriteLine(Line(row));
    }
}

/// <summary>Child `dotnet pwsh` processes (the repository's pinned PowerShell) running a script, and what they print.</summary>
public static class PwshChild
{
    /// <summary>Starts <paramref name="script"/> in a fresh `dotnet pwsh`; its errors go to our console as they happen, so a failing child says why.</summary>
    public static Process Start(string module, string script, bool redirectInput = false)
    {
        var file = Path.Combine(Path.GetTempPath(), $"nd-bench-{Guid.NewGuid():N}.ps1");
        // pwsh has read the whole file before it runs the first line, so it can go at once.
        File.WriteAllText(file, $"Remove-Item -LiteralPath '{file}'{Environment.NewLine}{script}{Environment.NewLine}");
        // `dotnet pwsh` finds the repo's pinned PowerShell through the tool manifest beside the module.
        var info = new ProcessStartInfo("dotnet", ["pwsh", "-NoProfile", "-NonInteractive", "-File", file])
        {
            WorkingDirectory = Path.GetDirectoryName(Path.GetFullPath(module))!,
            RedirectStandardInput = redirectInput,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var child = Process.Start(info) ?? throw new InvalidOperationException("could not start pwsh");
        _ = Task.Run(async () => { while (await child.StandardError.ReadLineAsync() is { } line) Console.Error.WriteLine("pwsh: " + line); });
        return child;
    }

    /// <summary>Reads the child's output until a line starting with <paramref name="tag"/> and a space, which it returns.</summary>
    public static async Task<string> ReadUntilAsync(Process child, string tag, TimeSpan patience)
    {
        using var deadline = new CancellationTokenSource(patience);
        while (await child.StandardOutput.ReadLineAsync(deadline.Token) is { } line)
            if (line.StartsWith(tag + " ", StringComparison.Ordinal)) return line;
        throw new InvalidOperationException($"A pwsh child ended without '{tag}' (its errors are above).");
    }
}

/// <summary>
/// The first run in a fresh process: what a user sees, who runs a kitchen or an eater once per process.
/// Starts this bench again as a child that runs one case of one scenario once (no warm-up) and prints
/// "FIRST name value" lines, which are returned.
/// </summary>
public static class FreshProcess
{
    public static async Task<Dictionary<string, double>> RunAsync(BenchOptions options, string scenario, string @case, params string[] caseArguments)
    {
        var psi = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet") psi.ArgumentList.Add(typeof(FreshProcess).Assembly.Location);
        foreach (var a in new[] { "--scenario", scenario, "--first-run", @case }) psi.ArgumentList.Add(a);
        if (options.ModulePath is not null) { psi.ArgumentList.Add("--module"); psi.ArgumentList.Add(options.ModulePath); }
        foreach (var a in caseArguments) { psi.ArgumentList.Add("--case-arg"); psi.ArgumentList.Add(a); }
        using var child = Process.Start(psi) ?? throw new InvalidOperationException("could not start the bench again");
        var figures = new Dictionary<string, double>();
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            while (await child.StandardOutput.ReadLineAsync(deadline.Token) is { } line)
            {
                var parts = line.Split(' ', 3);
                if (parts.Length == 3 && parts[0] == "FIRST")
                    figures[parts[2]] = double.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
            }
            await child.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            child.Kill(entireProcessTree: true);
            throw new TimeoutException($"The fresh-process run of {scenario}/{@case} took over 3 minutes.");
        }
        if (child.ExitCode != 0) throw new InvalidOperationException($"The fresh-process run of {scenario}/{@case} failed (exit code {child.ExitCode}).");
        return figures;
    }

    /// <summary>In the child: one figure for the parent.</summary>
    public static void Report(string name, double value) =>
        Console.WriteLine(FormattableString.Invariant($"FIRST {value:R} {name}"));
}
