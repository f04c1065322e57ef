<#
.SYNOPSIS
    Regenerates examples/demo.pcap, the capture the demo and the examples replay.
.DESCRIPTION
    The capture is made by the repository's DemoCaptureGenerator (tests/NetDumplings.Traffic, built into
    out/traffic on first use; no download, no live network): about twenty seconds of a small home
    network (ARP for the gateway, DNS lookups and answers, HTTP requests with a Host header, TLS
    ClientHellos with a server name, TCP data and UDP flows). The same -Seed always writes the same
    bytes, so the committed file can be checked against a fresh one. Run it from a clone of the
    repository: the generator is not part of the installed module.
.PARAMETER Path
    Where to write the capture (default: demo.pcap beside this script).
.PARAMETER ModulePath
    The NetDumplings manifest to load (default: the repository's NetDumplings.psd1).
.PARAMETER Seed
    The random seed; 7 makes the committed file.
.EXAMPLE
    dotnet pwsh ./examples/New-DemoCapture.ps1
    Writes examples/demo.pcap and prints what it holds.
#>
[CmdletBinding()]
param(
    [string] $Path = (Join-Path $PSScriptRoot 'demo.pcap'),
    [string] $ModulePath = (Join-Path (Split-Path $PSScriptRoot) 'NetDumplings.psd1'),
    [int] $Seed = 7
)
$ErrorActionPreference = 'Stop'
Import-Module $ModulePath
& (Join-Path (Split-Path $PSScriptRoot) 'tests/NetDumplings.Traffic/Import-Traffic.ps1')
$full = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($Path)
$summary = [NetDumplings.Traffic.DemoCaptureGenerator]::Write($full, $Seed, 20)
[pscustomobject]@{
    Path           = $full
    Packets        = $summary.Packets
    Seconds        = [math]::Round(($summary.LastTime - $summary.FirstTime).TotalSeconds, 1)
    DnsQueries     = ($summary.DnsQueries.Values | Measure-Object -Sum).Sum
    Arp            = $summary.ArpRequests + $summary.ArpReplies
    TlsServerNames = ($summary.TlsServerNames.Keys | Sort-Object) -join ', '
    HttpHosts      = ($summary.HttpHosts.Keys | Sort-Object) -join ', '
}
