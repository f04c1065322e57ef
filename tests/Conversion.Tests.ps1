# The one PowerShell-to-JSON policy: the same object makes the same JSON through Send-Dumpling (to a
# real hub) and through a scriptblock chef in a real kitchen (replaying the example capture, -NoHub).
BeforeAll {
    $RepoRoot = Split-Path $PSScriptRoot
    Import-Module "$RepoRoot/NetDumplings.psd1" -Force
    . "$PSScriptRoot/DumplingTestSupport.ps1"
    $Hub = Start-TestHub
    $Feed = "127.0.0.1:$($Hub.InEndPoint.Port)"
    $Capture = "$RepoRoot/examples/demo.pcap"

    # Each case is script text run twice: piped to Send-Dumpling here, and output by a chef's packet
    # handler (on its first packet) in the chef's own runspace.
    $Cases = [ordered]@{
        DepthFive = '@{ a = @{ b = @{ c = @{ d = @{ e = "five" } } } } }'
        Shapes    = @'
[ordered]@{
    text = 'héllo "quoted"'; int = 42; big = [long]::MaxValue; real = 1.5; small = [float]0.1; yes = $true; none = $null
    when = [DateTimeOffset]::new(2026, 11, 27, 18, 0, 0, [TimeSpan]::Zero); local = [DateTime]::new(2026, 11, 27, 18, 0, 0, [DateTimeKind]::Unspecified)
    day = [DayOfWeek]::Friday; id = [guid]'0f8fad5b-d9cb-469f-a165-70867728950e'; span = [TimeSpan]::FromSeconds(90.5)
    ip = [ipaddress]'10.0.0.1'; mac = [System.Net.NetworkInformation.PhysicalAddress]::Parse('02-00-00-00-00-01')
    bytes = [byte[]](1, 2, 3); list = @(1, 'two', 3.0); object = [pscustomobject]@{ x = 1; y = @{ z = $null } }
    version = [version]'1.2.3'
}
'@
        Array     = ', @(1, @{ k = "v" })'
        Json      = '''{"ready": ["made", 1]}'''
        Custom    = '[pscustomobject]@{ Name = "pwsh"; Id = 7; Tags = [System.Collections.Generic.List[string]]@("a", "b") }'
    }

    # Returns the dumplings sent and the warnings written.
    function Send-Case([string] $Text, [int] $Depth = 10) {
        $out = @(& ([scriptblock]::Create($Text)) | Send-Dumpling -Hub $Feed -Chef ConversionChef -Depth $Depth -PassThru 3>&1)
        [pscustomobject]@{ Json = @($out | Where-Object { $_ -is [NetDumplings.Dumpling] } | ForEach-Object PayloadJson)
                           Warnings = @($out | Where-Object { $_ -is [System.Management.Automation.WarningRecord] } | ForEach-Object Message) }
    }
    function Invoke-ChefCases([string[]] $Texts, [int] $Depth = 10) {
        $body = 'param($Packet) if ($done) { return }; $done = $true' + [Environment]::NewLine + ($Texts -join [Environment]::NewLine)
        $chef = New-DumplingChef -Name ConversionChef -Depth $Depth -OnPacket ([scriptblock]::Create($body))
        $dumplings = @(Start-DumplingKitchen -Path $Capture -NoHub -Chef $chef -PokeInterval 0 -ErrorVariable kitchenErrors -ErrorAction SilentlyContinue)
        [pscustomobject]@{ Json = @($dumplings | Where-Object Driver -eq 'Packet' | ForEach-Object PayloadJson); Errors = @($kitchenErrors); Chef = $chef }
    }
}

AfterAll {
    if ($Hub) { $Hub.StopAsync().GetAwaiter().GetResult() }
}

Describe 'One PowerShell-to-JSON writer' {
    It 'makes the same JSON from the same object through Send-Dumpling and through a scriptblock chef' {
        $fromChef = Invoke-ChefCases $Cases.Values
        $fromChef.Errors | Should -BeNullOrEmpty
        $fromChef.Json.Count | Should -Be $Cases.Count
        $i = 0
        foreach ($name in $Cases.Keys) {
            $sent = Send-Case $Cases[$name]
            $sent.Json.Count | Should -Be 1 -Because $name
            $sent.Warnings | Should -BeNullOrEmpty -Because $name
            $fromChef.Json[$i++] | Should -BeExactly $sent.Json[0] -Because $name
        }
    }

    It 'writes each kind of value by the documented policy' {
        (Send-Case $Cases.Shapes).Json | Should -BeExactly ('{"text":"héllo \"quoted\"","int":42,"big":9223372036854775807,"real":1.5,"small":0.1,"yes":true,"none":null,' +
            '"when":"2026-11-27T18:00:00.0000000+00:00","local":"2026-11-27T18:00:00.0000000",' +
            '"day":"Friday","id":"0f8fad5b-d9cb-469f-a165-70867728950e","span":"00:01:30.5000000",' +
            '"ip":"10.0.0.1","mac":"02:00:00:00:00:01",' +
            '"bytes":"AQID","list":[1,"two",3],"object":{"x":1,"y":{"z":null}},"version":"1.2.3"}')
        (Send-Case $Cases.Array).Json | Should -BeExactly '[1,{"k":"v"}]'
        (Send-Case $Cases.Json).Json | Should -BeExactly '{"ready": ["made", 1]}'
    }

    It 'writes a hashtable nested five levels whole by default' {
        (Send-Case $Cases.DepthFive).Json | Should -BeExactly '{"a":{"b":{"c":{"d":{"e":"five"}}}}}'
    }

    It 'cuts what is deeper than -Depth, with a warning that says where, at which depth, and how to raise it' {
        $deep = '@{ a = @{ b = @{ c = 1 } } }'
        $sent = Send-Case $deep -Depth 2
        $sent.Json | Should -BeExactly '{"a":{"b":"System.Collections.Hashtable"}}'
        $sent.Warnings.Count | Should -Be 1
        $sent.Warnings[0] | Should -BeLike '*payload.a.b (a Hashtable) is deeper than 2 levels*Send-Dumpling -Depth (now 2)*'

        # Warned once, as ConvertTo-Json warns once, and counted at the end.
        $null = 1..3 | ForEach-Object { @{ a = @{ b = @{ c = $_ } } } } |
            Send-Dumpling -Hub $Feed -Chef ConversionChef -Depth 2 -WarningVariable many -WarningAction SilentlyContinue
        $many.Count | Should -Be 2
        "$($many[1])" | Should -BeLike '3 objects*cut*'

        # The chef serves the cut payload and reports the first cut through the kitchen.
        $run = Invoke-ChefCases $deep, $deep, '"fine"' -Depth 2
        $run.Json | Should -Be @('{"a":{"b":"System.Collections.Hashtable"}}', '{"a":{"b":"System.Collections.Hashtable"}}', '"fine"')
        $run.Errors.Count | Should -Be 1
        "$($run.Errors[0])" | Should -BeLike "*ConversionChef*payload.a.b (a Hashtable) is deeper than 2 levels*New-DumplingChef -Depth (now 2)*"
        $run.Chef.Depth | Should -Be 2
    }

    It 'reports NaN and infinities with the path to them, and never writes them' {
        $nan = '[ordered]@{ ok = 1; stats = @{ rate = [double]::NaN } }'
        $infinity = '@{ list = @(1, [double]::PositiveInfinity) }'
        $sent = @(& { [scriptblock]::Create($nan).Invoke(); [scriptblock]::Create($infinity).Invoke(); @{ fine = 1 } } |
            Send-Dumpling -Hub $Feed -Chef ConversionChef -PassThru -ErrorVariable problems -ErrorAction SilentlyContinue)
        $sent.PayloadJson | Should -Be '{"fine":1}'
        $problems.Count | Should -Be 2
        $problems[0].FullyQualifiedErrorId | Should -BeLike 'PayloadNotSerializable*'
        $problems[0].CategoryInfo.Category | Should -Be 'InvalidData'
        $problems[0].Exception.Message | Should -BeLike '*payload.stats.rate is NaN*'
        $problems[1].Exception.Message | Should -BeLike '*payload.list`[1`] is Infinity*'

        $run = Invoke-ChefCases $nan, '"fine"'
        $run.Json | Should -Be '"fine"'
        $run.Errors.Count | Should -Be 1
        "$($run.Errors[0])" | Should -BeLike "*ConversionChef*payload.stats.rate is NaN*"
    }

    It 'neither hangs nor loops on objects that hold themselves' {
        $loop = '$h = [ordered]@{ name = "loop" }; $h.self = $h; $h'
        $sent = @(& ([scriptblock]::Create($loop)) | Send-Dumpling -Hub $Feed -Chef ConversionChef -PassThru -ErrorVariable problems -ErrorAction SilentlyContinue)
        $sent.Count | Should -Be 0
        $problems.Count | Should -Be 1
        $problems[0].Exception.Message | Should -BeLike '*payload.self is payload again*cycle*'

        # A .NET object referring back to one holding it (an item's drive's provider's drives) is cut there, with a warning.
        $sent = @(Get-Item $Capture | Send-Dumpling -Hub $Feed -Chef ConversionChef -PassThru -WarningVariable warnings -WarningAction SilentlyContinue)
        $sent[0].PayloadJson | Should -Match '"Name":"demo\.pcap"'
        $warnings.Count | Should -Be 1
        "$($warnings[0])" | Should -BeLike '*payload.*written as its text*'
    }
}

Describe 'Dumplings as data' {
    BeforeAll {
        $json = @(
            '{"metadata":{"chef":"DNSLookupChef","kitchen":"edge","creation_time":1767268800.5,"driver":"packet"},"payload":{"lookup":{"hostname":"example.com","when":1767268800.25},"tags":["a","b"]}}'
            '{"metadata":{"chef":"PacketCountChef","kitchen":"edge","creation_time":1767268801,"driver":"interval"},"payload":{"packet_counts":{"TCP":3}}}'
        )
        $dumplings = $json | ConvertFrom-DumplingJson
    }

    It 'Export-Csv writes time, kitchen, chef, driver and the payload as its JSON' {
        $csv = $dumplings | ConvertTo-Csv | ConvertFrom-Csv
        $csv[0].PSObject.Properties.Name | Should -Be @('CreationTime', 'Kitchen', 'Chef', 'Driver', 'Payload')
        $csv[0].Driver | Should -Be 'Packet'
        $csv[1].Driver | Should -Be 'Interval'
        $csv[0].Payload | Should -Be '{"lookup":{"hostname":"example.com","when":1767268800.25},"tags":["a","b"]}'
        ($csv[0].Payload | ConvertFrom-Json).lookup.hostname | Should -Be 'example.com'
    }

    It 'ConvertTo-Json writes time, kitchen, chef, driver (its name) and the payload as JSON, without a warning' {
        $text = $dumplings[0] | ConvertTo-Json -WarningVariable jsonWarnings
        $jsonWarnings | Should -BeNullOrEmpty
        $back = $text | ConvertFrom-Json -AsHashtable
        @($back.Keys) | Sort-Object | Should -Be @('Chef', 'CreationTime', 'Driver', 'Kitchen', 'Payload')
        $back.Chef | Should -Be 'DNSLookupChef'
        $back.Kitchen | Should -Be 'edge'
        $back.Driver | Should -Be 'Packet'
        [DateTimeOffset]$back.CreationTime | Should -Be ([DateTimeOffset]::FromUnixTimeMilliseconds(1767268800500))
        $back.Payload.lookup.hostname | Should -Be 'example.com'
        $back.Payload.tags | Should -Be @('a', 'b')
        $text | Should -Not -Match 'Utf8Json|PayloadElement|ValueKind|EpochSeconds'
        # A list of dumplings, as Receive-Dumpling | ConvertTo-Json makes it.
        $all = $dumplings | ConvertTo-Json -Depth 5 | ConvertFrom-Json
        $all.Count | Should -Be 2
        $all[1].Driver | Should -Be 'Interval'
        $all[1].Payload.packet_counts.TCP | Should -Be 3
    }

    It 'leaves the engine''s Dumpling whole for C#: its raw members are still there and typed' {
        $d = $dumplings[0]
        $d.Driver.GetType() | Should -Be ([string])   # what PowerShell shows
        $d.PSObject.BaseObject.Driver | Should -Be ([NetDumplings.DumplingDriver]::Packet)
        $d.PSObject.BaseObject.Utf8Json.Length | Should -Be ([Text.Encoding]::UTF8.GetByteCount($d.Json))
        $d.PSObject.BaseObject.PayloadElement.GetProperty('lookup').GetProperty('hostname').GetString() | Should -Be 'example.com'
    }

    It 'Get-Member lists what a user wants, and the raw forms still answer by name' {
        ($dumplings[0] | Get-Member -MemberType Properties).Name | Should -Be @('Chef', 'CreationTime', 'Driver', 'Kitchen', 'Payload')
        ($dumplings[0] | Select-Object CreationTime, Kitchen, Chef, Driver, Payload | ConvertTo-Json -Compress -Depth 5) | Should -Match '"Driver":"Packet","Payload":\{"lookup":\{"hostname":"example.com"'
        $dumplings[0].PayloadJson | Should -BeLike '{"lookup"*'
        $dumplings[0].EpochSeconds | Should -Be 1767268800.5
        $dumplings[0].Payload.lookup.hostname | Should -Be 'example.com'
        "$($dumplings[0].Payload)" | Should -Be $dumplings[0].PayloadJson
        @($dumplings | Where-Object Driver -eq Packet).Count | Should -Be 1
    }

    It 'Flatten() makes one row per dumpling with the payload''s leaves as columns' {
        $rows = $dumplings | ForEach-Object Flatten
        $rows[0].PSObject.Properties.Name | Should -Be @('CreationTime', 'Kitchen', 'Chef', 'Driver', 'lookup.hostname', 'lookup.when', 'tags')
        $rows[0].'lookup.hostname' | Should -Be 'example.com'
        $rows[0].tags | Should -Be '["a","b"]'
        $rows[1].'packet_counts.TCP' | Should -Be 3
        ($rows[0] | ConvertTo-Csv)[0] | Should -Be '"CreationTime","Kitchen","Chef","Driver","lookup.hostname","lookup.when","tags"'
    }
}
