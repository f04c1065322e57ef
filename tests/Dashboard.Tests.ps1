# The hub's dashboard (issue 14) in a real browser: Debian's chromium, headless, driven over the
# DevTools protocol (tools/HeadlessBrowser.psm1). Every hub and browser here is started on free
# ports of 127.0.0.1 and stopped by the test; every wait is bounded. Screenshots go to out/test/dashboard.
BeforeDiscovery {
    Import-Module "$PSScriptRoot/../tools/HeadlessBrowser.psm1" -Force
    $script:NoChromium = -not (Find-Chromium)
    if ($script:NoChromium) {
        Write-Warning 'chromium is not installed, so the dashboard browser tests skip: apt-get install -y chromium (./build.ps1 -Task Test does it when run as root).'
    }
}

BeforeAll {
    $RepoRoot = Split-Path $PSScriptRoot
    Import-Module "$RepoRoot/NetDumplings.psd1" -Force
    Import-Module "$RepoRoot/tools/HeadlessBrowser.psm1" -Force
    Import-Module "$PSScriptRoot/HubTestHelpers.psm1" -Force
    $script:Shots = Join-Path $RepoRoot 'out/test/dashboard'
    $script:DemoPcap = Join-Path $RepoRoot 'examples/demo.pcap'
    $script:ChefFile = Join-Path $RepoRoot 'examples/ServerNameChef.cs'

    function Start-PageHub {
        # A hub on free ports whose status dumplings come often, so the page shows changes quickly.
        param([hashtable] $With = @{})
        Start-DumplingHub -Address 127.0.0.1 -InPort 0 -OutPort 0 -StatusInterval 0.5 -AsJob @With
    }

    function Stop-PageHub($Hub) {
        if ($Hub) { $Hub | Stop-Job -ErrorAction SilentlyContinue; $Hub | Remove-Job -Force -ErrorAction SilentlyContinue }
    }

    function Get-Number([string] $Text) {
        # A figure as the page shows it (1,234), or -1 when it shows none.
        $digits = ($Text -replace '[,\s]', '')
        if ($digits -match '^\d+$') { [long]$digits } else { -1 }
    }

    function Get-PageView {
        # What the page shows, read from its DOM (not from its script's variables).
        Invoke-BrowserScript $script:Browser @'
JSON.stringify({
  connection: document.body.dataset.connection,
  notice: document.getElementById('notice').hidden ? '' : document.getElementById('notice').textContent,
  selfName: document.getElementById('self-name').textContent,
  selfReceived: document.getElementById('self-received').textContent,
  selfDropped: document.getElementById('self-dropped').textContent,
  selfRow: (r => r ? [...r.cells].map(c => c.textContent) : null)(document.querySelector('#eaters tr.self')),
  totals: Object.fromEntries([...document.querySelectorAll('#totals .value')].map(v => [v.id, v.textContent])),
  names: [...document.querySelectorAll('#dns-top tbody tr')].map(tr => ({ name: tr.dataset.name, count: tr.cells[1].textContent })),
  namesMore: document.getElementById('dns-more').textContent,
  recent: [...document.querySelectorAll('#dns-recent li .text')].map(x => x.textContent),
  devices: [...document.querySelectorAll('#device-table tbody tr')].map(tr => ({ mac: tr.dataset.mac, ip: tr.cells[1].textContent, notes: tr.cells[4].textContent })),
  layers: Object.fromEntries([...document.querySelectorAll('#packet-counts tbody tr')].map(tr => [tr.dataset.layer, tr.cells[1].textContent])),
  chefs: Object.fromEntries([...document.querySelectorAll('#chefs [data-chef]')].map(p => [p.dataset.chef, p.textContent])),
})
'@ | ConvertFrom-Json -AsHashtable
    }

    function Open-Dashboard {
        # Opens the page and waits until the hub lists it among its eaters (so it misses nothing sent from now on).
        param([string] $Url)
        Open-BrowserPage $script:Browser $Url
        $null = Wait-BrowserScript $script:Browser "document.body.dataset.connection === 'live' && document.querySelector('#eaters tr.self') !== null" `
            -Seconds 20 -What 'the page to connect and see itself in the hub status'
    }

    $script:Browser = $null
    if (Find-Chromium) { $script:Browser = Start-HeadlessBrowser -Width 1280 -Height 900 }
}

AfterAll {
    Stop-HeadlessBrowser $script:Browser
}

Describe 'Start-DumplingHub names its dashboard' {
    It 'gives the dashboard URL with the out-port in its output and its log line' {
        $hub = Start-PageHub
        try {
            $hub.Info.Dashboard | Should -Be "http://127.0.0.1:$($hub.Info.OutPort)/"
            "$($hub.Info)" | Should -BeLike "*dashboard -> http://127.0.0.1:$($hub.Info.OutPort)/*"
            $log = (Receive-Job $hub -Keep 6>&1 | Out-String)
            $log | Should -BeLike "*kitchens on 127.0.0.1:$($hub.Info.InPort)*eaters on 127.0.0.1:$($hub.Info.OutPort)*dashboard at http://127.0.0.1:$($hub.Info.OutPort)/*"
        }
        finally { Stop-PageHub $hub }
    }
}

Describe 'The dashboard in chromium' -Skip:$script:NoChromium {
    BeforeEach { $script:Browser.Errors.Clear() }

    It 'shows the names, devices and counts of the demo capture, through an eater token' {
        & "$PSScriptRoot/NetDumplings.Traffic/Import-Traffic.ps1"
        # The same generator and seed as examples/demo.pcap: what the demo's summary prints.
        $summary = [NetDumplings.Traffic.DemoCaptureGenerator]::Write((Join-Path $TestDrive 'demo.pcap'), 7, 20)
        $hub = Start-PageHub @{ EaterToken = 'page-s3cret' }
        try {
            Open-Dashboard "$($hub.Info.Dashboard)?token=page-s3cret"
            $null = Start-DumplingKitchen -Path $script:DemoPcap -Hub $hub.Info.KitchenHub -Name demo_kitchen -PokeInterval 1 `
                -Chef DNSLookupChef, ARPChef, PacketCountChef, ServerNameChef -ChefPath $script:ChefFile
            $lookups = ($summary.DnsQueries.Values | Measure-Object -Sum).Sum
            $null = Wait-BrowserScript $script:Browser @"
(() => {
  const cell = document.querySelector('#packet-counts tr[data-layer="Ethernet"] td:nth-child(2)');
  const names = [...document.querySelectorAll('#dns-top tbody tr')].reduce((s, tr) => s + Number(tr.cells[1].textContent.replace(/,/g, '')), 0);
  return cell !== null && cell.textContent.replace(/,/g, '') === '$($summary.Packets)' && names === $lookups;
})()
"@ -Seconds 30 -What 'the packet counts and lookups of the whole capture'
            $view = Get-PageView
            Save-BrowserScreenshot $script:Browser (Join-Path $script:Shots 'demo.png') -FullPage | Out-Null

            # Names looked up, each with the count the demo's summary prints, in the top table and the recent list.
            $view.names.Count | Should -Be $summary.DnsQueries.Count
            foreach ($row in $view.names) { Get-Number $row.count | Should -Be $summary.DnsQueries[$row.name] -Because $row.name }
            ($view.recent | Sort-Object -Unique) | Should -Be ($summary.DnsQueries.Keys | Sort-Object)

            # The top table's filter narrows it to the names that hold the text.
            $filtered = Invoke-BrowserScript $script:Browser @'
(() => {
  const input = document.getElementById('dns-filter');
  input.value = 'wiki';
  input.dispatchEvent(new Event('input'));
  const rows = [...document.querySelectorAll('#dns-top tbody tr')].map(tr => tr.dataset.name);
  input.value = '';
  input.dispatchEvent(new Event('input'));
  return rows;
})()
'@
            $filtered | Should -Be @('www.wikipedia.org')

            # Devices: the gateway 10.0.0.1 (which answers, so ARPChef notes it as new) and the five clients.
            $view.devices.Count | Should -Be 6
            ($view.devices.ip | Sort-Object) | Should -Be (1..6 | ForEach-Object { "10.0.0.$_" })
            ($view.devices.mac | Sort-Object -Unique).Count | Should -Be 6
            ($view.devices | Where-Object ip -eq '10.0.0.1').notes | Should -Be 'new'

            # Packets per layer.
            Get-Number $view.layers.Ethernet | Should -Be $summary.Packets
            Get-Number $view.layers.ARP | Should -Be ($summary.ArpRequests + $summary.ArpReplies)
            Get-Number $view.layers.DNS | Should -Be (2 * $lookups) -Because 'each query is answered'

            # The example chef's server names, shown by the generic view.
            foreach ($name in @($summary.TlsServerNames.Keys) + @($summary.HttpHosts.Keys)) { $view.chefs.ServerNameChef | Should -BeLike "*$name*" }

            # The hub's part: its totals (from its next status dumpling, every 0.5 s: the replay may end first), and nothing dropped for this page.
            $null = Wait-BrowserScript $script:Browser "Number(document.getElementById('total-in').textContent.replace(/,/g, '')) > 0" -Seconds 10 -What 'a status dumpling counting what came in'
            $view = Get-PageView
            Get-Number $view.totals.'total-in' | Should -BeGreaterThan 0
            Get-Number $view.selfDropped | Should -Be 0
            $script:Browser.Errors | Should -BeNullOrEmpty -Because 'the page runs under its Content-Security-Policy without errors'
        }
        finally { Stop-PageHub $hub }
    }

    It 'shows reconnecting while the hub is away and recovers when it is back' {
        $hub = Start-PageHub
        $inPort = $hub.Info.InPort; $outPort = $hub.Info.OutPort
        try {
            Open-Dashboard $hub.Info.Dashboard
            Stop-PageHub $hub
            $hub = $null
            $null = Wait-BrowserScript $script:Browser "document.body.dataset.connection === 'reconnecting' && !document.getElementById('notice').hidden" `
                -Seconds 15 -What 'the reconnecting state'
            $view = Get-PageView
            $view.notice | Should -BeLike 'Reconnecting to the hub*'
            Save-BrowserScreenshot $script:Browser (Join-Path $script:Shots 'reconnecting.png') | Out-Null

            $hub = Start-DumplingHub -Address 127.0.0.1 -InPort $inPort -OutPort $outPort -StatusInterval 0.5 -AsJob
            $null = Wait-BrowserScript $script:Browser "document.body.dataset.connection === 'live'" -Seconds 20 -What 'the page to reconnect'
            # Recovered means dumplings flow again, not only that the socket opened.
            Wait-Until {
                Send-Dumpling -Hub $hub.Info.KitchenHub -Chef DNSLookupChef -Kitchen back_kitchen -InputObject @{ lookup = @{ hostname = 'after-restart.example'; when = 1767268800.0 } }
                (Get-PageView).recent -contains 'after-restart.example'
            } -TimeoutMs 20000 -What 'a dumpling sent after the restart to reach the page'
            $view = Get-PageView
            $view.connection | Should -Be 'live'
            $view.notice | Should -BeNullOrEmpty
            Save-BrowserScreenshot $script:Browser (Join-Path $script:Shots 'recovered.png') | Out-Null
            $script:Browser.Errors | Where-Object { $_ -notmatch 'WebSocket|ERR_CONNECTION_REFUSED|status\.json' } | Should -BeNullOrEmpty -Because 'only the failed reconnects may log'
        }
        finally { Stop-PageHub $hub }
    }

    It 'keeps its JS heap bounded over 100k dumplings at a few thousand a second, and the hub drops none for it' {
        # DropOldest, so a page that fell behind would show as dropped instead of slowing the kitchen down.
        $hub = Start-PageHub @{ OverflowPolicy = 'DropOldest'; StatusInterval = 1 }
        $kitchen = $null
        try {
            Open-Dashboard $hub.Info.Dashboard
            $kitchen = Connect-TestPeer -Hub $hub.Info.KitchenHub -Announcement '{"kitchen_name":"load","interface":"none","filter":"","chefs":["DNSLookupChef","ARPChef","PacketCountChef","FlowChef"],"poke_interval":1.0}'
            $rate = 4000
            $clock = [Diagnostics.Stopwatch]::StartNew()
            $script:sent = 0
            function Send-Load([int] $Until) {
                # Unique names, devices and flows, so every table fills past its bound; paced to $rate a second.
                for ($i = $script:sent; $i -lt $Until; $i++) {
                    $t = 1767268800 + $i / 1000
                    $head = '{"metadata":{"kitchen":"load","creation_time":' + $t + ','
                    $text = switch ($i % 4) {
                        0 { $head + '"chef":"DNSLookupChef","driver":"packet"},"payload":{"lookup":{"hostname":"host-' + $i + '.example","when":' + $t + '}}}' }
                        1 {
                            $mac = '02:{0:x2}:{1:x2}:{2:x2}:{3:x2}:01' -f (($i -shr 24) -band 255), (($i -shr 16) -band 255), (($i -shr 8) -band 255), ($i -band 255)
                            $head + '"chef":"ARPChef","driver":"packet"},"payload":{"operation":"reply","src_hw":"' + $mac + '","src_ip":"10.' + (($i -shr 16) -band 255) + '.' + (($i -shr 8) -band 255) + '.' + ($i -band 255) + '","dst_hw":"02:00:00:00:00:01","dst_ip":"10.0.0.1","time":' + $t + ',"notes":"source device is new"}}'
                        }
                        2 { $head + '"chef":"FlowChef","driver":"packet"},"payload":{"flow":{"src":"10.0.0.2","sport":' + ($i % 65536) + ',"dst":"10.9.9.9","dport":443,"bytes":' + $i + '}}}' }
                        3 {
                            if ($i % 1000 -eq 3) { $head + '"chef":"PacketCountChef","driver":"interval"},"payload":{"packet_counts":{"Ethernet":' + ($i * 10) + ',"IP":' + ($i * 9) + ',"UDP":' + ($i * 3) + '}}}' }
                            else { $head + '"chef":"DNSLookupChef","driver":"packet"},"payload":{"lookup":{"hostname":"popular-' + ($i % 50) + '.example","when":' + $t + '}}}' }
                        }
                    }
                    Send-TestMessage $kitchen $text
                    if ($i % 200 -eq 0) {
                        $ahead = $i / $rate * 1000 - $clock.ElapsedMilliseconds
                        if ($ahead -gt 5) { Start-Sleep -Milliseconds $ahead }
                    }
                }
                $script:sent = $Until
            }
            function Wait-PageReceived([long] $Count) {
                $null = Wait-BrowserScript $script:Browser "Number(document.getElementById('self-received').textContent.replace(/,/g, '')) >= $Count" `
                    -Seconds 60 -What "the page to have received $Count dumplings"
            }

            Send-Load 20000
            Wait-PageReceived 20000
            # By now every bounded table is full (5000 names, 2000 devices): what comes later must not add to the heap.
            $early = Get-BrowserHeap $script:Browser
            Send-Load 100000
            $seconds = $clock.Elapsed.TotalSeconds
            Write-Host "  sent 100000 dumplings in $([math]::Round($seconds, 1)) s ($([math]::Round(100000 / $seconds)) a second)"
            Wait-PageReceived 100000
            $null = Wait-BrowserScript $script:Browser "document.getElementById('total-in').textContent === '100,000'" -Seconds 20 -What 'a status with every dumpling in'
            $late = Get-BrowserHeap $script:Browser
            Write-Host "  page heap after 20k: $([math]::Round($early / 1MB, 1)) MiB, after 100k: $([math]::Round($late / 1MB, 1)) MiB"
            Save-BrowserScreenshot $script:Browser (Join-Path $script:Shots 'load.png') | Out-Null

            # Unbounded, the 60k names and devices added since took 8 MiB more when tried; bounded, the heap stays where it was.
            $late | Should -BeLessThan ($early + [math]::Max($early / 2, 3MB)) -Because 'every table the page keeps is bounded'
            $late | Should -BeLessThan 64MB
            $view = Get-PageView
            Get-Number $view.selfDropped | Should -Be 0
            Get-Number $view.totals.'total-dropped' | Should -Be 0
            Get-Number $view.selfRow[3] | Should -Be 0 -Because "the hub's row for this page says it dropped nothing"
            $view.names.Count | Should -Be 50 -Because 'the top table shows its first 50'
            $view.namesMore | Should -Match 'more names'
            $view.devices.Count | Should -Be 100
            $view.chefs.FlowChef | Should -BeLike '*sport=*'
            $script:Browser.Errors | Should -BeNullOrEmpty
        }
        finally {
            if ($kitchen) { $kitchen.Dispose() }
            Stop-PageHub $hub
        }
    }
}
