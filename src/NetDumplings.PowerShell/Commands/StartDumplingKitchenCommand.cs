using NetDumplings.Protocol;
using System.Management.Automation;
using NetDumplings.Hub;
using NetDumplings.Kitchen;

using NetDumplings.PowerShell.ChefLoading;
using NetDumplings.PowerShell.Cmdlets;
using NetDumplings.PowerShell.Jobs;

namespace NetDumplings.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Starts a kitchen: sniffs packets (live, or from capture files), hands each to chefs, and sends the dumplings they make to a hub.</para>
/// <para type="description">Live capture needs root or CAP_NET_RAW; reading capture files does not. Without -NoHub the kitchen sends to the hub at -Hub (default localhost:11347), reconnecting when the hub goes away, and writes its statistics when it ends. With -NoHub the dumplings are written to the pipeline instead, so a chef can be tried on a capture file in one line. It runs until the capture files end, or until stopped (Ctrl+C, Stop-Job with -AsJob).</para>
/// </summary>
/// <example>
///   <code>$examples = Join-Path (Get-Module NetDumplings).ModuleBase examples
/// Start-DumplingKitchen -Path $examples/demo.pcap -NoHub -Chef DNSLookupChef | Select-Object -ExpandProperty Payload</code>
///   <para>Runs the DNS lookup chef over the capture the module ships (examples/demo.pcap) and writes its payloads to the pipeline, without a hub. The final statistics are shown on the host.</para>
/// </example>
/// <example>
///   <code>$examples = Join-Path (Get-Module NetDumplings).ModuleBase examples
/// Start-DumplingKitchen -Path $examples/demo.pcap -NoHub -ChefPath $examples/ServerNameChef.cs | ForEach-Object Flatten | Format-Table</code>
///   <para>Compiles the example C# chef (ServerNameChef.cs: server names from TLS SNI and HTTP Host) and cooks the capture with it, one row per dumpling with the payload's fields as columns.</para>
/// </example>
/// <example>
///   <code>$hub = Start-DumplingHub -InPort 0 -OutPort 0 -AsJob
/// $job = Start-DumplingKitchen -Name $(hostname) -Interface lo -Chef PacketCountChef, ARPChef -Hub $hub.Info.KitchenHub -AsJob</code>
///   <para>As root (or with CAP_NET_RAW): sniffs the loopback interface in the background and sends the dumplings to a hub; $job.Statistics shows the counters, Stop-Job writes the final ones and ends it.</para>
/// </example>
[Cmdlet(VerbsLifecycle.Start, "DumplingKitchen", DefaultParameterSetName = ToHubSet)]
[OutputType(typeof(KitchenStatistics), ParameterSetName = [ToHubSet])]
[OutputType(typeof(Dumpling), ParameterSetName = [NoHubSet])]
[OutputType(typeof(Job2))]
public sealed class StartDumplingKitchenCommand : HubClientCmdlet
{
    private const string ToHubSet = "ToHub";
    private const string NoHubSet = "NoHub";

    /// <summary><para type="description">The kitchen's name in every dumpling (metadata.kitchen).</para></summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "default_kitchen";

    /// <summary><para type="description">Interfaces to capture on; 'any' (the default when no -Path is given) for all.</para><para type="default">any, when no -Path is given</para></summary>
    [Parameter]
    [ArgumentCompleter(typeof(InterfaceCompleter))]
    [ValidateNotNullOrEmpty]
    public string[]? Interface { get; set; }

    /// <summary><para type="description">BPF capture filter (see man pcap-filter). Default: tcp or udp or arp. Applies to capture files too.</para></summary>
    [Parameter]
    [AllowEmptyString]
    public string Filter { get; set; } = DumplingKitchenOptions.DefaultFilter;

    /// <summary><para type="description">Capture files (pcap or pcapng) to replay instead of capturing live. Wildcards are expanded.</para></summary>
    [Parameter(Position = 0)]
    [AllowEmptyCollection]
    [AllowEmptyString]
    [AllowNull]
    public string[]? Path { get; set; }

    /// <summary><para type="description">Replay capture files at the pace of their timestamps instead of as fast as possible.</para></summary>
    [Parameter]
    public SwitchParameter Paced { get; set; }

    /// <summary><para type="description">Chefs: built-in names (PacketCountChef, DNSLookupChef, ARPChef, FlowChef, DNSAnswerChef, TLSChef, DHCPChef), names of chefs in -ChefPath files, chef classes, or chef objects (e.g. from New-DumplingChef). Default: every chef in -ChefPath, or the three built-ins.</para><para type="default">every chef in the -ChefPath files, or the three built-in chefs</para></summary>
    [Parameter]
    [ArgumentCompleter(typeof(ChefNameCompleter))]
    [ValidateNotNullOrEmpty]
    public object[]? Chef { get; set; }

    /// <summary><para type="description">C# chef files (.cs, compiled when the kitchen starts) or assemblies (.dll), or folders of them.</para></summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? ChefPath { get; set; }

    /// <summary><para type="description">The hub's in-port address: host:port, ws://host:port, or wss://host:port for a hub that serves TLS. Default localhost:11347.</para></summary>
    [Parameter(ParameterSetName = ToHubSet)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(HubAddressCompleter))]
    public string Hub { get; set; } = $"{HubAddress.DefaultHost}:{HubAddress.DefaultInPort}";

    /// <summary><para type="description">Write the dumplings to the pipeline instead of sending them to a hub.</para></summary>
    [Parameter(Mandatory = true, ParameterSetName = NoHubSet)]
    public SwitchParameter NoHub { get; set; }

    /// <summary><para type="description">Seconds between interval pokes of the chefs; 0 turns them off. Default 5.</para></summary>
    [Parameter]
    [ValidateRange(0, 86400)]
    public double PokeInterval { get; set; } = 5;

    /// <summary><para type="description">Run the kitchen in the background and return a job (Receive-Job, Stop-Job).</para></summary>
    [Parameter]
    public SwitchParameter AsJob { get; set; }

    protected override HubRole Role => HubRole.Kitchen;

    protected override void EndProcessing()
    {
        // An empty -Path (a variable that held nothing) must not fall back to live capture: say so instead.
        if (MyInvocation.BoundParameters.ContainsKey(nameof(Path)) && (Path is null || Path.All(string.IsNullOrWhiteSpace)))
            ThrowTerminatingError(new ArgumentException("-Path is empty: it names no capture file."), "EmptyPath", ErrorCategory.InvalidArgument, Path,
                "Give the path of a pcap or pcapng file (wildcards allowed), or leave out -Path to capture live with -Interface.");
        if (Interface is not null && Path is not null)
            ThrowTerminatingError(new ArgumentException("A kitchen either captures live (-Interface) or replays capture files (-Path), not both."),
                "InterfaceAndPath", ErrorCategory.InvalidArgument, Interface, "Run one kitchen per source; several can feed the same hub.");
        var options = new DumplingKitchenOptions
        {
            Name = Name,
            Interfaces = Interface ?? [],
            Filter = string.IsNullOrWhiteSpace(Filter) ? null : Filter,
            Files = ResolveFiles(),
            PaceFiles = Paced,
            PokeInterval = TimeSpan.FromSeconds(PokeInterval),
        };
        var chefs = ResolveChefs();
        var hub = NoHub ? null : ParseHub(Hub);

        var kitchen = hub is null ? new DumplingKitchen(options, chefs) : new DumplingKitchen(options, chefs, hub, ClientSecurity(hub));
        try
        {
            kitchen.Start();
        }
        catch (KitchenException e)
        {
            ThrowTerminatingError(KitchenErrors.Record(e));
        }
        WriteVerbose($"Kitchen '{Name}' started: {(options.Files.Count > 0 ? $"{options.Files.Count} capture file(s)" : $"capturing on {string.Join(", ", options.LiveInterfaces)}")}, " +
                     $"filter '{options.Filter}', chefs {string.Join(", ", kitchen.Chefs.Select(c => c.Name))}, {(hub is null ? "dumplings to the pipeline" : $"hub {hub}")}.");

        var job = new KitchenJob(MyInvocation.Line, Name, kitchen, foreground: !AsJob);
        job.Begin();
        if (AsJob)
        {
            JobRepository.Add(job);
            WriteObject(job);
            return;
        }
        // The foreground is the same job, its streams written here on the pipeline thread; StopProcessing
        // (Ctrl+C) cancels CancelToken, and the replay then stops the kitchen.
        try
        {
            job.Replay(this, CancelToken);
        }
        finally
        {
            job.StopJob(); // a no-op once the kitchen ended; otherwise (a downstream stop) it ends it here
        }
        if (!CancelToken.IsCancellationRequested && kitchen.HubFailure is { } failure) ThrowTerminatingError(HubErrorRecord(failure));
    }

    private List<string> ResolveFiles()
    {
        var files = new List<string>();
        foreach (var path in Path ?? [])
        {
            try
            {
                var resolved = GetResolvedProviderPathFromPSPath(path, out var provider);
                // A wildcard that matches nothing resolves to nothing: without this the kitchen would capture live instead.
                if (resolved.Count == 0)
                    ThrowTerminatingError(KitchenErrors.Record(new KitchenException(KitchenProblem.BadCaptureFile,
                        $"No capture file matches '{path}'.", path,
                        "Check the wildcard (Get-ChildItem with the same path lists what it matches), or leave out -Path to capture live with -Interface.")));
                files.AddRange(resolved);
            }
            catch (ItemNotFoundException e)
            {
                ThrowTerminatingError(KitchenErrors.Record(new KitchenException(KitchenProblem.BadCaptureFile,
                    $"The capture file '{path}' does not exist.", path,
                    "Give the path of a pcap or pcapng file (tcpdump -w and Wireshark write them).", e)));
            }
        }
        return files;
    }

    private List<NetDumplings.Chefs.DumplingChef> ResolveChefs()
    {
        var resolver = new ChefResolver();
        if (ChefPath is not null) resolver.LoadFiles(ResolveChefFiles(ChefPath));
        var chefs = resolver.Resolve(Chef, filesGiven: ChefPath is not null);
        foreach (var error in resolver.Errors) WriteError(error);
        if (chefs.Count == 0)
            ThrowTerminatingError(KitchenErrors.Record(new KitchenException(KitchenProblem.NoValidChef,
                "No valid chef to cook with (see the errors above).", "Chef",
                "Name a chef that exists: Get-DumplingChef lists the built-in ones, Get-DumplingChef -Path file.cs those in your files.")));
        return chefs;
    }
}
