using System.Management.Automation;
using System.Text;

using NetDumplings.PowerShell.Cmdlets;

namespace NetDumplings.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Parses dumpling JSON (as sent on the wire, or saved one per line) into dumpling objects.</para>
/// <para type="description">Each input string must hold one dumpling in the netdumplings wire format. A string that is not a valid dumpling is reported as a non-terminating error that says exactly what is wrong, and the following strings are still read.</para>
/// </summary>
/// <example>
///   <code>Get-Content ./dumplings.jsonl | ConvertFrom-DumplingJson | Where-Object Chef -eq DNSLookupChef | ForEach-Object { $_.Payload.lookup.hostname }</code>
///   <para>Reads dumplings saved one per line (as Receive-Dumpling -Raw writes them) and prints the host names the DNS chef saw.</para>
/// </example>
/// <example>
///   <code>'{"metadata":{"chef":"c","kitchen":"k","creation_time":1499040017.81,"driver":"packet"},"payload":{"n":1}}' | ConvertFrom-DumplingJson | Format-List</code>
///   <para>Shows one dumpling with its whole payload.</para>
/// </example>
[Cmdlet(VerbsData.ConvertFrom, "DumplingJson")]
[OutputType(typeof(Dumpling))]
public sealed class ConvertFromDumplingJsonCommand : DumplingCmdlet
{
    /// <summary><para type="description">The JSON text of one dumpling. Empty lines are skipped.</para></summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [AllowEmptyString]
    public string[] InputObject { get; set; } = [];

    protected override void ProcessRecord()
    {
        foreach (var json in InputObject)
        {
            if (string.IsNullOrWhiteSpace(json)) continue;
            if (DumplingCodec.TryParse(Encoding.UTF8.GetBytes(json), out var dumpling, out var error))
                WriteObject(dumpling);
            else
                WriteError(new DumplingFormatException($"Not a dumpling: {error}."), "InvalidDumpling",
                    ErrorCategory.InvalidData, json,
                    "Pass one dumpling per string: {\"metadata\": {\"chef\", \"kitchen\", \"creation_time\", \"driver\"}, \"payload\": ...}.");
        }
    }
}
