# Loads the module's assemblies: the ReadyToRun build (precompiled linux-x64 code; see build.ps1) where
# this process is linux-x64, the portable IL build everywhere else. A ReadyToRun image made for another
# platform does not load at all ("An attempt was made to load a program with an incorrect format"),
# so the choice is made here rather than by the manifest, which can name only one path.
$bin = Join-Path $PSScriptRoot 'bin'
$native = Join-Path $bin 'linux-x64'
if ($IsLinux -and [System.Runtime.InteropServices.RuntimeInformation]::ProcessArchitecture -eq 'X64' -and
    (Test-Path -LiteralPath (Join-Path $native 'NetDumplings.PowerShell.dll'))) {
    $bin = $native
}

# All from the one folder, dependencies first, so nothing binds to a copy from the other folder; the
# engine's types ([NetDumplings.Chefs.DumplingChef], [NetDumplings.Dumpling], ...) are usable as soon
# as the module is imported, e.g. to write a chef class in PowerShell.
# An assembly this process has already loaded (a second import, or the same version through another
# path) is used as it is: loading the same name again from elsewhere fails.
$loaded = @{}
foreach ($assembly in [System.AppDomain]::CurrentDomain.GetAssemblies()) { $loaded[$assembly.GetName().Name] = $assembly }
foreach ($name in 'PacketDotNet', 'SharpPcap', 'NetDumplings') {
    if (-not $loaded.ContainsKey($name)) { $null = [System.Reflection.Assembly]::LoadFrom((Join-Path $bin "$name.dll")) }
}
$cmdlets = if ($loaded.ContainsKey('NetDumplings.PowerShell')) { $loaded['NetDumplings.PowerShell'].Location } else { Join-Path $bin 'NetDumplings.PowerShell.dll' }
Import-Module $cmdlets

# Here, not in the manifest's TypesToProcess: the manifest processes those before this file has loaded
# the types they name. Type data outlives Remove-Module, so a second import must not add it again.
if (-not (Get-TypeData -TypeName NetDumplings.Dumpling)) {
    Update-TypeData -AppendPath (Join-Path $PSScriptRoot 'NetDumplings.types.ps1xml')
}
