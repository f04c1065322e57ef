# Every script in examples/ run for real, bounded: the demo (in a child pwsh), the capture it replays,
# the C# chef, the scriptblock chefs, and the eater scripts against a real hub fed by a real kitchen.
BeforeDiscovery {
    $script:IsRoot = $IsLinux -and (& id -u) -eq '0'
}
BeforeAll {
    $RepoRoot = Split-Path $PSScriptRoot
    $script:Examples = Join-Path $RepoRoot 'examples'
    $script:Manifest = Join-Path $RepoRoot 'NetDumplings.psd1'
    Import-Module $script:Manifest -Force
    . "$PSScriptRoot/DumplingTestSupport.ps1"
    & "$PSScriptRoot/NetDumplings.Traffic/Import-Traffic.ps1"

    $script:DemoPcap = Join-Path $script:Examples 'demo.pcap'
    # The same generator and seed as the committed file: the tests know what it holds.
    $script:Fresh = Join-Path $TestDrive 'demo.pcap'
    $script:Summary = [NetDumplings.Traffic.DemoCaptureGenerator]::Write($script:Fresh, 7, 20)

    function Invoke-ChildPwsh {
        # Runs a script in a child pwsh, killing it after -Seconds; returns exit code and output.
        param([string[]] $Arguments, [int] $Seconds = 120)
        $start = [System.Diagnostics.ProcessStartInfo]::new((Join-Path $PSHOME 'pwsh'))
        foreach ($a in @('-NoProfile', '-NonInteractive') + $Arguments) { $start.ArgumentList.Add($a) }
        $start.RedirectStandardOutput = $true
        $start.RedirectStandardError = $true
        $start.Environment['NO_COLOR'] = '1'
        $process = [System.Diagnostics.Process]::Start($start)
        $out = $process.StandardOutput.ReadToEndAsync()
        $err = $process.StandardError.ReadToEndAsync()
        $exited = $process.WaitForExit($Seconds * 1000)
        if (-not $exited) { $process.Kill($true); $process.WaitForExit() }
        [pscustomobject]@{ Exited = $exited; ExitCode = $process.ExitCode; Output = $out.Result; Error = $err.Result }
    }

    function Start-ExampleFeeder {
        # A kitchen in a thread job that replays demo.pcap into the hub again and again (at most
        # -Rounds times), so an eater that connects at any moment gets dumplings.
        param([string] $KitchenHub, [int] $Rounds = 60)
        Start-ThreadJob -ArgumentList $script:Manifest, $script:DemoPcap, $KitchenHub, $Rounds -ScriptBlock {
            param($manifest, $pcap, $hub, $rounds)
            Import-Module $manifest
            for ($i = 0; $i -lt $rounds; $i++) {
                Start-DumplingKitchen -Path $pcap -Hub $hub -Name feeder -Chef DNSLookupChef, ARPChef -PokeInterval 60
                Start-Sleep -Milliseconds 300
            }
        }
    }
}

Describe 'Example scripts document themselves' {
    It '<_> has comment-based help with a synopsis and an example' -ForEach @(
        'Start-Demo.ps1', 'New-DemoCapture.ps1', 'DemoTraffic.ps1', 'ScriptChefs.ps1', 'Show-DnsTop.ps1',
        'Save-Dumpling.ps1', 'Send-DumplingToSyslog.ps1', 'Start-LocalPipeline.ps1') {
        $text = Get-Content -Raw (Join-Path (Join-Path (Split-Path $PSScriptRoot) 'examples') $_)
        $text | Should -Match '(?s)<#\s*\.SYNOPSIS\s+\S.*\.EXAMPLE\s+\S'
        if ($_ -notin 'DemoTraffic.ps1', 'ScriptChefs.ps1') {
            $help = Get-Help (Join-Path (Join-Path (Split-Path $PSScriptRoot) 'examples') $_) -Full
            $help.Synopsis | Should -Not -BeNullOrEmpty
            @($help.examples.example).Count | Should -BeGreaterThan 0
        }
    }

    It 'the first session in about_NetDumplings runs as written' {
        $about = Get-Content -Raw (Join-Path (Split-Path $PSScriptRoot) 'module/en-US/about_NetDumplings.help.txt')
        $about -match '(?s)A first session[^\n]*\n\s*\n(.+?)\n\s*\n' | Should -BeTrue
        $session = $Matches[1]
        $session | Should -Match 'Receive-Dumpling'
        $command = "Set-Location '$(Split-Path $PSScriptRoot)'; Import-Module ./NetDumplings.psd1; " +
            $session + "`n'HOSTNAMES:' + ((Get-Job | Measure-Object).Count)"
        $run = Invoke-ChildPwsh -Arguments '-Command', $command -Seconds 90
        $run.Exited | Should -BeTrue -Because 'the session ends by itself'
        $run.Output | Should -Match 'DNSLookupChef'
        $run.Output | Should -Match 'HOSTNAMES:0'
    }
}

Describe 'examples/demo.pcap' {
    It 'is what New-DemoCapture.ps1 writes (deterministic), ~20 s of a few hundred packets' {
        $written = Join-Path $TestDrive 'again.pcap'
        $info = & "$script:Examples/New-DemoCapture.ps1" -Path $written -ModulePath $script:Manifest
        (Get-FileHash $written).Hash | Should -Be (Get-FileHash $script:DemoPcap).Hash
        (Get-FileHash $script:Fresh).Hash | Should -Be (Get-FileHash $script:DemoPcap).Hash
        $info.Packets | Should -BeGreaterThan 200
        $info.Packets | Should -BeLessThan 1000
        $info.Seconds | Should -BeGreaterThan 15
        (Get-Item $script:DemoPcap).Length | Should -BeLessThan 200KB
    }

    It 'holds what the sample chefs look for: DNS queries, ARP, TCP and UDP' {
        $d = Start-DumplingKitchen -Path $script:DemoPcap -NoHub
        $lookups = $d | Where-Object { $_.Chef -eq 'DNSLookupChef' -and $_.Driver -eq 'Packet' }
        $lookups.Count | Should -Be ($script:Summary.DnsQueries.Values | Measure-Object -Sum).Sum
        ($lookups.Payload.lookup.hostname | Sort-Object -Unique) | Should -Be ($script:Summary.DnsQueries.Keys | Sort-Object)
        @($d | Where-Object Chef -eq 'ARPChef').Count | Should -Be ($script:Summary.ArpRequests + $script:Summary.ArpReplies)
        $counts = ($d | Where-Object Chef -eq 'PacketCountChef' | Select-Object -Last 1).Payload.packet_counts
        $counts.Ethernet | Should -Be $script:Summary.Packets
        $counts.TCP | Should -BeGreaterThan 100
        $counts.UDP | Should -BeGreaterThan 50
    }
}

Describe 'examples/ServerNameChef.cs' {
    It 'loads with Get-DumplingChef -Path' {
        $chef = Get-DumplingChef -Path "$script:Examples/ServerNameChef.cs"
        $chef.Name | Should -Be 'ServerNameChef'
        $chef.BuiltIn | Should -BeFalse
    }

    It 'finds every TLS server name and HTTP Host the capture holds, and nothing else' {
        $d = Start-DumplingKitchen -Path $script:DemoPcap -ChefPath "$script:Examples/ServerNameChef.cs" -NoHub
        $seen = @($d | Where-Object Driver -eq 'Packet').Payload.server_name
        $tls = $seen | Where-Object via -eq 'tls'
        $http = $seen | Where-Object via -eq 'http'
        $tls.Count | Should -Be ($script:Summary.TlsServerNames.Values | Measure-Object -Sum).Sum
        $http.Count | Should -Be ($script:Summary.HttpHosts.Values | Measure-Object -Sum).Sum
        ($tls.name | Sort-Object -Unique) | Should -Be ($script:Summary.TlsServerNames.Keys | Sort-Object)
        ($http.name | Sort-Object -Unique) | Should -Be ($script:Summary.HttpHosts.Keys | Sort-Object)
        $seen | ForEach-Object { $_.client | Should -Match '^10\.0\.0\.\d+$' }
        $table = ($d | Where-Object Driver -eq 'Interval' | Select-Object -Last 1).Payload.server_names_seen
        $table.'example.com'.tls + $table.'example.com'.http |
            Should -Be ($script:Summary.TlsServerNames['example.com'] + $script:Summary.HttpHosts['example.com'])
    }
}

Describe 'examples/ScriptChefs.ps1' {
    BeforeAll { . "$script:Examples/ScriptChefs.ps1" }

    It 'the script DNS chef finds the lookups in demo.pcap, the talkers chef ranks sources by bytes' {
        $d = Start-DumplingKitchen -Path $script:DemoPcap -NoHub -Chef (New-ScriptDnsLookupChef), (New-TopTalkersChef -Top 3)
        @($d | Where-Object { $_.Chef -eq 'ScriptDNSLookupChef' -and $_.Driver -eq 'Packet' }).Count |
            Should -Be ($script:Summary.DnsQueries.Values | Measure-Object -Sum).Sum
        $talkers = ($d | Where-Object Chef -eq 'TopTalkersChef' | Select-Object -Last 1).Payload.top_talkers
        $talkers.Count | Should -Be 3
        $talkers[0].bytes | Should -BeGreaterOrEqual $talkers[1].bytes
        $talkers[1].bytes | Should -BeGreaterOrEqual $talkers[2].bytes
    }
}

Describe 'Eater examples against a real hub' {
    BeforeAll {
        $script:Hub = Start-DumplingHub -Address 127.0.0.1 -InPort 0 -OutPort 0 -StatusInterval 1 -AsJob
        $script:Feeder = Start-ExampleFeeder -KitchenHub $script:Hub.Info.KitchenHub
    }
    AfterAll {
        $script:Feeder | Stop-Job -PassThru | Remove-Job -Force
        $script:Hub | Stop-Job -PassThru | Remove-Job -Force
    }

    It 'Show-DnsTop.ps1 ends after -Count lookups with a sorted top-N of the names looked up' {
        $rows = & "$script:Examples/Show-DnsTop.ps1" -Hub $script:Hub.Info.EaterHub -Top 5 -Count 40 -Timeout 30 -NoRedraw
        $rows.Count | Should -Be 5
        $rows.Hostname | ForEach-Object { $_ | Should -BeIn $script:Summary.DnsQueries.Keys }
        for ($i = 1; $i -lt $rows.Count; $i++) { $rows[$i - 1].Lookups | Should -BeGreaterOrEqual $rows[$i].Lookups }
        ($rows.Lookups | Measure-Object -Sum).Sum | Should -BeLessOrEqual 40
    }

    It 'Show-DnsTop.ps1 draws the live table' {
        $drawn = & "$script:Examples/Show-DnsTop.ps1" -Hub $script:Hub.Info.EaterHub -Top 3 -Count 30 -Timeout 30 -RefreshSeconds 0 6>&1
        $text = ($drawn | Where-Object { $_ -is [System.Management.Automation.InformationRecord] }) -join "`n"
        $text | Should -Match 'Top 3 DNS names \(\d+ names, \d+ lookups\)'
        $text | Should -Match 'Hostname\s+Lookups'
    }

    It 'Save-Dumpling.ps1 writes JSON lines that ConvertFrom-DumplingJson reads back' {
        $file = Join-Path $TestDrive 'dumplings.jsonl'
        $item = & "$script:Examples/Save-Dumpling.ps1" -Hub $script:Hub.Info.EaterHub -Path $file -Chef DNSLookupChef, ARPChef -Count 25 -Timeout 30
        $item.FullName | Should -Be $file
        $lines = Get-Content $file
        $lines.Count | Should -Be 25
        $back = $lines | ConvertFrom-DumplingJson
        $back.Count | Should -Be 25
        $back.Chef | ForEach-Object { $_ | Should -BeIn 'DNSLookupChef', 'ARPChef' }
        ($back | Where-Object Chef -eq 'DNSLookupChef' | Select-Object -First 1).Payload.lookup.hostname | Should -BeIn $script:Summary.DnsQueries.Keys
    }

    It 'Save-Dumpling.ps1 writes CSV rows with the payload as JSON' {
        $file = Join-Path $TestDrive 'arp.csv'
        $null = & "$script:Examples/Save-Dumpling.ps1" -Hub $script:Hub.Info.EaterHub -Path $file -Chef ARPChef -Count 6 -Timeout 30
        $rows = Import-Csv $file
        $rows.Count | Should -Be 6
        $rows | ForEach-Object {
            $_.Chef | Should -Be 'ARPChef'
            $_.Kitchen | Should -Be 'feeder'
            ($_.Payload | ConvertFrom-Json).operation | Should -BeIn 'request', 'reply'
        }
    }

    It 'Send-DumplingToSyslog.ps1 sends each dumpling as a syslog datagram to 127.0.0.1' {
        $listener = [System.Net.Sockets.UdpClient]::new([System.Net.IPEndPoint]::new([System.Net.IPAddress]::Loopback, 0))
        try {
            $port = $listener.Client.LocalEndPoint.Port
            & "$script:Examples/Send-DumplingToSyslog.ps1" -Hub $script:Hub.Info.EaterHub -Target "127.0.0.1:$port" -Chef DNSLookupChef -Count 5 -Timeout 30
            $listener.Client.ReceiveTimeout = 5000
            $from = [System.Net.IPEndPoint]::new([System.Net.IPAddress]::Any, 0)
            $messages = 1..5 | ForEach-Object { [Text.Encoding]::UTF8.GetString($listener.Receive([ref]$from)) }
        }
        finally { $listener.Dispose() }
        $messages | ForEach-Object {
            $_ | Should -Match '^<134>1 \d{4}-\d\d-\d\dT\S+Z \S+ netdumplings - DNSLookupChef - \{'
            $json = $_.Substring($_.IndexOf('{'))
            ($json | ConvertFrom-DumplingJson).Payload.lookup.hostname | Should -BeIn $script:Summary.DnsQueries.Keys
        }
    }

    It 'Send-DumplingToSyslog.ps1 -Command pipes JSON lines to a program' {
        $out = & "$script:Examples/Send-DumplingToSyslog.ps1" -Hub $script:Hub.Info.EaterHub -Command sh -ArgumentList '-c', 'grep -c "\"chef\":\"ARPChef\""' -Chef ARPChef -Count 4 -Timeout 30
        $out | Should -Be '4'
    }
}

Describe 'examples/Start-LocalPipeline.ps1' {
    It 'runs hub, kitchen and eater on one host and returns every dumpling the capture makes' {
        $before = @(Get-Job).Count
        $d = & "$script:Examples/Start-LocalPipeline.ps1" -Path $script:DemoPcap
        @($d | Where-Object { $_.Chef -eq 'DNSLookupChef' -and $_.Driver -eq 'Packet' }).Count | Should -Be ($script:Summary.DnsQueries.Values | Measure-Object -Sum).Sum
        @($d | Where-Object Chef -eq 'ARPChef').Count | Should -Be ($script:Summary.ArpRequests + $script:Summary.ArpReplies)
        ($d | Where-Object Chef -eq 'PacketCountChef' | Select-Object -Last 1).Payload.packet_counts.Ethernet | Should -Be $script:Summary.Packets
        @($d | Where-Object Chef -eq 'SystemStatusChef').Count | Should -Be 0
        @(Get-Job).Count | Should -Be $before
    }

    It 'stops after -Count with the C# chef and leaves no job behind' {
        $before = @(Get-Job).Count
        $d = & "$script:Examples/Start-LocalPipeline.ps1" -Path $script:DemoPcap -ChefPath "$script:Examples/ServerNameChef.cs" -Chef ServerNameChef -Count 3
        $d.Count | Should -Be 3
        $d.Payload.server_name.name | ForEach-Object { $_ | Should -BeIn (@($script:Summary.TlsServerNames.Keys) + @($script:Summary.HttpHosts.Keys)) }
        @(Get-Job).Count | Should -Be $before
    }
}

Describe 'The demo (examples/Start-Demo.ps1, ./build.ps1 -Task Demo)' {
    It 'prints dumplings as they arrive and a summary, ends by itself and frees its ports' {
        $run = Invoke-ChildPwsh -Arguments '-File', "$script:Examples/Start-Demo.ps1", '-ModulePath', $script:Manifest, '-PokeInterval', '3' -Seconds 150
        $run.Exited | Should -BeTrue -Because 'the demo stops by itself'
        $run.ExitCode | Should -Be 0 -Because $run.Error
        $out = $run.Output
        $out | Should -Match 'DNS\s+looked up example\.com'
        $out | Should -Match 'ARP\s+10\.0\.0\.\d+ \(02:00:00:00:00:0\d\) asks: who has 10\.0\.0\.1\?'
        $out | Should -Match 'WEB\s+10\.0\.0\.\d+ -> \S+ \(tls\)'
        $out | Should -Match 'COUNT\s+Ethernet='
        $out | Should -Match '=== Summary'
        foreach ($name in $script:Summary.DnsQueries.Keys) {
            $out | Should -Match ("(?m)^{0}\s+{1}\s*$" -f [regex]::Escape($name), $script:Summary.DnsQueries[$name])
        }
        $out | Should -Match "(?m)^ARPChef\s+$($script:Summary.ArpRequests + $script:Summary.ArpReplies)\s*$"
        $out | Should -Match "Ethernet=$($script:Summary.Packets) "
        $out | Should -Match 'TotalDumplingsIn\s+:\s+[1-9]\d*'
        $out | Should -Match 'TotalDumplingsDropped\s+:\s+0'
        $out | Should -Match 'Demo over'
        $out -match 'kitchens -> 127\.0\.0\.1:(\d+), eaters -> 127\.0\.0\.1:(\d+)' | Should -BeTrue
        $inPort = [int]$Matches[1]; $outPort = [int]$Matches[2]
        foreach ($port in $inPort, $outPort) {
            $probe = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, $port)
            { $probe.Start() } | Should -Not -Throw -Because "port $port must be free after the demo"
            $probe.Stop()
        }
    }

    It 'the live variant (root) shows the DNS lookups and HTTP request it made on loopback' -Skip:(-not $IsRoot) {
        $run = Invoke-ChildPwsh -Arguments '-File', "$script:Examples/Start-Demo.ps1", '-ModulePath', $script:Manifest, '-Live', '-PokeInterval', '3' -Seconds 150
        $run.Exited | Should -BeTrue
        $run.ExitCode | Should -Be 0 -Because $run.Error
        $run.Output | Should -Match 'DNS\s+looked up example\.com'
        $run.Output | Should -Match 'DNS\s+looked up api\.github\.com'
        $run.Output | Should -Match 'WEB\s+127\.0\.0\.1 -> \S+ \(http\)'
        $run.Output | Should -Match 'Demo over'
    }

    It 'the live variant says what to do when not root' -Skip:$IsRoot {
        $run = Invoke-ChildPwsh -Arguments '-File', "$script:Examples/Start-Demo.ps1", '-ModulePath', $script:Manifest, '-Live' -Seconds 60
        $run.ExitCode | Should -Not -Be 0
        $run.Output + $run.Error | Should -Match 'run it as root'
    }
}
