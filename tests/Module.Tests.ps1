# The module itself: manifest, import, the dumpling object and ConvertFrom-DumplingJson.
BeforeAll {
    $RepoRoot = Split-Path $PSScriptRoot
    Import-Module "$RepoRoot/NetDumplings.psd1" -Force
    $Example = '{"metadata":{"chef":"DNSLookupChef","kitchen":"edge1","creation_time":1499040017.81,"driver":"packet"},"payload":{"lookup":{"hostname":"example.com","when":1499040017.81}}}'
}

Describe 'NetDumplings module' {
    It 'has a valid manifest for PowerShell 7.6 Core that lists its cmdlets explicitly' {
        $manifest = Test-ModuleManifest "$RepoRoot/NetDumplings.psd1"
        $manifest.PowerShellVersion | Should -Be ([version]'7.6')
        $manifest.CompatiblePSEditions | Should -Be @('Core')
        $data = Import-PowerShellDataFile "$RepoRoot/NetDumplings.psd1"
        $data.CmdletsToExport | Should -Not -Contain '*'
        $data.CmdletsToExport | Should -Contain 'ConvertFrom-DumplingJson'
    }

    It 'exports every cmdlet the manifest lists that the assembly defines, and nothing else' {
        $exported = (Get-Module NetDumplings).ExportedCmdlets.Keys
        $listed = (Import-PowerShellDataFile "$RepoRoot/NetDumplings.psd1").CmdletsToExport
        $exported | Should -Not -BeNullOrEmpty
        $exported | ForEach-Object { $listed | Should -Contain $_ }
    }

    It 'imports in a fresh pwsh with no profile' {
        $pwsh = Join-Path $PSHOME 'pwsh'
        $out = & $pwsh -NoProfile -NonInteractive -Command "Import-Module '$RepoRoot/NetDumplings.psd1'; (Get-Module NetDumplings).Version.ToString()"
        $LASTEXITCODE | Should -Be 0
        $out | Should -Be (Import-PowerShellDataFile "$RepoRoot/NetDumplings.psd1").ModuleVersion
    }
}

Describe 'ConvertFrom-DumplingJson' {
    It 'turns wire JSON into a typed dumpling' {
        $d = ConvertFrom-DumplingJson $Example
        $d | Should -BeOfType ([NetDumplings.Dumpling])
        $d.Chef | Should -Be 'DNSLookupChef'
        $d.Kitchen | Should -Be 'edge1'
        $d.Driver | Should -Be ([NetDumplings.DumplingDriver]::Packet)
        $d.CreationTime | Should -BeOfType ([DateTimeOffset])
        $d.CreationTime.ToUnixTimeMilliseconds() | Should -Be 1499040017810
        $d.Json | Should -Be $Example
    }

    It 'gives the payload as PowerShell objects that Where-Object and ForEach-Object reach' {
        $d = ConvertFrom-DumplingJson $Example
        $d.Payload.lookup.hostname | Should -Be 'example.com'
        $d.Payload.lookup.when | Should -Be 1499040017.81
        @($d | Where-Object { $_.Payload.lookup.hostname -like '*.com' }).Count | Should -Be 1
        # Built once and kept with its dumpling.
        [object]::ReferenceEquals($d.Payload, $d.Payload) | Should -BeTrue
    }

    It 'converts JSON types the way ConvertFrom-Json does' {
        $json = '{"metadata":{"chef":"c","kitchen":null,"creation_time":1,"driver":"interval"},"payload":{"i":5,"big":123456789012345678901234,"f":1.5,"s":"t","b":true,"n":null,"a":[1,"x",{"k":2}]}}'
        $p = (ConvertFrom-DumplingJson $json).Payload
        $p.i | Should -BeOfType ([long])
        $p.big | Should -Be ([bigint]::Parse('123456789012345678901234'))
        $p.f | Should -BeOfType ([double])
        $p.s | Should -Be 't'
        $p.b | Should -BeTrue
        $p.n | Should -BeNullOrEmpty
        $p.a.Count | Should -Be 3
        $p.a[2].k | Should -Be 2
        @($p.PSObject.Properties.Name) | Should -Be @('i', 'big', 'f', 's', 'b', 'n', 'a')
    }

    It 'reads JSON-lines from the pipeline and skips empty lines' {
        $lines = @($Example, '', $Example.Replace('edge1', 'edge2'))
        $all = $lines | ConvertFrom-DumplingJson
        $all.Count | Should -Be 2
        $all[1].Kitchen | Should -Be 'edge2'
    }

    It 'reports a bad message as a non-terminating error that says what is wrong, and goes on' {
        $bad = '{"metadata":{"chef":"c","kitchen":"k","creation_time":1,"driver":"poke"},"payload":1}'
        $out = @($bad, $Example) | ConvertFrom-DumplingJson -ErrorVariable errs -ErrorAction SilentlyContinue
        @($out).Count | Should -Be 1
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'InvalidDumpling*'
        $errs[0].CategoryInfo.Category | Should -Be 'InvalidData'
        $errs[0].TargetObject | Should -Be $bad
        $errs[0].Exception.Message | Should -BeLike "*'metadata.driver' must be*poke*"
        $errs[0].ErrorDetails.RecommendedAction | Should -Not -BeNullOrEmpty
    }

    It 'shows a readable table and a list with the whole payload' {
        $d = ConvertFrom-DumplingJson $Example
        $table = $d | Format-Table | Out-String -Width 200
        $table | Should -Match 'Kitchen\s+Chef\s+Driver\s+Payload'
        $table | Should -Match 'edge1\s+DNSLookupChef\s+Packet'
        $list = $d | Format-List | Out-String -Width 200
        $list | Should -Match '"hostname": "example.com"'
    }
}
