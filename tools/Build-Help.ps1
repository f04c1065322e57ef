<#
.SYNOPSIS
    Generates the module's MAML help from the cmdlets themselves and their XML doc comments, so help
    cannot drift from the code: build.ps1 runs it (in a child pwsh) after every build.
.DESCRIPTION
    Parameters, parameter sets, types, positions and pipeline input come from Get-Command on the
    built module; the words come from the C# doc comments of each cmdlet class and parameter:
        /// <summary>
        /// <para type="synopsis">One line.</para>
        /// <para type="description">Paragraphs.</para>
        /// </summary>
        /// <example><code>Receive-Dumpling -Count 5</code><para>What it does.</para></example>
    and, on each parameter property, /// <summary><para type="description">...</para></summary>.
    Writes en-US/NetDumplings.PowerShell.dll-Help.xml beside the manifest (where PowerShell looks for
    a binary module's help) and copies the about_ topics from module/en-US. Anything missing (a cmdlet
    without synopsis or example, a parameter without description) is listed; tests/Help.Tests.ps1 fails on it.
#>
param(
    [Parameter(Mandatory)] [string] $ManifestPath,
    [Parameter(Mandatory)] [string] $DocXmlPath,
    [Parameter(Mandatory)] [string] $OutputDirectory,
    [string] $AboutDirectory
)
$ErrorActionPreference = 'Stop'
Import-Module $ManifestPath -Force
$module = Get-Module NetDumplings
$doc = [xml](Get-Content -Raw $DocXmlPath)
$members = @{}
foreach ($m in $doc.doc.members.member) { $members[$m.name] = $m }

function Get-Paras($node, [string] $type) {
    if (-not $node) { return @() }
    @($node.SelectNodes(".//para[@type='$type']") | ForEach-Object { ($_.InnerText -replace '\s+', ' ').Trim() } | Where-Object { $_ })
}

function Get-PropertyDoc([type] $type, [string] $name) {
    for ($t = $type; $t; $t = $t.BaseType) {
        $m = $members["P:$($t.FullName).$name"]
        if ($m) { return $m }
    }
}

function Esc([string] $s) { [Security.SecurityElement]::Escape($s) }

function Get-TypeName([type] $t) {
    # What a user types, not the CLR's spelling: DumplingDriver, not Nullable`1; String[] stays String[].
    $inner = [Nullable]::GetUnderlyingType($t)
    if ($inner) { $t = $inner }
    if ($t -eq [System.Management.Automation.SwitchParameter]) { return 'SwitchParameter' }
    if ($t.IsGenericType) { return ($t.Name -replace '`\d+$') + '[' + (($t.GetGenericArguments() | ForEach-Object { Get-TypeName $_ }) -join ', ') + ']' }
    $t.Name
}

function Get-DefaultValue($instance, $p, $doc) {
    # A <para type="default"> in the parameter's doc comment says it in words (a default that depends on
    # other parameters); otherwise the value the cmdlet starts with (its property initializer); None when unset.
    $said = (Get-Paras $doc 'default') -join ' '
    if ($said) { return $said }
    if ($p.ParameterType -eq [System.Management.Automation.SwitchParameter]) { return 'False' }
    $value = $instance.($p.Name)
    if ($null -eq $value -or ($value -is [array] -and $value.Count -eq 0) -or "$value" -eq '') { return 'None' }
    if ($value -is [array]) { return ($value | ForEach-Object { "$_" }) -join ', ' }
    if ($value -is [double]) { return $value.ToString([cultureinfo]::InvariantCulture) }
    "$value"
}

$common = [System.Management.Automation.Cmdlet]::CommonParameters + [System.Management.Automation.Cmdlet]::OptionalCommonParameters
$problems = [Collections.Generic.List[string]]::new()
$sb = [Text.StringBuilder]::new()
$null = $sb.AppendLine('<?xml version="1.0" encoding="utf-8"?>')
$null = $sb.AppendLine('<helpItems schema="maml" xmlns="http://msh">')

foreach ($cmd in ($module.ExportedCmdlets.Values | Sort-Object Name)) {
    $type = $cmd.ImplementingType
    $classDoc = $members["T:$($type.FullName)"]
    $synopsis = (Get-Paras $classDoc 'synopsis') -join ' '
    $description = Get-Paras $classDoc 'description'
    if (-not $synopsis) { $problems.Add("$($cmd.Name): no synopsis") }
    if (-not $description) { $problems.Add("$($cmd.Name): no description") }
    $examples = @(if ($classDoc) { $classDoc.SelectNodes('.//example') })
    if (-not $examples) { $problems.Add("$($cmd.Name): no example") }

    $null = $sb.AppendLine('<command:command xmlns:maml="http://schemas.microsoft.com/maml/2004/10" xmlns:command="http://schemas.microsoft.com/maml/dev/command/2004/10" xmlns:dev="http://schemas.microsoft.com/maml/dev/2004/10">')
    $null = $sb.AppendLine("<command:details><command:name>$($cmd.Name)</command:name><maml:description><maml:para>$(Esc $synopsis)</maml:para></maml:description><command:verb>$($cmd.Verb)</command:verb><command:noun>$($cmd.Noun)</command:noun></command:details>")
    $null = $sb.AppendLine('<maml:description>' + (($description | ForEach-Object { "<maml:para>$(Esc $_)</maml:para>" }) -join '') + '</maml:description>')

    $instance = [Activator]::CreateInstance($type)
    $paramDocs = @{}
    foreach ($p in $cmd.Parameters.Values | Where-Object { $_.Name -notin $common }) {
        $text = (Get-Paras (Get-PropertyDoc $type $p.Name) 'description') -join ' '
        if (-not $text) { $problems.Add("$($cmd.Name) -$($p.Name): no description") }
        $paramDocs[$p.Name] = $text
    }

    function Write-Parameter($p, $set) {
        $a = if ($set) { $set } else { $p.ParameterSets.Values | Select-Object -First 1 }
        $pipeline = if ($a.ValueFromPipeline -and $a.ValueFromPipelineByPropertyName) { 'true (ByValue, ByPropertyName)' } elseif ($a.ValueFromPipeline) { 'true (ByValue)' } elseif ($a.ValueFromPipelineByPropertyName) { 'true (ByPropertyName)' } else { 'false' }
        $position = if ($a.Position -ge 0) { $a.Position } else { 'named' }
        $isSwitch = $p.ParameterType -eq [switch]
        $typeName = Esc (Get-TypeName $p.ParameterType)
        "<command:parameter required=`"$($a.IsMandatory.ToString().ToLower())`" globbing=`"false`" pipelineInput=`"$pipeline`" position=`"$position`"><maml:name>$($p.Name)</maml:name><maml:description><maml:para>$(Esc $paramDocs[$p.Name])</maml:para></maml:description>" +
        $(if (-not $isSwitch) { "<command:parameterValue required=`"true`">$typeName</command:parameterValue>" }) +
        "<dev:type><maml:name>$typeName</maml:name></dev:type><dev:defaultValue>$(Esc (Get-DefaultValue $instance $p (Get-PropertyDoc $type $p.Name)))</dev:defaultValue></command:parameter>"
    }

    $null = $sb.AppendLine('<command:syntax>')
    foreach ($set in $cmd.ParameterSets) {
        $null = $sb.AppendLine("<command:syntaxItem><maml:name>$($cmd.Name)</maml:name>")
        foreach ($sp in $set.Parameters | Where-Object { $_.Name -notin $common }) {
            $p = $cmd.Parameters[$sp.Name]
            $null = $sb.AppendLine((Write-Parameter $p ($p.ParameterSets[$set.Name])))
        }
        $null = $sb.AppendLine('</command:syntaxItem>')
    }
    $null = $sb.AppendLine('</command:syntax>')

    $null = $sb.AppendLine('<command:parameters>')
    foreach ($p in $cmd.Parameters.Values | Where-Object { $_.Name -notin $common } | Sort-Object Name) {
        $null = $sb.AppendLine((Write-Parameter $p $null))
    }
    $null = $sb.AppendLine('</command:parameters>')

    $inputs = @($cmd.Parameters.Values | Where-Object { $_.ParameterSets.Values | Where-Object { $_.ValueFromPipeline -or $_.ValueFromPipelineByPropertyName } } | ForEach-Object { $_.ParameterType.FullName } | Select-Object -Unique)
    if (-not $inputs) { $inputs = @('None') }
    $null = $sb.AppendLine('<command:inputTypes>' + (($inputs | ForEach-Object { "<command:inputType><dev:type><maml:name>$(Esc $_)</maml:name></dev:type></command:inputType>" }) -join '') + '</command:inputTypes>')
    $outputs = @($cmd.OutputType | ForEach-Object { $_.Name })
    $null = $sb.AppendLine('<command:returnValues>' + (($outputs | ForEach-Object { "<command:returnValue><dev:type><maml:name>$(Esc $_)</maml:name></dev:type></command:returnValue>" }) -join '') + '</command:returnValues>')

    $null = $sb.AppendLine('<command:examples>')
    $i = 0
    foreach ($ex in $examples) {
        $i++
        $code = ($ex.SelectSingleNode('code').InnerText -split "`n" | ForEach-Object { $_.Trim() } | Where-Object { $_ }) -join "`n"
        $remarks = @($ex.SelectNodes('para') | ForEach-Object { ($_.InnerText -replace '\s+', ' ').Trim() })
        $null = $sb.AppendLine("<command:example><maml:title>-------------------------- Example $i --------------------------</maml:title><dev:code>$(Esc $code)</dev:code><dev:remarks>" + (($remarks | ForEach-Object { "<maml:para>$(Esc $_)</maml:para>" }) -join '') + '</dev:remarks></command:example>')
    }
    $null = $sb.AppendLine('</command:examples>')
    $null = $sb.AppendLine('<command:relatedLinks><maml:navigationLink><maml:linkText>about_NetDumplings</maml:linkText></maml:navigationLink></command:relatedLinks>')
    $null = $sb.AppendLine('</command:command>')
}
$null = $sb.AppendLine('</helpItems>')

New-Item -ItemType Directory -Force -Path $OutputDirectory | Out-Null
[IO.File]::WriteAllText((Join-Path $OutputDirectory 'NetDumplings.PowerShell.dll-Help.xml'), $sb.ToString())
if ($AboutDirectory -and (Test-Path $AboutDirectory)) {
    Copy-Item (Join-Path $AboutDirectory 'about_*.help.txt') $OutputDirectory
}
foreach ($p in $problems) { Write-Warning "help: $p" }
