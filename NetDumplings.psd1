@{
    # The psm1 picks the assemblies for this platform (module/bin or module/bin/linux-x64) and loads them.
    RootModule           = 'module/NetDumplings.psm1'
    ModuleVersion        = '0.2.0'
    GUID                 = '5b0d3c0e-7a0c-4f55-9a54-2f6c1f0e6d11'
    Author               = 'NetDumplings contributors'
    CompanyName          = 'NetDumplings'
    Copyright            = '(c) NetDumplings contributors. MIT License.'
    Description          = 'Distributed packet sniffing from PowerShell: kitchens sniff packets and hand them to chefs, a hub fans the dumplings they make out to eaters. Speaks the wire protocol of the Python netdumplings.'
    PowerShellVersion    = '7.6'
    CompatiblePSEditions = @('Core')
    FormatsToProcess     = @('module/NetDumplings.format.ps1xml')
    FunctionsToExport    = @()
    CmdletsToExport      = @(
        'ConvertFrom-DumplingJson'
        'Get-DumplingChef'
        'Get-DumplingHubStatus'
        'New-DumplingChef'
        'Start-DumplingHub'
        'Start-DumplingKitchen'
        'Receive-Dumpling'
        'Send-Dumpling'
    )
    VariablesToExport    = @()
    AliasesToExport      = @()
    PrivateData          = @{
        PSData = @{
            Tags         = @('network', 'pcap', 'packet-capture', 'sniffer', 'dns', 'arp', 'websocket', 'netdumplings', 'Linux', 'PSEdition_Core')
            LicenseUri   = 'https://opensource.org/licenses/MIT'
            # ProjectUri: to be set to the repository's public address once it has one.
            ReleaseNotes = @'
0.2.0: one client stack for kitchens, Send-Dumpling and eaters (reconnect with exact resend across a hub restart,
wrong ports named at once); lossless flow control from eaters back to kitchens by default, drop notices, a
replay window eaters resume from; TLS, tokens per port and browser origins; hubs joined through NATS; a
dashboard the hub serves; every link type, tag stack and tunnel decoded once, with FlowChef, DNSAnswerChef,
TLSChef (JA3, JA4) and DHCPChef; SIGTERM stops hubs and kitchens cleanly (systemd units in examples/systemd);
dumplings export to CSV and JSON as data; ReadyToRun on linux-x64 for a fast first run.
0.1.0: hub, kitchens (live or capture files) with C# and scriptblock chefs, eaters and Send-Dumpling, speaking
the wire protocol of the Python netdumplings.
'@
        }
    }
}
