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
        }
        finally { Remove-Item $work -Recurse -Force -ErrorAction SilentlyContinue }
    }
}
