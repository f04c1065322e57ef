# Receive-Dumpling against a real hub on free loopback ports, fed by kitchens in thread jobs.
BeforeAll {
    $RepoRoot = Split-Path $PSScriptRoot
    Import-Module "$RepoRoot/NetDumplings.psd1" -Force
    . "$PSScriptRoot/DumplingTestSupport.ps1"
    $Hub = Start-TestHub
    $InPort = $Hub.InEndPoint.Port
    $OutPort = $Hub.OutEndPoint.Port
    $Eat = "127.0.0.1:$OutPort"
}

AfterAll {
    if ($Hub) { $Hub.StopAsync().GetAwaiter().GetResult() }
}

Describe 'Receive-Dumpling' {
    AfterEach {
        Get-Job | Remove-Job -Force
    }

    It 'writes typed dumplings whose payload properties are reachable, and stops at -Count' {
        $null = Start-TestFeeder -InPort $InPort -Chef CountChef -Kitchen edge1
        $got = @(Receive-Dumpling -Hub $Eat -Chef CountChef -Count 3 -Timeout 20)
        $got.Count | Should -Be 3
        $got | ForEach-Object { $_ | Should -BeOfType ([NetDumplings.Dumpling]) }
        $got[0].Chef | Should -Be 'CountChef'
        $got[0].Kitchen | Should -Be 'edge1'
        $got[0].Driver | Should -Be 'Packet'
        $got[0].CreationTime | Should -BeOfType ([DateTimeOffset])
        # Consecutive: nothing lost or reordered between kitchen, hub and eater.
        $got[1].Payload.n | Should -Be ($got[0].Payload.n + 1)
        $got[2].Payload.n | Should -Be ($got[0].Payload.n + 2)
        $got | Where-Object { $_.Payload.n -ge 0 } | Should -HaveCount 3
    }

    It 'filters several chefs and kitchens with wildcards, and the driver' {
        $null = Start-TestFeeder -InPort $InPort -Chef DNSLookupChef -Kitchen edge1
        $null = Start-TestFeeder -InPort $InPort -Chef ARPChef -Kitchen edge2
        $null = Start-TestFeeder -InPort $InPort -Chef PacketCountChef -Kitchen edge1
        $null = Start-TestFeeder -InPort $InPort -Chef DNSLookupChef -Kitchen core1
        $null = Start-TestFeeder -InPort $InPort -Chef ARPChef -Kitchen edge3 -Driver Interval
        $got = @(Receive-Dumpling -Hub $Eat -Chef 'DNS*', 'arpchef' -Kitchen 'edge?' -Driver Packet -Count 40 -Timeout 20)
        $got.Count | Should -Be 40
        $got | ForEach-Object {
            $_.Chef | Should -BeIn 'DNSLookupChef', 'ARPChef'
            $_.Kitchen | Should -BeIn 'edge1', 'edge2'
            $_.Driver | Should -Be 'Packet'
        }
        # Both chefs make it through, not just one.
        @($got | Select-Object -ExpandProperty Chef -Unique).Count | Should -Be 2
    }

    It 'writes JSON text with -Raw' {
        $null = Start-TestFeeder -InPort $InPort -Chef RawChef
        $got = @(Receive-Dumpling -Hub $Eat -Chef RawChef -Count 2 -Timeout 20 -Raw)
        $got.Count | Should -Be 2
        $got[0] | Should -BeOfType ([string])
        ($got[0] | ConvertFrom-Json).metadata.chef | Should -Be 'RawChef'
    }

    It 'ends at Select-Object -First and leaves no connection to the hub open' {
        $null = Start-TestFeeder -InPort $InPort -Chef FirstChef
        $got = @(Receive-Dumpling -Hub $Eat -Chef FirstChef -Timeout 20 | Select-Object -First 2)
        $got.Count | Should -Be 2
        Wait-Until { (Get-EstablishedConnection -Port $OutPort).Count -eq 0 } | Should -BeTrue
    }

    It 'ends when the pipeline is stopped (Ctrl+C) and leaves no connection open' {
        $ps = [powershell]::Create()
        try {
            $null = $ps.AddScript("Import-Module '$RepoRoot/NetDumplings.psd1'; Receive-Dumpling -Hub '$Eat' -Timeout 60")
            $null = $ps.BeginInvoke()
            Wait-Until { (Get-EstablishedConnection -Port $OutPort).Count -eq 1 } | Should -BeTrue
            $ps.Stop()
            $ps.InvocationStateInfo.State | Should -Be 'Stopped'
            Wait-Until { (Get-EstablishedConnection -Port $OutPort).Count -eq 0 } | Should -BeTrue
        }
        finally {
            $ps.Dispose()
        }
    }

    It 'ends after -Timeout seconds without a matching dumpling' {
        $watch = [Diagnostics.Stopwatch]::StartNew()
        $got = @(Receive-Dumpling -Hub $Eat -Chef NobodyCooksThis -Timeout 1)
        $got.Count | Should -Be 0
        $watch.Elapsed.TotalSeconds | Should -BeGreaterOrEqual 0.9
        Wait-Until { (Get-EstablishedConnection -Port $OutPort).Count -eq 0 } | Should -BeTrue
    }

    It 'reports a malformed message as a non-terminating error and goes on' {
        $null = Start-ThreadJob -ArgumentList $InPort -ScriptBlock {
            param($port)
            $ws = [System.Net.WebSockets.ClientWebSocket]::new()
            $ws.ConnectAsync([uri]"ws://127.0.0.1:$port/", [Threading.CancellationToken]::None).GetAwaiter().GetResult()
            function Send([string] $text) {
                $bytes = [Text.Encoding]::UTF8.GetBytes($text)
                $ws.SendAsync([ArraySegment[byte]]$bytes, 'Text', $true, [Threading.CancellationToken]::None).GetAwaiter().GetResult()
            }
            Send '{"kitchen_name": "broken_kitchen"}'
            for ($i = 0; $i -lt 300; $i++) {
                Send '{"metadata": {"chef": "BrokenChef", "kitchen": "broken_kitchen"}, "payload": 1}'
                Send ('{"metadata": {"chef": "BrokenChef", "kitchen": "broken_kitchen", "creation_time": 1.5, "driver": "packet"}, "payload": ' + $i + '}')
                Start-Sleep -Milliseconds 50
            }
        }
        $got = @(Receive-Dumpling -Hub $Eat -Kitchen broken_kitchen -Count 2 -Timeout 20 -ErrorVariable problems -ErrorAction SilentlyContinue)
        $got.Count | Should -Be 2
        $problems.Count | Should -BeGreaterOrEqual 1
        $problems[0].FullyQualifiedErrorId | Should -BeLike 'MalformedDumpling*'
        $problems[0].CategoryInfo.Category | Should -Be 'InvalidData'
        $problems[0].Exception.Message | Should -BeLike '*creation_time*'
    }

    It 'reconnects when the hub goes away and comes back, and says so on the warning stream' {
        $hub2 = Start-TestHub
        $ports = $hub2.InEndPoint.Port, $hub2.OutEndPoint.Port
        $ps = [powershell]::Create()
        $output = [System.Management.Automation.PSDataCollection[psobject]]::new()
        try {
            $null = $ps.AddScript("Import-Module '$RepoRoot/NetDumplings.psd1'; Receive-Dumpling -Hub '127.0.0.1:$($ports[1])' -Chef BackChef -Timeout 60")
            $null = $ps.BeginInvoke([System.Management.Automation.PSDataCollection[psobject]]::new(), $output)
            Wait-Until { (Get-EstablishedConnection -Port $ports[1]).Count -eq 1 } | Should -BeTrue
            $hub2.StopAsync().GetAwaiter().GetResult()
            # The same ports again, as a restarted hub would have them.
            $hub2 = [NetDumplings.Hub.DumplingHub]::new([NetDumplings.Hub.DumplingHubOptions]@{ Address = '127.0.0.1'; InPort = $ports[0]; OutPort = $ports[1] })
            $null = $hub2.StartAsync().GetAwaiter().GetResult()
            Wait-Until { @($ps.Streams.Warning | Where-Object Message -like 'Reconnected*').Count -ge 1 } | Should -BeTrue
            $null = Start-TestFeeder -InPort $ports[0] -Chef BackChef
            Wait-Until { $output.Count -ge 1 } | Should -BeTrue
            $output[0].Chef | Should -Be 'BackChef'
            $ps.Streams.Warning[0].Message | Should -BeLike "*127.0.0.1:$($ports[1])*closed the connection*"
        }
        finally {
            $ps.Stop()
            $ps.Dispose()
            $hub2.StopAsync().GetAwaiter().GetResult()
        }
    }

    It 'with -NoReconnect ends with a non-terminating error when the hub goes away' {
        $hub2 = Start-TestHub
        $port = $hub2.OutEndPoint.Port
        $ps = [powershell]::Create()
        try {
            $null = $ps.AddScript("Import-Module '$RepoRoot/NetDumplings.psd1'; Receive-Dumpling -Hub '127.0.0.1:$port' -NoReconnect -Timeout 60")
            $async = $ps.BeginInvoke()
            Wait-Until { (Get-EstablishedConnection -Port $port).Count -eq 1 } | Should -BeTrue
            $hub2.StopAsync().GetAwaiter().GetResult()
            $async.AsyncWaitHandle.WaitOne([TimeSpan]::FromSeconds(20)) | Should -BeTrue
            $ps.InvocationStateInfo.State | Should -Be 'Completed'
            $ps.Streams.Error.Count | Should -Be 1
            $ps.Streams.Error[0].FullyQualifiedErrorId | Should -BeLike 'HubConnectionLost*'
            $ps.Streams.Error[0].CategoryInfo.Category | Should -Be 'ConnectionError'
        }
        finally {
            $ps.Dispose()
        }
    }

    It 'stops with a terminating error naming the address when no hub listens there' {
        $port = Get-FreeTcpPort
        $err = { Receive-Dumpling -Hub "127.0.0.1:$port" -Count 1 } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -BeLike 'HubUnreachable*'
        $err.CategoryInfo.Category | Should -Be 'ConnectionError'
        $err.Exception.Message | Should -BeLike "*127.0.0.1:$port*"
        $err.ErrorDetails.RecommendedAction | Should -BeLike '*Start-DumplingHub*'
    }

    It 'refuses a malformed hub address before connecting' {
        $err = { Receive-Dumpling -Hub 'localhost:notaport' } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -BeLike 'InvalidHubAddress*'
        $err.Exception.Message | Should -BeLike '*notaport*'
    }

    It 'formats dumplings as a table and a list' {
        $d = ConvertFrom-DumplingJson '{"metadata":{"chef":"DNSLookupChef","kitchen":"edge1","creation_time":1499040017.81,"driver":"packet"},"payload":{"lookup":{"hostname":"example.com"}}}'
        $table = $d | Format-Table | Out-String -Width 250
        $table | Should -BeLike '*DNSLookupChef*example.com*'
        $list = $d | Format-List | Out-String -Width 250
        $list | Should -BeLike '*Payload*hostname*example.com*'
    }
}
