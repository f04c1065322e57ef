# End to end through a default hub: a capture file replayed faster than the eaters read reaches two
# Receive-Dumpling eaters whole (backpressure), and an eater the hub drops dumplings for is told how many.
BeforeAll {
    $RepoRoot = Split-Path $PSScriptRoot
    Import-Module "$RepoRoot/NetDumplings.psd1" -Force
    . "$PSScriptRoot/DumplingTestSupport.ps1"
    & "$PSScriptRoot/NetDumplings.Traffic/Import-Traffic.ps1"
    $Temp = Join-Path ([IO.Path]::GetTempPath()) "nd-delivery-pester-$PID"
    New-Item -ItemType Directory -Force -Path $Temp | Out-Null

    function Start-Eater {
        # A Receive-Dumpling in its own runspace, as a second shell would run it; returns the PowerShell instance.
        param([string] $Hub, [string] $Name, [string] $Script)
        $ps = [powershell]::Create()
        $null = $ps.AddScript("Import-Module '$RepoRoot/NetDumplings.psd1'").AddStatement()
        $null = $ps.AddScript($Script).AddParameter('Hub', $Hub).AddParameter('Name', $Name)
        $output = [System.Management.Automation.PSDataCollection[psobject]]::new()
        $ps | Add-Member -NotePropertyName Output -NotePropertyValue $output
        $ps | Add-Member -NotePropertyName Async -NotePropertyValue $ps.BeginInvoke([System.Management.Automation.PSDataCollection[psobject]]::new(), $output)
        $ps
    }

    function Wait-Eater {
        param($Eater)
        $Eater.Async.AsyncWaitHandle.WaitOne([TimeSpan]::FromSeconds(120)) | Should -BeTrue
        $Eater.InvocationStateInfo.State | Should -Be 'Completed'
    }

    function Wait-EaterName {
        # Until the hub lists these eaters (its status dumplings name them).
        param([string] $Hub, [string[]] $Name)
        Wait-Until { $names = (Get-DumplingHubStatus -Hub $Hub -Timeout 5).Eaters.Name; @($Name | Where-Object { $_ -notin $names }).Count -eq 0 } |
            Should -BeTrue
    }
}

AfterAll {
    Get-Job | Remove-Job -Force
    Remove-Item -Recurse -Force $Temp -ErrorAction SilentlyContinue
}

Describe 'Delivery through a default hub' {
    It 'replays a capture file to two Receive-Dumpling eaters, each getting every dumpling the kitchen made' {
        $capture = Join-Path $Temp 'replay.pcap'
        $null = [NetDumplings.Traffic.PcapGenerator]::WriteMixed($capture, 200000, 11, $null, $null)
        $hub = Start-DumplingHub -InPort 0 -OutPort 0 -StatusInterval 0.2 -AsJob
        try {
            $eat = $hub.Info.EaterHub
            $script = 'param($Hub, $Name) Receive-Dumpling -Hub $Hub -EaterName $Name -Chef DNSLookupChef, ARPChef -Kitchen replay -Timeout 8 | Measure-Object | ForEach-Object Count'
            $eaters = 'eater1', 'eater2' | ForEach-Object { Start-Eater -Hub $eat -Name $_ -Script $script }
            Wait-EaterName -Hub $eat -Name eater1, eater2

            $stats = Start-DumplingKitchen -Path $capture -Hub $hub.Info.KitchenHub -Name replay -Chef DNSLookupChef, ARPChef -PokeInterval 0
            $stats.DumplingsMade | Should -BeGreaterThan 10000   # more than an eater's queue at the hub holds (-EaterQueueLimit)
            $stats.DumplingsSent | Should -Be $stats.DumplingsMade
            $stats.DumplingsDropped | Should -Be 0

            foreach ($eater in $eaters) {
                Wait-Eater $eater
                $eater.Output[0] | Should -Be $stats.DumplingsMade
                @($eater.Streams.Warning).Count | Should -Be 0
                $eater.Dispose()
            }
            $status = Get-DumplingHubStatus -Hub $eat
            $status.TotalDumplingsDropped | Should -Be 0
            $status.TotalEatersCutOff | Should -Be 0
            $status.OverflowPolicy | Should -Be 'Backpressure'
        }
        finally { $hub | Stop-Job -PassThru | Remove-Job }
    }

    It 'warns with the count when the hub dropped dumplings for Receive-Dumpling under -OverflowPolicy DropOldest' {
        $count = 10000
        $hub = Start-DumplingHub -InPort 0 -OutPort 0 -OverflowPolicy DropOldest -EaterQueueLimit 20 -StatusInterval 0.2 -AsJob
        try {
            $eat = $hub.Info.EaterHub
            # Stalls at the first dumpling until the kitchen is done, so the hub's queue for it overflows.
            $eater = Start-Eater -Hub $eat -Name lossy -Script 'param($Hub, $Name) $first = $true
                Receive-Dumpling -Hub $Hub -EaterName $Name -Chef Flood -Timeout 8 |
                    ForEach-Object { if ($first) { $first = $false; Start-Sleep -Seconds 6 }; $_ } | Measure-Object | ForEach-Object Count'
            Wait-EaterName -Hub $eat -Name lossy
            $pad = 'p' * 8000
            1..$count | ForEach-Object { [pscustomobject]@{ i = $_; pad = $pad } } |
                Send-Dumpling -Hub $hub.Info.KitchenHub -Kitchen flood -Chef Flood

            Wait-Eater $eater
            $received = $eater.Output[0]
            $warnings = @($eater.Streams.Warning | Where-Object Message -like '*dropped*dumplings for this eater*')
            $warnings.Count | Should -BeGreaterThan 0
            $lost = ($warnings | ForEach-Object { [long](($_.Message -replace '^.*dropped ([\d,.]+) dumplings for this eater.*$', '$1') -replace '[,.]', '') } |
                Measure-Object -Sum).Sum
            $lost | Should -BeGreaterThan 0
            $received + $lost | Should -Be $count
            (Get-DumplingHubStatus -Hub $eat).TotalDumplingsDropped | Should -Be $lost
            $eater.Dispose()
        }
        finally { $hub | Stop-Job -PassThru | Remove-Job }
    }
}
