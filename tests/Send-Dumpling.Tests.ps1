# Send-Dumpling through a real hub on free loopback ports to a real eater (Receive-Dumpling).
BeforeAll {
    $RepoRoot = Split-Path $PSScriptRoot
    Import-Module "$RepoRoot/NetDumplings.psd1" -Force
    . "$PSScriptRoot/DumplingTestSupport.ps1"
    $Hub = Start-TestHub
    $InPort = $Hub.InEndPoint.Port
    $OutPort = $Hub.OutEndPoint.Port
    $Feed = "127.0.0.1:$InPort"

    function Receive-WhileSending {
        <# Starts Receive-Dumpling -Count in a thread job, then runs $Send again and again (bounded)
           until the eater has what it wanted: the eater only sees what the hub gets after it announced. #>
        param([scriptblock] $Send, [string] $Chef, [int] $Count)
        $eater = Start-ThreadJob -ArgumentList $RepoRoot, $OutPort, $Chef, $Count -ScriptBlock {
            param($root, $port, $chef, $count)
            Import-Module "$root/NetDumplings.psd1"
            Receive-Dumpling -Hub "127.0.0.1:$port" -Chef $chef -Count $count -Raw -Timeout 20
        }
        for ($i = 0; $i -lt 60 -and -not $eater.Finished.WaitOne(0); $i++) {
            & $Send
            Start-Sleep -Milliseconds 300
        }
        $null = Wait-Job $eater -Timeout 20
        $eater.State | Should -Be 'Completed'
        @(Receive-Job $eater | ForEach-Object { ConvertFrom-DumplingJson $_ })
    }
}

AfterAll {
    Get-Job | Remove-Job -Force
    if ($Hub) { $Hub.StopAsync().GetAwaiter().GetResult() }
}

Describe 'Send-Dumpling' {
    It 'sends Get-Process | Select-Object Name, CPU as dumplings an eater reads back' {
        $got = Receive-WhileSending -Chef ProcessChef -Count 5 -Send {
            Get-Process | Select-Object -First 5 Name, CPU | Send-Dumpling -Hub $Feed -Chef ProcessChef
        }
        $got.Count | Should -Be 5
        $got | ForEach-Object {
            $_.Chef | Should -Be 'ProcessChef'
            $_.Kitchen | Should -Be 'powershell'
            $_.Payload.Name | Should -Not -BeNullOrEmpty
            $_.Payload.PSObject.Properties.Name | Should -Contain 'CPU'
        }
        $names = (Get-Process).Name
        $got.Payload.Name | ForEach-Object { $_ | Should -BeIn $names }
    }

    It 'sends a JSON string as is, with the kitchen, chef and driver given' {
        $json = '{"lookup": {"hostname": "example.com", "when": 1499040017.81}}'
        $got = Receive-WhileSending -Chef DNSLookupChef -Count 1 -Send {
            $json | Send-Dumpling -Hub $Feed -Kitchen edge9 -Chef DNSLookupChef -Driver Interval
        }
        $got[0].Kitchen | Should -Be 'edge9'
        $got[0].Driver | Should -Be 'Interval'
        $got[0].PayloadJson | Should -Be $json
        $got[0].Payload.lookup.hostname | Should -Be 'example.com'
    }

    It 'writes objects as JSON: hashtables, arrays, dates, enums, nesting down to -Depth' {
        $when = [DateTimeOffset]::new(2026, 11, 27, 18, 0, 0, [TimeSpan]::Zero)
        $object = [pscustomobject]@{
            text = 'héllo "quoted"'; int = 42; big = [long]::MaxValue; real = 1.5; yes = $true; none = $null
            when = $when; kind = [System.DayOfWeek]::Friday; list = @(1, 'two', 3.0)
            map = @{ inner = @{ deeper = @{ deepest = 'x' } } }
        }
        $d = $object | Send-Dumpling -Hub $Feed -Chef ShapeChef -Depth 3 -PassThru
        $p = $d.PayloadJson | ConvertFrom-Json -AsHashtable
        $p.text | Should -Be 'héllo "quoted"'
        $p.int | Should -Be 42
        $p.big | Should -Be ([long]::MaxValue)
        $p.real | Should -Be 1.5
        $p.yes | Should -BeTrue
        $p.ContainsKey('none') | Should -BeTrue
        $p.when | Should -Be $when
        $p.kind | Should -Be 'Friday'
        $p.list | Should -Be @(1, 'two', 3.0)
        # Depth 3: payload (1) > map (2) > inner (3); what is deeper is written as its text.
        $p.map.inner.deeper | Should -BeOfType ([string])
    }

    It 'reports an object it cannot write as JSON as a non-terminating error and sends the rest' {
        $objects = [pscustomobject]@{ a = 1 }, [pscustomobject]@{ a = [double]::NaN }, [pscustomobject]@{ a = 3 }, '{broken json'
        $sent = @($objects | Send-Dumpling -Hub $Feed -Chef ErrorChef -PassThru -ErrorVariable problems -ErrorAction SilentlyContinue)
        $sent.Count | Should -Be 2
        $sent.Payload.a | Should -Be @(1, 3)
        $problems.Count | Should -Be 2
        $problems | ForEach-Object {
            $_.FullyQualifiedErrorId | Should -BeLike 'PayloadNotSerializable*'
            $_.CategoryInfo.Category | Should -Be 'InvalidData'
        }
        [double]::IsNaN($problems[0].TargetObject.a) | Should -BeTrue
        $problems[1].Exception.Message | Should -BeLike '*not valid JSON*'
    }

    It 'closes its connection when done, and when stopped' {
        1..3 | Send-Dumpling -Hub $Feed -Chef CloseChef
        Wait-Until { (Get-EstablishedConnection -Port $InPort).Count -eq 0 } | Should -BeTrue

        $ps = [powershell]::Create()
        try {
            $null = $ps.AddScript("Import-Module '$RepoRoot/NetDumplings.psd1'; & { for (`$i = 0; `$i -lt 3000; `$i++) { `$i; Start-Sleep -Milliseconds 10 } } | Send-Dumpling -Hub '$Feed' -Chef StopChef")
            $null = $ps.BeginInvoke()
            Wait-Until { (Get-EstablishedConnection -Port $InPort).Count -eq 1 } | Should -BeTrue
            $ps.Stop()
            $ps.InvocationStateInfo.State | Should -Be 'Stopped'
            Wait-Until { (Get-EstablishedConnection -Port $InPort).Count -eq 0 } | Should -BeTrue
        }
        finally {
            $ps.Dispose()
        }
    }

    It 'stops with a terminating error naming the address when no hub listens there' {
        $port = Get-FreeTcpPort
        $err = { 1 | Send-Dumpling -Hub "127.0.0.1:$port" } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -BeLike 'HubUnreachable*'
        $err.Exception.Message | Should -BeLike "*127.0.0.1:$port*"
        $err.ErrorDetails.RecommendedAction | Should -BeLike '*Start-DumplingHub*'
    }
}
