BeforeAll {
    $RepoRoot = Split-Path $PSScriptRoot
    Import-Module "$RepoRoot/NetDumplings.psd1" -Force
    Import-Module "$PSScriptRoot/HubTestHelpers.psm1" -Force

    function Get-FreePort {
        $l = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        try { $l.Start(); $l.LocalEndpoint.Port } finally { $l.Stop() }
    }
    # The same nats-server harness as the xunit mesh tests and the bench (tests/NetDumplings.Traffic).
    & "$PSScriptRoot/NetDumplings.Traffic/Import-Traffic.ps1"
}

Describe 'Start-DumplingHub -Nats' {
    It 'starts when NATS cannot be reached, says so as a warning, and serves its own kitchens and eaters' {
        $port = Get-FreePort  # nothing listens there
        $hub = Start-DumplingHub -InPort 0 -OutPort 0 -StatusInterval 0.3 -Nats "nats://127.0.0.1:$port" -HubName lonely -AsJob
        try {
            Wait-Until { $hub.Warning.Count -gt 0 } -What 'a warning'
            $hub.Warning[0].Message | Should -BeLike "*Cannot join the mesh through NATS at nats://127.0.0.1:$port*keeps trying*"
            $eater = Connect-TestPeer $hub.Info.EaterHub '{"eater_name":"local","chefs":["TestChef"]}'
            $kitchen = Connect-TestPeer $hub.Info.KitchenHub '{"kitchen_name":"k"}'
            Start-Sleep -Milliseconds 200
            Send-TestMessage $kitchen (New-TestDumpling -Kitchen 'k')
            (Receive-TestMessage $eater | ConvertFrom-Json).metadata.kitchen | Should -Be 'k'
            $s = Get-DumplingHubStatus -Hub $hub.Info.EaterHub
            $s.Mesh.HubName | Should -Be 'lonely'
            $s.Mesh.Connected | Should -BeFalse
            $s.Mesh.PublishLost | Should -Be 1
            $s.Mesh.NatsServers | Should -Be "nats://127.0.0.1:$port"
            $kitchen.Dispose(); $eater.Dispose()
        }
        finally { $hub | Stop-Job -PassThru | Remove-Job }
    }

    It 'refuses mesh options without -Nats' {
        { Start-DumplingHub -InPort 0 -OutPort 0 -HubName x -AsJob } | Should -Throw '*go with -Nats*'
    }

    It 'joins two hubs through a nats-server with a token, and the status lists the other hub''s kitchens' {
        if (-not [NetDumplings.Traffic.Servers.NatsServer]::Program) { Set-ItResult -Skipped -Because ([NetDumplings.Traffic.Servers.NatsServer]::Advice); return }
        $token = 'pester-mesh-token'
        $nats = [NetDumplings.Traffic.Servers.NatsServer]::StartAsync($token).GetAwaiter().GetResult()
        $port = $nats.Port
        try {
            $a = Start-DumplingHub -InPort 0 -OutPort 0 -StatusInterval 0.3 -Nats "nats://127.0.0.1:$port" -NatsToken $token -HubName a -AsJob
            $b = Start-DumplingHub -InPort 0 -OutPort 0 -StatusInterval 0.3 -Nats "nats://127.0.0.1:$port" -NatsToken $token -HubName b -AsJob
            try {
                Wait-Until { (Get-DumplingHubStatus -Hub $a.Info.EaterHub).Mesh.Connected -and (Get-DumplingHubStatus -Hub $b.Info.EaterHub).Mesh.Connected } -What 'both hubs in the mesh'
                $eater = Connect-TestPeer $b.Info.EaterHub '{"eater_name":"far","chefs":["TestChef"]}'
                $kitchen = Connect-TestPeer $a.Info.KitchenHub '{"kitchen_name":"ka"}'
                Start-Sleep -Milliseconds 300
                Send-TestMessage $kitchen (New-TestDumpling -Kitchen 'ka')
                (Receive-TestMessage $eater | ConvertFrom-Json).metadata.kitchen | Should -Be 'ka'
                $s = Get-DumplingHubStatus -Hub $b.Info.EaterHub
                $s.Mesh.Received | Should -Be 1
                $s.Mesh.Subscribed | Should -BeTrue   # hub b has eaters: it takes remote dumplings
                # ... only what they ask for: the far eater's chef (and the status reader's own, SystemStatusChef).
                $s.Mesh.Subjects | Should -Contain 'netdumplings.v1.*.testchef.*'
                $s.Mesh.Subjects | Should -Not -Contain 'netdumplings.v1.>'
                $s.Mesh.RemoteHubs.HubName | Should -Be 'a'
                @($s.Mesh.RemoteKitchens) | Should -Be @('a/ka')
                ($s | Out-String -Width 200) | Should -Match 'Mesh'
                $kitchen.Dispose(); $eater.Dispose()
            }
            finally { $a, $b | Stop-Job -PassThru | Remove-Job }
        }
        finally { $nats.DisposeAsync().AsTask().GetAwaiter().GetResult() }
    }
}
