# Every cmdlet's help is generated from the code (tools/Build-Help.ps1); these tests keep it complete.
BeforeDiscovery {
    $RepoRoot = Split-Path $PSScriptRoot
    Import-Module "$RepoRoot/NetDumplings.psd1" -Force
    $Cmdlets = @((Get-Module NetDumplings).ExportedCmdlets.Keys | Sort-Object)
}

BeforeAll {
    $RepoRoot = Split-Path $PSScriptRoot
    Import-Module "$RepoRoot/NetDumplings.psd1" -Force
    $common = [System.Management.Automation.Cmdlet]::CommonParameters + [System.Management.Automation.Cmdlet]::OptionalCommonParameters
}

Describe 'Help for <_>' -ForEach $Cmdlets {
    BeforeAll { $help = Get-Help $_ -Full }

    It 'has a synopsis and a description' {
        $help.Synopsis | Should -Not -BeNullOrEmpty
        $help.Synopsis | Should -Not -BeLike "$_ *"   # not the bare syntax PowerShell falls back to
        ($help.description.Text -join ' ') | Should -Not -BeNullOrEmpty
    }

    It 'has examples that Get-Help -Examples shows' {
        @($help.examples.example).Count | Should -BeGreaterThan 0
        $examples = Get-Help $_ -Examples | Out-String
        $examples | Should -Match 'Example 1'
        $examples | Should -Match ([regex]::Escape($_))
    }

    It 'describes every parameter' {
        $cmd = Get-Command $_
        foreach ($name in $cmd.Parameters.Keys | Where-Object { $_ -notin $common }) {
            $p = $help.parameters.parameter | Where-Object Name -eq $name
            $p | Should -Not -BeNullOrEmpty -Because "-$name is a parameter of $_"
            ($p.description.Text -join ' ') | Should -Not -BeNullOrEmpty -Because "-$name needs a description"
        }
    }
    It 'gives every parameter a default value and a type name a user can read' {
        foreach ($p in $help.parameters.parameter) {
            "$($p.name): $($p.defaultValue)" | Should -Not -Be "$($p.name): " -Because "Get-Help -Full shows 'Default value' for -$($p.name)"
            $p.type.name | Should -Not -Match '`|Nullable' -Because "-$($p.name) should show a type a user types"
        }
    }
}

Describe 'Help defaults' {
    It 'shows the defaults the issue found missing' {
        (Get-Help Send-Dumpling -Parameter Kitchen).defaultValue | Should -Be 'powershell'
        (Get-Help Send-Dumpling -Parameter Chef).defaultValue | Should -Be 'PowerShellChef'
        (Get-Help Start-DumplingKitchen -Parameter Name).defaultValue | Should -Be 'default_kitchen'
        (Get-Help Receive-Dumpling -Parameter EaterName).defaultValue | Should -Be 'Receive-Dumpling'
        (Get-Help Receive-Dumpling -Parameter Driver).type.name | Should -Be 'DumplingDriver'
        (Get-Help Receive-Dumpling -Parameter Count).defaultValue | Should -Match 'no limit'
        Get-Help Start-DumplingHub -Parameter InPort | Out-String | Should -Match 'Default value\s+11347'
    }
}

Describe 'about_NetDumplings' {
    It 'explains the model, the protocol and the differences from the original' {
        $about = Get-Help about_NetDumplings | Out-String
        $about | Should -Match 'kitchen'
        $about | Should -Match 'THE WIRE PROTOCOL'
        $about | Should -Match 'DIFFERENCES FROM THE PYTHON ORIGINAL'
    }
}
