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
        var root = Path.GetDirectoryName(Path.GetFullPath(options.ModulePath))!;
        // `dotnet pwsh` is the pwsh this repository pins (.config/dotnet-tools.json).
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = root, UseShellExecute = false };
        foreach (var argument in new[] { "pwsh", "-NoProfile", "-NonInteractive", "-File", script,
                     "-ModulePath", Path.GetFullPath(options.ModulePath), "-Repeats", options.Repeats.ToString() })
            start.ArgumentList.Add(argument);
        using var child = Process.Start(start) ?? throw new InvalidOperationException("could not start pwsh");
        await child.WaitForExitAsync();
        if (child.ExitCode != 0) Console.WriteLine($"the scriptchef bench failed (pwsh exit code {child.ExitCode})");
    }
}
