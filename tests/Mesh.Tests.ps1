BeforeAll {
    $RepoRoot = Split-Path $PSScriptRoot
    Import-Module "$RepoRoot/NetDumplings.psd1" -Force
    Import-Module "$PSScriptRoot/HubTestHelpers.psm1" -Force

    function Get-FreePort {
        $l = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        try { $l.Start(); $l.LocalEndpoint.Port } finally { $l.Stop() }
    }
    $script:NatsServer = @('/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server') | Where-Object { Test-Path $_ } | Select-Object -First 1
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
        if (-not $script:NatsServer) { Set-ItResult -Skipped -Because 'nats-server is not installed: apt-get install nats-server'; return }
        $port = Get-FreePort
        $dir = New-Item -ItemType Directory -Path (Join-Path ([IO.Path]::GetTempPath()) "nd-nats-$([guid]::NewGuid().ToString('N'))")
        $token = 'pester-mesh-token'
        Set-Content "$dir/nats.conf" "listen: `"127.0.0.1:$port`"`nauthorization { token: `"$token`" }"
        $nats = Start-Process $script:NatsServer -ArgumentList '-c', "$dir/nats.conf" -PassThru -RedirectStandardError "$dir/err.log" -RedirectStandardOutput "$dir/out.log"
        try {
            Wait-Until { -not (Test-PortFree $port) } -What 'nats-server listening'
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
                $s.Mesh.RemoteHubs.HubName | Should -Be 'a'
                @($s.Mesh.RemoteKitchens) | Should -Be @('a/ka')
                ($s | Out-String -Width 200) | Should -Match 'Mesh'
                $kitchen.Dispose(); $eater.Dispose()
            }
            finally { $a, $b | Stop-Job -PassThru | Remove-Job }
        }
        finally {
            Stop-Process -Id $nats.Id -ErrorAction SilentlyContinue
            $nats.WaitForExit(10000) | Out-Null
            Remove-Item $dir -Recurse -Force -ErrorAction SilentlyContinue
        }
    }
}
