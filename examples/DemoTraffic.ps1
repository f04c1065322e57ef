<#
.SYNOPSIS
    Makes a little traffic on 127.0.0.1 for the live demo and tests: DNS queries over UDP to port 53
    and plain HTTP requests to a listener of its own. Nothing leaves the host; every loop is bounded.
.EXAMPLE
    . ./examples/DemoTraffic.ps1; Start-DemoTraffic -Seconds 5 | Wait-Job | Receive-Job
#>

function New-DnsQueryBytes([string] $Hostname, [uint16] $Id = 1) {
    # A standard query (recursion desired) for an A record.
    $bytes = [System.Collections.Generic.List[byte]]::new()
    $bytes.AddRange([byte[]]@(($Id -shr 8), ($Id -band 0xff), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0))
    foreach ($label in $Hostname.TrimEnd('.').Split('.')) {
        $bytes.Add([byte]$label.Length)
        $bytes.AddRange([Text.Encoding]::ASCII.GetBytes($label))
    }
    $bytes.AddRange([byte[]]@(0, 0, 1, 0, 1))
    , $bytes.ToArray()
}

function Start-DemoTraffic {
    # A thread job that, over -Seconds, sends -Queries DNS queries to 127.0.0.1:53 and an HTTP request
    # with a Host header to a TcpListener it opens on a free loopback port.
    param([double] $Seconds = 10, [int] $Queries = 8,
        [string[]] $Hostname = @('example.com', 'www.wikipedia.org', 'api.github.com', 'deb.debian.org'))
    $queryBytes = @(for ($i = 0; $i -lt $Queries; $i++) { , (New-DnsQueryBytes $Hostname[$i % $Hostname.Count] ([uint16](100 + $i))) })
    Start-ThreadJob -Name DemoTraffic {
        $names = $using:Hostname
        $queries = $using:queryBytes
        $udp = [System.Net.Sockets.UdpClient]::new()
        $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $listener.Start()
        try {
            $pause = [int](1000 * $using:Seconds / ($queries.Count + 1))
            $i = 0
            foreach ($query in $queries) {
                Start-Sleep -Milliseconds $pause
                [void]$udp.Send($query, $query.Length, '127.0.0.1', 53)
                if ($i++ % 4 -eq 0) {
                    $client = [System.Net.Sockets.TcpClient]::new('127.0.0.1', $listener.LocalEndpoint.Port)
                    $server = $listener.AcceptTcpClient()
                    $request = [Text.Encoding]::ASCII.GetBytes("GET / HTTP/1.1`r`nHost: $($names[$i % $names.Count])`r`n`r`n")
                    $client.GetStream().Write($request, 0, $request.Length)
                    Start-Sleep -Milliseconds 50
                    $client.Dispose(); $server.Dispose()
                }
            }
            Start-Sleep -Milliseconds $pause
            "sent $($queries.Count) DNS queries"
        }
        finally { $udp.Dispose(); $listener.Stop() }
    }
}
