# Scriptblock chefs in a real kitchen: generated capture files, the pipeline, a real hub, -AsJob, and stopping.
BeforeAll {
    $RepoRoot = Split-Path $PSScriptRoot
    Import-Module "$RepoRoot/NetDumplings.psd1" -Force
    Import-Module "$PSScriptRoot/HubTestHelpers.psm1" -Force
    & "$PSScriptRoot/NetDumplings.Traffic/Import-Traffic.ps1"

    $script:Capture = Join-Path $TestDrive 'mixed.pcap'
    $script:Summary = [NetDumplings.Traffic.PcapGenerator]::WriteMixed($script:Capture, 3000, 7)
    # A slow capture for stopping tests: 400 packets 50 ms apart (20 s when paced).
    $script:SlowCapture = Join-Path $TestDrive 'slow.pcap'
    $null = [NetDumplings.Traffic.PcapGenerator]::WriteMixed($script:SlowCapture, 400, 3, $null, [TimeSpan]::FromMilliseconds(50))

    # The DNSLookupChef of the original netdumplings, as a script.
    function New-ScriptDnsChef {
        New-DumplingChef -Name ScriptDNSLookupChef -OnPacket {
            param($Packet)
            $dns = $Packet.Dns
            if ($null -eq $dns -or $dns.IsResponse) { return }
            if ($null -eq $lookups) { $lookups = @{} }
            foreach ($question in $dns.Questions) {
                $lookups[$question.Name] = @{ count = 1 + $lookups[$question.Name].count; latest = $Packet.EpochSeconds }
                @{ lookup = @{ hostname = $question.Name; when = $Packet.EpochSeconds } }
            }
        } -OnInterval { @{ lookups_seen = $lookups } }
    }
    function Get-LookupCounts($Dumplings) {
        $counts = @{}
        foreach ($d in $Dumplings | Where-Object Driver -eq 'Packet') { $counts[$d.Payload.lookup.hostname]++ }
        $counts
    }
}

Describe 'A scriptblock chef in Start-DumplingKitchen' {
    It 'yields a dumpling per DNS query of a capture file to the pipeline, and an interval dumpling with its table' {
        $chef = New-ScriptDnsChef
        $dumplings = @(Start-DumplingKitchen -Path $script:Capture -NoHub -Chef $chef -ErrorVariable kitchenErrors)
        $kitchenErrors | Should -BeNullOrEmpty
        $packetDumplings = @($dumplings | Where-Object Driver -eq 'Packet')
        $packetDumplings.Count | Should -Be $script:Summary.DnsQueryCount
        $packetDumplings | ForEach-Object { $_.Chef | Should -Be 'ScriptDNSLookupChef'; $_.Kitchen | Should -Be 'default_kitchen' }
        $counts = Get-LookupCounts $dumplings
        $counts.Keys | Sort-Object | Should -Be ($script:Summary.DnsQueries.Keys | Sort-Object)
        foreach ($name in $script:Summary.DnsQueries.Keys) { $counts[$name] | Should -Be $script:Summary.DnsQueries[$name] }
        # The kitchen's final poke: the table the packet handler built, read by the interval handler.
        $table = @($dumplings | Where-Object Driver -eq 'Interval')[-1].Payload.lookups_seen
        $table.'example.com'.count | Should -Be $script:Summary.DnsQueries['example.com']
        $chef.PacketsDropped | Should -Be 0
    }

    It 'matches the built-in DNSLookupChef beside it in the same kitchen' {
        $dumplings = @(Start-DumplingKitchen -Path $script:Capture -NoHub -Chef (New-ScriptDnsChef), DNSLookupChef -PokeInterval 0)
        $ours = @($dumplings | Where-Object { $_.Chef -eq 'ScriptDNSLookupChef' -and $_.Driver -eq 'Packet' } | ForEach-Object PayloadJson)
        $builtIn = @($dumplings | Where-Object { $_.Chef -eq 'DNSLookupChef' -and $_.Driver -eq 'Packet' } | ForEach-Object { $_.Payload.lookup.hostname })
        $ours.Count | Should -Be $builtIn.Count
        @($ours | ForEach-Object { ($_ | ConvertFrom-Json).lookup.hostname }) | Sort-Object | Should -Be ($builtIn | Sort-Object)
    }

    It 'loses no packet of a capture file even when its queue is small' {
        $chef = New-DumplingChef -Name SmallQueue -QueueCapacity 4 -OnPacket { param($Packet) $n++ } -OnInterval { $n }
        $dumplings = @(Start-DumplingKitchen -Path $script:Capture -NoHub -Chef $chef -PokeInterval 0 -Filter '')
        $chef.PacketsDropped | Should -Be 0
        $chef.PacketsReceived | Should -Be $script:Summary.Packets
        $dumplings[-1].PayloadJson | Should -Be "$($script:Summary.Packets)"
    }

    It 'reports a throwing handler as a non-terminating error naming the chef, and goes on' {
        $chef = New-DumplingChef -Name Picky -OnPacket { param($Packet) if ($Packet.Protocol -eq 'ARP') { throw 'no ARP please' }; if ($Packet.Dns) { 'dns' } }
        $dumplings = @(Start-DumplingKitchen -Path $script:Capture -NoHub -Chef $chef -PokeInterval 0 -ErrorVariable kitchenErrors -ErrorAction SilentlyContinue)
        $dumplings.Count | Should -BeGreaterThan 0
        $kitchenErrors.Count | Should -BeGreaterThan 0
        $kitchenErrors[0].TargetObject | Should -Be 'Picky'
        "$($kitchenErrors[0])" | Should -BeLike "*Picky*no ARP please*"
        $chef.ErrorCount | Should -Be ($script:Summary.ArpRequests + $script:Summary.ArpReplies)
    }

    It 'says in one sentence which chef failed, on which packet, at which line of its script' {
        $chefFile = Join-Path $TestDrive 'picky-chef.ps1'
        Set-Content $chefFile -Value @(
            'New-DumplingChef -Name LinePicky -OnPacket {'
            '    param($Packet)'
            '    $zero = 0'
            '    if ($Packet.Protocol -eq ''ARP'') {'
            '        $ratio = 1 / $zero'
            '    }'
            '}'
        )
        $chef = & $chefFile
        $null = Start-DumplingKitchen -Path $script:Capture -NoHub -Chef $chef -PokeInterval 0 -ErrorVariable kitchenErrors -ErrorAction SilentlyContinue
        $kitchenErrors.Count | Should -BeGreaterThan 0
        $text = "$($kitchenErrors[0])"
        $text | Should -BeLike "Chef 'LinePicky' failed on the packet captured at 20*, at line 5 of $chefFile (-OnPacket: `$ratio = 1 / `$zero): Attempted to divide by zero.*"
        $text | Should -Not -BeLike '*own thread*'
        ([regex]::Matches($text, "Chef 'LinePicky'")).Count | Should -Be 1
        $kitchenErrors[0].FullyQualifiedErrorId | Should -BeLike 'ChefFailed*'

        # Typed at the prompt (no file): the line within the scriptblock as typed, and the handler.
        $chef = New-DumplingChef -Name TypedPicky -OnPacket { param($Packet)
            if ($Packet.Protocol -eq 'ARP') { throw 'no ARP please' } } -OnInterval { }
        $null = Start-DumplingKitchen -Path $script:Capture -NoHub -Chef $chef -PokeInterval 0 -ErrorVariable typedErrors -ErrorAction SilentlyContinue
        "$($typedErrors[0])" | Should -BeLike "Chef 'TypedPicky' failed on the packet captured at 20*, at line * of *(-OnPacket: if (`$Packet.Protocol -eq 'ARP') { throw 'no ARP please' }): no ARP please"
    }

    It 'sends its dumplings through a real hub to an eater' {
        $hub = Start-DumplingHub -InPort 0 -OutPort 0 -StatusInterval 0 -AsJob
        try {
            $info = $null
            Wait-Until { ($script:info = Receive-Job $hub -Keep | Where-Object { $_ -is [NetDumplings.PowerShell.Jobs.DumplingHubInfo] }) } -What 'hub info'
            $eater = Connect-TestPeer $script:info.EaterHub '{"eater_name":"pester"}'
            Wait-Until { (Receive-Job $hub -Keep 6>&1 | Out-String) -match "Connected eater 'pester'" } -What 'eater connected'
            $chef = New-DumplingChef -Name HubScriptChef -OnPacket { param($Packet) if ($Packet.Protocol -eq 'ARP') { [ordered]@{ arp = "$($Packet.SourceAddress)"; when = $Packet.EpochSeconds } } }
            $null = Start-DumplingKitchen -Path $script:Capture -Hub $script:info.KitchenHub -Chef $chef -PokeInterval 0 -Name hubkitchen
            $expected = $script:Summary.ArpRequests + $script:Summary.ArpReplies
            $received = @(for ($i = 0; $i -lt $expected; $i++) { $m = Receive-TestMessage $eater 10000; if ($null -eq $m) { break }; $m })
            $received.Count | Should -Be $expected
            $first = ConvertFrom-DumplingJson $received[0]
            $first.Chef | Should -Be 'HubScriptChef'
            $first.Kitchen | Should -Be 'hubkitchen'
            $first.Payload.arp | Should -Match '^10\.0\.0\.\d+$'
            $eater.Dispose()
        }
        finally { $hub | Stop-Job -PassThru | Remove-Job }
    }

    It 'cooks in a kitchen started with -AsJob, its dumplings received from the job' {
        $chef = New-ScriptDnsChef
        $job = Start-DumplingKitchen -Path $script:Capture -NoHub -Chef $chef -PokeInterval 0 -AsJob
        try {
            $null = Wait-Job $job -Timeout 120
            $job.State | Should -Be 'Completed'
            $dumplings = @(Receive-Job $job | Where-Object { $_ -is [NetDumplings.Dumpling] -and $_.Driver -eq 'Packet' })
            $dumplings.Count | Should -Be $script:Summary.DnsQueryCount
            $chef.IsCooking | Should -BeFalse
        }
        finally { $job | Remove-Job -Force }
    }

    It 'stops with the pipeline (Select-Object -First) before the capture ends' {
        $chef = New-DumplingChef -Name EveryPacket -OnPacket { param($Packet) $Packet.Length }
        $first = @(Start-DumplingKitchen -Path $script:SlowCapture -Paced -NoHub -Chef $chef -PokeInterval 0 | Select-Object -First 3)
        $first.Count | Should -Be 3
        $chef.IsCooking | Should -BeFalse
        $chef.PacketsReceived | Should -BeLessThan 400
    }

    It 'stops a chef stuck in a loop when its kitchen job is stopped' {
        $chef = New-DumplingChef -Name Runaway -OnPacket { param($Packet) while ($true) { $spin++ } }
        $job = Start-DumplingKitchen -Path $script:SlowCapture -Paced -NoHub -Chef $chef -PokeInterval 0 -AsJob
        try {
            Wait-Until { $chef.PacketsReceived -gt 2 } -What 'the chef to get packets'
            Stop-Job $job
            Wait-Until { -not $chef.IsCooking } -TimeoutMs 30000 -What 'the chef to stop'
            $job.State | Should -Be 'Stopped'
            $chef.PacketsReceived | Should -BeLessThan 400
        }
        finally { $job | Remove-Job -Force }
    }

    It 'cooks live packets captured on loopback (root only)' -Skip:((id -u) -ne '0') {
        $receiver = [System.Net.Sockets.UdpClient]::new([System.Net.IPEndPoint]::new([ipaddress]::Loopback, 0))
        $port = $receiver.Client.LocalEndPoint.Port
        $sender = [System.Net.Sockets.UdpClient]::new()
        $chef = New-DumplingChef -Name LiveScriptChef -OnPacket { param($Packet) [ordered]@{ port = $Packet.DestinationPort; bytes = $Packet.Length; source = $Packet.Source } }
        $job = Start-DumplingKitchen -Interface lo -Filter "udp and dst port $port" -NoHub -Chef $chef -PokeInterval 0 -AsJob
        try {
            $got = @()
            for ($i = 0; $i -lt 200 -and $got.Count -lt 3; $i++) {
                $null = $sender.Send([byte[]](1..10), 10, '127.0.0.1', $port)
                Start-Sleep -Milliseconds 50
                $got += @(Receive-Job $job | Where-Object { $_ -is [NetDumplings.Dumpling] })
            }
            $got.Count | Should -BeGreaterOrEqual 3
            $got[0].Chef | Should -Be 'LiveScriptChef'
            $got[0].Payload.port | Should -Be $port
            $got[0].Payload.source | Should -Be 'lo'
            $chef.WhenQueueFull | Should -Be 'Auto'   # live: drops rather than stalls, none needed here
            $chef.PacketsDropped | Should -Be 0
        }
        finally {
            $job | Stop-Job -PassThru | Remove-Job -Force
            $sender.Dispose(); $receiver.Dispose()
        }
        $chef.IsCooking | Should -BeFalse
    }

    It 'runs the example script chefs, the packet counter agreeing with the generated capture' {
        . "$RepoRoot/examples/ScriptChefs.ps1"
        $chefs = (New-ScriptDnsLookupChef -MaxNames 5), (New-ScriptPacketCountChef), (New-TopTalkersChef -Top 3)
        $dumplings = @(Start-DumplingKitchen -Path $script:Capture -NoHub -Chef $chefs -PokeInterval 0 -Filter '' -ErrorVariable kitchenErrors)
        $kitchenErrors | Should -BeNullOrEmpty
        $final = @{}
        $dumplings | Where-Object Driver -eq 'Interval' | ForEach-Object { $final[$_.Chef] = $_.Payload }
        @($final.ScriptDNSLookupChef.lookups_seen.PSObject.Properties).Count | Should -Be 5
        $counts = $final.ScriptPacketCountChef.packet_counts
        @($counts.PSObject.Properties.Name | Sort-Object) | Should -Be @($script:Summary.LayerCounts.Keys | Sort-Object)
        foreach ($layer in $script:Summary.LayerCounts.Keys) {
            $counts.$layer | Should -Be $script:Summary.LayerCounts[$layer] -Because "the generator wrote that many $layer layers"
        }
        @($final.TopTalkersChef.top_talkers).Count | Should -Be 3
        $final.TopTalkersChef.top_talkers[0].bytes | Should -BeGreaterOrEqual $final.TopTalkersChef.top_talkers[1].bytes
    }
}
