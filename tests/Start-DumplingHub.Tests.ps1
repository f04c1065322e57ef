BeforeAll {
    $RepoRoot = Split-Path $PSScriptRoot
    Import-Module "$RepoRoot/NetDumplings.psd1" -Force
    Import-Module "$PSScriptRoot/HubTestHelpers.psm1" -Force
}

Describe 'Start-DumplingHub -AsJob' {
    It 'returns a job that Get-Job, Receive-Job and Stop-Job handle, and forwards dumplings' {
        $job = Start-DumplingHub -InPort 0 -OutPort 0 -StatusInterval 0 -AsJob -JobName 'hub-under-test'
        try {
            $job | Should -BeOfType ([NetDumplings.PowerShell.Jobs.DumplingHubJob])
            (Get-Job -Name 'hub-under-test').Id | Should -Be $job.Id
            $job.State | Should -Be 'Running'
            $info = Receive-Job $job -Keep | Where-Object { $_ -is [NetDumplings.PowerShell.Jobs.DumplingHubInfo] }
            $info.InPort | Should -BeGreaterThan 0
            $info.OutPort | Should -BeGreaterThan 0
            $info.EaterHub | Should -Be "127.0.0.1:$($info.OutPort)"

            $eater = Connect-TestPeer $info.EaterHub '{"eater_name":"pester"}'
            Wait-Until { (Receive-Job $job -Keep 6>&1 | Out-String) -match "Connected eater 'pester'" } -What 'eater logged'
            $kitchen = Connect-TestPeer $info.KitchenHub '{"kitchen_name":"pester_kitchen"}'
            $d = New-TestDumpling -Chef 'PesterChef'
            Send-TestMessage $kitchen $d
            Receive-TestMessage $eater | Should -Be $d
            $kitchen.Dispose(); $eater.Dispose()
        }
        finally {
            Stop-Job $job
        }
        $job.State | Should -Be 'Stopped'
        Test-PortFree $info.InPort | Should -BeTrue
        Test-PortFree $info.OutPort | Should -BeTrue
        Remove-Job $job
    }

    It 'closes eaters with 1001 when the job is stopped' {
        $job = Start-DumplingHub -InPort 0 -OutPort 0 -AsJob
        $info = $job.Info
        $eater = Connect-TestPeer $info.EaterHub '{"eater_name":"pester"}'
        Start-Sleep -Milliseconds 200
        Stop-Job $job
        Receive-TestMessage $eater | Should -BeNullOrEmpty
        [int]$eater.CloseStatus | Should -Be 1001
        Remove-Job $job
    }

    It 'reports problems on the warning stream of the job' {
        $job = Start-DumplingHub -InPort 0 -OutPort 0 -AsJob
        try {
            $kitchen = Connect-TestPeer $job.Info.KitchenHub '{"kitchen_name":"k"}'
            Send-TestMessage $kitchen 'this is not json'
            Wait-Until { $job.Warning.Count -gt 0 } -What 'a warning'
            $job.Warning[0].Message | Should -BeLike '*invalid dumpling*not valid JSON*'
            $kitchen.Dispose()
        }
        finally { $job | Stop-Job -PassThru | Remove-Job }
    }
}

Describe 'Start-DumplingHub in the foreground' {
    It 'runs until stopped, logs connections, and releases its ports when stopped' {
        $ps = [powershell]::Create()
        try {
            $null = $ps.AddScript("Import-Module '$RepoRoot/NetDumplings.psd1'; Start-DumplingHub -InPort 0 -OutPort 0 -StatusInterval 0")
            $output = [System.Management.Automation.PSDataCollection[psobject]]::new()
            $async = $ps.BeginInvoke([System.Management.Automation.PSDataCollection[psobject]]::new(), $output)
            Wait-Until { $output.Count -gt 0 } -What 'the hub to start'
            $info = $output[0]
            $info.KitchenHub | Should -Match '^127\.0\.0\.1:\d+$'
            $kitchen = Connect-TestPeer $info.KitchenHub '{"kitchen_name":"fg_kitchen"}'
            Wait-Until { @($ps.Streams.Information | Where-Object { "$($_.MessageData)" -match "Connected kitchen 'fg_kitchen'" }).Count -gt 0 } -What 'connection logged'
            $ps.Stop()   # what Ctrl+C does
            $ps.InvocationStateInfo.State | Should -Be 'Stopped'
            Receive-TestMessage $kitchen | Should -BeNullOrEmpty
            [int]$kitchen.CloseStatus | Should -Be 1001
            Test-PortFree $info.InPort | Should -BeTrue
            Test-PortFree $info.OutPort | Should -BeTrue
        }
        finally { $ps.Dispose() }
    }
}

Describe 'Start-DumplingHub errors' {
    It 'says a port is in use, as a terminating error with a category and target' {
        $blocker = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $blocker.Start()
        try {
            $port = $blocker.LocalEndpoint.Port
            foreach ($asJob in $false, $true) {
                $err = $null
                try { Start-DumplingHub -Address 127.0.0.1 -InPort $port -OutPort 0 -AsJob:$asJob } catch { $err = $_ }
                $err | Should -Not -BeNullOrEmpty
                $err.FullyQualifiedErrorId | Should -BeLike 'HubStartFailed*'
                $err.CategoryInfo.Category | Should -Be 'ResourceUnavailable'
                $err.Exception.Message | Should -BeLike "*$port*already in use*"
                "$($err.TargetObject)" | Should -BeLike "*$port"
                $err.ErrorDetails.RecommendedAction | Should -Not -BeNullOrEmpty
            }
        }
        finally { $blocker.Stop() }
    }

    It 'refuses the same port for kitchens and eaters' {
        { Start-DumplingHub -InPort 40000 -OutPort 40000 -AsJob } | Should -Throw -ErrorId 'InvalidHubOptions*'
    }

    It 'refuses a port out of range' {
        { Start-DumplingHub -InPort 70000 -AsJob } | Should -Throw -ErrorId 'ParameterArgumentValidationError*'
    }

    It 'says an address is not on this machine' {
        $err = $null
        try { Start-DumplingHub -Address 192.0.2.55 -InPort 0 -OutPort 0 -AsJob } catch { $err = $_ }
        $err.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $err.Exception.Message | Should -BeLike '*not on this machine*'
    }
}
