<#
.SYNOPSIS
    The first kitchen run in fresh pwsh processes against later runs in the same process: packets/s,
    process CPU and JIT work per run. Compares module builds (e.g. before and after a change) by
    interleaving their processes, so load on a shared machine falls on both alike.
.EXAMPLE
    ./bench/Measure-FreshKitchen.ps1 -ModulePath ./NetDumplings.psd1, ../old/NetDumplings.psd1 -Path big.pcap -Hub 127.0.0.1:11347
    ./bench/Measure-FreshKitchen.ps1 -ModulePath ./NetDumplings.psd1 -Path big.pcap -Hub 127.0.0.1:11347 -Chef (Get-DumplingChef).Name
    With -Hub the kitchen sends to that hub (start one first: Start-DumplingHub -Address 127.0.0.1);
    without it, Start-DumplingKitchen -NoHub | Measure-Object. A capture: tests/NetDumplings.Traffic
    ([NetDumplings.Traffic.PcapGenerator]::WriteMixed(path, 1000000, 42, $null, $null)).
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string[]] $ModulePath,
    [Parameter(Mandatory)] [string] $Path,
    [string] $Hub,
    # Chefs to cook with (default: the kitchen's own default chefs), e.g. all seven built-in ones.
    [string[]] $Chef,
    [ValidateRange(1, 50)] [int] $Processes = 5,
    [ValidateRange(1, 10)] [int] $Runs = 3
)
$ErrorActionPreference = 'Stop'
$Path = (Resolve-Path $Path).Path
$pwsh = Join-Path $PSHOME 'pwsh'
# One child: imports, then runs the kitchen $Runs times, one line of figures a run.
$child = {
    param($module, $capture, $hub, $runs, $chefs)
    $chefArgs = @{}
    if ($chefs) { $chefArgs.Chef = $chefs.Split(',') }
    $clock = [Diagnostics.Stopwatch]::StartNew()
    Import-Module $module
    "IMPORT $($clock.Elapsed.TotalSeconds)"
    $me = [Diagnostics.Process]::GetCurrentProcess()
    for ($i = 0; $i -lt $runs; $i++) {
        $jit = [System.Runtime.JitInfo]::GetCompilationTime().TotalMilliseconds
        $methods = [System.Runtime.JitInfo]::GetCompiledMethodCount()
        $me.Refresh(); $cpu = $me.TotalProcessorTime.TotalMilliseconds
        $clock.Restart()
        $lost = 0
        if ($hub) { $s = Start-DumplingKitchen -Path $capture -Hub $hub -Filter '' @chefArgs -WarningAction SilentlyContinue; $lost = $s.DumplingsMade - $s.DumplingsSent }
        else { $null = Start-DumplingKitchen -Path $capture -NoHub -Filter '' @chefArgs | Measure-Object }
        $seconds = $clock.Elapsed.TotalSeconds
        $me.Refresh()
        'RUN {0} {1} {2} {3} {4}' -f (1e6 / $seconds), ($me.TotalProcessorTime.TotalMilliseconds - $cpu),
            ([System.Runtime.JitInfo]::GetCompilationTime().TotalMilliseconds - $jit), ([System.Runtime.JitInfo]::GetCompiledMethodCount() - $methods), $lost
    }
}
$results = @{}
foreach ($p in 1..$Processes) {
    foreach ($module in $ModulePath) {
        $lines = & $pwsh -NoProfile -NonInteractive -Command $child -args (Resolve-Path $module).Path, $Path, $Hub, $Runs, ($Chef -join ',')
        $n = 0
        foreach ($line in $lines | Where-Object { $_ -like 'RUN *' }) {
            $f = $line.Split(' ')
            $results[$module] += @([pscustomobject]@{ First = ($n++ -eq 0); Rate = [double]$f[1]; CpuMs = [double]$f[2]; JitMs = [double]$f[3]; Methods = [int]$f[4]; Lost = [long]$f[5] })
        }
    }
}
function Get-Median([double[]] $values) { if (-not $values) { return [double]::NaN }; $s = $values | Sort-Object; $s[[int][math]::Floor(($s.Count - 1) / 2)] }
foreach ($module in $ModulePath) {
    foreach ($first in $true, $false) {
        $rows = @($results[$module] | Where-Object First -eq $first)
        if (-not $rows) { continue }
        [pscustomobject]@{
            Module          = $module
            Run             = if ($first) { 'first (fresh process)' } else { 'later (same process)' }
            Runs            = $rows.Count
            'Packets/s'     = [math]::Round((Get-Median $rows.Rate))
            'CPU ms'        = [math]::Round((Get-Median $rows.CpuMs))
            'JIT ms'        = [math]::Round((Get-Median $rows.JitMs))
            'Methods JITed' = [math]::Round((Get-Median $rows.Methods))
            'Runs not all delivered' = @($rows | Where-Object Lost -gt 0).Count
        }
    }
}
