<#
.SYNOPSIS
    The scriptchef bench scenario, run in a child pwsh by ScriptChefBench.cs: packets per second through
    scriptblock chefs (made by New-DumplingChef) against C# chefs doing the same work, in the same run.
    Two tables: packets fed to the chef directly, as a kitchen's dispatcher would (the chef's own cost),
    and a generated capture file replayed by Start-DumplingKitchen -NoHub (what a user sees, reading
    and dispatching included). Every payload a chef serves is encoded as a dumpling.
#>
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [int] $Count = 200000,
    [int] $Repeats = 5,
    # Run only this case's scriptblock chef once ('fed:N' or 'kitchen:N') and print "FIRST rate": the first run in a fresh pwsh.
    [string] $FirstRun,
    # The first-run figures the parent measured that way, 'fed:0=123,...', for the tables.
    [string] $FirstRuns = ''
)
$ErrorActionPreference = 'Stop'
Import-Module $ModulePath
# PacketDotNet comes with the module (module/NetDumplings.psm1 loads it).
# The capture generator is test support, beside the tests of the repository the module was built in.
& (Join-Path (Split-Path $ModulePath) 'tests/NetDumplings.Traffic/Import-Traffic.ps1')
$engine = [NetDumplings.Chefs.DumplingChef].Assembly.Location

# The kitchen's side, as a kitchen's dispatcher does it: feed every packet, encode what comes back,
# stop (a scriptblock chef drains its queue first). Payloads served from the chef's thread are encoded too.
Add-Type -ReferencedAssemblies $engine, ([PacketDotNet.Packet].Assembly.Location), 'System.Collections', 'System.Collections.Concurrent', 'System.Threading', 'System.Runtime', 'netstandard' -TypeDefinition @'
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using NetDumplings;
using NetDumplings.Chefs;
using NetDumplings.Packets;

public sealed class BenchOutlet : IChefOutlet
{
    public long Served, Errors;
    public void Serve(DumplingChef chef, object payload, DumplingDriver driver)
    {
        DumplingCodec.Create(chef.Name, "bench", driver, payload);
        Interlocked.Increment(ref Served);
    }
    public void ReportError(DumplingChef chef, Exception error, DateTimeOffset? packetTime) => Interlocked.Increment(ref Errors);
}

public static class BenchKitchen
{
    // Packets per second from the first packet handed over to the chef's OnStop returning.
    public static double Run(DumplingChef chef, IReadOnlyList<ChefPacket> packets, BenchOutlet outlet)
    {
        chef.Attach(outlet);
        using var stopping = new CancellationTokenSource();
        chef.OnStart(new ChefContext("bench", 5.0, stopping.Token));
        var clock = Stopwatch.StartNew();
        foreach (var packet in packets)
        {
            var payload = chef.OnPacket(packet);
            if (payload is not null) outlet.Serve(chef, payload, DumplingDriver.Packet);
        }
        var last = chef.OnInterval();
        if (last is not null) outlet.Serve(chef, last, DumplingDriver.Interval);
        chef.OnStop();
        return packets.Count / clock.Elapsed.TotalSeconds;
    }
}

// The baselines: the same work as the scriptblock chefs, as C# chefs.
public sealed class CountingChef : DumplingChef
{
    public long Count;
    public override string Name => "Counting";
    public override object OnPacket(ChefPacket packet) { Count += packet.OriginalLength > 0 ? 1 : 0; return null; }
}

public sealed class CSharpDnsLookupChef : DumplingChef
{
    private readonly Dictionary<string, (long Count, double Latest)> _seen = new();
    public override string Name => "DNSLookupChef";
    public override object OnPacket(ChefPacket packet)
    {
        var dns = new DumplingPacket(packet).Dns;
        if (dns is null || dns.IsResponse || dns.Questions.Count == 0) return null;
        var name = dns.Questions[0].Name;
        _seen[name] = (_seen.TryGetValue(name, out var s) ? s.Count + 1 : 1, packet.EpochSeconds);
        return new Dictionary<string, object> { ["lookup"] = new Dictionary<string, object> { ["hostname"] = name, ["when"] = packet.EpochSeconds } };
    }
    public override object OnInterval()
    {
        var table = new Dictionary<string, object>();
        foreach (var (name, s) in _seen) table[name] = new Dictionary<string, object> { ["count"] = s.Count, ["latest"] = s.Latest };
        return new Dictionary<string, object> { ["lookups_seen"] = table };
    }
}
'@

# Packets: every 10th a DNS query for one of 50 names, the rest plain UDP; distinct byte arrays
# are not needed (each ChefPacket parses for itself), so a few templates are shared.
function New-Frame([int] $destinationPort, [byte[]] $payload) {
    $ethernet = [PacketDotNet.EthernetPacket]::new([System.Net.NetworkInformation.PhysicalAddress]::Parse('02-00-00-00-00-01'),
        [System.Net.NetworkInformation.PhysicalAddress]::Parse('02-00-00-00-00-02'), 'IPv4')
    $ip = [PacketDotNet.IPv4Packet]::new([ipaddress]'127.0.0.1', [ipaddress]'127.0.0.2')
    $udp = [PacketDotNet.UdpPacket]::new(40000, $destinationPort)
    $udp.PayloadData = $payload
    $ip.PayloadPacket = $udp; $ethernet.PayloadPacket = $ip
    $ip.UpdateCalculatedValues(); $udp.UpdateCalculatedValues()
    $ethernet.Bytes
}
function New-DnsQuery([string] $name) {
    $bytes = [System.Collections.Generic.List[byte]]::new()
    $bytes.AddRange([byte[]](0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0))
    foreach ($label in $name.Split('.')) { $bytes.Add($label.Length); $bytes.AddRange([Text.Encoding]::ASCII.GetBytes($label)) }
    $bytes.AddRange([byte[]](0, 0, 1, 0, 1))
    $bytes.ToArray()
}
$dnsFrames = 0..49 | ForEach-Object { , (New-Frame 53 (New-DnsQuery "host$_.example.com")) }
$plainFrame = New-Frame 9999 ([byte[]](1..64))
$start = [DateTimeOffset]::UtcNow
$packets = [System.Collections.Generic.List[NetDumplings.Packets.ChefPacket]]::new($Count)
for ($i = 0; $i -lt $Count; $i++) {
    $frame = if ($i % 10 -eq 0) { $dnsFrames[($i / 10) % 50] } else { $plainFrame }
    $packets.Add([NetDumplings.Packets.ChefPacket]::new($frame, $start.AddTicks($i * 10), 'Ethernet'))
}

$scriptTrivial = { New-DumplingChef -Name Trivial -QueueCapacity $Count -OnPacket { param($Packet) } }
$scriptLength = { New-DumplingChef -Name Length -QueueCapacity $Count -OnPacket { param($Packet) if ($Packet.Length -gt 100000) { 'huge' } } }
$scriptDns = {
    New-DumplingChef -Name DNSLookupChef -QueueCapacity $Count -OnPacket {
        param($Packet)
        $dns = $Packet.Dns
        if ($null -eq $dns -or $dns.IsResponse) { return }
        foreach ($question in $dns.Questions) {
            if ($null -eq $seen) { $seen = @{} }
            $seen[$question.Name] = @{ count = 1 + $seen[$question.Name].count; latest = $Packet.EpochSeconds }
            @{ lookup = @{ hostname = $question.Name; when = $Packet.EpochSeconds } }
        }
    } -OnInterval { @{ lookups_seen = $seen } }
}

$firstRates = @{}
foreach ($pair in $FirstRuns.Split(',', [StringSplitOptions]::RemoveEmptyEntries)) { $k, $v = $pair.Split('='); $firstRates[$k] = [double]$v }
function Format-First([string] $key) { if ($firstRates.ContainsKey($key)) { '{0:N0}' -f $firstRates[$key] } else { 'n/a' } }
$lastRun = if ($FirstRun) { 0 } else { $Repeats }

function Measure-Chef([scriptblock] $makeChef) {
    $rates = foreach ($run in 0..$lastRun) {
        $chef = & $makeChef
        $outlet = [BenchOutlet]::new()
        $rate = [BenchKitchen]::Run($chef, $packets, $outlet)
        $dropped = if ($chef -is [NetDumplings.PowerShell.ScriptChefs.ScriptBlockChef]) { $chef.PacketsDropped } else { 0 }
        if ($outlet.Errors -gt 0 -or $dropped -gt 0) { throw "bench run lost packets: $($outlet.Errors) errors, $dropped dropped" }
        if ($run -gt 0 -or $FirstRun) { $rate }   # run 0 warms up
        $script:LastServed = $outlet.Served
    }
    ($rates | Sort-Object)[[int][math]::Floor($rates.Count / 2)]
}

$cases = @(
    @{ Case = 'trivial (empty handler)'; Script = $scriptTrivial; Baseline = { [CountingChef]::new() } }
    @{ Case = 'trivial (reads Length)'; Script = $scriptLength; Baseline = { [CountingChef]::new() } }
    @{ Case = 'DNSLookupChef'; Script = $scriptDns; Baseline = { [CSharpDnsLookupChef]::new() } }
)
if ($FirstRun -like 'fed:*') {
    "FIRST $((Measure-Chef $cases[[int]$FirstRun.Substring(4)].Script).ToString([cultureinfo]::InvariantCulture)) rate"
    return
}
if (-not $FirstRun) {
    Write-Host "$Count packets (10% DNS queries) fed as a kitchen's dispatcher would, payloads encoded; median of $Repeats runs after a warm-up; first run = the scriptblock chef's one run in a fresh pwsh; baseline = the same chef in C#"
    Write-Host '| chef | scriptblock first run/s (fresh pwsh) | scriptblock packets/s (warm median) | C# packets/s | ratio | dumplings per run |'
    Write-Host '| --- | --- | --- | --- | --- | --- |'
    for ($i = 0; $i -lt $cases.Count; $i++) {
        $case = $cases[$i]
        $ours = Measure-Chef $case.Script
        $served = $script:LastServed
        $theirs = Measure-Chef $case.Baseline
        Write-Host ('| {0} | {1} | {2:N0} | {3:N0} | {4:0.00}x | {5:N0} |' -f $case.Case, (Format-First "fed:$i"), $ours, $theirs, ($ours / $theirs), $served)
    }
}

# From a capture file through the kitchen: packets / the kitchen's own clock (which starts once the
# chefs have started, so a runspace's start-up is not counted), all packets, no filter.
$capture = Join-Path ([IO.Path]::GetTempPath()) "nd-scriptchef-bench-$PID.pcap"
try {
    $generated = [NetDumplings.Traffic.PcapGenerator]::WriteMixed($capture, $Count, 1)
    function Measure-Kitchen([scriptblock] $makeChef) {
        $rates = foreach ($run in 0..$lastRun) {
            $chef = & $makeChef
            $null = Start-DumplingKitchen -Path $capture -NoHub -Chef $chef -PokeInterval 0 -Filter '' -InformationVariable info
            $stats = $info.MessageData | Where-Object { $_ -is [NetDumplings.Kitchen.KitchenStatistics] } | Select-Object -Last 1
            if ($stats.PacketsProcessed -ne $generated.Packets) { throw "the kitchen processed $($stats.PacketsProcessed) of $($generated.Packets) packets" }
            if ($chef -is [NetDumplings.PowerShell.ScriptChefs.ScriptBlockChef] -and ($chef.PacketsDropped -gt 0 -or $chef.ErrorCount -gt 0)) { throw "bench run lost packets" }
            if ($run -gt 0 -or $FirstRun) { $stats.PacketsProcessed / $stats.Elapsed.TotalSeconds }
        }
        ($rates | Sort-Object)[[int][math]::Floor($rates.Count / 2)]
    }
    $kitchenCases = @(
        @{ Case = 'trivial (empty handler)'; Script = $scriptTrivial; Baseline = { [CountingChef]::new() } }
        @{ Case = 'DNSLookupChef'; Script = $scriptDns; Baseline = { 'DNSLookupChef' } }
    )
    if ($FirstRun -like 'kitchen:*') {
        "FIRST $((Measure-Kitchen $kitchenCases[[int]$FirstRun.Substring(8)].Script).ToString([cultureinfo]::InvariantCulture)) rate"
        return
    }
    Write-Host ''
    Write-Host "A generated capture file of $($generated.Packets) packets ($($generated.DnsQueryCount) DNS queries) replayed by Start-DumplingKitchen -NoHub; median of $Repeats runs after a warm-up; first run = the scriptblock chef's one run in a fresh pwsh; baseline = the kitchen with the C# chef (the built-in DNSLookupChef for DNS)"
    Write-Host '| chef | scriptblock first run/s (fresh pwsh) | scriptblock packets/s (warm median) | C# packets/s | ratio |'
    Write-Host '| --- | --- | --- | --- | --- |'
    for ($i = 0; $i -lt $kitchenCases.Count; $i++) {
        $case = $kitchenCases[$i]
        $ours = Measure-Kitchen $case.Script
        $theirs = Measure-Kitchen $case.Baseline
        Write-Host ('| {0} | {1} | {2:N0} | {3:N0} | {4:0.00}x |' -f $case.Case, (Format-First "kitchen:$i"), $ours, $theirs, ($ours / $theirs))
    }
}
finally { Remove-Item $capture -ErrorAction SilentlyContinue }
