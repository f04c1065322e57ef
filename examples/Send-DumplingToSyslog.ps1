<#
.SYNOPSIS
    Forwards dumplings to another tool: as syslog messages (RFC 5424 over UDP) or as JSON lines on a
    program's standard input.
.DESCRIPTION
    With -Target host:port each dumpling becomes one UDP datagram
    "<134>1 <time> <host> netdumplings - <chef> - <dumpling JSON>" (facility local0, severity info), which
    rsyslog, syslog-ng, Vector, Fluent Bit or a SIEM collector take as they are. With -Command the
    dumplings' JSON lines are piped to that program's standard input instead (e.g. jq). Ends after
    -Count dumplings, after -Timeout seconds without one, or on Ctrl+C, and writes how many it forwarded.
.PARAMETER Hub
    The hub's eater port (host:port). Default localhost:11348.
.PARAMETER Target
    Where to send syslog datagrams: host:port (default 127.0.0.1:514).
.PARAMETER Command
    A program to start and feed JSON lines on its standard input, instead of syslog; its output is written out.
.PARAMETER ArgumentList
    Arguments for -Command.
.PARAMETER Chef
    Only these chefs' dumplings (wildcards allowed).
.PARAMETER Count
    Stop after this many dumplings.
.PARAMETER Timeout
    Stop when no dumpling arrived for this many seconds.
.EXAMPLE
    ./examples/Send-DumplingToSyslog.ps1 -Hub localhost:11348 -Target 127.0.0.1:514 -Chef DNSLookupChef
.EXAMPLE
    ./examples/Send-DumplingToSyslog.ps1 -Command jq -ArgumentList '-c', '.payload' -Count 10
#>
[CmdletBinding(DefaultParameterSetName = 'Syslog')]
param(
    [string] $Hub = 'localhost:11348',
    [Parameter(ParameterSetName = 'Syslog')] [string] $Target = '127.0.0.1:514',
    [Parameter(Mandatory, ParameterSetName = 'Command')] [string] $Command,
    [Parameter(ParameterSetName = 'Command')] [string[]] $ArgumentList = @(),
    [string[]] $Chef,
    [long] $Count,
    [double] $Timeout
)
$ErrorActionPreference = 'Stop'
if (-not (Get-Command Receive-Dumpling -ErrorAction Ignore)) { Import-Module (Join-Path (Split-Path $PSScriptRoot) 'NetDumplings.psd1') }

$receive = @{ Hub = $Hub; EaterName = 'Send-DumplingToSyslog' }
if ($Chef) { $receive.Chef = $Chef }
if ($Count) { $receive.Count = $Count }
if ($Timeout) { $receive.Timeout = $Timeout }
$forwarded = 0

if ($PSCmdlet.ParameterSetName -eq 'Command') {
    $start = [System.Diagnostics.ProcessStartInfo]::new($Command)
    foreach ($a in $ArgumentList) { $start.ArgumentList.Add($a) }
    $start.RedirectStandardInput = $true
    $start.RedirectStandardOutput = $true
    $start.UseShellExecute = $false
    $process = [System.Diagnostics.Process]::Start($start)
    $output = $process.StandardOutput.ReadToEndAsync()
    try {
        Receive-Dumpling @receive -Raw | ForEach-Object { $process.StandardInput.WriteLine($_); $forwarded++ }
    }
    finally {
        $process.StandardInput.Close()
        if (-not $process.WaitForExit(10000)) { $process.Kill() }
        $output.GetAwaiter().GetResult().TrimEnd() -split "`n" | Where-Object { $_ } | Write-Output
        $process.Dispose()
    }
}
else {
    $hostPart, $portPart = $Target -split ':(?=\d+$)'
    $udp = [System.Net.Sockets.UdpClient]::new()
    $udp.Connect($hostPart, [int]$portPart)
    $me = [System.Net.Dns]::GetHostName()
    try {
        Receive-Dumpling @receive | ForEach-Object {
            $time = $_.CreationTime.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ss.ffffffZ')
            $bytes = [Text.Encoding]::UTF8.GetBytes("<134>1 $time $me netdumplings - $($_.Chef) - $($_.Json)")
            [void]$udp.Send($bytes, $bytes.Length)
            $forwarded++
        }
    }
    finally { $udp.Dispose() }
}
Write-Verbose "Forwarded $forwarded dumplings."
