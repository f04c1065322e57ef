# The one client stack as a user meets it: a hub restarted under Send-Dumpling, a cmdlet pointed at
# the wrong port of a hub, and -Timeout while a hub is away. Real hubs on free loopback ports.
BeforeAll {
    $RepoRoot = Split-Path $PSScriptRoot
    Import-Module "$RepoRoot/NetDumplings.psd1" -Force
    . "$PSScriptRoot/DumplingTestSupport.ps1"
}

AfterAll {
    Get-Job | Remove-Job -Force
}

Describe 'Send-Dumpling across a hub restart' {
    It 'sends every object exactly once when the hub is restarted in the middle of its input' {
        $first = Start-TestHub
        $in = $first.InEndPoint.Port
        $out = $first.OutEndPoint.Port
        $second = $null
        try {
            $total = 20000
            & {
                for ($i = 0; $i -lt $total; $i++) {
                    if ($i -eq $total / 2) {
                        # The hub goes away with half the input still to come, and a new one takes its ports.
                        $null = $first.StopAsync().GetAwaiter().GetResult()
                        $options = [NetDumplings.Hub.DumplingHubOptions]@{ Address = '127.0.0.1'; InPort = $in; OutPort = $out }
                        $script:second = [NetDumplings.Hub.DumplingHub]::new($options)
                        $null = $script:second.StartAsync().GetAwaiter().GetResult()
                    }
                    [pscustomobject]@{ n = $i }
                }
            } | Send-Dumpling -Hub "127.0.0.1:$in" -Chef RestartChef -ErrorVariable problems -WarningVariable warned -WarningAction SilentlyContinue
            $problems | Should -BeNullOrEmpty
            # Each hub counts what it took; together exactly every object, none twice.
            Wait-Until { $first.DumplingsIn + $script:second.DumplingsIn -ge $total } | Should -BeTrue
            $first.DumplingsIn + $script:second.DumplingsIn | Should -Be $total
            $first.DumplingsIn | Should -BeLessThan $total
            ($warned -join ' ') | Should -Match 'Lost the hub'
        }
        finally {
            $null = $first.StopAsync().GetAwaiter().GetResult()
            if ($script:second) { $null = $script:second.StopAsync().GetAwaiter().GetResult() }
        }
    }

    It 'reports the objects it could not send when the hub never comes back' {
        $hub = Start-TestHub
        $in = $hub.InEndPoint.Port
        & {
            1..3 | ForEach-Object { [pscustomobject]@{ n = $_ } }
            $null = $hub.StopAsync().GetAwaiter().GetResult()
            4..6 | ForEach-Object { [pscustomobject]@{ n = $_ } }
        } | Send-Dumpling -Hub "127.0.0.1:$in" -DrainTimeout 1 -ErrorVariable problems -ErrorAction SilentlyContinue -WarningAction SilentlyContinue
        $notSent = @($problems | Where-Object { $_.FullyQualifiedErrorId -like 'DumplingsNotSent*' })
        $notSent.Count | Should -Be 1
        $notSent[0].CategoryInfo.Category | Should -Be 'ConnectionError'
        # The error holds exactly the dumplings that did not reach the hub: the hub counted the rest.
        $hub.DumplingsIn + @($notSent[0].TargetObject).Count | Should -Be 6
    }
}

Describe 'Send-Dumpling and a dumpling too large for the hub' {
    It 'refuses it while writing it, says so, and sends the rest' {
        $hub = Start-TestHub
        try {
            $huge = [pscustomobject]@{ items = @(1..200000 | ForEach-Object { 'item number ' + $_ }) } # ~4 MB of JSON
            & { [pscustomobject]@{ n = 1 }; $huge; [pscustomobject]@{ n = 2 } } |
                Send-Dumpling -Hub "127.0.0.1:$($hub.InEndPoint.Port)" -ErrorVariable problems -ErrorAction SilentlyContinue
            $problems.Count | Should -Be 1
            $problems[0].FullyQualifiedErrorId | Should -BeLike 'DumplingTooLarge*'
            $problems[0].CategoryInfo.Category | Should -Be 'LimitsExceeded'
            $problems[0].Exception.Message | Should -BeLike '*over 1,048,576 bytes*'
            Wait-Until { $hub.DumplingsIn -ge 2 } | Should -BeTrue
            $hub.DumplingsIn | Should -Be 2
        }
        finally { $null = $hub.StopAsync().GetAwaiter().GetResult() }
    }
}

Describe 'A cmdlet at the wrong port of a hub' {
    BeforeAll {
        $Hub = Start-TestHub
        $In = "127.0.0.1:$($Hub.InEndPoint.Port)"
        $Out = "127.0.0.1:$($Hub.OutEndPoint.Port)"
    }
    AfterAll { $null = $Hub.StopAsync().GetAwaiter().GetResult() }

    It 'Receive-Dumpling at the in-port ends within 5 s with an error naming the eaters'' port' {
        $watch = [Diagnostics.Stopwatch]::StartNew()
        { Receive-Dumpling -Hub $In -Count 1 -Timeout 5 } | Should -Throw -ExpectedMessage '*11348*' -ErrorId 'HubRefused*'
        $watch.Elapsed.TotalSeconds | Should -BeLessThan 5
    }

    It 'Get-DumplingHubStatus at the in-port ends within 5 s with an error naming the ports' {
        $watch = [Diagnostics.Stopwatch]::StartNew()
        { Get-DumplingHubStatus -Hub $In -Timeout 10 } | Should -Throw -ExpectedMessage '*out-port*' -ErrorId 'HubRefused*'
        $watch.Elapsed.TotalSeconds | Should -BeLessThan 5
    }

    It 'Send-Dumpling at the out-port ends within 5 s with an error naming the kitchens'' port' {
        $watch = [Diagnostics.Stopwatch]::StartNew()
        { 1..3 | Send-Dumpling -Hub $Out } | Should -Throw -ExpectedMessage '*11347*' -ErrorId 'HubRefused*'
        $watch.Elapsed.TotalSeconds | Should -BeLessThan 5
    }

    It 'Start-DumplingKitchen at the out-port ends within 5 s with an error, and sends nothing' {
        $capture = Join-Path $TestDrive 'demo.pcap'
        Copy-Item "$RepoRoot/examples/demo.pcap" $capture
        $watch = [Diagnostics.Stopwatch]::StartNew()
        $script:stats = $null
        { Start-DumplingKitchen -Path $capture -Paced -Hub $Out -Chef PacketCountChef | ForEach-Object { $script:stats = $_ } } |
            Should -Throw -ExpectedMessage '*in-port*' -ErrorId 'HubRefused*'
        $watch.Elapsed.TotalSeconds | Should -BeLessThan 5
        $script:stats.DumplingsSent | Should -Be 0
    }
}

Describe 'A cmdlet at an HTTP server that is not a hub' {
    BeforeAll {
        # A tiny web server on a free loopback port: answers every request 200 with a page, as any
        # web server would, for at most 40 requests or 60 s.
        $WebPort = Get-FreeTcpPort
        $Web = "127.0.0.1:$WebPort"
        $WebServer = Start-ThreadJob -ArgumentList $WebPort -ScriptBlock {
            param($port)
            $listener = [System.Net.HttpListener]::new()
            $listener.Prefixes.Add("http://127.0.0.1:$port/")
            $listener.Start()
            $deadline = [DateTime]::UtcNow.AddSeconds(60)
            try {
                for ($i = 0; $i -lt 40 -and [DateTime]::UtcNow -lt $deadline; $i++) {
                    $pending = $listener.GetContextAsync()
                    while (-not $pending.Wait(200)) { if ([DateTime]::UtcNow -ge $deadline) { return } }
                    $context = $pending.Result
                    $bytes = [Text.Encoding]::UTF8.GetBytes('<html><body>It works!</body></html>')
                    $context.Response.StatusCode = 200
                    $context.Response.ContentType = 'text/html'
                    $context.Response.OutputStream.Write($bytes, 0, $bytes.Length)
                    $context.Response.Close()
                }
            }
            finally { $listener.Stop() }
        }
        $listening = Wait-Until { @(ss -tlnH "( sport = :$WebPort )" | Where-Object { $_ -match '\S' }).Count -gt 0 } -Seconds 10
        $listening | Should -BeTrue
    }
    AfterAll { $WebServer | Remove-Job -Force }

    It 'Receive-Dumpling ends at once with an error saying what answered and asking whether it is a hub' {
        $watch = [Diagnostics.Stopwatch]::StartNew()
        $err = { Receive-Dumpling -Hub $Web -Count 1 -Timeout 10 -NoReconnect } | Should -Throw -PassThru
        $watch.Elapsed.TotalSeconds | Should -BeLessThan 5
        $err.Exception.Message | Should -BeLike "*$Web*HTTP 200*is this a dumpling hub?*"
        $err.Exception.Message | Should -Not -BeLike '*base stream*'
        $err.FullyQualifiedErrorId | Should -BeLike 'Hub*'
    }

    It 'Get-DumplingHubStatus and Send-Dumpling say the same' {
        { Get-DumplingHubStatus -Hub $Web -Timeout 5 } | Should -Throw -ExpectedMessage '*HTTP 200*is this a dumpling hub?*'
        { 1..3 | Send-Dumpling -Hub $Web -ErrorAction Stop } | Should -Throw -ExpectedMessage '*HTTP 200*is this a dumpling hub?*'
    }
}

Describe '-Timeout while the hub is away' {
    It 'Receive-Dumpling ends after -Timeout even while it is reconnecting' {
        $hub = Start-TestHub
        $out = $hub.OutEndPoint.Port
        $job = Start-ThreadJob -ArgumentList $RepoRoot, $out -ScriptBlock {
            param($root, $port)
            Import-Module "$root/NetDumplings.psd1"
            $watch = [Diagnostics.Stopwatch]::StartNew()
            $null = Receive-Dumpling -Hub "127.0.0.1:$port" -Timeout 3 -WarningAction SilentlyContinue
            $watch.Elapsed.TotalSeconds
        }
        Start-Sleep -Milliseconds 500
        $null = $hub.StopAsync().GetAwaiter().GetResult() # gone: the eater reconnects, in vain
        $null = Wait-Job $job -Timeout 20
        $job.State | Should -Be 'Completed'
        $elapsed = Receive-Job $job
        $elapsed | Should -BeLessThan 6
        $elapsed | Should -BeGreaterThan 2.5
    }
}
