#!/usr/bin/env pwsh
<#
.SYNOPSIS
    The one entry point for building, testing, benchmarking and packaging NetDumplings.
.DESCRIPTION
    Build    compiles the engine and the cmdlets into module/bin, so Import-Module ./NetDumplings.psd1 works.
    Test     builds, runs the xunit tests of the engine and the Pester tests of the module (in a child
             pwsh -NoProfile against the built module) and ends with one line: N passed, N failed, N skipped.
             The capture generators the tests use (tests/NetDumplings.Traffic) are built into out/traffic,
             never into module/bin.
    Bench    builds and runs the benchmark harness under bench/ (Release), printing tables of figures.
    Package  lays out out/module/NetDumplings (a module folder) and out/repo/NetDumplings.<ver>.nupkg,
             which Install-PSResource can install from a local repository.
    Install  packages, then installs the module for the current user so Import-Module NetDumplings works anywhere.
    Demo     builds and runs the demo (hub + kitchen replaying examples/ + eater); added by the demo work.
    Screenshot builds, then makes docs/dashboard.png (the README's picture of the dashboard) from a real
             run: hub, paced replay of examples/demo.pcap, the hub's page in headless chromium.
.EXAMPLE
    dotnet tool restore && dotnet pwsh ./build.ps1 -Task Test
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Bench', 'Package', 'Install', 'Demo', 'Screenshot')]
    [string] $Task = 'Build',

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release',

    # Bench: run only the scenarios whose names match these wildcards.
    [string[]] $Scenario = @('*'),

    # Test: run only Pester files whose names match these wildcards (xunit runs whole unless -SkipXunit).
    [string[]] $PesterFilter = @('*'),
    [switch] $SkipXunit,
    [switch] $SkipPester
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$Root = $PSScriptRoot
$OutDir = Join-Path $Root 'out'
$ModuleBin = Join-Path $Root 'module/bin'
$PesterVersion = '5.7.1'

function Invoke-Native {
    # Runs a native command and stops the build when it fails.
    param([string] $Command, [string[]] $Arguments)
    & $Command @Arguments
    if ($LASTEXITCODE -ne 0) { throw "'$Command $($Arguments -join ' ')' failed with exit code $LASTEXITCODE." }
}

function Test-IsRoot { (Get-Command id -ErrorAction SilentlyContinue) -and ((id -u) -eq '0') }

function Install-DebianPackage {
    <# Installs missing Debian packages when this is root with apt-get; otherwise says what to run.
       -Optional packages only warn: the tests that need them skip with the same advice. #>
    param([string[]] $Name, [switch] $Optional)
    if (-not $IsLinux -or -not (Get-Command dpkg-query -ErrorAction SilentlyContinue)) { return }
    $missing = @($Name | Where-Object {
        # A package dpkg has never heard of prints nothing at all: compare as one string, not as an empty list.
        $status = "$(dpkg-query -W -f '${Status}' $_ 2>$null)"
        $status -notmatch 'install ok installed'
    })
    if (-not $missing) { return }
    if ((Test-IsRoot) -and (Get-Command apt-get -ErrorAction SilentlyContinue)) {
        Write-Host "Installing Debian packages: $($missing -join ', ')"
        $env:DEBIAN_FRONTEND = 'noninteractive'
        & apt-get update -qq | Out-Null
        # Optional ones one at a time: one that cannot be installed must not keep the others away (their tests would skip).
        $batches = [System.Collections.Generic.List[object]]::new()
        if ($Optional) { foreach ($package in $missing) { $batches.Add(@($package)) } } else { $batches.Add(@($missing)) }
        $missing = @(foreach ($batch in $batches) {
            $output = & apt-get install -y -qq @batch 2>&1
            if ($LASTEXITCODE -ne 0) {
                Write-Host "apt-get install $($batch -join ' ') failed: $(($output | Select-Object -Last 3) -join ' / ')"
                $batch
            }
        })
        if (-not $missing) { return }
    }
    $message = "Missing Debian packages: $($missing -join ', '). Install them with: sudo apt-get install -y $($missing -join ' ')"
    if ($Optional) { Write-Warning $message } else { throw $message }
}

function Invoke-Build {
    # libpcap is what SharpPcap loads at run time; reading pcap files needs it too.
    Install-DebianPackage libpcap0.8
    Write-Host "Building NetDumplings ($Configuration) into module/bin"
    $project = "$Root/src/NetDumplings.PowerShell/NetDumplings.PowerShell.csproj"
    Invoke-Native dotnet @('publish', $project, '-c', $Configuration, '-o', $ModuleBin, '--nologo', '-v', 'quiet')
    # The same assemblies ReadyToRun-compiled for linux-x64, which module/NetDumplings.psm1 loads there: a
    # fresh pwsh then starts a kitchen in precompiled code instead of unoptimised JIT code. Measured: the
    # first 1M-packet kitchen run in a fresh pwsh used ~13% less CPU (~18% with the hot loops'
    # AggressiveOptimization). Beside the portable build, not instead of it: an image precompiled for
    # one platform does not load on another. Not self-contained: pwsh brings the runtime.
    Invoke-Native dotnet @('publish', $project, '-c', $Configuration, '-o', (Join-Path $ModuleBin 'linux-x64'), '--nologo', '-v', 'quiet',
        '-r', 'linux-x64', '--self-contained', 'false', '-p:PublishReadyToRun=true')
    # Help is generated from the built cmdlets and their doc comments, in a child pwsh so this
    # process never loads the module (it would lock nothing on Linux, but would go stale).
    & (Join-Path $PSHOME 'pwsh') -NoProfile -NonInteractive -File "$Root/tools/Build-Help.ps1" -ManifestPath "$Root/NetDumplings.psd1" `
        -DocXmlPath "$ModuleBin/NetDumplings.PowerShell.xml" -OutputDirectory "$Root/en-US" -AboutDirectory "$Root/module/en-US"
    if ($LASTEXITCODE -ne 0) { throw 'Generating the help failed.' }
}

function Get-PesterModulePath {
    $packages = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path ([Environment]::GetFolderPath('UserProfile')) '.nuget/packages' }
    $psd1 = Join-Path $packages "pester/$PesterVersion/tools/Pester.psd1"
    if (-not (Test-Path $psd1)) {
        Invoke-Native dotnet @('restore', "$Root/tools/Pester/Pester.csproj", '--nologo', '-v', 'quiet')
    }
    if (-not (Test-Path $psd1)) { throw "Pester $PesterVersion was restored but $psd1 is missing." }
    $psd1
}

function Invoke-XunitTests {
    $results = Join-Path $OutDir 'test'
    $trx = Join-Path $results 'xunit.trx'
    Remove-Item $trx -ErrorAction SilentlyContinue
    & dotnet test "$Root/tests/NetDumplings.Tests/NetDumplings.Tests.csproj" -c $Configuration --nologo `
        --logger 'trx;LogFileName=xunit.trx' --logger 'console;verbosity=normal' --results-directory $results | Out-Host
    if (-not (Test-Path $trx)) {
        $failure = 'xunit: the test run produced no results (build failure?)'
        Write-Host $failure
        return [pscustomobject]@{ Passed = 0; Failed = 1; Skipped = 0; Failures = @($failure) }
    }
    $run = ([xml](Get-Content -Raw $trx)).TestRun
    $counters = $run.ResultSummary.Counters
    # Named again at the end of the run: CI shows only the tail of the log.
    $failures = @($run.Results.UnitTestResult | Where-Object { $_.outcome -ne 'Passed' -and $_.outcome -ne 'NotExecuted' } | ForEach-Object {
        $message = "$($_.Output.ErrorInfo.Message)".Trim() -split "`n" | Select-Object -First 3
        "xunit: $($_.testName): $($message -join ' / ')"
    })
    [pscustomobject]@{
        Passed   = [int]$counters.passed
        Failed   = [int]$counters.failed + [int]$counters.error + [int]$counters.timeout + [int]$counters.aborted
        Skipped  = [int]$counters.total - [int]$counters.executed
        Failures = $failures
    }
}

function Invoke-PesterTests {
    $summary = Join-Path $OutDir 'test/pester-summary.json'
    Remove-Item $summary -ErrorAction SilentlyContinue
    # The capture generators the Pester files load (out/traffic): built here so a compile error stops
    # the run, instead of failing each file's BeforeAll.
    $null = & "$Root/tests/NetDumplings.Traffic/Import-Traffic.ps1" -BuildOnly
    $pwsh = Join-Path $PSHOME 'pwsh'   # under `dotnet pwsh`, the process path is dotnet itself
    # Passed in the environment: pwsh on Unix would expand a '*' argument against the file system.
    $env:ND_PESTER_FILTER = $PesterFilter -join ','
    & $pwsh -NoProfile -NonInteractive -File "$Root/tools/Invoke-PesterTests.ps1" `
        -PesterPath (Get-PesterModulePath) -TestPath "$Root/tests" -SummaryPath $summary | Out-Host
    if (-not (Test-Path $summary)) {
        $failure = 'Pester: the run ended before writing its summary'
        Write-Host $failure
        return [pscustomobject]@{ Passed = 0; Failed = 1; Skipped = 0; Failures = @($failure) }
    }
    Get-Content -Raw $summary | ConvertFrom-Json
}

function Invoke-Test {
    Invoke-Build
    # Optional peers for compatibility, capture and decoding tests (tshark is the reference dissector),
    # the browser the dashboard tests drive, and the nats-server the mesh tests start; tests skip with
    # advice when absent.
    Install-DebianPackage -Optional python3-websockets, tcpreplay, iproute2, tshark, chromium, nats-server
    $parts = @()
    if (-not $SkipXunit) { $parts += Invoke-XunitTests }
    if (-not $SkipPester) { $parts += Invoke-PesterTests }
    $passed = ($parts | Measure-Object Passed -Sum).Sum
    $failed = ($parts | Measure-Object Failed -Sum).Sum
    $skipped = ($parts | Measure-Object Skipped -Sum).Sum
    Write-Host ''
    $failures = @($parts | ForEach-Object { $_.Failures } | Where-Object { $_ })
    if ($failures) {
        Write-Host 'Failed:'
        $failures | Select-Object -First 20 | ForEach-Object { Write-Host "  $_" }
    }
    Write-Host "$passed passed, $failed failed, $skipped skipped"
    if ($failed -gt 0 -or $passed -eq 0) { exit 1 }
}

function Invoke-Bench {
    Invoke-Build
    # Scenario wildcards go in the environment: pwsh on Unix would expand a '*' argument against the file system.
    $env:ND_BENCH_SCENARIO = $Scenario -join ','
    Invoke-Native dotnet @('run', '--project', "$Root/bench/NetDumplings.Bench/NetDumplings.Bench.csproj", '-c', 'Release',
        '--', '--module', "$Root/NetDumplings.psd1")
}

function Invoke-Package {
    Invoke-Build
    $manifest = Import-PowerShellDataFile "$Root/NetDumplings.psd1"
    $moduleDir = Join-Path $OutDir 'module/NetDumplings'
    $repoDir = Join-Path $OutDir 'repo'
    Remove-Item $moduleDir, $repoDir -Recurse -Force -ErrorAction SilentlyContinue
    New-Item -ItemType Directory -Force -Path "$moduleDir/module", $repoDir | Out-Null
    Copy-Item "$Root/NetDumplings.psd1", "$Root/README.md" $moduleDir
    Copy-Item "$Root/en-US" $moduleDir -Recurse
    Copy-Item "$Root/module/*" "$moduleDir/module" -Recurse -Exclude 'obj', 'en-US'
    # The examples the help and about_NetDumplings use: (Get-Module NetDumplings).ModuleBase/examples.
    # New-DemoCapture.ps1 needs the test support of a clone, so it stays there.
    Copy-Item "$Root/examples" $moduleDir -Recurse -Exclude 'New-DemoCapture.ps1'
    if (Test-Path "$Root/LICENSE") { Copy-Item "$Root/LICENSE" $moduleDir }
    Compress-PSResource -Path $moduleDir -DestinationPath $repoDir
    $nupkg = Get-ChildItem $repoDir -Filter '*.nupkg' | Select-Object -First 1
    if (-not $nupkg) { throw "Compress-PSResource made no .nupkg in $repoDir." }
    Write-Host "Module folder: $moduleDir"
    Write-Host "Package:       $($nupkg.FullName) (version $($manifest.ModuleVersion))"
    $nupkg
}

function Invoke-Install {
    $nupkg = Invoke-Package
    $repoName = 'NetDumplingsLocal'
    if (Get-PSResourceRepository -Name $repoName -ErrorAction SilentlyContinue) { Unregister-PSResourceRepository -Name $repoName }
    Register-PSResourceRepository -Name $repoName -Uri $nupkg.DirectoryName -Trusted
    try {
        Install-PSResource -Name NetDumplings -Repository $repoName -Scope CurrentUser -Reinstall -TrustRepository
    }
    finally { Unregister-PSResourceRepository -Name $repoName }
    Write-Host 'Installed. In any pwsh: Import-Module NetDumplings'
}

function Invoke-Demo {
    Invoke-Build
    $demo = Join-Path $Root 'examples/Start-Demo.ps1'
    if (-not (Test-Path $demo)) { throw "The demo script $demo is not there yet." }
    & (Join-Path $PSHOME 'pwsh') -NoProfile -File $demo -ModulePath "$Root/NetDumplings.psd1"
    if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
}

function Invoke-Screenshot {
    Invoke-Build
    Install-DebianPackage chromium
    & (Join-Path $PSHOME 'pwsh') -NoProfile -NonInteractive -File "$Root/tools/New-DashboardScreenshot.ps1"
    if ($LASTEXITCODE -ne 0) { throw 'Making the dashboard screenshot failed.' }
}

switch ($Task) {
    'Build' { Invoke-Build }
    'Test' { Invoke-Test }
    'Bench' { Invoke-Bench }
    'Package' { Invoke-Package | Out-Null }
    'Install' { Invoke-Install }
    'Demo' { Invoke-Demo }
    'Screenshot' { Invoke-Screenshot }
}
