<#
.SYNOPSIS
    Chefs written as scriptblocks (New-DumplingChef): the original netdumplings' DNSLookupChef and
    PacketCountChef as scripts, and a chef that reports the busiest talkers at every poke.
.EXAMPLE
    . ./examples/ScriptChefs.ps1
    Start-DumplingKitchen -Path ./traffic.pcap -NoHub -Chef (New-ScriptDnsLookupChef), (New-TopTalkersChef -Top 5)
.EXAMPLE
    . ./examples/ScriptChefs.ps1
    Start-DumplingKitchen -Interface eth0 -Chef (New-ScriptPacketCountChef) -Hub localhost:11347
#>

function New-ScriptDnsLookupChef {
    # A dumpling per DNS query ({"lookup": {"hostname", "when"}}) and, at every poke, the names seen
    # ({"lookups_seen": {name: {"count", "latest"}}}), bounded to the most recent $MaxNames names.
    param([int] $MaxNames = 1000)
    New-DumplingChef -Name ScriptDNSLookupChef -OnPacket {
        param($Packet)
        $dns = $Packet.Dns
        if ($null -eq $dns -or $dns.IsResponse) { return }
        if ($null -eq $lookups) { $lookups = @{} }
        foreach ($question in $dns.Questions) {
            $name = $question.Name
            if (-not $lookups.ContainsKey($name) -and $lookups.Count -ge $using:MaxNames) {
                $oldest = $lookups.GetEnumerator() | Sort-Object { $_.Value.latest } | Select-Object -First 1
                $lookups.Remove($oldest.Key)
            }
            $lookups[$name] = @{ count = 1 + $lookups[$name].count; latest = $Packet.EpochSeconds }
            @{ lookup = @{ hostname = $name; when = $Packet.EpochSeconds } }
        }
    } -OnInterval { @{ lookups_seen = $lookups } }
}

function New-ScriptPacketCountChef {
    # No packet dumplings; at every poke {"packet_counts": {"<layer>": count}} with the original's layer names.
    New-DumplingChef -Name ScriptPacketCountChef -OnPacket {
        param($Packet)
        foreach ($layer in $Packet.LayerNames) { $State[$layer]++ }
    } -OnInterval { @{ packet_counts = $State } }
}

function New-TopTalkersChef {
    # At every poke, the $Top source addresses that sent the most bytes since the last poke.
    param([int] $Top = 10)
    New-DumplingChef -Name TopTalkersChef -OnPacket {
        param($Packet)
        if ($null -eq $bytes) { $bytes = @{} }
        $source = $Packet.SourceAddress
        if ($null -ne $source) { $bytes["$source"] += $Packet.Length }
    } -OnInterval {
        if (-not $bytes -or $bytes.Count -eq 0) { return }
        $talkers = @($bytes.GetEnumerator() | Sort-Object Value -Descending | Select-Object -First $using:Top |
            ForEach-Object { [ordered]@{ address = $_.Key; bytes = $_.Value } })
        $bytes = @{}
        @{ top_talkers = $talkers }
    }
}
