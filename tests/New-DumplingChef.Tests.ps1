# New-DumplingChef and the scriptblock chef it makes, driven as a kitchen drives a chef (Attach, OnStart,
# OnPacket per packet, OnInterval per poke, OnStop) with the kitchen's side of the contract (IChefOutlet)
# as a small C# class, and packets built byte by byte with PacketDotNet.
BeforeAll {
    $RepoRoot = Split-Path $PSScriptRoot
    Import-Module "$RepoRoot/NetDumplings.psd1" -Force
    # PacketDotNet comes with the module (module/NetDumplings.psm1 loads it from the folder it loads everything from).
    if (-not ('ChefTestOutlet' -as [type])) {
        Add-Type -ReferencedAssemblies ([NetDumplings.Chefs.DumplingChef].Assembly.Location), 'System.Collections.Concurrent', 'System.Runtime', 'netstandard' -TypeDefinition @'
using System;
using System.Collections.Concurrent;
using NetDumplings;
using NetDumplings.Chefs;

// The kitchen's side of the chef contract: encodes what a chef serves (as a kitchen does) and keeps errors.
public sealed class ChefTestOutlet : IChefOutlet
{
    public readonly ConcurrentQueue<Dumpling> Dumplings = new();
    public readonly ConcurrentQueue<Exception> Errors = new();
    public readonly ConcurrentQueue<DateTimeOffset?> ErrorTimes = new();
    public void Serve(DumplingChef chef, object payload, DumplingDriver driver) =>
        Dumplings.Enqueue(DumplingCodec.Create(chef.Name, "test_kitchen", driver, payload));
    public void ReportError(DumplingChef chef, Exception error, DateTimeOffset? packetTime)
    {
        Errors.Enqueue(error);
        ErrorTimes.Enqueue(packetTime);
    }
}
'@
    }

    $script:Epoch = [DateTimeOffset]::FromUnixTimeSeconds(1700000000)
    $script:Mac1 = [System.Net.NetworkInformation.PhysicalAddress]::Parse('02-00-00-00-00-01')
    $script:Mac2 = [System.Net.NetworkInformation.PhysicalAddress]::Parse('02-00-00-00-00-02')

    function New-ChefPacket([PacketDotNet.Packet] $Frame, [int] $Second = 0) {
        [NetDumplings.Packets.ChefPacket]::new($Frame.Bytes, $script:Epoch.AddSeconds($Second), 'Ethernet')
    }
    function New-IPv4Frame([string] $From = '10.0.0.1', [string] $To = '10.0.0.2', [PacketDotNet.Packet] $Payload) {
        $ethernet = [PacketDotNet.EthernetPacket]::new($script:Mac1, $script:Mac2, 'IPv4')
        $ip = [PacketDotNet.IPv4Packet]::new([ipaddress]$From, [ipaddress]$To)
        $ip.PayloadPacket = $Payload
        $ethernet.PayloadPacket = $ip
        $Payload.UpdateCalculatedValues(); $ip.UpdateCalculatedValues()
        $ethernet
    }
    function New-UdpPacket([int] $SourcePort = 40000, [int] $DestinationPort = 9999, [byte[]] $Data = [byte[]](1..8), [int] $Second = 0, [string] $From = '10.0.0.1') {
        $udp = [PacketDotNet.UdpPacket]::new($SourcePort, $DestinationPort)
        $udp.PayloadData = $Data
        New-ChefPacket (New-IPv4Frame -From $From -Payload $udp) $Second
    }
    function New-DnsQueryBytes([string] $Name, [bool] $Response = $false) {
        $bytes = [System.Collections.Generic.List[byte]]::new()
        $bytes.AddRange([byte[]](0xAB, 0xCD, $(if ($Response) { 0x81 } else { 0x01 }), 0x00, 0, 1, 0, 0, 0, 0, 0, 0))
        foreach ($label in $Name.Split('.')) { $bytes.Add($label.Length); $bytes.AddRange([Text.Encoding]::ASCII.GetBytes($label)) }
        $bytes.AddRange([byte[]](0, 0, 28, 0, 1))   # AAAA, IN
        $bytes.ToArray()
    }
    # Runs a chef over packets as a kitchen would; returns the outlet (dumplings, errors).
    function Invoke-Chef($Chef, [object[]] $Packets, [int] $IntervalsAfter = 0) {
        $outlet = [ChefTestOutlet]::new()
        $Chef.Attach($outlet)
        $stopping = [System.Threading.CancellationTokenSource]::new()
        $Chef.OnStart([NetDumplings.Chefs.ChefContext]::new('test_kitchen', 1.0, $stopping.Token))
        try {
            foreach ($packet in $Packets) { $null = $Chef.OnPacket($packet) }
            for ($i = 0; $i -lt $IntervalsAfter; $i++) { $null = $Chef.OnInterval() }
        }
        finally {
            $stopping.CancelAfter([TimeSpan]::FromSeconds(60))   # a bound, should the chef hang
            $Chef.OnStop()
            $stopping.Dispose()
        }
        $outlet
    }
    function Get-Payloads($Outlet) { @($Outlet.Dumplings | ForEach-Object { $_.PayloadJson }) }
    function Wait-Until([scriptblock] $Condition, [int] $Seconds = 30) {
        $deadline = [DateTime]::UtcNow.AddSeconds($Seconds)
        while (-not (& $Condition)) {
            if ([DateTime]::UtcNow -gt $deadline) { throw "timed out after $Seconds s waiting for: $Condition" }
            Start-Sleep -Milliseconds 20
        }
    }
}

Describe 'New-DumplingChef' {
    It 'returns a DumplingChef named as asked, which serves each handler output as a packet dumpling' {
        $chef = New-DumplingChef -Name PortWatcher -OnPacket {
            param($Packet)
            if ($Packet.DestinationPort -eq 9999) {
                [ordered]@{ from = $Packet.SourceAddress; port = $Packet.SourcePort; bytes = $Packet.Length; protocol = $Packet.Protocol; when = $Packet.EpochSeconds }
            }
        }
        $chef | Should -BeOfType ([NetDumplings.Chefs.DumplingChef])
        $chef.Name | Should -Be 'PortWatcher'

        $outlet = Invoke-Chef $chef @(
            (New-UdpPacket -SourcePort 1111 -Second 1)
            (New-UdpPacket -SourcePort 2222 -DestinationPort 53 -Second 2)
            (New-UdpPacket -SourcePort 3333 -From '192.168.7.9' -Second 3))

        $dumplings = @($outlet.Dumplings)
        $dumplings.Count | Should -Be 2
        $dumplings | ForEach-Object { $_.Chef | Should -Be 'PortWatcher'; $_.Driver | Should -Be 'Packet' }
        Get-Payloads $outlet | Should -Be @(
            '{"from":"10.0.0.1","port":1111,"bytes":50,"protocol":"UDP","when":1700000001}'
            '{"from":"192.168.7.9","port":3333,"bytes":50,"protocol":"UDP","when":1700000003}')
        $outlet.Errors.Count | Should -Be 0
        $chef.PacketsReceived | Should -Be 3
        $chef.PayloadsServed | Should -Be 2
    }

    It 'shows a chef as a table row with its counters' {
        $text = New-DumplingChef -Name Shown -QueueCapacity 50 -OnPacket { 1 } | Out-String -Width 160
        $text | Should -Match 'Name\s+Cooking\s+Received\s+Served\s+Dropped\s+Errors\s+Queue'
        $text | Should -Match 'Shown\s+False\s+0\s+0\s+0\s+0\s+0/50 Auto'
    }

    It 'serves one dumpling per object a handler outputs, an array written with the comma operator as one, and none for $null' {
        $chef = New-DumplingChef -Name Many -OnPacket { param($Packet) 'first'; 2; $null; , @(3, 'four'); [pscustomobject]@{ b = $true; n = $null } }
        $outlet = Invoke-Chef $chef @(New-UdpPacket)
        Get-Payloads $outlet | Should -Be @('"first"', '2', '[3,"four"]', '{"b":true,"n":null}')
    }

    It 'writes dates, enums, MAC addresses and nested collections as JSON' {
        $chef = New-DumplingChef -Name Shapes -OnPacket {
            param($Packet)
            [ordered]@{
                time   = $Packet.Time
                mac    = $Packet.Ethernet.SourceHardwareAddress
                type   = $Packet.Ethernet.Type
                nested = @{ list = @(1, @{ deep = 'yes' }) }
                ratio  = 0.5
            }
        }
        $outlet = Invoke-Chef $chef @(New-UdpPacket)
        Get-Payloads $outlet | Should -Be '{"time":"2023-11-14T22:13:20.0000000+00:00","mac":"02:00:00:00:00:01","type":"IPv4","nested":{"list":[1,{"deep":"yes"}]},"ratio":0.5}'
    }

    It 'reports an output that cannot be JSON (a hashtable holding itself) as an error, and goes on' {
        $chef = New-DumplingChef -Name Loopy -OnPacket { param($Packet) if ($Packet.SourcePort -eq 1) { $h = @{}; $h.self = $h; $h } else { 'fine' } }
        $outlet = Invoke-Chef $chef @((New-UdpPacket -SourcePort 1), (New-UdpPacket -SourcePort 2))
        Get-Payloads $outlet | Should -Be '"fine"'
        @($outlet.Errors).Count | Should -Be 1
        @($outlet.Errors)[0].Message | Should -BeLike "Chef 'Loopy' failed on the packet*could not be served*payload.self is payload again*cycle*"
    }

    It 'keeps state between packets: its script scope, shared with the interval handler, and $State' {
        $chef = New-DumplingChef -Name Counter -OnPacket {
            param($Packet)
            $count++
            $State.Bytes += $Packet.Length
            $count
        } -OnInterval { [ordered]@{ packets = $count; bytes = $State.Bytes } }
        $outlet = Invoke-Chef $chef @(1..4 | ForEach-Object { New-UdpPacket -Second $_ }) -IntervalsAfter 1
        Get-Payloads $outlet | Should -Be @('1', '2', '3', '4', '{"packets":4,"bytes":200}')
        @($outlet.Dumplings)[-1].Driver | Should -Be 'Interval'
        $chef.State.Bytes | Should -Be 200
    }

    It 'runs a begin block once before the first packet' {
        $chef = New-DumplingChef -Name WithBegin -OnPacket { begin { $seen = [System.Collections.Generic.List[int]]::new() } process { $seen.Add($_.SourcePort); $seen.Count } }
        $outlet = Invoke-Chef $chef @(New-UdpPacket -SourcePort 1; New-UdpPacket -SourcePort 2)
        Get-Payloads $outlet | Should -Be @('1', '2')
    }

    It 'sees $using: values as they were when the chef was defined' {
        $threshold = 40
        $names = @{ 1111 = 'web' }
        $chef = New-DumplingChef -Name Using -OnPacket { param($Packet) if ($Packet.Length -gt $using:threshold) { "$(($using:names)[$Packet.SourcePort]) $using:threshold" } }
        $threshold = 1000   # too late: the chef keeps 40
        $outlet = Invoke-Chef $chef @(New-UdpPacket -SourcePort 1111)
        Get-Payloads $outlet | Should -Be '"web 40"'
    }

    It 'refuses a $using: variable that does not exist, and one holding a scriptblock' {
        { New-DumplingChef -Name Bad -OnPacket { $using:noSuchVariable } } | Should -Throw "*noSuchVariable*"
        $code = { 1 }
        { New-DumplingChef -Name Bad -OnPacket { & $using:code } } | Should -Throw '*scriptblock*'
    }

    It 'refuses handlers it cannot run, saying what to change' {
        { New-DumplingChef -Name Bad -OnPacket { param($a, $b) } } | Should -Throw '*one, the packet*'
        { New-DumplingChef -Name Bad -OnPacket { } -OnInterval { param($x) } } | Should -Throw '*takes none*'
        { New-DumplingChef -Name Bad -OnPacket { process { } end { } } } | Should -Throw '*both a process and an end block*'
        $err = { New-DumplingChef -Name Bad -OnPacket { } -Module NoSuchModuleForChefTests } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -BeLike 'ModuleNotFound*'
        $err.CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }

    It 'reports a throwing handler with its name and the packet time, counts it, and goes on' {
        $chef = New-DumplingChef -Name Fragile -OnPacket {
            param($Packet)
            if ($Packet.SourcePort -eq 2) { throw 'cannot cook this one' }
            if ($Packet.SourcePort -eq 3) { Write-Error 'not quite right' }
            $Packet.SourcePort
        }
        $outlet = Invoke-Chef $chef @(1..4 | ForEach-Object { New-UdpPacket -SourcePort $_ -Second $_ })
        Get-Payloads $outlet | Should -Be @('1', '3', '4')
        $errors = @($outlet.Errors)
        $errors.Count | Should -Be 2
        $errors[0].Message | Should -BeLike "Chef 'Fragile' failed on the packet captured at 2023-11-14T22:13:22*cannot cook this one"
        $errors[0].ChefName | Should -Be 'Fragile'
        $errors[0].ErrorRecord.CategoryInfo.TargetName | Should -Be 'Fragile'
        $errors[1].Message | Should -BeLike '*not quite right'
        @($outlet.ErrorTimes) | Should -Be @($script:Epoch.AddSeconds(2), $script:Epoch.AddSeconds(3))
        $chef.ErrorCount | Should -Be 2
    }

    It 'reports an interval handler that throws, and keeps cooking' {
        $chef = New-DumplingChef -Name IntervalFails -OnPacket { param($Packet) 'p' } -OnInterval { throw 'tick failed' }
        $outlet = Invoke-Chef $chef @(New-UdpPacket) -IntervalsAfter 2
        @($outlet.Errors).Count | Should -Be 2
        @($outlet.Errors)[0].Message | Should -BeLike "Chef 'IntervalFails' failed in its interval handler, at line * of *New-DumplingChef.Tests.ps1 (-OnInterval: throw 'tick failed'): tick failed"
        @($outlet.ErrorTimes)[0] | Should -BeNullOrEmpty
        Get-Payloads $outlet | Should -Be '"p"'
    }

    It 'takes break and continue in a handler as the end of that packet, and reports a chef that exits' {
        $chef = New-DumplingChef -Name Skips -OnPacket { param($Packet) if ($Packet.SourcePort -eq 1) { break }; if ($Packet.SourcePort -eq 2) { continue }; $Packet.SourcePort }
        $outlet = Invoke-Chef $chef @(1..3 | ForEach-Object { New-UdpPacket -SourcePort $_ })
        Get-Payloads $outlet | Should -Be '3'
        $outlet.Errors.Count | Should -Be 0

        $chef = New-DumplingChef -Name Exits -OnPacket { param($Packet) exit }
        $outlet = Invoke-Chef $chef @(1..3 | ForEach-Object { New-UdpPacket })
        @($outlet.Errors).Count | Should -Be 1
        @($outlet.Errors)[0].Message | Should -BeLike "Chef 'Exits' stopped cooking*"
        $chef.PacketsDropped | Should -Be 2
    }

    It 'imports the modules named in -Module into its runspace' {
        $modulePath = Join-Path $TestDrive 'ChefHelpers.psm1'
        Set-Content $modulePath 'function Get-ChefGreeting([int] $Port) { "hello $Port" }'
        $chef = New-DumplingChef -Name WithModule -Module $modulePath -OnPacket { param($Packet) Get-ChefGreeting $Packet.SourcePort }
        $outlet = Invoke-Chef $chef @(New-UdpPacket -SourcePort 7)
        Get-Payloads $outlet | Should -Be '"hello 7"'
        $chef.Modules | Should -Be @($modulePath)
    }

    It 'fails to start, saying why, when a module it names cannot be imported' {
        $modulePath = Join-Path $TestDrive 'Broken.psm1'
        Set-Content $modulePath 'throw "this module is broken"'
        $chef = New-DumplingChef -Name BrokenModule -Module $modulePath -OnPacket { param($Packet) 1 }
        $stopping = [System.Threading.CancellationTokenSource]::new()
        { $chef.OnStart([NetDumplings.Chefs.ChefContext]::new('test_kitchen', 1.0, $stopping.Token)) } |
            Should -Throw "*Chef 'BrokenModule' could not start its runspace*"
        $chef.IsCooking | Should -BeFalse
    }

    It 'drops and counts packets beyond its queue capacity instead of blocking the kitchen' {
        $started = [System.Threading.ManualResetEventSlim]::new()
        $release = [System.Threading.ManualResetEventSlim]::new()
        $chef = New-DumplingChef -Name Slow -QueueCapacity 5 -OnPacket {
            param($Packet)
            if ($Packet.SourcePort -eq 1) { ($using:started).Set(); $null = ($using:release).Wait(60000) }
            $Packet.SourcePort
        }
        $outlet = [ChefTestOutlet]::new()
        $chef.Attach($outlet)
        $stopping = [System.Threading.CancellationTokenSource]::new()
        $chef.OnStart([NetDumplings.Chefs.ChefContext]::new('test_kitchen', 1.0, $stopping.Token))
        try {
            $null = $chef.OnPacket((New-UdpPacket -SourcePort 1))
            $started.Wait(30000) | Should -BeTrue
            # The chef is busy with packet 1: five more fit in its queue, the other fourteen are dropped.
            $clock = [Diagnostics.Stopwatch]::StartNew()
            2..20 | ForEach-Object { $null = $chef.OnPacket((New-UdpPacket -SourcePort $_)) }
            $chef.QueueLength | Should -Be 5
            $chef.PacketsDropped | Should -Be 14
        }
        finally {
            $release.Set()
            $stopping.CancelAfter([TimeSpan]::FromSeconds(60))
            $chef.OnStop()
        }
        Get-Payloads $outlet | Should -Be @('1', '2', '3', '4', '5', '6')
        $chef.PacketsReceived | Should -Be 20
    }

    It 'makes the kitchen wait for room instead of dropping, for capture files (Auto) or when told to (Wait)' {
        $fromFile = @(1..12 | ForEach-Object {
            $p = New-UdpPacket -SourcePort $_
            [NetDumplings.Packets.ChefPacket]::new($p.Data.ToArray(), $p.Timestamp, $p.LinkType, -1, (Join-Path $TestDrive 'replayed.pcap'))
        })
        $auto = New-DumplingChef -Name AutoWait -QueueCapacity 2 -OnPacket { param($Packet) Start-Sleep -Milliseconds 10; $Packet.SourcePort }
        $auto.WhenQueueFull | Should -Be 'Auto'
        Get-Payloads (Invoke-Chef $auto $fromFile) | Should -Be @(1..12 | ForEach-Object { "$_" })
        $auto.PacketsDropped | Should -Be 0

        $wait = New-DumplingChef -Name AlwaysWait -QueueCapacity 1 -WhenQueueFull Wait -OnPacket { param($Packet) Start-Sleep -Milliseconds 10; $Packet.SourcePort }
        Get-Payloads (Invoke-Chef $wait @(1..8 | ForEach-Object { New-UdpPacket -SourcePort $_ })) | Should -Be @(1..8 | ForEach-Object { "$_" })
        $wait.PacketsDropped | Should -Be 0
    }

    It 'is stopped by the kitchen while stuck in a loop, dropping what was queued' {
        $chef = New-DumplingChef -Name Runaway -OnPacket { param($Packet) while ($true) { $spin++ } }
        $outlet = [ChefTestOutlet]::new()
        $chef.Attach($outlet)
        $stopping = [System.Threading.CancellationTokenSource]::new()
        $chef.OnStart([NetDumplings.Chefs.ChefContext]::new('test_kitchen', 1.0, $stopping.Token))
        1..3 | ForEach-Object { $null = $chef.OnPacket((New-UdpPacket)) }
        Wait-Until { $chef.QueueLength -eq 2 }   # the first packet is in the loop
        $stopping.CancelAfter(300)               # the kitchen is stopped (Ctrl+C, Stop-Job) while OnStop drains
        $chef.OnStop()
        $chef.IsCooking | Should -BeFalse
        $chef.PacketsDropped | Should -Be 2
        $outlet.Errors.Count | Should -Be 0
    }

    It 'drains its queue when the kitchen ends, given a grace period when the kitchen is stopped' {
        $chef = New-DumplingChef -Name Draining -OnPacket { param($Packet) Start-Sleep -Milliseconds 20; $Packet.SourcePort }
        $outlet = [ChefTestOutlet]::new()
        $chef.Attach($outlet)
        $stopping = [System.Threading.CancellationTokenSource]::new()
        $chef.OnStart([NetDumplings.Chefs.ChefContext]::new('test_kitchen', 1.0, $stopping.Token))
        1..3 | ForEach-Object { $null = $chef.OnPacket((New-UdpPacket -SourcePort $_)) }
        $stopping.Cancel()   # well within the grace period: the three packets are still cooked
        $chef.OnStop()
        Get-Payloads $outlet | Should -Be @('1', '2', '3')
        $chef.PacketsDropped | Should -Be 0
    }

    It 'cooks again after a stop, but not in two kitchens at once' {
        $chef = New-DumplingChef -Name Twice -OnPacket { param($Packet) $Packet.SourcePort }
        Get-Payloads (Invoke-Chef $chef @(New-UdpPacket -SourcePort 5)) | Should -Be '5'
        Get-Payloads (Invoke-Chef $chef @(New-UdpPacket -SourcePort 6)) | Should -Be '6'
        $stopping = [System.Threading.CancellationTokenSource]::new()
        $context = [NetDumplings.Chefs.ChefContext]::new('test_kitchen', 1.0, $stopping.Token)
        $chef.OnStart($context)
        try { { $chef.OnStart($context) } | Should -Throw '*already cooking*' }
        finally { $chef.OnStop() }
    }
}

Describe 'The packet a scriptblock chef sees' {
    It 'reads DNS questions from UDP port 53, skipping responses when asked' {
        $chef = New-DumplingChef -Name DNSLookupChef -OnPacket {
            param($Packet)
            if ($Packet.Dns.IsResponse) { return }
            foreach ($question in $Packet.DnsQuestions) { @{ lookup = [ordered]@{ hostname = $question.Name; type = $question.TypeName; when = $Packet.EpochSeconds } } }
        }
        $outlet = Invoke-Chef $chef @(
            (New-UdpPacket -DestinationPort 53 -Data (New-DnsQueryBytes 'www.example.com') -Second 5)
            (New-UdpPacket -SourcePort 53 -Data (New-DnsQueryBytes 'www.example.com' -Response $true) -Second 6)
            (New-UdpPacket -DestinationPort 9999 -Data (New-DnsQueryBytes 'not.dns.port') -Second 7))
        Get-Payloads $outlet | Should -Be '{"lookup":{"hostname":"www.example.com","type":"AAAA","when":1700000005}}'
    }

    It 'exposes TCP, IPv6, ARP and ICMP layers, the layer names, and the PacketDotNet packet' {
        $tcp = [PacketDotNet.TcpPacket]::new(51000, 443)
        $tcp.Synchronize = $true
        $ethernet6 = [PacketDotNet.EthernetPacket]::new($script:Mac1, $script:Mac2, 'IPv6')
        $ip6 = [PacketDotNet.IPv6Packet]::new([ipaddress]'fd00::1', [ipaddress]'fd00::2')
        $ip6.PayloadPacket = $tcp; $ethernet6.PayloadPacket = $ip6
        $tcp.UpdateCalculatedValues(); $ip6.UpdateCalculatedValues()
        $arp = [PacketDotNet.ArpPacket]::new('Request', [System.Net.NetworkInformation.PhysicalAddress]::Parse('00-00-00-00-00-00'), [ipaddress]'10.0.0.9', $script:Mac1, [ipaddress]'10.0.0.1')
        $ethernetArp = [PacketDotNet.EthernetPacket]::new($script:Mac1, [System.Net.NetworkInformation.PhysicalAddress]::Parse('FF-FF-FF-FF-FF-FF'), 'Arp')
        $ethernetArp.PayloadPacket = $arp
        $icmp = [PacketDotNet.IcmpV4Packet]::new([PacketDotNet.Utils.ByteArraySegment]::new([byte[]](8, 0, 0, 0, 0, 1, 0, 1)))
        $icmpFrame = New-IPv4Frame -Payload $icmp

        $chef = New-DumplingChef -Name Layers -OnPacket {
            param($Packet)
            [ordered]@{
                protocol = $Packet.Protocol
                layers   = $Packet.LayerNames
                src      = $Packet.SourceAddress
                dst      = $Packet.DestinationAddress
                dport    = $Packet.DestinationPort
                syn      = $Packet.Tcp.Synchronize
                v6       = $null -ne $Packet.IPv6
                arpOp    = $Packet.Arp.Operation
                packet   = $Packet.Packet.GetType().Name
            }
        }
        $outlet = Invoke-Chef $chef @((New-ChefPacket $ethernet6), (New-ChefPacket $ethernetArp), (New-ChefPacket $icmpFrame))
        Get-Payloads $outlet | Should -Be @(
            '{"protocol":"TCP","layers":["Ethernet","IPv6","TCP"],"src":"fd00::1","dst":"fd00::2","dport":443,"syn":true,"v6":true,"arpOp":null,"packet":"EthernetPacket"}'
            '{"protocol":"ARP","layers":["Ethernet","ARP"],"src":"10.0.0.1","dst":"10.0.0.9","dport":null,"syn":null,"v6":false,"arpOp":"Request","packet":"EthernetPacket"}'
            '{"protocol":"ICMP","layers":["Ethernet","IP","ICMP"],"src":"10.0.0.1","dst":"10.0.0.2","dport":null,"syn":null,"v6":false,"arpOp":null,"packet":"EthernetPacket"}')
    }

    It 'parses its own copy, leaving the kitchen''s parsed packet to the kitchen''s thread' {
        $packet = New-UdpPacket -SourcePort 4242
        $view = [NetDumplings.Packets.DumplingPacket]::new($packet)
        $view.Packet | Should -Not -Be $packet.Packet
        $view.SourcePort | Should -Be 4242
        $view.ToString() | Should -BeLike '*UDP 10.0.0.1:4242 -> 10.0.0.2:9999 (50 bytes)'
    }
}
