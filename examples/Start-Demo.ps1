<#
.SYNOPSIS
    NetDumplings in one minute: a hub, a kitchen replaying examples/demo.pcap, and an eater printing
    the dumplings as they arrive, then a summary. Needs no root and no network.
.DESCRIPTION
    Starts a hub (-AsJob, on free ports of 127.0.0.1), connects Receive-Dumpling to it, then starts a
    kitchen (-AsJob) that replays the capture paced by its timestamps (about 20 seconds) with the three
    sample chefs and the example C# chef ServerNameChef (TLS SNI and HTTP Host names). Each dumpling
    is printed as one line as it arrives. When the kitchen has finished and the hub has forwarded
    everything, the demo prints a summary (dumplings per chef, names looked up, server names seen, the
    hub's own figures from Get-DumplingHubStatus), stops and removes its jobs and exits.

    With -Live (root only) the kitchen sniffs the loopback interface instead, and the demo itself sends
    a few DNS queries over UDP and one HTTP request, to 127.0.0.1 only.
.PARAMETER ModulePath
    The NetDumplings manifest to import (default: the repository's NetDumplings.psd1).
.PARAMETER Path
    The capture to replay (default: demo.pcap beside this script).
.PARAMETER PokeInterval
    Seconds between the chefs' interval dumplings (default 4).
.PARAMETER Live
    Sniff the loopback interface (needs root or CAP_NET_RAW) and make some traffic there.
.PARAMETER TimeLimit
    Seconds after which the demo stops whatever happens (default 50).
.EXAMPLE
    dotnet pwsh ./build.ps1 -Task Demo
    Builds the module and runs this demo.
.EXAMPLE
    dotnet pwsh ./examples/Start-Demo.ps1 -Live
    As root: the same on live loopback traffic that the demo makes itself.
#>
[CmdletBinding()]
param(
    [string] $ModulePath = (Join-Path (Split-Path $PSScriptRoot) 'NetDumplings.psd1'),
    [string] $Path = (Join-Path $PSScriptRoot 'demo.pcap'),
    [double] $PokeInterval = 4,
    [switch] $Live,
    [double] $TimeLimit = 50
)
$ErrorActionPreference = 'Stop'
Import-Module $ModulePath
. (Join-Path $PSScriptRoot 'DemoTraffic.ps1')

$chefFile = Join-Path $PSScriptRoot 'ServerNameChef.cs'
$chefs = 'DNSLookupChef', 'ARPChef', 'PacketCountChef', 'ServerNameChef'
if ($Live -and $IsLinux -and (& id -u) -ne '0') {
    throw 'The live demo sniffs the loopback interface: run it as root (or give pwsh CAP_NET_RAW), or run it without -Live.'
}
$hub = Start-DumplingHub -Address 127.0.0.1 -InPort 0 -OutPort 0 -StatusInterval 1 -AsJob -JobName DemoHub
$kitchen = $null
$perChef = @{}
$summary = @{ Lookups = [ordered]@{}; ServerNames = [ordered]@{}; Counts = $null; Arp = 0 }
$clock = [Diagnostics.Stopwatch]::StartNew()

function Write-DemoLine([string] $Tag, [string] $Text, [string] $Color = 'Gray') {
    $time = [DateTime]::Now.ToString('HH:mm:ss')
    Write-Host ("{0}  {1,-6} " -f $time, $Tag) -NoNewline -ForegroundColor DarkGray
    Write-Host $Text -ForegroundColor $Color
}

function Show-Dumpling($d) {
    $p = $d.Payload
    switch ($d.Chef) {
        'DNSLookupChef' {
            if ($p.lookup) { Write-DemoLine 'DNS' "looked up $($p.lookup.hostname)" Cyan }
            elseif ($p.lookups_seen) {
                $names = @($p.lookups_seen.PSObject.Properties | Sort-Object { $_.Value.count } -Descending |
                    ForEach-Object { "$($_.Name) x$($_.Value.count)" })
                Write-DemoLine 'DNS' "$($names.Count) names so far: $(($names | Select-Object -First 4) -join ', ')$(if ($names.Count -gt 4) { ', ...' })" DarkCyan
            }
        }
        'ARPChef' {
            $text = if ($p.operation -eq 'request') { "$($p.src_ip) ($($p.src_hw)) asks: who has $($p.dst_ip)?" }
                    else { "$($p.src_ip) is at $($p.src_hw)$(if ($p.notes) { "  [$($p.notes)]" })" }
            Write-DemoLine 'ARP' $text Yellow
        }
        'ServerNameChef' {
            if ($p.server_name) { Write-DemoLine 'WEB' "$($p.server_name.client) -> $($p.server_name.name) ($($p.server_name.via))" Green }
        }
        'PacketCountChef' {
            $counts = ($p.packet_counts.PSObject.Properties | ForEach-Object { "$($_.Name)=$($_.Value)" }) -join ' '
            Write-DemoLine 'COUNT' $counts Magenta
        }
        'SystemStatusChef' {
            # The hub reports every second; a line every five is enough.
            if ($null -eq $script:lastHubLine -or ($clock.Elapsed - $script:lastHubLine).TotalSeconds -ge 5) {
                $script:lastHubLine = $clock.Elapsed
                Write-DemoLine 'HUB' "$($p.dumpling_kitchen_count) kitchen(s), $($p.dumpling_eater_count) eater(s), $($p.total_dumplings_in) dumplings in, $($p.total_dumplings_out) out" DarkGray
            }
        }
        default { Write-DemoLine $d.Chef $d.PayloadJson }
    }
}

function Add-ToSummary($d) {
    $perChef[$d.Chef] = 1 + $perChef[$d.Chef]
    $p = $d.Payload
    switch ($d.Chef) {
        'DNSLookupChef' { if ($p.lookup) { $summary.Lookups[$p.lookup.hostname] = 1 + $summary.Lookups[$p.lookup.hostname] } }
        'ServerNameChef' { if ($p.server_name) { $summary.ServerNames[$p.server_name.name] = 1 + $summary.ServerNames[$p.server_name.name] } }
        'PacketCountChef' { $summary.Counts = $p.packet_counts }
    }
}

try {
    $source = if ($Live) { 'live loopback traffic' } else { "$(Split-Path -Leaf $Path), paced by its timestamps" }
    Write-Host "NetDumplings demo: hub on $($hub.Info), kitchen replaying $source." -ForegroundColor White
    Write-Host "Chefs: $($chefs -join ', '). Ctrl+C stops it early.`n" -ForegroundColor White

    $kitchenArgs = @{
        Hub = $hub.Info.KitchenHub; Chef = $chefs; ChefPath = $chefFile; PokeInterval = $PokeInterval
        Name = 'demo_kitchen'; AsJob = $true
    }
    if ($Live) {
        # Leave the hub's own WebSocket traffic out, or the kitchen would count its own dumplings.
        $kitchenArgs.Interface = 'lo'
        $kitchenArgs.Filter = "udp or arp or (tcp and not port $($hub.Info.InPort) and not port $($hub.Info.OutPort))"
    }
    else {
        $kitchenArgs.Path = $Path
        $kitchenArgs.Paced = $true
    }

    $kitchenDoneAt = $null
    $traffic = $null
    # The eater connects first; the hub's first status dumpling says it is in, and then the kitchen starts,
    # so not one dumpling is missed. Select-Object -First 1 ends the eater when the loop says 'done'.
    Receive-Dumpling -Hub $hub.Info.EaterHub -EaterName demo_eater -Timeout 15 | ForEach-Object {
        $d = $_
        if ($null -eq $kitchen) {
            $kitchen = Start-DumplingKitchen @kitchenArgs
            if ($Live) { $traffic = Start-DemoTraffic -Seconds 12 }
        }
        if ($d.Chef -ne 'SystemStatusChef' -or $null -eq $kitchenDoneAt) { Show-Dumpling $d }
        Add-ToSummary $d
        if ($Live -and $null -ne $traffic -and $traffic.State -in 'Completed', 'Failed' -and $kitchen.State -eq 'Running') {
            Stop-Job $kitchen   # the live kitchen runs until stopped: stop it once the traffic is sent
        }
        if ($null -eq $kitchenDoneAt -and $kitchen.State -in 'Completed', 'Failed', 'Stopped') { $kitchenDoneAt = $clock.Elapsed }
        # A status dumpling made after the kitchen left comes after everything the kitchen sent.
        if (($d.Chef -eq 'SystemStatusChef' -and $null -ne $kitchenDoneAt -and $d.Payload.dumpling_kitchen_count -eq 0) -or
            $clock.Elapsed.TotalSeconds -gt $TimeLimit) { 'done' }
    } | Select-Object -First 1 | Out-Null

    $status = Get-DumplingHubStatus -Hub $hub.Info.EaterHub -Timeout 5
    Write-Host "`n=== Summary ($([math]::Round($clock.Elapsed.TotalSeconds, 1)) s) ===" -ForegroundColor White
    Write-Host 'Dumplings received per chef:'
    $perChef.GetEnumerator() | Sort-Object Name | ForEach-Object { [pscustomobject]@{ Chef = $_.Name; Dumplings = $_.Value } } |
        Format-Table -AutoSize | Out-String | ForEach-Object { Write-Host $_.Trim("`r", "`n") }
    Write-Host "`nNames looked up (DNSLookupChef):"
    $summary.Lookups.GetEnumerator() | Sort-Object Value -Descending | ForEach-Object { [pscustomobject]@{ Hostname = $_.Key; Lookups = $_.Value } } |
        Format-Table -AutoSize | Out-String | ForEach-Object { Write-Host $_.Trim("`r", "`n") }
    Write-Host "`nServer names seen (ServerNameChef, from TLS SNI and HTTP Host):"
    Write-Host ('  ' + (($summary.ServerNames.GetEnumerator() | Sort-Object Key | ForEach-Object { "$($_.Key) x$($_.Value)" }) -join ', '))
    if ($summary.Counts) {
        Write-Host "`nPackets per layer (PacketCountChef):"
        Write-Host ('  ' + (($summary.Counts.PSObject.Properties | ForEach-Object { "$($_.Name)=$($_.Value)" }) -join ' '))
    }
    Write-Host "`nThe hub (Get-DumplingHubStatus):"
    $status | Select-Object TotalDumplingsIn, TotalDumplingsOut, TotalDumplingsDropped, TotalInvalidDumplings, KitchenCount, EaterCount,
        @{ n = 'UptimeSeconds'; e = { [math]::Round($_.Uptime.TotalSeconds, 1) } } | Format-List | Out-String | ForEach-Object { Write-Host ($_.Trim("`r", "`n") + "`n") }
    if ($kitchen) {
        $kitchenErrors = @($kitchen.ChildJobs | ForEach-Object { $_.Error })
        if ($kitchenErrors.Count) { Write-Warning "The kitchen reported: $($kitchenErrors -join '; ')" }
    }
}
finally {
    foreach ($job in @($traffic, $kitchen, $hub)) {
        if ($job) { $job | Stop-Job -ErrorAction SilentlyContinue; $job | Remove-Job -Force -ErrorAction SilentlyContinue }
    }
    Write-Host 'Demo over: hub and kitchen stopped.' -ForegroundColor White
}
