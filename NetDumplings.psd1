@{
    # The psm1 picks the assemblies for this platform (module/bin or module/bin/linux-x64) and loads them.
    RootModule           = 'module/NetDumplings.psm1'
    ModuleVersion        = '0.1.0'
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
            Tags         = @('network', 'pcap', 'sniffer', 'websocket', 'netdumplings', 'Linux')
            LicenseUri   = 'https://opensource.org/licenses/MIT'
            ReleaseNotes = 'First release: the dumpling and its codec.'
        }
    }
}
