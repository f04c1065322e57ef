<#
.SYNOPSIS
    A live top-N table of the DNS names looked up, from DNSLookupChef's dumplings.
.DESCRIPTION
    Eats DNSLookupChef's packet dumplings from a hub and redraws a table of the most looked-up names
    every -RefreshSeconds. When it stops (after -Count dumplings, after -Timeout seconds without one,
    or on Ctrl+C) it writes the final table as objects (Hostname, Lookups, Latest).
.PARAMETER Hub
    The hub's eater port (host:port). Default localhost:11348.
.PARAMETER Top
    How many names the table shows (default 10).
.PARAMETER Count
    Stop after this many lookups (default: run until stopped).
.PARAMETER Timeout
    Stop when no lookup arrived for this many seconds (default: wait for ever).
.PARAMETER RefreshSeconds
    Seconds between redraws (default 1).
.PARAMETER NoRedraw
    Do not draw the live table (only the final objects), e.g. when the output goes to a file.
.EXAMPLE
    ./examples/Show-DnsTop.ps1 -Hub localhost:11348 -Top 15
.EXAMPLE
    ./examples/Show-DnsTop.ps1 -Hub 127.0.0.1:11348 -Count 100 -NoRedraw | Export-Csv top.csv
#>
[CmdletBinding()]
param(
    [string] $Hub = 'localhost:11348',
    [ValidateRange(1, 1000)] [int] $Top = 10,
    [long] $Count,
    [double] $Timeout,
    [double] $RefreshSeconds = 1,
    [switch] $NoRedraw
)
$ErrorActionPreference = 'Stop'
if (-not (Get-Command Receive-Dumpling -ErrorAction Ignore)) { Import-Module (Join-Path (Split-Path $PSScriptRoot) 'NetDumplings.psd1') }

$table = @{}
$lastDraw = [Diagnostics.Stopwatch]::StartNew()
$receive = @{ Hub = $Hub; Chef = 'DNSLookupChef'; Driver = 'Packet'; EaterName = 'Show-DnsTop' }
if ($Count) { $receive.Count = $Count }
if ($Timeout) { $receive.Timeout = $Timeout }

function Get-TopRows {
    $table.GetEnumerator() | Sort-Object { $_.Value.Lookups }, { $_.Value.Latest } -Descending | Select-Object -First $Top |
        ForEach-Object { [pscustomobject]@{ Hostname = $_.Key; Lookups = $_.Value.Lookups; Latest = $_.Value.Latest } }
}

try {
    Receive-Dumpling @receive | ForEach-Object {
        $lookup = $_.Payload.lookup
        if (-not $lookup) { return }
        $row = $table[$lookup.hostname]
        if (-not $row) { $row = $table[$lookup.hostname] = @{ Lookups = 0; Latest = $null } }
        $row.Lookups++
        $row.Latest = [DateTimeOffset]::FromUnixTimeMilliseconds([long]($lookup.when * 1000)).ToLocalTime().ToString('HH:mm:ss')
        if (-not $NoRedraw -and $lastDraw.Elapsed.TotalSeconds -ge $RefreshSeconds) {
            $lastDraw.Restart()
            $text = Get-TopRows | Format-Table -AutoSize | Out-String
            if (-not [Console]::IsOutputRedirected) { Clear-Host }
            Write-Host "Top $Top DNS names ($($table.Count) names, $(($table.Values.Lookups | Measure-Object -Sum).Sum) lookups)  $(Get-Date -Format HH:mm:ss)"
            Write-Host $text.TrimEnd()
        }
    }
}
finally {
    Get-TopRows
}
