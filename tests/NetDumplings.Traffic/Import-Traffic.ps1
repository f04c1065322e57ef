<#
.SYNOPSIS
    Loads the capture generators ([NetDumplings.Traffic.PcapGenerator], DemoCaptureGenerator,
    PcapFileWriter) into this session, building them into out/traffic first when needed.
.DESCRIPTION
    The generators are test and demo support, not part of the module, so they are not in module/bin.
    The Pester tests, examples/New-DemoCapture.ps1 and the bench's scriptchef scenario all load them
    through this script. It builds tests/NetDumplings.Traffic into out/traffic when the assembly is
    missing or older than its sources; build.ps1 -Task Test builds it up front with -BuildOnly.

    Import NetDumplings first: the generators use the PacketDotNet that ships beside the engine, so
    that the module under test runs with its own copy (out/traffic holds no PacketDotNet).
.PARAMETER BuildOnly
    Build (incrementally) and return the assembly's path without loading it.
.EXAMPLE
    Import-Module ./NetDumplings.psd1; & ./tests/NetDumplings.Traffic/Import-Traffic.ps1
    [NetDumplings.Traffic.PcapGenerator]::WriteMixed("$PWD/mixed.pcap", 1000, 1, $null, $null)
#>
[CmdletBinding()]
param([switch] $BuildOnly)

$ErrorActionPreference = 'Stop'
$project = Join-Path $PSScriptRoot 'NetDumplings.Traffic.csproj'
$outDir = Join-Path (Split-Path (Split-Path $PSScriptRoot)) 'out/traffic'
$assembly = Join-Path $outDir 'NetDumplings.Traffic.dll'

# Loaded already (a second test file in the same run): the type is there, and a rebuild now could not replace it.
if (-not $BuildOnly -and ('NetDumplings.Traffic.PcapGenerator' -as [type])) { return }

$stale = -not (Test-Path $assembly)
if (-not $stale) {
    $built = (Get-Item $assembly).LastWriteTimeUtc
    $stale = [bool](Get-ChildItem $PSScriptRoot -File -Include '*.cs', '*.csproj' -Recurse |
        Where-Object { $_.FullName -notmatch '[\\/](bin|obj)[\\/]' -and $_.LastWriteTimeUtc -gt $built })
}
if ($BuildOnly -or $stale) {
    $output = & dotnet build $project -c Release -o $outDir --nologo -v quiet 2>&1
    if ($LASTEXITCODE -ne 0) { throw "Building $project failed:`n$($output -join "`n")" }
}
if ($BuildOnly) { return $assembly }

$engine = 'NetDumplings.Dumpling' -as [type]
if (-not $engine) { throw 'Import the NetDumplings module before loading the traffic generators: they use its PacketDotNet.' }
Add-Type -Path (Join-Path (Split-Path $engine.Assembly.Location) 'PacketDotNet.dll')
Add-Type -Path $assembly
