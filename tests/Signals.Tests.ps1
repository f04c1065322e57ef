# Stopping as a service manager stops: SIGTERM and SIGINT sent to real child processes running a hub or
# a kitchen (foreground and -AsJob), started the way examples/systemd/*.service start them; and the
# `dotnet pwsh` wrapper, whose top process alone gets a `kill`.
BeforeDiscovery {
    $HasTool = (Test-Path "$(Split-Path $PSScriptRoot)/.config/dotnet-tools.json") -and [bool](Get-Command dotnet -ErrorAction SilentlyContinue)
}

BeforeAll {
    $RepoRoot = Split-Path $PSScriptRoot
    Import-Module "$RepoRoot/NetDumplings.psd1" -Force
    Import-Module "$PSScriptRoot/HubTestHelpers.psm1" -Force
    $Pwsh = Join-Path $PSHOME 'pwsh'
    $Module = "$RepoRoot/NetDumplings.psd1"
    $Temp = Join-Path ([IO.Path]::GetTempPath()) "nd-signals-pester-$PID"
    New-Item -ItemType Directory -Force -Path $Temp | Out-Null
    $script:Children = [Collections.Generic.List[Diagnostics.Process]]::new()

    function Start-Child {
        # A child as systemd starts one: no terminal, stdout and stderr to pipes; returns the process and the file.
        param([string] $Command, [string] $Executable = $Pwsh, [string[]] $Prefix = @())
        # Through env --default-signal: a runner started in the background by a shell ignores SIGINT, and a
        # child inherits that; a service manager starts its services with SIGINT at its default.
        $psi = [Diagnostics.ProcessStartInfo]::new('env')
        foreach ($a in @('--default-signal=INT', $Executable) + @($Prefix) + @('-NoProfile', '-NonInteractive', '-Command', $Command)) { $psi.ArgumentList.Add($a) }
        $psi.WorkingDirectory = $RepoRoot
        $psi.RedirectStandardOutput = $true
        $psi.RedirectStandardError = $true
        $psi.Environment['NO_COLOR'] = '1'
        $p = [Diagnostics.Process]::Start($psi)
        $script:Children.Add($p)
        [pscustomobject]@{ Process = $p; Err = $p.StandardError.ReadToEndAsync(); Lines = [Text.StringBuilder]::new(); Pending = $null }
    }

    function Wait-ChildLine {
        # Reads the child's stdout a line at a time until one matches (at most 30 s); returns the match.
        param($Child, [string] $Pattern)
        $deadline = [DateTime]::UtcNow.AddSeconds(30)
        while ([DateTime]::UtcNow -lt $deadline) {
            if (-not $Child.Pending) { $Child.Pending = $Child.Process.StandardOutput.ReadLineAsync() }
            if (-not $Child.Pending.Wait(200)) { continue }
            $line = $Child.Pending.Result
            $Child.Pending = $null
            if ($null -eq $line) { throw "The child ended before writing '$Pattern': $($Child.Lines) $($Child.Err.Result)" }
            $null = $Child.Lines.AppendLine($line)
            if ($line -match $Pattern) { return $Matches }
        }
        throw "The child never wrote a line matching '$Pattern'."
    }

    function Read-ChildRest {
        param($Child)
        if ($Child.Pending) { $null = $Child.Lines.AppendLine($Child.Pending.Result) }
        $null = $Child.Lines.Append($Child.Process.StandardOutput.ReadToEnd())
        $Child.Lines.ToString()
    }

    function Stop-ChildWith {
        # Sends a signal and measures how long the child takes to exit (at most 10 s).
        param($Child, [string] $Signal, [int] $ProcessId = $Child.Process.Id)
        $clock = [Diagnostics.Stopwatch]::StartNew()
        kill "-$Signal" $ProcessId
        $exited = $Child.Process.WaitForExit(10000)
        $clock.Stop()
        if (-not $exited) { $Child.Process.Kill($true) }
        [pscustomobject]@{ Exited = $exited; Seconds = $clock.Elapsed.TotalSeconds; ExitCode = $(if ($exited) { $Child.Process.ExitCode }); Output = Read-ChildRest $Child; Error = $Child.Err.Result }
    }

    function Start-HubChild {
        # The hub unit's ExecStart, with this repo's module and free ports instead of the installed module and 11347/11348.
        param([switch] $AsJob)
        $unit = Get-Content -Raw "$RepoRoot/examples/systemd/netdumplings-hub.service"
        $command = [regex]::Match($unit, '(?m)^ExecStart=\S+ -NoProfile -NonInteractive -Command "(.*)"$').Groups[1].Value
        $command | Should -Match 'Start-DumplingHub'
        $command = $command.Replace('Import-Module NetDumplings', "Import-Module '$Module'") -replace '-InPort \d+ -OutPort \d+', '-InPort 0 -OutPort 0 -StatusInterval 0'
        if ($AsJob) { $command = $command.Replace('Start-DumplingHub', '$j = Start-DumplingHub') + ' -AsJob; $j.Info | Format-List | Out-Host; $j | Receive-Job -Wait | Out-Null' }
        Start-Child $command
    }

    function Connect-Eater {
        # An eater on the out-port the hub child printed (its Info, as a list, comes first).
        param($Child)
        $port = (Wait-ChildLine $Child 'EaterHub\s*:\s*\S+:(\d+)')[1]
        $eater = Connect-TestPeer "127.0.0.1:$port" '{"eater_name":"signals"}'
        # Only an eater that has announced itself is one the hub knows and closes; wait for its log line.
        $null = Wait-ChildLine $Child "Connected eater 'signals'"
        $eater
    }
}

AfterAll {
    foreach ($p in $script:Children) { if (-not $p.HasExited) { $p.Kill($true) } }
    Remove-Item -Recurse -Force $Temp -ErrorAction SilentlyContinue
}

Describe 'A hub started as examples/systemd/netdumplings-hub.service starts it' {
    It 'SIGTERM (systemctl stop): eaters are closed with 1001, the hub logs its stop and exits within a second' {
        $child = Start-HubChild
        $eater = Connect-Eater $child
        $stop = Stop-ChildWith $child TERM
        $stop.Exited | Should -BeTrue
        $stop.Seconds | Should -BeLessThan 1.5
        $stop.ExitCode | Should -Be 143
        Receive-TestMessage $eater -TimeoutMs 2000 | Should -BeNullOrEmpty
        [int]$eater.CloseStatus | Should -Be 1001
        $stop.Output | Should -Match 'Dumpling hub stopped\.'
    }

    It 'SIGTERM to a script waiting on a hub job stops the job the same way' {
        $child = Start-HubChild -AsJob
        $eater = Connect-Eater $child
        $stop = Stop-ChildWith $child TERM
        $stop.Exited | Should -BeTrue
        $stop.Seconds | Should -BeLessThan 1.5
        Receive-TestMessage $eater -TimeoutMs 2000 | Should -BeNullOrEmpty
        [int]$eater.CloseStatus | Should -Be 1001
    }

    It 'SIGINT ends a foreground hub as Ctrl+C does, closing eaters with 1001' {
        $child = Start-HubChild
        $eater = Connect-Eater $child
        $stop = Stop-ChildWith $child INT
        $stop.Exited | Should -BeTrue
        $stop.Seconds | Should -BeLessThan 1.5
        Receive-TestMessage $eater -TimeoutMs 2000 | Should -BeNullOrEmpty
        [int]$eater.CloseStatus | Should -Be 1001
    }

    It 'under `dotnet pwsh`, a SIGTERM to the top dotnet process still stops the real pwsh two processes down' -Skip:(-not $HasTool) {
        $command = "Import-Module '$Module'; Start-DumplingHub -InPort 0 -OutPort 0 -StatusInterval 0"
        $child = Start-Child $command -Executable 'dotnet' -Prefix 'pwsh'
        $eater = Connect-Eater $child
        # The real pwsh is a grandchild (dotnet CLI -> tool shim -> pwsh); find it by its command line.
        $real = Get-Process -ErrorAction SilentlyContinue | Where-Object { $_.Id -ne $child.Process.Id -and $_.CommandLine -like '*unix/pwsh.dll*' -and $_.CommandLine -like "*$Module*" } | Select-Object -First 1
        $real | Should -Not -BeNullOrEmpty
        kill -TERM $child.Process.Id
        $real.WaitForExit(5000) | Should -BeTrue
        Receive-TestMessage $eater -TimeoutMs 2000 | Should -BeNullOrEmpty
        [int]$eater.CloseStatus | Should -Be 1001
    }
}

Describe 'A foreground kitchen stopped by a signal' {
    BeforeAll {
        $hub = [NetDumplings.Hub.DumplingHub]::new([NetDumplings.Hub.DumplingHubOptions]@{ Address = '127.0.0.1'; InPort = 0; OutPort = 0; StatusInterval = 0 })
        $null = $hub.StartAsync().GetAwaiter().GetResult()
        $KitchenHub = "127.0.0.1:$($hub.InEndPoint.Port)"
    }
    AfterAll { $hub.StopAsync().GetAwaiter().GetResult() }

    It '<Signal>: the outbox is delivered and the final statistics are written, promptly' -ForEach @(@{ Signal = 'TERM' }, @{ Signal = 'INT' }) {
        $child = Start-Child "Import-Module '$Module'; Start-DumplingKitchen -Path ./examples/demo.pcap -Paced -Hub $KitchenHub"
        Wait-Until { @($hub.GetStatus().Kitchens).Count -gt 0 } -What 'the kitchen to connect' -TimeoutMs 20000
        Start-Sleep -Milliseconds 1500
        $stop = Stop-ChildWith $child $Signal
        $stop.Exited | Should -BeTrue
        $stop.Seconds | Should -BeLessThan 1.5
        $stop.Output | Should -Match 'Packets    : \d+ captured, \d+ processed'
        $stop.Output | Should -Match 'Dumplings  : (\d+) made, (\d+) sent, 0 dropped, 0 queued'
        $stop.Output -match 'Dumplings  : (\d+) made, (\d+) sent' | Should -BeTrue
        $Matches[1] | Should -Be $Matches[2]
        $stop.Output | Should -Match 'Chef\s+Packets\s+Pokes\s+Dumplings'
    }
}
