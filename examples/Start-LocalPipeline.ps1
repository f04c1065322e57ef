<#
.SYNOPSIS
    Hub, kitchen and eater on one host: the whole pipeline in one command, writing the dumplings as
    objects.
.DESCRIPTION
    Starts a hub (-AsJob) on 127.0.0.1, connects Receive-Dumpling to it, then starts a kitchen (-AsJob)
    that reads -Path capture files or sniffs -Interface with the -Chef chefs (and the chefs in
    -ChefPath), and writes each dumpling to the pipeline as it arrives. Stops after -Count dumplings,
    when the kitchen has finished a file and the hub has forwarded all it made, or on Ctrl+C; the hub
    and kitchen jobs are stopped and removed in every case.
.PARAMETER Path
    Capture files to replay (default: demo.pcap beside this script).
.PARAMETER Interface
    Interfaces to sniff instead of files (needs root or CAP_NET_RAW).
.PARAMETER Paced
    Replay files at the speed they were captured.
.PARAMETER Chef
    Chefs (names or New-DumplingChef objects). Default: the three sample chefs.
.PARAMETER ChefPath
    C# chef files or assemblies to load as well.
.PARAMETER Count
    Stop after this many dumplings (the hub's status dumplings are not written or counted).
.PARAMETER PokeInterval
    Seconds between interval dumplings (default 5).
.PARAMETER Port
    The hub's in-port; the out-port is the next one. Default 0: free ports.
.EXAMPLE
    ./examples/Start-LocalPipeline.ps1 | Group-Object Chef
.EXAMPLE
    ./examples/Start-LocalPipeline.ps1 -ChefPath ./examples/ServerNameChef.cs -Chef ServerNameChef | ForEach-Object { $_.Payload.server_name.name }
.EXAMPLE
    sudo pwsh ./examples/Start-LocalPipeline.ps1 -Interface eth0 -Count 50
#>
[CmdletBinding(DefaultParameterSetName = 'File')]
[OutputType('NetDumplings.Dumpling')]
param(
    [Parameter(ParameterSetName = 'File')] [string[]] $Path = (Join-Path $PSScriptRoot 'demo.pcap'),
    [Parameter(ParameterSetName = 'File')] [switch] $Paced,
    [Parameter(Mandatory, ParameterSetName = 'Live')] [string[]] $Interface,
    [object[]] $Chef = @('PacketCountChef', 'DNSLookupChef', 'ARPChef'),
    [string[]] $ChefPath,
    [long] $Count,
    [double] $PokeInterval = 5,
    [int] $Port = 0
)
$ErrorActionPreference = 'Stop'
if (-not (Get-Command Start-DumplingHub -ErrorAction Ignore)) { Import-Module (Join-Path (Split-Path $PSScriptRoot) 'NetDumplings.psd1') }

$hub = Start-DumplingHub -Address 127.0.0.1 -InPort $Port -OutPort ($Port ? $Port + 1 : 0) -StatusInterval 0.5 -AsJob
$kitchen = $null
try {
    $kitchenArgs = @{ Hub = $hub.Info.KitchenHub; Chef = $Chef; PokeInterval = $PokeInterval; AsJob = $true }
    if ($ChefPath) { $kitchenArgs.ChefPath = $ChefPath }
    if ($Interface) { $kitchenArgs.Interface = $Interface } else { $kitchenArgs.Path = $Path; $kitchenArgs.Paced = $Paced }
    $written = 0
    $kitchenGone = $false
    # Dumplings go to this script's output ($PSCmdlet.WriteObject); only the 'done' mark goes down the
    # inner pipeline, where Select-Object -First 1 ends the eater.
    Receive-Dumpling -Hub $hub.Info.EaterHub -EaterName Start-LocalPipeline | ForEach-Object {
        # The hub's first status dumpling says the eater is in: start the kitchen then, so none is missed.
        if ($null -eq $kitchen) { $kitchen = Start-DumplingKitchen @kitchenArgs }
        if ($_.Chef -eq 'SystemStatusChef') {
            # A status made after the kitchen left comes after everything the kitchen sent.
            if ($kitchenGone -and $_.Payload.dumpling_kitchen_count -eq 0) { 'done' }
            if ($kitchen.State -in 'Completed', 'Failed', 'Stopped') { $kitchenGone = $true }
            return
        }
        $PSCmdlet.WriteObject($_)
        if ($Count -and ++$written -ge $Count) { 'done' }
    } | Select-Object -First 1 | Out-Null
}
finally {
    foreach ($job in @($kitchen, $hub)) {
        if ($job) { $job | Stop-Job -ErrorAction SilentlyContinue; $job | Remove-Job -Force -ErrorAction SilentlyContinue }
    }
}
