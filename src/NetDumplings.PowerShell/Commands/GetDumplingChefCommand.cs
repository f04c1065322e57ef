using System.Management.Automation;

using NetDumplings.PowerShell.ChefLoading;
using NetDumplings.PowerShell.Cmdlets;

namespace NetDumplings.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Lists the chefs a kitchen can cook with: the built-in ones, and those in C# files (.cs) or assemblies (.dll).</para>
/// <para type="description">With -Path, compiles or loads each file and lists its chef classes; a file that does not compile or load is reported as a non-terminating error that says why, and the other files are still listed.</para>
/// </summary>
/// <example><code>Get-DumplingChef</code><para>Lists the built-in chefs: PacketCountChef, DNSLookupChef, ARPChef, FlowChef, DNSAnswerChef, TLSChef, DHCPChef.</para></example>
/// <example><code>Get-DumplingChef -Path (Join-Path (Get-Module NetDumplings).ModuleBase examples/*.cs)</code><para>Compiles each C# file of the examples the module ships (ServerNameChef.cs) and lists its chef classes; a file that does not compile is reported with the compiler's errors.</para></example>
[Cmdlet(VerbsCommon.Get, "DumplingChef")]
[OutputType(typeof(DumplingChefInfo))]
public sealed class GetDumplingChefCommand : DumplingCmdlet
{
    /// <summary><para type="description">Chef files (.cs or .dll) or folders of them. Without it, the built-in chefs are listed.</para></summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName")]
    [ValidateNotNullOrEmpty]
    public string[]? Path { get; set; }

    /// <summary><para type="description">Only chefs whose names match these wildcards.</para></summary>
    [Parameter]
    [ArgumentCompleter(typeof(ChefNameCompleter))]
    public string[]? Name { get; set; }

    private bool _sawPath;

    protected override void ProcessRecord()
    {
        if (Path is null) return;
        _sawPath = true;
        var resolver = new ChefResolver();
        resolver.LoadFiles(ResolveChefFiles(Path));
        foreach (var error in resolver.Errors) WriteError(error);
        Emit(resolver.FromFiles);
    }

    protected override void EndProcessing()
    {
        if (!_sawPath) Emit(ChefResolver.BuiltIn());
    }

    private void Emit(IEnumerable<DumplingChefInfo> chefs)
    {
        var patterns = Name?.Select(n => new WildcardPattern(n, WildcardOptions.IgnoreCase)).ToList();
        foreach (var chef in chefs)
            if (patterns is null || patterns.Any(p => p.IsMatch(chef.Name))) WriteObject(chef);
    }
}
