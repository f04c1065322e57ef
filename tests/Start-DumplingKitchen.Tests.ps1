# Start-DumplingKitchen: capture files to the pipeline and to a real hub, -AsJob, every start error,
# and (as root) live capture on loopback and on a veth pair in a network namespace the test creates.
BeforeDiscovery {
    $IsRoot = (id -u) -eq '0'
    $HasIp = [bool](Get-Command ip -ErrorAction SilentlyContinue)
    $HasSetpriv = [bool](Get-Command setpriv -ErrorAction SilentlyContinue)
}

BeforeAll {
    $RepoRoot = Split-Path $PSScriptRoot
    Import-Module "$RepoRoot/NetDumplings.psd1" -Force
    Import-Module "$PSScriptRoot/HubTestHelpers.psm1" -Force
    & "$PSScriptRoot/NetDumplings.Traffic/Import-Traffic.ps1"
    $Temp = Join-Path ([IO.Path]::GetTempPath()) "nd-kitchen-pester-$PID"
    New-Item -ItemType Directory -Force -Path $Temp | Out-Null
    $Mixed = Join-Path $Temp 'mixed.pcap'
    $Summary = [NetDumplings.Traffic.PcapGenerator]::WriteMixed($Mixed, 4000, 17, $null, $null)
    $IsRoot = (id -u) -eq '0'
    $Pwsh = Join-Path $PSHOME 'pwsh'

    function Start-TestHub {
        $hub = [NetDumplings.Hub.DumplingHub]::new([NetDumplings.Hub.DumplingHubOptions]@{ Address = '127.0.0.1'; InPort = 0; OutPort = 0 })
        $null = $hub.StartAsync().GetAwaiter().GetResult()
        $hub
    }
}

AfterAll {
    Remove-Item -Recurse -Force $Temp -ErrorAction SilentlyContinue
}

Describe 'Start-DumplingKitchen from capture files to the pipeline' {
    It 'writes typed dumplings from the three sample chefs, counted as the capture was generated' {
        $dumplings = Start-DumplingKitchen -Path $Mixed -NoHub -Filter '' -PokeInterval 0 -Name pester -InformationVariable info
        $dumplings | Should -Not -BeNullOrEmpty
        $dumplings[0] | Should -BeOfType ([NetDumplings.Dumpling])
        ($dumplings | Where-Object Kitchen -ne 'pester') | Should -BeNullOrEmpty

        $lookups = @($dumplings | Where-Object { $_.Chef -eq 'DNSLookupChef' -and $_.Driver -eq 'Packet' })
        $lookups.Count | Should -Be $Summary.DnsQueryCount
        $lookups[0].Payload.lookup.hostname | Should -Match '\.'

        @($dumplings | Where-Object Chef -eq 'ARPChef').Count | Should -Be ($Summary.ArpRequests + $Summary.ArpReplies)
        $counts = ($dumplings | Where-Object Chef -eq 'PacketCountChef').Payload.packet_counts
        $counts.Ethernet | Should -Be 4000
        $counts.DNS | Should -Be $Summary.LayerCounts['DNS']
        $counts.ICMP | Should -Be $Summary.LayerCounts['ICMP']

        $stats = ($info | Where-Object { $_.Tags -contains 'Statistics' }).MessageData
        $stats.PacketsProcessed | Should -Be 4000
        $stats.DumplingsMade | Should -Be $dumplings.Count
    }

    It 'applies the default filter (tcp or udp or arp) and takes chefs by name, class and instance' {
        $byName = Start-DumplingKitchen -Path $Mixed -NoHub -Chef PacketCountChef -PokeInterval 0
        $byName.Chef | Should -Be 'PacketCountChef'
        $byName.Payload.packet_counts.ICMP | Should -BeNullOrEmpty   # ICMP is outside the default filter
        $byName.Payload.packet_counts.Ethernet | Should -Be (4000 - $Summary.LayerCounts['ICMP'])

        $byClass = Start-DumplingKitchen -Path $Mixed -NoHub -Chef ([NetDumplings.Chefs.ARPChef]) -Filter arp -PokeInterval 0
        @($byClass).Count | Should -Be ($Summary.ArpRequests + $Summary.ArpReplies)
        $chef = [NetDumplings.Chefs.DNSLookupChef]::new(3)
        $byInstance = Start-DumplingKitchen -Path $Mixed -NoHub -Chef $chef -PokeInterval 0
        @(($byInstance | Where-Object Driver -eq 'Interval').Payload.lookups_seen.PSObject.Properties).Count | Should -Be 3
    }

    It 'stops promptly when the pipeline stops (Select-Object -First)' {
        $paced = Join-Path $Temp 'paced.pcap'
        $null = [NetDumplings.Traffic.PcapGenerator]::WriteMixed($paced, 2000, 3, $null, [TimeSpan]::FromMilliseconds(20))
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $first = Start-DumplingKitchen -Path $paced -Paced -NoHub -Chef DNSLookupChef -PokeInterval 0 | Select-Object -First 2
        $first.Count | Should -Be 2
        $clock.Elapsed.TotalSeconds | Should -BeLessThan 30   # the whole file would take 40 s at its pace
    }
}

Describe 'Start-DumplingKitchen to a real hub' {
    BeforeAll { $Hub = Start-TestHub }
    AfterAll { $Hub.StopAsync().GetAwaiter().GetResult() }

    It 'announces itself, delivers every dumpling to an eater and returns its statistics' {
        $eater = Connect-TestPeer -Hub "127.0.0.1:$($Hub.OutEndPoint.Port)" -Announcement '{"eater_name":"pester"}'
        Wait-Until { $Hub.GetStatus().Eaters.Count -ge 1 } -What 'the eater'
        $stats = Start-DumplingKitchen -Path $Mixed -Hub "127.0.0.1:$($Hub.InEndPoint.Port)" -Name hubbed -Chef DNSLookupChef, ARPChef -PokeInterval 0
        $stats | Should -BeOfType ([NetDumplings.Kitchen.KitchenStatistics])
        $stats.DumplingsSent | Should -Be $stats.DumplingsMade
        $stats.DumplingsDropped | Should -Be 0
        $received = 0
        while ($received -lt $stats.DumplingsMade) {
            $text = Receive-TestMessage $eater
            if ($null -eq $text) { break }
            if ((ConvertFrom-DumplingJson $text).Kitchen -eq 'hubbed') { $received++ }
        }
        $received | Should -Be $stats.DumplingsMade
        $eater.Dispose()
    }

    It 'runs as a job that Receive-Job, Get-Job and Stop-Job handle' {
        $paced = Join-Path $Temp 'slow.pcap'
        $null = [NetDumplings.Traffic.PcapGenerator]::WriteMixed($paced, 500, 4, $null, [TimeSpan]::FromMilliseconds(100))
        $job = Start-DumplingKitchen -Path $paced -Paced -Hub "127.0.0.1:$($Hub.InEndPoint.Port)" -Name jobbed -AsJob
        try {
            $job | Should -BeOfType ([System.Management.Automation.Job2])
            (Get-Job -Id $job.Id).State | Should -Be 'Running'
            Wait-Until { $Hub.GetStatus().Kitchens.Name -contains 'jobbed' } -What 'the job kitchen at the hub'
            Wait-Until { $job.Statistics.DumplingsSent -gt 0 } -What 'dumplings from the job'
        }
        finally { $job | Stop-Job }
        $job.State | Should -Be 'Stopped'
        $stats = $job | Receive-Job
        $stats.KitchenName | Should -Be 'jobbed'
        $stats.PacketsProcessed | Should -BeLessThan 500
        $job | Remove-Job
    }
}

Describe 'Start-DumplingKitchen final statistics' {
    It 'are a typed object whose view rounds the rate, says there is no hub with -NoHub, and tables the chefs' {
        $null = Start-DumplingKitchen -Path $Mixed -NoHub -PokeInterval 0 -InformationVariable info 6>$null
        $stats = ($info | Where-Object { $_.Tags -contains 'Statistics' }).MessageData
        $stats | Should -BeOfType ([NetDumplings.Kitchen.KitchenStatistics])
        $stats.HubConnected | Should -BeNullOrEmpty
        $stats.PacketsPerSecond | Should -Be ([math]::Round($stats.PacketsPerSecond, 1))
        $text = $stats | Out-String -Width 80
        $text | Should -Match 'Hub        : none \(-NoHub'
        $text | Should -Match 'Packets    : [\d,.]+ captured, [\d,.]+ processed \([\d,.]+/s\)'
        $text | Should -Match '(?m)^Chef\s+Packets\s+Pokes\s+Dumplings\s+Errors\s+Dropped$'
        $text | Should -Match '(?m)^DNSLookupChef\s+[\d,]+'
        $text | Should -Not -Match 'ChefStatistics \{'
        ($text -split "`n" | Where-Object { $_.TrimEnd().Length -gt 80 }) | Should -BeNullOrEmpty
    }

    It 'are shown on the host with -NoHub (not only in the information stream)' {
        $out = & $Pwsh -NoProfile -NonInteractive -Command "Import-Module '$RepoRoot/NetDumplings.psd1'; `$null = Start-DumplingKitchen -Path '$Mixed' -NoHub -PokeInterval 0"
        ($out -join "`n") | Should -Match 'pester|default_kitchen: \d+ packets captured'
    }

    It 'are the output of a kitchen sending to a hub, with the hub connected' {
        $hub = Start-TestHub
        try {
            $stats = Start-DumplingKitchen -Path $Mixed -Hub "127.0.0.1:$($hub.InEndPoint.Port)" -PokeInterval 0
            $stats.HubConnected | Should -BeOfType ([bool])   # false now: the kitchen closed its connection when it ended
            $stats.HubConnects | Should -Be 1
            ($stats | Out-String) | Should -Match 'Hub        : disconnected, 1 connection made'
        }
        finally { $hub.StopAsync().GetAwaiter().GetResult() }
    }
}

Describe 'Start-DumplingKitchen -AsJob without a hub' {
    It 'completes at the end of the file with the dumplings as job output' {
        $job = Start-DumplingKitchen -Path $Mixed -NoHub -Chef ARPChef -AsJob -PokeInterval 0
        $null = $job | Wait-Job -Timeout 120
        $job.State | Should -Be 'Completed'
        $out = @($job | Receive-Job)
        $out.Count | Should -Be ($Summary.ArpRequests + $Summary.ArpReplies)
        $out[0].Chef | Should -Be 'ARPChef'
        $job | Remove-Job
    }
}

Describe 'Start-DumplingKitchen errors' {
    It 'a missing capture file is a terminating ReadError with the fix' {
        $e = { Start-DumplingKitchen -Path (Join-Path $Temp 'nope.pcap') -NoHub } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -BeLike 'KitchenBadCaptureFile*'
        $e.CategoryInfo.Category | Should -Be 'ReadError'
        $e.ErrorDetails.RecommendedAction | Should -Match 'pcap'
    }

    It 'a corrupt capture file names the file' {
        $junk = Join-Path $Temp 'junk.pcap'
        [IO.File]::WriteAllBytes($junk, [byte[]](1..300 | ForEach-Object { $_ % 256 }))
        $e = { Start-DumplingKitchen -Path $junk -NoHub } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -BeLike 'KitchenBadCaptureFile*'
        $e.TargetObject | Should -Be $junk
        $e.Exception.Message | Should -Match 'not a readable pcap'
    }

    It 'an invalid BPF filter carries libpcap''s message' {
        $e = { Start-DumplingKitchen -Path $Mixed -NoHub -Filter 'tcp and and port' } | Should -Throw -PassThru
        $e.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $e.Exception.Message | Should -Match 'syntax error'
        $e.TargetObject | Should -Be 'tcp and and port'
    }

    It 'an unknown interface lists the real ones' {
        $e = { Start-DumplingKitchen -Interface nd-nope0 -NoHub } | Should -Throw -PassThru
        $e.CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $e.Exception.Message | Should -Match '\blo\b'
    }

    It 'no valid chef: each unknown chef is an error, then a terminating one' {
        $e = $null
        try { Start-DumplingKitchen -Path $Mixed -NoHub -Chef NoSuchChef -ErrorVariable errs -ErrorAction SilentlyContinue } catch { $e = $_ }
        $e.FullyQualifiedErrorId | Should -BeLike 'KitchenNoValidChef*'
        $errs.FullyQualifiedErrorId | Should -Contain 'ChefNotFound,NetDumplings.PowerShell.Commands.StartDumplingKitchenCommand'
        ($errs | Where-Object FullyQualifiedErrorId -like 'ChefNotFound*').Exception.Message | Should -Match 'DNSLookupChef'
    }

    It 'live capture and capture files together are refused' {
        { Start-DumplingKitchen -Interface lo -Path $Mixed -NoHub } | Should -Throw -ErrorId 'InterfaceAndPath*'
    }

    It 'a -Path wildcard that matches nothing is an error, not live capture' {
        $e = { Start-DumplingKitchen -Path (Join-Path $Temp 'nope*.pcap') -NoHub } | Should -Throw -PassThru
        $e.Exception.Message | Should -BeLike "No capture file matches '*nope*.pcap'."
        $e.ErrorDetails.RecommendedAction | Should -Match 'Get-ChildItem'
    }

    It 'an empty -Path (a variable that held nothing) is an error, not live capture' -ForEach @(@{ Value = '' }, @{ Value = @() }, @{ Value = $null }) {
        $e = { Start-DumplingKitchen -Path $Value -NoHub } | Should -Throw -ErrorId 'EmptyPath*' -PassThru
        $e.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $e.ErrorDetails.RecommendedAction | Should -Match '-Interface'
    }

    It 'Ctrl+C (StopProcessing) ends a kitchen whose hub is away, promptly' {
        $paced = Join-Path $Temp 'away.pcap'
        $null = [NetDumplings.Traffic.PcapGenerator]::WriteMixed($paced, 200, 6, $null, [TimeSpan]::FromMilliseconds(100))
        $listener = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0); $listener.Start()
        $port = $listener.LocalEndpoint.Port; $listener.Stop()   # a port nobody listens on
        $ps = [PowerShell]::Create()
        $null = $ps.AddCommand('Import-Module').AddArgument("$RepoRoot/NetDumplings.psd1").AddStatement()
        $null = $ps.AddCommand('Start-DumplingKitchen').AddParameter('Path', $paced).AddParameter('Paced').AddParameter('Hub', "127.0.0.1:$port")
        $async = $ps.BeginInvoke()
        Start-Sleep -Seconds 2
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $ps.Stop()
        # Stop() returns when the pipeline's state is Stopped; PowerShell completes the async result a
        # moment later on another thread (seen with a bare Start-Sleep too): wait for it within the bound.
        $null = $async.AsyncWaitHandle.WaitOne([Math]::Max(0, 5000 - $clock.ElapsedMilliseconds))
        $clock.Elapsed.TotalSeconds | Should -BeLessThan 5
        $async.IsCompleted | Should -BeTrue
        $ps.Dispose()
    }

    It 'Ctrl+C ends a paced replay to a hub promptly every time (10 runs, stopped at different moments)' {
        # 0.1 hung in 4 of 19 such runs. Each run is stopped at a different moment: while starting, connecting, replaying.
        $hub = Start-TestHub
        try {
            $iss = [initialsessionstate]::CreateDefault2()
            $iss.ImportPSModule("$RepoRoot/NetDumplings.psd1")
            for ($run = 0; $run -lt 10; $run++) {
                $ps = [PowerShell]::Create($iss)
                try {
                    $null = $ps.AddCommand('Start-DumplingKitchen').AddParameter('Path', "$RepoRoot/examples/demo.pcap").AddParameter('Paced').AddParameter('Hub', "127.0.0.1:$($hub.InEndPoint.Port)")
                    $async = $ps.BeginInvoke()
                    Start-Sleep -Milliseconds (50 + 110 * $run)
                    $clock = [Diagnostics.Stopwatch]::StartNew()
                    $stopped = $ps.BeginStop($null, $null).AsyncWaitHandle.WaitOne(5000)
                    # The invocation's result completes a moment after the stop (PowerShell's own order): within the bound.
                    $null = $async.AsyncWaitHandle.WaitOne([Math]::Max(0, 2000 - $clock.ElapsedMilliseconds))
                    $ms = $clock.ElapsedMilliseconds
                    "run $run stopped: $stopped" | Should -Be "run $run stopped: True"
                    $ms | Should -BeLessThan 2000
                    $async.IsCompleted | Should -BeTrue
                }
                finally { $ps.Dispose() }
            }
        }
        finally { $hub.StopAsync().GetAwaiter().GetResult() }
    }

    It 'a bad hub address is refused before anything starts' {
        $e = { Start-DumplingKitchen -Path $Mixed -Hub 'localhost:99999' } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -BeLike 'InvalidHubAddress*'
    }

    It 'live capture without CAP_NET_RAW says to run as root or grant the capability' -Skip:(-not $IsRoot -or -not $HasSetpriv) {
        # Root without CAP_NET_RAW/CAP_NET_ADMIN in its bounding set: the same as an unprivileged user for libpcap.
        $out = setpriv --bounding-set=-net_raw,-net_admin -- $Pwsh -NoProfile -NonInteractive -Command "Import-Module '$RepoRoot/NetDumplings.psd1'; try { Start-DumplingKitchen -Interface lo -NoHub } catch { `$_.CategoryInfo.Category; `$_.ErrorDetails.RecommendedAction }"
        $out[0] | Should -Be 'PermissionDenied'
        $out[1] | Should -Match 'root.*CAP_NET_RAW|cap_net_raw'
    }
}

Describe 'Start-DumplingKitchen live capture' -Skip:(-not $IsRoot) {
    It 'captures DNS queries the test sends to 127.0.0.1 on loopback' {
        $job = Start-DumplingKitchen -Interface lo -Filter 'udp and dst port 53 and dst host 127.0.0.1' -Chef DNSLookupChef -NoHub -AsJob -PokeInterval 0
        try {
            $frame = [NetDumplings.Traffic.PcapGenerator]::DnsQuery("pester-$PID.example", [ipaddress]'10.0.0.1', [ipaddress]'10.0.0.2', 40000, 7, $false)
            $query = [byte[]]$frame[42..($frame.Length - 1)]   # past the Ethernet, IPv4 and UDP headers
            $udp = [Net.Sockets.UdpClient]::new()
            $seen = $null
            $deadline = [DateTime]::UtcNow.AddSeconds(30)
            while (-not $seen -and [DateTime]::UtcNow -lt $deadline) {
                $null = $udp.Send($query, $query.Length, '127.0.0.1', 53)
                Start-Sleep -Milliseconds 200
                $seen = $job | Receive-Job | Where-Object { $_.Payload.lookup.hostname -eq "pester-$PID.example" } | Select-Object -First 1
            }
            $udp.Dispose()
            $seen | Should -Not -BeNullOrEmpty
            $seen.Driver | Should -Be 'Packet'
        }
        finally { $job | Stop-Job; $job | Remove-Job -Force }
    }

    Context 'on a veth pair in a network namespace' -Skip:(-not $HasIp) {
        BeforeAll {
            $Ns = "ndpt$PID"; $HostEnd = "ndth$PID"; $PeerEnd = "ndtp$PID"
            ip netns add $Ns
            ip link add $HostEnd type veth peer name $PeerEnd
            ip link set $PeerEnd netns $Ns
            ip link set $HostEnd up
            ip netns exec $Ns ip addr add 10.203.0.2/24 dev $PeerEnd
            ip netns exec $Ns ip link set $PeerEnd up
        }
        AfterAll {
            ip link del $HostEnd 2>$null
            ip netns del $Ns 2>$null
        }

        It 'sees ARP requests from the namespace as ARPChef dumplings' {
            $job = Start-DumplingKitchen -Interface $HostEnd -Chef ARPChef -NoHub -AsJob -PokeInterval 0
            try {
                $seen = $null
                $deadline = [DateTime]::UtcNow.AddSeconds(30)
                while (-not $seen -and [DateTime]::UtcNow -lt $deadline) {
                    # A datagram to a neighbour nobody answers for: the namespace asks who has 10.203.0.99.
                    ip netns exec $Ns bash -c 'echo hi > /dev/udp/10.203.0.99/9' 2>$null
                    Start-Sleep -Milliseconds 500
                    $seen = $job | Receive-Job | Where-Object { $_.Payload.dst_ip -eq '10.203.0.99' } | Select-Object -First 1
                }
                $seen | Should -Not -BeNullOrEmpty
                $seen.Payload.operation | Should -Be 'request'
                $seen.Payload.src_ip | Should -Be '10.203.0.2'
                $seen.Payload.notes | Should -BeNullOrEmpty
            }
            finally { $job | Stop-Job; $job | Remove-Job -Force }
            $job.Statistics.KernelDrops | Should -Be 0
        }
    }
}
