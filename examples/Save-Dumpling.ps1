<#
.SYNOPSIS
    Writes the dumplings a hub sends to a JSON-lines file or a CSV file.
.DESCRIPTION
    JSON lines (the default, *.jsonl): one dumpling per line exactly as the hub sent it; read it back
    with Get-Content file.jsonl | ConvertFrom-DumplingJson. CSV: one row per dumpling with Time,
    Kitchen, Chef, Driver and the payload as JSON text, for spreadsheets. Each line is written as it
    arrives (the file is usable while the script runs). Ends after -Count dumplings, after -Timeout
    seconds without one, or on Ctrl+C; returns the file.
.PARAMETER Hub
    The hub's eater port (host:port). Default localhost:11348.
.PARAMETER Path
    The file to write (created or overwritten).
.PARAMETER Format
    JsonLines or Csv. Default: Csv for a .csv path, JsonLines otherwise.
.PARAMETER Chef
    Only these chefs' dumplings (wildcards allowed).
.PARAMETER Count
    Stop after this many dumplings.
.PARAMETER Timeout
    Stop when no dumpling arrived for this many seconds.
.EXAMPLE
    ./examples/Save-Dumpling.ps1 -Hub localhost:11348 -Path dns.jsonl -Chef DNSLookupChef -Count 1000
.EXAMPLE
    ./examples/Save-Dumpling.ps1 -Path arp.csv -Chef ARPChef -Timeout 60; Import-Csv arp.csv | Format-Table
#>
[CmdletBinding()]
param(
    [string] $Hub = 'localhost:11348',
    [Parameter(Mandatory)] [string] $Path,
    [ValidateSet('JsonLines', 'Csv')] [string] $Format,
    [string[]] $Chef,
    [long] $Count,
    [double] $Timeout
)
$ErrorActionPreference = 'Stop'
if (-not (Get-Command Receive-Dumpling -ErrorAction Ignore)) { Import-Module (Join-Path (Split-Path $PSScriptRoot) 'NetDumplings.psd1') }
if (-not $Format) { $Format = if ($Path -like '*.csv') { 'Csv' } else { 'JsonLines' } }
$full = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($Path)

$receive = @{ Hub = $Hub; EaterName = 'Save-Dumpling' }
if ($Chef) { $receive.Chef = $Chef }
if ($Count) { $receive.Count = $Count }
if ($Timeout) { $receive.Timeout = $Timeout }

$writer = [System.IO.StreamWriter]::new($full, $false, [System.Text.UTF8Encoding]::new($false))
$writer.AutoFlush = $true
try {
    if ($Format -eq 'JsonLines') {
        Receive-Dumpling @receive -Raw | ForEach-Object { $writer.WriteLine($_) }
    }
    else {
        $header = $true
        Receive-Dumpling @receive | ForEach-Object {
            $row = [pscustomobject]@{
                Time = $_.CreationTime.ToString('o'); Kitchen = $_.Kitchen; Chef = $_.Chef; Driver = $_.Driver; Payload = $_.PayloadJson
            }
            $lines = $row | ConvertTo-Csv -NoTypeInformation
            if ($header) { $writer.WriteLine($lines[0]); $header = $false }
            $writer.WriteLine($lines[1])
        }
    }
}
finally { $writer.Dispose() }
Get-Item -LiteralPath $full
