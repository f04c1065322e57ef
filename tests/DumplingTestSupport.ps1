# Helpers for the Receive-Dumpling / Send-Dumpling Pester files: a real hub on free loopback ports,
# kitchens that feed it from thread jobs, and a look at the sockets left open. Dot-source it.

function Start-TestHub {
    # Returns the running hub; its ports are read back from the bound endpoints (never fixed).
    $options = [NetDumplings.Hub.DumplingHubOptions]@{ Address = '127.0.0.1'; InPort = 0; OutPort = 0 }
    $hub = [NetDumplings.Hub.DumplingHub]::new($options)
    # An async Task is a Task<VoidTaskResult> at run time: PowerShell would output that result.
    $null = $hub.StartAsync().GetAwaiter().GetResult()
    $hub
}

function Start-TestFeeder {
    <# A kitchen in a thread job: sends {"n": i} every -IntervalMs through Send-Dumpling, for at
       most -Total dumplings (so at most ~30 s), until the job is stopped. It keeps sending because
       an eater only gets what the hub receives after the eater announced itself. #>
    param(
        [Parameter(Mandatory)] [int] $InPort,
        [string] $Chef = 'TestChef',
        [string] $Kitchen = 'test_kitchen',
        [string] $Driver = 'Packet',
        [int] $IntervalMs = 20,
        [int] $Total = 1500
    )
    Start-ThreadJob -ArgumentList $RepoRoot, $InPort, $Chef, $Kitchen, $Driver, $IntervalMs, $Total -ScriptBlock {
        param($root, $port, $chef, $kitchen, $driver, $interval, $total)
        Import-Module "$root/NetDumplings.psd1"
        & { for ($i = 0; $i -lt $total; $i++) { [pscustomobject]@{ n = $i }; Start-Sleep -Milliseconds $interval } } |
            Send-Dumpling -Hub "127.0.0.1:$port" -Chef $chef -Kitchen $kitchen -Driver $driver
    }
}

function Get-EstablishedConnection {
    # Established TCP connections to a local port, as ss sees them (client side: dport).
    param([Parameter(Mandatory)] [int] $Port)
    @(ss -tnH state established "( dport = :$Port )" | Where-Object { $_ -match '\S' })
}

function Wait-Until {
    # Polls a condition for at most -Seconds; returns whether it became true.
    param([Parameter(Mandatory)] [scriptblock] $Condition, [double] $Seconds = 20)
    $deadline = [DateTime]::UtcNow.AddSeconds($Seconds)
    while ([DateTime]::UtcNow -lt $deadline) {
        if (& $Condition) { return $true }
        Start-Sleep -Milliseconds 50
    }
    [bool](& $Condition)
}

function Get-FreeTcpPort {
    # A port that was free a moment ago and has nobody listening now.
    $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
    $listener.Start()
    try { $listener.LocalEndpoint.Port } finally { $listener.Stop() }
}
