using System.Management.Automation;
using System.Management.Automation.Runspaces;

using NetDumplings.PowerShell.Cmdlets;
using NetDumplings.PowerShell.Conversion;
using NetDumplings.PowerShell.ScriptChefs;

namespace NetDumplings.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Makes a chef from PowerShell scriptblocks, for Start-DumplingKitchen -Chef.</para>
/// <para type="description">The -OnPacket scriptblock is called for every packet the kitchen sees, with the packet as its one parameter (param($Packet); also $_). The packet is a NetDumplings.Packets.DumplingPacket: Time, EpochSeconds, Length, SourceAddress, DestinationAddress, SourcePort, DestinationPort, Protocol, LayerNames, and the layers Ethernet, IP, IPv4, IPv6, Tcp, Udp, Arp, Icmp, IcmpV6, Dns and DnsQuestions, each computed only when read, plus Packet (the PacketDotNet packet) for anything else.</para>
/// <para type="description">Every object a handler outputs becomes the payload of one dumpling (output nothing for no dumpling; output ,@(1, 2) to send one array). Outputs become JSON by the same rules as Send-Dumpling's input: hashtables and [pscustomobject] become JSON objects, other objects JSON objects of their properties, arrays JSON arrays, dates ISO 8601 text, enums their names, IP addresses their text, MAC addresses aa:bb:cc:dd:ee:ff, and a string holding a JSON object or array (from ConvertTo-Json, say) is that JSON. Objects nested deeper than -Depth levels are written as their text and reported once; an output holding NaN, an infinity, or a hashtable, list or [pscustomobject] that holds itself is reported as an error naming where, and not served. The optional -OnInterval scriptblock runs at every poke of the kitchen and its output makes interval dumplings.</para>
/// <para type="description">The chef runs in a PowerShell runspace of its own, in one long-running pipeline fed by a queue, never on the capture thread: variables a handler sets persist from packet to packet and are shared by both handlers (one script scope), $State is a hashtable kept in the chef object ($chef.State), and $using:name reads the value the variable had when New-DumplingChef ran. Modules named in -Module are imported into the chef's runspace; nothing else from your session is there.</para>
/// <para type="description">An error in a handler is reported by the kitchen (with the chef's name and the packet's capture time) and counted in ErrorCount; the chef goes on with the next packet. When more than -QueueCapacity packets wait for the chef, further live packets are dropped and counted in PacketsDropped rather than slowing the capture, while a capture file's replay waits for the chef (see -WhenQueueFull). Stopping the kitchen (Ctrl+C, Stop-Job) stops a chef that is stuck in a loop.</para>
/// </summary>
/// <example>
///   <code>$chef = New-DumplingChef -Name BigPackets -OnPacket { param($Packet) if ($Packet.Length -gt 1400) { @{ from = $Packet.SourceAddress; bytes = $Packet.Length } } }
/// Start-DumplingKitchen -Path ./traffic.pcap -NoHub -Chef $chef</code>
///   <para>Makes a dumpling for each packet over 1400 bytes in a capture file, written to the pipeline.</para>
/// </example>
/// <example>
///   <code>$chef = New-DumplingChef -Name ScriptDNSLookupChef -OnPacket {
///     param($Packet)
///     if ($null -eq $Packet.Dns -or $Packet.Dns.IsResponse) { return }
///     if ($null -eq $lookups) { $lookups = @{} }
///     foreach ($q in $Packet.DnsQuestions) { $lookups[$q.Name]++; @{ lookup = @{ hostname = $q.Name; when = $Packet.EpochSeconds } } }
/// } -OnInterval { @{ lookups_seen = $lookups } }
/// Start-DumplingKitchen -Interface eth0 -Chef $chef -Hub localhost:11347</code>
///   <para>The original netdumplings' DNSLookupChef as a script: a dumpling per DNS query, and at every poke the table of names seen, which the packet handler keeps between packets. Sent to a hub from a live capture.</para>
/// </example>
/// <example>
///   <code>$limit = 1400
/// $chef = New-DumplingChef -Name Big -Module ./MyHelpers.psm1 -QueueCapacity 10000 -OnPacket { param($Packet) if ($Packet.Length -gt $using:limit) { Format-MyPacket $Packet } }</code>
///   <para>Uses a value from the caller ($using:limit, read when the chef is made) and a function from a module imported into the chef's runspace; at most 10000 packets wait for it.</para>
/// </example>
[Cmdlet(VerbsCommon.New, "DumplingChef")]
[OutputType(typeof(ScriptBlockChef))]
public sealed class NewDumplingChefCommand : DumplingCmdlet
{
    /// <summary><para type="description">The chef's name, sent as metadata.chef in its dumplings.</para></summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    /// <summary><para type="description">The packet handler: param($Packet) ... ; its output becomes packet dumplings. It may have a begin { } block (run once, before the first packet) and a process { } block.</para></summary>
    [Parameter(Mandatory = true, Position = 1)]
    public ScriptBlock OnPacket { get; set; } = null!;

    /// <summary><para type="description">The interval handler, run at each poke of the kitchen; its output becomes interval dumplings.</para></summary>
    [Parameter]
    public ScriptBlock? OnInterval { get; set; }

    /// <summary><para type="description">Modules (names or paths) to import into the chef's runspace.</para></summary>
    [Parameter]
    [ValidateNotNull]
    public string[] Module { get; set; } = [];

    /// <summary><para type="description">How many packets may wait for the chef; when more arrive they are dropped and counted. Default 100000.</para></summary>
    [Parameter]
    [ValidateRange(1, 100_000_000)]
    public int QueueCapacity { get; set; } = ScriptBlockChef.DefaultQueueCapacity;

    /// <summary><para type="description">What happens to a packet that finds the queue full. Auto (the default): packets from capture files wait for room (nothing is lost; the replay slows down), live packets are dropped and counted. Drop: always drop and count. Wait: always wait (a live capture may then drop in the kitchen's own queue).</para></summary>
    [Parameter]
    public ChefQueuePolicy WhenQueueFull { get; set; } = ChefQueuePolicy.Auto;

    /// <summary><para type="description">How many levels of objects and arrays a payload may nest, the payload itself being level 1; deeper ones are written as their text, and the first such cut is reported. Default 10.</para></summary>
    [Parameter]
    [ValidateRange(1, 100)]
    public int Depth { get; set; } = PowerShellJsonWriter.DefaultDepth;

    protected override void EndProcessing()
    {
        if (Name.IndexOfAny(['"', '\\']) >= 0 || Name.Any(char.IsControl))
            ThrowTerminatingError(new ArgumentException($"The chef name '{Name}' holds quotes, backslashes or control characters."),
                "InvalidChefName", ErrorCategory.InvalidArgument, Name, "Name the chef with letters, digits and punctuation such as - _ .");

        ChefScript script;
        try
        {
            script = ChefScript.Build(OnPacket, OnInterval, ReadVariable);
        }
        catch (ArgumentException e)
        {
            ThrowTerminatingError(e, "InvalidChefScript", ErrorCategory.InvalidArgument, Name);
            return;
        }
        WriteObject(new ScriptBlockChef(Name, script, OnInterval is not null, ResolveModules(), QueueCapacity, WhenQueueFull, Depth));
    }

    private (bool, object?) ReadVariable(string path)
    {
        var variable = SessionState.PSVariable.Get(path);
        return variable is null ? (false, null) : (true, variable.Value);
    }

    // A module loaded here from a path is imported by that path in the chef's runspace, where
    // PSModulePath alone may not find it. A name found nowhere fails now, not when the kitchen starts.
    private string[] ResolveModules()
    {
        var resolved = new List<string>();
        foreach (var module in Module)
        {
            if (File.Exists(module) || Directory.Exists(module))
            {
                resolved.Add(Path.GetFullPath(module));
                continue;
            }
            var loaded = InvokeCommand.InvokeScript("param($n) Get-Module -Name $n", true, PipelineResultTypes.Output, null, module)
                .Select(o => o.BaseObject).OfType<PSModuleInfo>().FirstOrDefault();
            if (loaded is not null)
            {
                resolved.Add(loaded.Path);
                continue;
            }
            var available = InvokeCommand.InvokeScript("param($n) Get-Module -ListAvailable -Name $n", true, PipelineResultTypes.Output, null, module);
            if (available.Count == 0)
                ThrowTerminatingError(new ArgumentException($"The module '{module}' is neither loaded nor found in PSModulePath, so the chef could not import it."),
                    "ModuleNotFound", ErrorCategory.ObjectNotFound, module, "Install the module, or pass its path to -Module.");
            resolved.Add(module);
        }
        return [.. resolved];
    }
}
