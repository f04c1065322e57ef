# Real WebSocket peers for Pester tests of the hub (kitchens and eaters written with ClientWebSocket).

function Connect-TestPeer {
    param([Parameter(Mandatory)] [string] $Hub, [Parameter(Mandatory)] [string] $Announcement)
    $ws = [System.Net.WebSockets.ClientWebSocket]::new()
    $null = $ws.ConnectAsync([uri]"ws://$Hub/", [Threading.CancellationToken]::None).GetAwaiter().GetResult()
    Send-TestMessage $ws $Announcement
    $ws
}

function Send-TestMessage {
    param($Socket, [string] $Text)
    $bytes = [Text.Encoding]::UTF8.GetBytes($Text)
    $null = $Socket.SendAsync([ArraySegment[byte]]::new($bytes), 'Text', $true, [Threading.CancellationToken]::None).GetAwaiter().GetResult()
}

function Receive-TestMessage {
    # One message's text, or $null when the socket closed or nothing came within the timeout.
    param($Socket, [int] $TimeoutMs = 10000)
    $cts = [Threading.CancellationTokenSource]::new($TimeoutMs)
    $buffer = [byte[]]::new(65536)
    $ms = [IO.MemoryStream]::new()
    try {
        while ($true) {
            $r = $Socket.ReceiveAsync([ArraySegment[byte]]::new($buffer), $cts.Token).GetAwaiter().GetResult()
            if ($r.MessageType -eq 'Close') { return $null }
            $ms.Write($buffer, 0, $r.Count)
            if ($r.EndOfMessage) { return [Text.Encoding]::UTF8.GetString($ms.ToArray()) }
        }
    }
    catch [OperationCanceledException] { return $null }
    finally { $cts.Dispose() }
}

function New-TestDumpling {
    param([string] $Chef = 'TestChef', [string] $Kitchen = 'test_kitchen', $Payload = @{ n = 1 })
    [ordered]@{
        metadata = [ordered]@{ chef = $Chef; kitchen = $Kitchen; creation_time = [DateTimeOffset]::UtcNow.ToUnixTimeMilliseconds() / 1000.0; driver = 'packet' }
        payload  = $Payload
    } | ConvertTo-Json -Compress -Depth 10
}

function Test-PortFree {
    param([int] $Port)
    $l = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, $Port)
    try { $l.Start(); $true } catch { $false } finally { $l.Stop() }
}

function Wait-Until {
    param([scriptblock] $Condition, [int] $TimeoutMs = 15000, [string] $What = 'condition')
    $deadline = [DateTime]::UtcNow.AddMilliseconds($TimeoutMs)
    while (-not (& $Condition)) {
        if ([DateTime]::UtcNow -gt $deadline) { throw "Timed out waiting for $What" }
        Start-Sleep -Milliseconds 50
    }
}

Export-ModuleMember -Function *
