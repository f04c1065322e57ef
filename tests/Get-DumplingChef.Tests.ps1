# Get-DumplingChef: built-in chefs, chefs in .cs and .dll files, errors for files that do not compile
# or load; chefs from files cooking in Start-DumplingKitchen; tab completion of chef and interface names.
BeforeAll {
    $RepoRoot = Split-Path $PSScriptRoot
    Import-Module "$RepoRoot/NetDumplings.psd1" -Force
    & "$PSScriptRoot/NetDumplings.Traffic/Import-Traffic.ps1"
    $Temp = Join-Path ([IO.Path]::GetTempPath()) "nd-chef-pester-$PID"
    New-Item -ItemType Directory -Force -Path $Temp | Out-Null
    $Good = Join-Path $Temp 'UdpChefs.cs'
    Set-Content -Path $Good -Value @'
using NetDumplings.Chefs;
using PacketDotNet;

public sealed class UdpCountChef : DumplingChef
{
    private long _udp;
    public override object? OnPacket(ChefPacket packet) { if (packet.Extract<UdpPacket>() is not null) _udp++; return null; }
    public override object? OnInterval() => new { udp = _udp };
}

[ChefNotAssignable]
public class HelperChef : DumplingChef { }
'@
    $Bad = Join-Path $Temp 'Broken.cs'
    Set-Content -Path $Bad -Value 'public class Broken : NetDumplings.Chefs.DumplingChef { int x = "no"; }'
    $Mixed = Join-Path $Temp 'mixed.pcap'
    $Summary = [NetDumplings.Traffic.PcapGenerator]::WriteMixed($Mixed, 1000, 8, $null, $null)
}

AfterAll { Remove-Item -Recurse -Force $Temp -ErrorAction SilentlyContinue }

Describe 'Get-DumplingChef' {
    It 'lists the seven built-in chefs' {
        $chefs = Get-DumplingChef
        $chefs.Name | Should -Be @('PacketCountChef', 'DNSLookupChef', 'ARPChef', 'FlowChef', 'DNSAnswerChef', 'TLSChef', 'DHCPChef')
        $chefs | ForEach-Object { $_.BuiltIn | Should -BeTrue }
    }

    It 'lists the assignable chef classes of a .cs file, compiled with Roslyn' {
        $chefs = @(Get-DumplingChef -Path $Good)
        $chefs.Name | Should -Be @('UdpCountChef')
        $chefs[0].Source | Should -Be $Good
    }

    It 'reports a file that does not compile as an error and still lists the others' {
        $chefs = @(Get-DumplingChef -Path $Bad, $Good -ErrorVariable errs -ErrorAction SilentlyContinue)
        $chefs.Name | Should -Be @('UdpCountChef')
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'ChefFileInvalid*'
        $errs[0].Exception.Message | Should -Match 'does not compile'
        $errs[0].Exception.Message | Should -Match 'CS0029'
        $errs[0].TargetObject | Should -Be $Bad
    }

    It 'lists chefs in a .dll' {
        $dll = Join-Path $Temp 'DllChefs.dll'
        $engine = [NetDumplings.Chefs.DumplingChef].Assembly.Location
        Add-Type -OutputAssembly $dll -OutputType Library -ReferencedAssemblies $engine -TypeDefinition @'
public sealed class DllChef : NetDumplings.Chefs.DumplingChef { public override object OnInterval() => "from a dll"; }
'@
        (Get-DumplingChef -Path $dll).Name | Should -Be 'DllChef'
        $d = Start-DumplingKitchen -Path $Mixed -NoHub -ChefPath $dll -PokeInterval 0
        $d.Chef | Should -Be 'DllChef'
        $d.Payload | Should -Be 'from a dll'
    }

    It 'compiles the README example chef (implicit usings, LINQ) and cooks with it' {
        $readme = Get-Content -Raw (Join-Path $RepoRoot 'README.md')
        $code = [regex]::Match($readme, '(?s)```csharp\r?\n(using NetDumplings\.Chefs;.*?public sealed class TcpPortChef.*?)```').Groups[1].Value
        $code | Should -Not -BeNullOrEmpty
        $file = Join-Path $Temp 'TcpPortChef.cs'
        Set-Content -Path $file -Value $code
        $d = Start-DumplingKitchen -Path $Mixed -NoHub -ChefPath $file -PokeInterval 0
        $d.Chef | Should -Be 'TcpPortChef'
        $d.Payload.top_ports.'443' | Should -BeGreaterThan 0
    }

    It 'filters by name with wildcards' {
        (Get-DumplingChef -Name '*Lookup*').Name | Should -Be 'DNSLookupChef'
    }

    It 'reports a file that is not a chef file' {
        $txt = Join-Path $Temp 'notes.txt'
        Set-Content $txt 'hello'
        Get-DumplingChef -Path $txt -ErrorVariable errs -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $errs[0].Exception.Message | Should -Match 'neither'
    }
}

Describe 'Chefs from files in Start-DumplingKitchen' {
    It 'cooks with every chef of a -ChefPath file, or those named' {
        $d = Start-DumplingKitchen -Path $Mixed -NoHub -ChefPath $Good -PokeInterval 0 -Filter ''
        $d.Chef | Should -Be 'UdpCountChef'
        $d.Payload.udp | Should -Be $Summary.LayerCounts['UDP']

        $named = Start-DumplingKitchen -Path $Mixed -NoHub -ChefPath $Good -Chef UdpCountChef, ARPChef -PokeInterval 0
        ($named.Chef | Sort-Object -Unique) | Should -Be @('ARPChef', 'UdpCountChef')
    }

    It 'a chef file that does not compile is an error; with no other chef, the kitchen cannot start' {
        { Start-DumplingKitchen -Path $Mixed -NoHub -ChefPath $Bad -ErrorAction SilentlyContinue } | Should -Throw -ErrorId 'KitchenNoValidChef*'
    }
}

Describe 'Tab completion' {
    It 'completes chef names, including those in -ChefPath files' {
        $r = TabExpansion2 -inputScript 'Start-DumplingKitchen -Chef DNS' -cursorColumn 31
        $r.CompletionMatches.CompletionText | Should -Contain 'DNSLookupChef'
        $line = "Start-DumplingKitchen -ChefPath '$Good' -Chef Udp"
        $r = TabExpansion2 -inputScript $line -cursorColumn $line.Length
        $r.CompletionMatches.CompletionText | Should -Contain 'UdpCountChef'
    }

    It 'completes interface names' {
        $r = TabExpansion2 -inputScript 'Start-DumplingKitchen -Interface l' -cursorColumn 34
        $r.CompletionMatches.CompletionText | Should -Contain 'lo'
    }
}
