using System.Diagnostics;

namespace NetDumplings.Bench;

/// <summary>
/// Packets per second through scriptblock chefs (New-DumplingChef) against the same chefs in C#, in the
/// same run. Scriptblock chefs need PowerShell, which this process does not host: the measurement runs
/// in a child pwsh (ScriptChef/ScriptChefBench.ps1) that imports the built module.
/// </summary>
public sealed class ScriptChefBench : IBenchScenario
{
    public string Name => "scriptchef";
    public string Description => "packets/s through a trivial scriptblock chef and a scriptblock DNSLookupChef, against C# chefs doing the same";

    public async Task RunAsync(BenchOptions options)
    {
        if (options.ModulePath is null)
        {
            Console.WriteLine("skipped: needs --module <path to NetDumplings.psd1> (build.ps1 -Task Bench passes it)");
            return;
        }
        var script = Path.Combine(AppContext.BaseDirectory, "ScriptChef", "ScriptChefBench.ps1");
        var module = Path.GetFullPath(options.ModulePath);
        // The first run of each scriptblock chef, each in a pwsh of its own: what a user who runs it once sees.
        var firsts = new List<string>();
        foreach (var @case in new[] { "fed:0", "fed:1", "fed:2", "kitchen:0", "kitchen:1" })
        {
            using var child = StartPwsh(module, script, redirect: true, "-FirstRun", @case);
            var output = await child.StandardOutput.ReadToEndAsync();
            await child.WaitForExitAsync();
            var line = output.Split('\n').FirstOrDefault(l => l.StartsWith("FIRST ", StringComparison.Ordinal));
            if (line is not null) firsts.Add($"{@case}={line.Split(' ')[1]}");
            else Console.WriteLine($"the first run of scriptchef case {@case} failed (pwsh exit code {child.ExitCode})");
        }
        using var main = StartPwsh(module, script, redirect: false, "-Repeats", options.Repeats.ToString(), "-FirstRuns", string.Join(",", firsts));
        await main.WaitForExitAsync();
        if (main.ExitCode != 0) Console.WriteLine($"the scriptchef bench failed (pwsh exit code {main.ExitCode})");
    }

    private static Process StartPwsh(string module, string script, bool redirect, params string[] arguments)
    {
        // `dotnet pwsh` is the pwsh this repository pins (.config/dotnet-tools.json).
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = Path.GetDirectoryName(module)!, UseShellExecute = false, RedirectStandardOutput = redirect };
        foreach (var argument in new[] { "pwsh", "-NoProfile", "-NonInteractive", "-File", script, "-ModulePath", module }.Concat(arguments))
            start.ArgumentList.Add(argument);
        return Process.Start(start) ?? throw new InvalidOperationException("could not start pwsh");
    }
}
