using NetDumplings.Bench;

// The benchmark harness behind `./build.ps1 -Task Bench`. Each scenario measures itself and its
// baseline in the same run (these machines are noisy: only same-run ratios and medians mean much),
// and its first run in a fresh process beside the warm median: a user runs a kitchen once per process.
if (args.Length == 2 && args[0] == "--serve")
    return await BenchServers.ServeAsync(args[1]);

var options = BenchOptions.Parse(args);
var scenarios = new IBenchScenario[]
{
    new CodecBench(),
    new HubBench(),
    new EaterBench(),
    new KitchenBench(),
    new ScriptChefBench(),
    new EndToEndBench(),
    new MeshBench(),
};

var selected = scenarios.Where(s => options.Matches(s.Name)).ToList();
if (selected.Count == 0)
{
    Console.Error.WriteLine($"No scenario matches '{string.Join(",", options.Patterns)}'. Scenarios: {string.Join(", ", scenarios.Select(s => s.Name))}");
    return 2;
}

if (options.FirstRunCase is not null)
{
    // A child of FreshProcess: one case, once, figures on stdout.
    await selected.Single().RunAsync(options);
    return 0;
}

Console.WriteLine($"NetDumplings bench: {Environment.ProcessorCount} cores, .NET {Environment.Version}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
foreach (var scenario in selected)
{
    Console.WriteLine();
    Console.WriteLine($"## {scenario.Name}: {scenario.Description}");
    await scenario.RunAsync(options);
}
return 0;
