# Tab completion of Receive-Dumpling's -Kitchen and -Chef from a real hub job's status.
BeforeAll {
    $RepoRoot = Split-Path $PSScriptRoot
    Import-Module "$RepoRoot/NetDumplings.psd1" -Force
    Import-Module "$PSScriptRoot/HubTestHelpers.psm1" -Force

    function Get-Completion([string] $Line) {
        (TabExpansion2 -inputScript $Line -cursorColumn $Line.Length).CompletionMatches
    }
}

Describe 'Completion of -Kitchen and -Chef from the hub' {
    BeforeAll {
        $hubJob = Start-DumplingHub -InPort 0 -OutPort 0 -AsJob
        $kitchen = Connect-TestPeer $hubJob.Info.KitchenHub '{"kitchen_name":"rooftop_kitchen","interface":"lo","filter":"udp","chefs":["DNSLookupChef","ARPChef"],"poke_interval":2.0}'
        Wait-Until { (Get-DumplingHubStatus -Hub $hubJob.Info.EaterHub -Timeout 10).Kitchens.Name -contains 'rooftop_kitchen' } -What 'kitchen listed'
    }
    AfterAll {
        $kitchen.Dispose()
        $hubJob | Stop-Job -PassThru | Remove-Job
    }

    It 'offers the kitchens of the hub named by -Hub' {
        $m = Get-Completion "Receive-Dumpling -Hub $($hubJob.Info.EaterHub) -Kitchen roof"
        $m.CompletionText | Should -Be @('rooftop_kitchen')
        $m[0].ToolTip | Should -Match 'DNSLookupChef'
    }

    It 'offers the chefs the kitchens announced, and the hub''s status chef' {
        $m = Get-Completion "Receive-Dumpling -Hub $($hubJob.Info.EaterHub) -Chef "
        $m.CompletionText | Should -Contain 'DNSLookupChef'
        $m.CompletionText | Should -Contain 'ARPChef'
        $m.CompletionText | Should -Contain 'SystemStatusChef'
        (Get-Completion "Receive-Dumpling -Hub $($hubJob.Info.EaterHub) -Chef AR").CompletionText | Should -Be @('ARPChef')
    }

    It 'asks every running hub job (and the default hub) when -Hub is not given' {
        $other = Start-DumplingHub -InPort 0 -OutPort 0 -AsJob   # a second hub, without kitchens
        try {
            (Get-Completion 'Receive-Dumpling -Kitchen ').CompletionText | Should -Contain 'rooftop_kitchen'
            (Get-Completion 'Receive-Dumpling -Count 1 -Chef DNS').CompletionText | Should -Be @('DNSLookupChef')
        }
        finally { $other | Stop-Job -PassThru | Remove-Job }
    }

    It 'offers nothing, quickly, when nothing answers at -Hub' {
        $l = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $l.Start()   # accepts connections (the backlog) but never answers
        try {
            $elapsed = Measure-Command { $m = Get-Completion "Receive-Dumpling -Hub 127.0.0.1:$($l.LocalEndpoint.Port) -Kitchen " }
            $m | Should -BeNullOrEmpty
            $elapsed.TotalSeconds | Should -BeLessThan 5
        }
        finally { $l.Stop() }
    }
}
