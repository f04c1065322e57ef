<#
.SYNOPSIS
    Drives Debian's chromium headless over the DevTools protocol, for the dashboard's tests and its
    README screenshot: no browser download, no npm, one WebSocket to the page.
.DESCRIPTION
    Start-HeadlessBrowser starts chromium with a fresh profile on a free DevTools port of 127.0.0.1
    and connects to its page; Invoke-BrowserScript evaluates JavaScript there; Wait-BrowserScript
    polls an expression for a bounded time; Save-BrowserScreenshot writes a PNG; Get-BrowserHeap
    collects garbage and reads the page's JS heap; Stop-HeadlessBrowser ends the process and removes
    the profile. Page errors (exceptions, console errors, CSP violations) are kept in .Errors.
#>

function Find-Chromium {
    # Debian's chromium, or $null (the tests skip with advice, as they do without python3-websockets).
    foreach ($candidate in '/usr/bin/chromium', '/usr/bin/chromium-browser') {
        if (Test-Path $candidate) { return $candidate }
    }
    $command = Get-Command chromium -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    if ($command) { $command.Source } else { $null }
}

function Start-HeadlessBrowser {
    param(
        [string] $Path = (Find-Chromium),
        [int] $Width = 1280,
        [int] $Height = 900,
        [double] $TimeoutSeconds = 30
    )
    if (-not $Path) { throw 'chromium is not installed: apt-get install -y chromium (as root, ./build.ps1 -Task Test does it).' }
    $profileDir = Join-Path ([IO.Path]::GetTempPath()) "nd-chromium-$([guid]::NewGuid().ToString('n'))"
    New-Item -ItemType Directory -Path $profileDir | Out-Null
    $start = [Diagnostics.ProcessStartInfo]::new($Path)
    # A fresh profile, nothing fetched in the background: the only traffic is to the pages the tests open on 127.0.0.1.
    foreach ($a in '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
        '--disable-sync', '--no-first-run', '--no-default-browser-check', '--disable-default-apps', '--disable-extensions',
        '--mute-audio', '--hide-scrollbars', "--user-data-dir=$profileDir", '--remote-debugging-address=127.0.0.1',
        '--remote-debugging-port=0', "--window-size=$Width,$Height", 'about:blank') {
        $start.ArgumentList.Add($a)
    }
    $start.RedirectStandardOutput = $true
    $start.RedirectStandardError = $true
    $process = [Diagnostics.Process]::Start($start)
    # Read (and drop) its chatter, so a full pipe never stalls it.
    $null = $process.StandardOutput.ReadToEndAsync()
    $null = $process.StandardError.ReadToEndAsync()
    $browser = [pscustomobject]@{
        Process = $process; ProfileDir = $profileDir; Socket = $null; NextId = 0
        Errors = [Collections.Generic.List[string]]::new(); Port = 0
    }
    try {
        # chromium writes the port it bound (port 0 asked for) into the profile once it listens.
        $portFile = Join-Path $profileDir 'DevToolsActivePort'
        $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
        while (-not ((Test-Path $portFile) -and (Get-Content $portFile -ErrorAction SilentlyContinue | Select-Object -First 1))) {
            if ($process.HasExited) { throw "chromium exited at start (code $($process.ExitCode))." }
            if ([DateTime]::UtcNow -gt $deadline) { throw "chromium did not open its DevTools port within $TimeoutSeconds s." }
            Start-Sleep -Milliseconds 100
        }
        $browser.Port = [int](Get-Content $portFile | Select-Object -First 1)
        $page = $null
        while (-not $page) {
            # Invoke-RestMethod writes a JSON array as one object: assigned first, it is enumerated below.
            $targets = Invoke-RestMethod "http://127.0.0.1:$($browser.Port)/json/list" -TimeoutSec 5
            $page = $targets | Where-Object type -eq 'page' | Select-Object -First 1
            if (-not $page) {
                if ([DateTime]::UtcNow -gt $deadline) { throw 'chromium opened no page.' }
                Start-Sleep -Milliseconds 100
            }
        }
        $socket = [Net.WebSockets.ClientWebSocket]::new()
        $cts = [Threading.CancellationTokenSource]::new([TimeSpan]::FromSeconds(10))
        # An async Task is a Task<VoidTaskResult> at run time: its result would become output.
        try { $null = $socket.ConnectAsync([uri]$page.webSocketDebuggerUrl, $cts.Token).GetAwaiter().GetResult() } finally { $cts.Dispose() }
        $browser.Socket = $socket
        # Log entries carry CSP violations and failed loads; Runtime carries exceptions and console errors.
        $null = Invoke-Cdp $browser 'Log.enable'
        $null = Invoke-Cdp $browser 'Runtime.enable'
        $null = Invoke-Cdp $browser 'Emulation.setDeviceMetricsOverride' @{ width = $Width; height = $Height; deviceScaleFactor = 1; mobile = $false }
        $browser
    }
    catch {
        Stop-HeadlessBrowser $browser
        throw
    }
}

function Receive-CdpMessage {
    param($Browser, [double] $TimeoutSeconds)
    $buffer = [byte[]]::new(65536)
    $text = [IO.MemoryStream]::new()
    $cts = [Threading.CancellationTokenSource]::new([TimeSpan]::FromSeconds($TimeoutSeconds))
    try {
        do {
            $r = $Browser.Socket.ReceiveAsync([ArraySegment[byte]]::new($buffer), $cts.Token).GetAwaiter().GetResult()
            if ($r.MessageType -eq 'Close') { throw 'chromium closed the DevTools connection.' }
            $text.Write($buffer, 0, $r.Count)
        } until ($r.EndOfMessage)
    }
    catch [OperationCanceledException] { throw "chromium sent nothing within $TimeoutSeconds s." }
    finally { $cts.Dispose() }
    [Text.Encoding]::UTF8.GetString($text.ToArray()) | ConvertFrom-Json -Depth 100
}

function Invoke-Cdp {
    # Sends one DevTools command and returns its result; events that come meanwhile are noted, errors among them kept.
    param([Parameter(Mandatory)] $Browser, [Parameter(Mandatory)] [string] $Method, [hashtable] $Params = @{}, [double] $TimeoutSeconds = 30)
    $id = ++$Browser.NextId
    $json = @{ id = $id; method = $Method; params = $Params } | ConvertTo-Json -Depth 20 -Compress
    $bytes = [Text.Encoding]::UTF8.GetBytes($json)
    $null = $Browser.Socket.SendAsync([ArraySegment[byte]]::new($bytes), 'Text', $true, [Threading.CancellationToken]::None).GetAwaiter().GetResult()
    $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
    while ($true) {
        $left = ($deadline - [DateTime]::UtcNow).TotalSeconds
        if ($left -le 0) { throw "chromium did not answer $Method within $TimeoutSeconds s." }
        $message = Receive-CdpMessage $Browser $left
        if ($message.PSObject.Properties['id'] -and $message.id -eq $id) {
            if ($message.PSObject.Properties['error']) { throw "$Method failed: $($message.error.message)" }
            return $message.result
        }
        switch ($message.method) {
            'Log.entryAdded' { if ($message.params.entry.level -eq 'error') { $Browser.Errors.Add("$($message.params.entry.source): $($message.params.entry.text)") } }
            'Runtime.exceptionThrown' { $Browser.Errors.Add("exception: $($message.params.exceptionDetails.exception.description ?? $message.params.exceptionDetails.text)") }
            'Runtime.consoleAPICalled' { if ($message.params.type -eq 'error') { $Browser.Errors.Add("console: $(($message.params.args | ForEach-Object { $_.value ?? $_.description }) -join ' ')") } }
        }
    }
}

function Invoke-BrowserScript {
    # Evaluates a JavaScript expression in the page (awaiting a promise) and returns its value.
    param([Parameter(Mandatory)] $Browser, [Parameter(Mandatory)] [string] $Expression)
    $r = Invoke-Cdp $Browser 'Runtime.evaluate' @{ expression = $Expression; returnByValue = $true; awaitPromise = $true }
    if ($r.PSObject.Properties['exceptionDetails']) {
        throw "The page's script failed: $($r.exceptionDetails.exception.description ?? $r.exceptionDetails.text)"
    }
    if ($r.result.PSObject.Properties['value']) { $r.result.value } else { $null }
}

function Wait-BrowserScript {
    # Polls an expression until it is truthy, for at most -Seconds; returns its value or throws saying what it last was.
    param([Parameter(Mandatory)] $Browser, [Parameter(Mandatory)] [string] $Expression, [double] $Seconds = 20, [string] $What = $Expression)
    $deadline = [DateTime]::UtcNow.AddSeconds($Seconds)
    while ($true) {
        $value = Invoke-BrowserScript $Browser $Expression
        if ($value) { return $value }
        if ([DateTime]::UtcNow -gt $deadline) { throw "Timed out after $Seconds s waiting for: $What (last value: '$value')" }
        Start-Sleep -Milliseconds 200
    }
}

function Open-BrowserPage {
    # Navigates and waits until the document has loaded (its scripts have run).
    param([Parameter(Mandatory)] $Browser, [Parameter(Mandatory)] [string] $Url, [double] $Seconds = 20)
    $r = Invoke-Cdp $Browser 'Page.navigate' @{ url = $Url }
    if ($r.PSObject.Properties['errorText'] -and $r.errorText) { throw "chromium could not open ${Url}: $($r.errorText)" }
    $null = Wait-BrowserScript $Browser "document.readyState === 'complete' && location.href !== 'about:blank'" -Seconds $Seconds -What "$Url to load"
}

function Save-BrowserScreenshot {
    # Writes a PNG of the page (-FullPage: all of it, not only the window).
    param([Parameter(Mandatory)] $Browser, [Parameter(Mandatory)] [string] $Path, [switch] $FullPage)
    $params = @{ format = 'png' }
    if ($FullPage) {
        $metrics = Invoke-Cdp $Browser 'Page.getLayoutMetrics'
        $size = $metrics.cssContentSize
        $params.captureBeyondViewport = $true
        $params.clip = @{ x = 0; y = 0; width = [math]::Ceiling($size.width); height = [math]::Ceiling($size.height); scale = 1 }
    }
    $shot = Invoke-Cdp $Browser 'Page.captureScreenshot' $params
    New-Item -ItemType Directory -Force -Path (Split-Path $Path) | Out-Null
    [IO.File]::WriteAllBytes($Path, [Convert]::FromBase64String($shot.data))
    Get-Item $Path
}

function Get-BrowserHeap {
    # The page's used JS heap in bytes, after a full garbage collection (what it holds, not what it has not yet freed).
    param([Parameter(Mandatory)] $Browser)
    $null = Invoke-Cdp $Browser 'HeapProfiler.collectGarbage'
    [long](Invoke-Cdp $Browser 'Runtime.getHeapUsage').usedSize
}

function Stop-HeadlessBrowser {
    param($Browser)
    if (-not $Browser) { return }
    if ($Browser.Socket) {
        try { $null = Invoke-Cdp $Browser 'Browser.close' -TimeoutSeconds 5 } catch { }
        $Browser.Socket.Dispose()
    }
    if (-not $Browser.Process.WaitForExit(5000)) { $Browser.Process.Kill($true); $null = $Browser.Process.WaitForExit(5000) }
    $Browser.Process.Dispose()
    Remove-Item $Browser.ProfileDir -Recurse -Force -ErrorAction SilentlyContinue
}

Export-ModuleMember -Function Find-Chromium, Start-HeadlessBrowser, Invoke-Cdp, Invoke-BrowserScript, Wait-BrowserScript,
    Open-BrowserPage, Save-BrowserScreenshot, Get-BrowserHeap, Stop-HeadlessBrowser
