<#
.SYNOPSIS
    Makes the README's dashboard screenshot from a real run: a hub, a kitchen replaying
    examples/demo.pcap paced by its timestamps, and the hub's own dashboard in headless chromium.
.DESCRIPTION
    build.ps1 -Task Screenshot runs it after building. Everything runs on free ports of 127.0.0.1 and
    is stopped at the end; the picture is taken part-way through the replay, so the rate chart has a
    line and the hub still lists the kitchen.
.PARAMETER Path
    Where to write the PNG (default: docs/dashboard.png in the repository).
.PARAMETER Seconds
    How long the replay runs before the picture is taken (default 14; the capture lasts about 20).
.EXAMPLE
    dotnet pwsh ./build.ps1 -Task Screenshot
#>
[CmdletBinding()]
param(
    [string] $Path = (Join-Path (Split-Path $PSScriptRoot) 'docs/dashboard.png'),
    [double] $Seconds = 14
)
$ErrorActionPreference = 'Stop'
$root = Split-Path $PSScriptRoot
Import-Module (Join-Path $root 'NetDumplings.psd1')
Import-Module (Join-Path $PSScriptRoot 'HeadlessBrowser.psm1')
if (-not (Find-Chromium)) { throw 'chromium is not installed: apt-get install -y chromium (as root).' }

$hub = Start-DumplingHub -Address 127.0.0.1 -InPort 0 -OutPort 0 -StatusInterval 1 -AsJob
$kitchen = $null
$browser = $null
try {
    $browser = Start-HeadlessBrowser -Width 1280 -Height 900
    Open-BrowserPage $browser $hub.Info.Dashboard
    $null = Wait-BrowserScript $browser "document.querySelector('#eaters tr.self') !== null" -Seconds 20 -What 'the page to connect'
    $kitchen = Start-DumplingKitchen -Path (Join-Path $root 'examples/demo.pcap') -Paced -Hub $hub.Info.KitchenHub -Name home_router `
        -Chef DNSLookupChef, ARPChef, PacketCountChef, ServerNameChef -ChefPath (Join-Path $root 'examples/ServerNameChef.cs') -PokeInterval 1 -AsJob
    Start-Sleep -Seconds $Seconds
    $shot = Save-BrowserScreenshot $browser $Path -FullPage
    if ($browser.Errors.Count) { Write-Warning "The page reported: $($browser.Errors -join '; ')" }
    Write-Host "Dashboard screenshot: $($shot.FullName) ($([math]::Round($shot.Length / 1KB)) KiB)"
}
finally {
    Stop-HeadlessBrowser $browser
    foreach ($job in @($kitchen, $hub)) {
        if ($job) { $job | Stop-Job -ErrorAction SilentlyContinue; $job | Remove-Job -Force -ErrorAction SilentlyContinue }
    }
}
