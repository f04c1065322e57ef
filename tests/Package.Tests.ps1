# ./build.ps1 -Task Package makes a module folder and a .nupkg that Install-PSResource installs
# from a local repository, after which Import-Module NetDumplings works by name.
BeforeAll {
    $RepoRoot = Split-Path $PSScriptRoot
    $pwsh = Join-Path $PSHOME 'pwsh'
}

Describe 'Packaging' {
    It 'installs from the package and imports by name from anywhere' {
        $work = Join-Path ([IO.Path]::GetTempPath()) "nd-package-$([guid]::NewGuid().ToString('n'))"
        try {
            & $pwsh -NoProfile -NonInteractive -File "$RepoRoot/build.ps1" -Task Package | Out-Null
            $LASTEXITCODE | Should -Be 0
            $nupkg = Get-ChildItem "$RepoRoot/out/repo" -Filter 'NetDumplings.*.nupkg'
            $nupkg | Should -Not -BeNullOrEmpty
            # The capture generators are test support: never shipped.
            Get-ChildItem "$RepoRoot/out/module/NetDumplings" -Recurse -Filter 'NetDumplings.Traffic*' | Should -BeNullOrEmpty
            $install = Join-Path $work 'modules'
            New-Item -ItemType Directory $install | Out-Null
            $script = @"
`$ErrorActionPreference = 'Stop'
Register-PSResourceRepository -Name nd-test-$PID -Uri '$RepoRoot/out/repo' -Trusted
try { Save-PSResource -Name NetDumplings -Repository nd-test-$PID -Path '$install' -TrustRepository -SkipDependencyCheck }
finally { Unregister-PSResourceRepository -Name nd-test-$PID }
"@
            & $pwsh -NoProfile -NonInteractive -Command $script
            $LASTEXITCODE | Should -Be 0
            Push-Location ([IO.Path]::GetTempPath())
            try {
                $env:PSModulePath, $saved = $install, $env:PSModulePath
                $out = & $pwsh -NoProfile -NonInteractive -Command 'Import-Module NetDumplings; (Get-Command -Module NetDumplings).Count; ''{"metadata":{"chef":"c","kitchen":"k","creation_time":1,"driver":"packet"},"payload":{"x":7}}'' | ConvertFrom-DumplingJson | ForEach-Object { $_.Payload.x }'
            }
            finally { $env:PSModulePath = $saved; Pop-Location }
            $LASTEXITCODE | Should -Be 0
            [int]$out[0] | Should -BeGreaterThan 0
            $out[1] | Should -Be '7'

            # The examples ship, and the help's and about topic's examples that need neither root nor a hub on the
            # default ports run as written from another directory.
            Test-Path "$install/NetDumplings/*/examples/demo.pcap" | Should -BeTrue
            Test-Path "$install/NetDumplings/*/LICENSE" | Should -BeTrue
            $examples = @'
$ErrorActionPreference = 'Stop'
Import-Module NetDumplings
$run = @(
    (Get-Help Start-DumplingKitchen -Examples).examples.example[0, 1]
    (Get-Help Get-DumplingChef -Examples).examples.example
    (Get-Help ConvertFrom-DumplingJson -Examples).examples.example[1]
)
foreach ($example in $run) {
    $output = Invoke-Expression ($example.code -join "`n") 6>$null | Out-String
    if (-not $output.Trim()) { throw "No output from: $($example.code)" }
    "ran: $(($example.code -split "`n")[-1])"
}
# The about topic's first session, line by line as a user would type it.
$about = Get-Help about_NetDumplings | Out-String
$session = [regex]::Match($about, '(?s)A first session[^
]*
(.*?)
\s*\(-Paced').Groups[1].Value -replace '`?
\s*', ' '
$lookups = Invoke-Expression $session
if (@($lookups).Count -ne 5) { throw "The about topic's first session gave $(@($lookups).Count) dumplings, not 5." }
'ran: about_NetDumplings first session'
'@
            Push-Location ([IO.Path]::GetTempPath())
            try {
                $env:PSModulePath, $saved = $install, $env:PSModulePath
                $ran = & $pwsh -NoProfile -NonInteractive -Command $examples 2>&1
            }
            finally { $env:PSModulePath = $saved; Pop-Location }
            ($ran | Out-String) | Should -Match 'ran: about_NetDumplings first session'
            @($ran | Where-Object { "$_" -like 'ran: *' }).Count | Should -Be 6
        }
        finally { Remove-Item $work -Recurse -Force -ErrorAction SilentlyContinue }
    }
}
