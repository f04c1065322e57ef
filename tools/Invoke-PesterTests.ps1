<#
.SYNOPSIS
    Runs the module's Pester tests in this (child, -NoProfile) pwsh and writes the counts as JSON.
    build.ps1 -Task Test calls it; the built module is imported by each test file from the repo root.
#>
param(
    [Parameter(Mandatory)] [string] $PesterPath,
    [Parameter(Mandatory)] [string] $TestPath,
    [Parameter(Mandatory)] [string] $SummaryPath,
    # Comma-separated file-name wildcards; build.ps1 passes them in ND_PESTER_FILTER.
    [string] $Filter = $(if ($env:ND_PESTER_FILTER) { $env:ND_PESTER_FILTER } else { '*' })
)
$ErrorActionPreference = 'Stop'
Import-Module $PesterPath -Force

$files = @(Get-ChildItem -Path $TestPath -Filter '*.Tests.ps1' -Recurse |
    Where-Object { $name = $_.Name; @($Filter.Split(",") | Where-Object { $name -like $_ -or $name -like "$_.Tests.ps1" }).Count -gt 0 })

$config = New-PesterConfiguration
$config.Run.Path = if ($files) { [string[]]$files.FullName } else { @() }
$config.Run.PassThru = $true
$config.Run.Exit = $false
$config.Output.Verbosity = 'Detailed'
$config.Output.RenderMode = 'Plaintext'
$config.Output.StackTraceVerbosity = 'Filtered'
$config.Should.ErrorAction = 'Stop'

$result = if ($files) { Invoke-Pester -Configuration $config } else { $null }
$summary = [ordered]@{
    Passed  = if ($result) { $result.PassedCount } else { 0 }
    # A file that fails to load or a failed BeforeAll counts too: its tests never ran.
    Failed  = if ($result) { $result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount } else { 0 }
    Skipped = if ($result) { $result.SkippedCount + $result.NotRunCount } else { 0 }
    # Named again at the end of the run by build.ps1: CI shows only the tail of the log.
    Failures = @(if ($result) {
        $result.Failed | ForEach-Object { "Pester: $($_.ExpandedPath): $("$($_.ErrorRecord | Select-Object -First 1)".Trim() -split "`n" | Select-Object -First 2)" }
        $result.FailedBlocks | ForEach-Object { "Pester: $($_.ExpandedPath) (block): $("$($_.ErrorRecord | Select-Object -First 1)".Trim() -split "`n" | Select-Object -First 2)" }
        $result.FailedContainers | ForEach-Object { "Pester: $($_.Item) (file): $("$($_.ErrorRecord | Select-Object -First 1)".Trim() -split "`n" | Select-Object -First 2)" }
    })
}
New-Item -ItemType Directory -Force -Path (Split-Path $SummaryPath) | Out-Null
$summary | ConvertTo-Json | Set-Content -Path $SummaryPath
Write-Host "Pester: $($summary.Passed) passed, $($summary.Failed) failed, $($summary.Skipped) skipped"
