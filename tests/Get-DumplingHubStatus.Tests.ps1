BeforeAll {
    $RepoRoot = Split-Path $PSScriptRoot
    Import-Module "$RepoRoot/NetDumplings.psd1" -Force
    Import-Module "$PSScriptRoot/HubTestHelpers.psm1" -Force
}

Describe 'Get-DumplingHubStatus' {
    BeforeAll {
        $hub = Start-DumplingHub -InPort 0 -OutPort 0 -StatusInterval 0.3 -AsJob
        $kitchen = Connect-TestPeer $hub.Info.KitchenHub '{"kitchen_name":"status_kitchen","interface":"lo","filter":"udp","chefs":["DNSLookupChef"],"poke_interval":2.0}'
        Send-TestMessage $kitchen (New-TestDumpling -Chef 'DNSLookupChef' -Kitchen 'status_kitchen')
        Send-TestMessage $kitchen 'not a dumpling'
    }
    AfterAll {
        $kitchen.Dispose()
        $hub | Stop-Job -PassThru | Remove-Job
    }

    It 'returns the next status dumpling as a typed object' {
        $s = Get-DumplingHubStatus -Hub $hub.Info.EaterHub
        $s | Should -BeOfType ([NetDumplings.Protocol.HubStatusReport])
        $s.TotalDumplingsIn | Should -Be 1
        $s.TotalInvalidDumplings | Should -Be 1
        $s.KitchenCount | Should -Be 1
        $s.Kitchens[0].Name | Should -Be 'status_kitchen'
        $s.Kitchens[0].Interface | Should -Be 'lo'
        $s.Kitchens[0].Chefs | Should -Be @('DNSLookupChef')
        $s.Kitchens[0].PokeInterval | Should -Be 2.0
        $s.EaterCount | Should -Be 1
        $s.Eaters[0].Name | Should -Be 'Get-DumplingHubStatus'
        $s.HubVersion | Should -BeLike 'NetDumplings *'
        $s.Uptime | Should -BeOfType ([TimeSpan])
        # Flow control and replay (extensions).
        $s.OverflowPolicy | Should -Be 'Backpressure'
        $s.TotalKitchenHeldSeconds | Should -Be 0
        $s.TotalEatersCutOff | Should -Be 0
        $s.EatersCutOff.Count | Should -Be 0
        $s.Kitchens[0].HeldSeconds | Should -Be 0
        $s.Eaters[0].KitchensHeldSeconds | Should -Be 0
        $s.Eaters[0].DumplingsReplayed | Should -Be 0
        $s.HubId | Should -Match '^[0-9a-f]{32}$'
        $s.LastDumplingSeq | Should -Be 1
        $s.ReplayWindowDumplings | Should -Be 1
    }

    It 'streams status dumplings with -Watch until the pipeline stops it' {
        $all = @(Get-DumplingHubStatus -Hub $hub.Info.EaterHub -Watch -EaterName watcher | Select-Object -First 3)
        $all.Count | Should -Be 3
        $all[2].Time | Should -BeGreaterThan $all[0].Time
        $all[2].Uptime | Should -BeGreaterThan $all[0].Uptime
        # The watcher closed (4101) when Select-Object stopped it: the hub no longer lists it.
        Wait-Until { (Get-DumplingHubStatus -Hub $hub.Info.EaterHub).Eaters.Name -notcontains 'watcher' } -What 'watcher gone'
    }

    It 'shows a readable table' {
        $text = Get-DumplingHubStatus -Hub $hub.Info.EaterHub | Out-String -Width 200
        $text | Should -Match 'Uptime'
        $text | Should -Match 'Kitchens'
        $text | Should -Match 'Held\(s\)'
        $s = Get-DumplingHubStatus -Hub $hub.Info.EaterHub
        ($s.Kitchens | Out-String -Width 200) | Should -Match 'status_kitchen.*DNSLookupChef'
        ($s.Eaters | Out-String -Width 200) | Should -Match 'Replayed'
    }

    It 'cuts no kitchen or eater name in its tables at 80 columns' {
        $longKitchen = 'the_rooftop_kitchen_on_building_seven'
        $longEater = 'a_status_reader_with_a_long_name_too'
        $peer = Connect-TestPeer $hub.Info.KitchenHub "{`"kitchen_name`":`"$longKitchen`",`"interface`":`"lo`",`"filter`":`"udp`",`"chefs`":[`"DNSLookupChef`"],`"poke_interval`":2.0}"
        try {
            Wait-Until { (Get-DumplingHubStatus -Hub $hub.Info.EaterHub).Kitchens.Name -contains $longKitchen } -What 'long kitchen listed'
            $s = Get-DumplingHubStatus -Hub $hub.Info.EaterHub -EaterName $longEater
            $kitchens = $s.Kitchens | Out-String -Width 80
            $kitchens | Should -Match $longKitchen
            $kitchens | Should -Match 'status_kitchen'
            ($s.Eaters | Out-String -Width 80) | Should -Match $longEater
            # The summary wraps long names onto further lines instead of cutting them with '…'.
            $summary = $s | Out-String -Width 80
            $summary | Should -Not -Match '…'
            ($summary -split "`n" | ForEach-Object { $_.Length } | Measure-Object -Maximum).Maximum | Should -BeLessOrEqual 80
            ($s | Out-String -Width 200) | Should -Match $longKitchen
        }
        finally { $peer.Dispose() }
    }

    It 'says when no status comes in time' {
        $quiet = Start-DumplingHub -InPort 0 -OutPort 0 -StatusInterval 0 -AsJob
        try {
            { Get-DumplingHubStatus -Hub $quiet.Info.EaterHub -Timeout 0.5 } | Should -Throw -ErrorId 'NoHubStatus*'
        }
        finally { $quiet | Stop-Job -PassThru | Remove-Job }
    }

    It 'says when no hub is there, naming the address' {
        $blocker = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $blocker.Start(); $port = $blocker.LocalEndpoint.Port; $blocker.Stop()
        $err = $null
        try { Get-DumplingHubStatus -Hub "127.0.0.1:$port" } catch { $err = $_ }
        $err.FullyQualifiedErrorId | Should -BeLike 'HubUnreachable*'
        $err.CategoryInfo.Category | Should -Be 'ConnectionError'
        $err.Exception.Message | Should -BeLike "*$port*"
        $err.ErrorDetails.RecommendedAction | Should -BeLike '*Start-DumplingHub*'
    }

    It 'refuses a bad hub address' {
        { Get-DumplingHubStatus -Hub 'localhost:99999' } | Should -Throw -ErrorId 'InvalidHubAddress*'
    }
}
