# Issue 12's matrix: tokens per role (right, wrong, none; as header and as query parameter), over ws
# and over wss with certificates the test makes, with and without client certificates, and browser
# origins; every refusal counted in the hub's status. Hubs from Start-DumplingHub, clients from the cmdlets.
BeforeDiscovery {
    $TokenCases = foreach ($role in 'Kitchen', 'Eater') {
        foreach ($scheme in 'ws', 'wss') {
            foreach ($token in 'right', 'wrong', 'none') {
                foreach ($as in 'header', 'query') {
                    if ($token -eq 'none' -and $as -eq 'query') { continue }
                    @{ Role = $role; Scheme = $scheme; Token = $token; As = $as; Admitted = $token -eq 'right' }
                }
            }
        }
    }
    $MutualCases = foreach ($role in 'Kitchen', 'Eater') {
        foreach ($certificate in 'ours', 'none', 'stranger') { @{ Role = $role; Certificate = $certificate; Admitted = $certificate -eq 'ours' } }
    }
    $OriginCases = foreach ($role in 'Kitchen', 'Eater') {
        @{ Role = $role; Origin = 'https://dash.example:8443'; Status = 101 }
        @{ Role = $role; Origin = 'null'; Status = 101 }
        @{ Role = $role; Origin = 'https://evil.example'; Status = 403 }
        @{ Role = $role; Origin = $null; Status = 101 }
    }
}

BeforeAll {
    $RepoRoot = Split-Path $PSScriptRoot
    Import-Module "$RepoRoot/NetDumplings.psd1" -Force
    Import-Module "$PSScriptRoot/HubTestHelpers.psm1" -Force

    function New-TestCertificate {
        # A CA (no -Issuer) or a certificate it signs, made with .NET's CertificateRequest and written as PEM.
        param([string] $Name, $Issuer, [string[]] $DnsName = @(), [string[]] $IPAddress = @(), [switch] $Client, [string] $Directory = $TestDrive)
        $key = [Security.Cryptography.ECDsa]::Create([Security.Cryptography.ECCurve+NamedCurves]::nistP256)
        $request = [Security.Cryptography.X509Certificates.CertificateRequest]::new("CN=$Name", $key, [Security.Cryptography.HashAlgorithmName]::SHA256)
        $now = [DateTimeOffset]::UtcNow
        if (-not $Issuer) {
            $request.CertificateExtensions.Add([Security.Cryptography.X509Certificates.X509BasicConstraintsExtension]::new($true, $false, 0, $true))
            $cert = $request.CreateSelfSigned($now.AddDays(-30), $now.AddDays(30))
        }
        else {
            $usage = [Security.Cryptography.OidCollection]::new()
            $null = $usage.Add([Security.Cryptography.Oid]::new($(if ($Client) { '1.3.6.1.5.5.7.3.2' } else { '1.3.6.1.5.5.7.3.1' })))
            $request.CertificateExtensions.Add([Security.Cryptography.X509Certificates.X509EnhancedKeyUsageExtension]::new($usage, $false))
            if ($DnsName -or $IPAddress) {
                $san = [Security.Cryptography.X509Certificates.SubjectAlternativeNameBuilder]::new()
                $DnsName | ForEach-Object { $san.AddDnsName($_) }
                $IPAddress | ForEach-Object { $san.AddIpAddress([Net.IPAddress]::Parse($_)) }
                $request.CertificateExtensions.Add($san.Build())
            }
            $serial = [Security.Cryptography.RandomNumberGenerator]::GetBytes(12); $serial[0] = $serial[0] -band 0x7F
            $cert = [Security.Cryptography.X509Certificates.ECDsaCertificateExtensions]::CopyWithPrivateKey($request.Create($Issuer.Certificate, $now.AddDays(-1), $now.AddDays(20), $serial), $key)
        }
        $path = Join-Path $Directory $Name
        Set-Content "$path.crt" $cert.ExportCertificatePem()
        Set-Content "$path.key" $key.ExportPkcs8PrivateKeyPem()
        [pscustomobject]@{ Certificate = $cert; Path = "$path.crt"; KeyPath = "$path.key" }
    }

    $Ca = New-TestCertificate 'NetDumplings Test CA'
    $HubCert = New-TestCertificate 'localhost' -Issuer $Ca -DnsName localhost -IPAddress 127.0.0.1
    $ClientCert = New-TestCertificate 'kitchen1' -Issuer $Ca -Client
    $StrangerCa = New-TestCertificate 'Stranger CA'
    $StrangerCert = New-TestCertificate 'stranger' -Issuer $StrangerCa -Client
    $KitchenToken = 'kitchen-' + [Convert]::ToHexString([Security.Cryptography.RandomNumberGenerator]::GetBytes(12))
    $EaterToken = 'eater-' + [Convert]::ToHexString([Security.Cryptography.RandomNumberGenerator]::GetBytes(12))

    $Common = @{ InPort = 0; OutPort = 0; StatusInterval = 0.2; KitchenToken = $KitchenToken; EaterToken = (ConvertTo-SecureString $EaterToken -AsPlainText) }
    $Hubs = @{
        ws  = Start-DumplingHub @Common -AsJob
        wss = Start-DumplingHub @Common -CertificatePath $HubCert.Path -KeyPath $HubCert.KeyPath -AsJob
    }

    function Get-RefusedCount([string] $Scheme) {
        $hub = $Hubs[$Scheme]
        $trust = if ($Scheme -eq 'wss') { @{ CertificateAuthorityPath = $Ca.Path } } else { @{} }
        (Get-DumplingHubStatus -Hub $hub.Info.EaterHub -Token $EaterToken @trust -Timeout 10).TotalRefusedConnections
    }

    function Invoke-AsRole {
        # One kitchen (Send-Dumpling) or eater (Receive-Dumpling) connection; returns $null or the error record.
        param([string] $Role, [string] $Hub, [hashtable] $Options)
        try {
            if ($Role -eq 'Kitchen') { [pscustomobject]@{ n = 1 } | Send-Dumpling -Hub $Hub @Options -NoReconnect -DrainTimeout 10 -ErrorAction Stop }
            else { $null = Receive-Dumpling -Hub $Hub @Options -Count 1 -Timeout 10 -NoReconnect -ErrorAction Stop }
            $null
        }
        catch { $_ }
    }
}

AfterAll {
    $Hubs.Values | Stop-Job -PassThru | Remove-Job
}

Describe 'Tokens per role over <Scheme>: <Role> with the <Token> token as <As>' -ForEach $TokenCases {
    It 'is admitted only with the right token, and a refusal is a 401 error, counted' {
        $hub = $Hubs[$Scheme]
        $address = if ($Role -eq 'Kitchen') { $hub.Info.KitchenHub } else { $hub.Info.EaterHub }
        $address | Should -BeLike "$(if ($Scheme -eq 'wss') { 'wss://' })127.0.0.1:*"
        $right = if ($Role -eq 'Kitchen') { $KitchenToken } else { $EaterToken }
        $value = @{ right = $right; wrong = 'not-the-token'; none = $null }[$Token]
        $options = @{}
        if ($Scheme -eq 'wss') { $options.CertificateAuthorityPath = $Ca.Path }
        if ($value -and $As -eq 'header') { $options.Token = $value }
        if ($value -and $As -eq 'query') { $address = "$(if ($Scheme -eq 'wss') { 'wss' } else { 'ws' })://$($address -replace '^wss://', '')/?token=$value" }
        $before = Get-RefusedCount $Scheme

        $err = Invoke-AsRole $Role $address $options

        if ($Admitted) {
            $err | Should -BeNullOrEmpty
            Get-RefusedCount $Scheme | Should -Be $before
        }
        else {
            $err | Should -Not -BeNullOrEmpty
            $err.FullyQualifiedErrorId | Should -BeLike 'HubTokenRefused*'
            $err.CategoryInfo.Category | Should -Be 'AuthenticationError'
            $err.Exception.Message | Should -BeLike '*401*'
            $err.ErrorDetails.RecommendedAction | Should -BeLike "*-$($Role)Token*"
            $err.Exception.Message | Should -Not -BeLike "*$right*"
            Get-RefusedCount $Scheme | Should -Be ($before + 1)
        }
    }
}

Describe 'Mutual TLS: <Role> with <Certificate> client certificate' -ForEach $MutualCases {
    BeforeAll {
        $mtls = Start-DumplingHub -InPort 0 -OutPort 0 -StatusInterval 0.2 -CertificatePath $HubCert.Path -KeyPath $HubCert.KeyPath -ClientCertificateAuthorityPath $Ca.Path -AsJob
    }
    AfterAll { $mtls | Stop-Job -PassThru | Remove-Job }

    It 'admits only a client whose certificate the hub''s authority signed' {
        $address = if ($Role -eq 'Kitchen') { $mtls.Info.KitchenHub } else { $mtls.Info.EaterHub }
        $options = @{ CertificateAuthorityPath = $Ca.Path }
        $mine = @{ ours = $ClientCert; stranger = $StrangerCert; none = $null }[$Certificate]
        if ($mine) { $options.CertificatePath = $mine.Path; $options.KeyPath = $mine.KeyPath }
        $err = Invoke-AsRole $Role $address $options
        if ($Admitted) { $err | Should -BeNullOrEmpty }
        else {
            $err.FullyQualifiedErrorId | Should -BeLike 'HubUnreachable*'
            $err.Exception.Message | Should -BeLike '*client certificate*'
            $status = Get-DumplingHubStatus -Hub $mtls.Info.EaterHub -CertificateAuthorityPath $Ca.Path -CertificatePath $ClientCert.Path -KeyPath $ClientCert.KeyPath -Timeout 10
            $status.TotalRefusedConnections | Should -BeGreaterThan 0
            (Receive-Job $mtls -Keep *>&1 | Out-String) | Should -BeLike '*client certificate was not accepted*'
        }
    }
}

Describe 'Browser origins: <Role> from <Origin>' -ForEach $OriginCases {
    BeforeAll {
        $originHub = Start-DumplingHub -InPort 0 -OutPort 0 -StatusInterval 0.2 -AllowedOrigin 'https://dash.example:8443', 'null' -AsJob
    }
    AfterAll { $originHub | Stop-Job -PassThru | Remove-Job }

    It 'answers <Status>, and a refusal is counted' {
        $address = if ($Role -eq 'Kitchen') { $originHub.Info.KitchenHub } else { $originHub.Info.EaterHub }
        $before = (Get-DumplingHubStatus -Hub $originHub.Info.EaterHub -Timeout 10).TotalRefusedConnections
        $ws = [System.Net.WebSockets.ClientWebSocket]::new()
        $ws.Options.CollectHttpResponseDetails = $true
        if ($null -ne $Origin) { $ws.Options.SetRequestHeader('Origin', $Origin) }
        try { $null = $ws.ConnectAsync([uri]"ws://$address/", [Threading.CancellationToken]::None).GetAwaiter().GetResult() } catch { }
        [int]$ws.HttpStatusCode | Should -Be $Status
        $ws.Dispose()
        $after = (Get-DumplingHubStatus -Hub $originHub.Info.EaterHub -Timeout 10).TotalRefusedConnections
        $after | Should -Be ($before + [int]($Status -eq 403))
    }
}

Describe 'Client certificate checks' {
    It 'stops with a terminating error that says why the hub''s certificate is not trusted, and what to do' {
        $hub = $Hubs['wss']
        $err = Invoke-AsRole 'Eater' $hub.Info.EaterHub @{ Token = $EaterToken }
        $err.FullyQualifiedErrorId | Should -BeLike 'HubCertificateNotTrusted*'
        $err.CategoryInfo.Category | Should -Be 'SecurityError'
        $err.Exception.Message | Should -BeLike '*not signed by a certificate authority this machine trusts*'
        $err.ErrorDetails.RecommendedAction | Should -BeLike '*-CertificateAuthorityPath*'
    }

    It 'says when the certificate is for another name' {
        $hub = $Hubs['wss']
        $err = Invoke-AsRole 'Eater' ($hub.Info.EaterHub -replace '127\.0\.0\.1', '[::ffff:127.0.0.1]') @{ Token = $EaterToken; CertificateAuthorityPath = $Ca.Path }
        $err.FullyQualifiedErrorId | Should -BeLike 'HubCertificateNotTrusted*'
        $err.Exception.Message | Should -BeLike "*is for 'localhost', '127.0.0.1'*"
        $err.ErrorDetails.RecommendedAction | Should -BeLike '*name*'
    }

    It 'warns with -SkipCertificateCheck, and connects' {
        $hub = $Hubs['wss']
        $null = Receive-Dumpling -Hub $hub.Info.EaterHub -Token $EaterToken -SkipCertificateCheck -Count 1 -Timeout 10 -WarningVariable warnings -WarningAction SilentlyContinue
        "$warnings" | Should -BeLike '*-SkipCertificateCheck*not checked*'
    }

    It 'says which file is wrong' {
        $bad = Join-Path $TestDrive 'not-a-cert.pem'
        Set-Content $bad 'hello'
        $err = $null
        try { Receive-Dumpling -Hub $Hubs['wss'].Info.EaterHub -CertificateAuthorityPath $bad -Count 1 } catch { $err = $_ }
        $err.FullyQualifiedErrorId | Should -BeLike 'InvalidCertificateFile*'
        $err.TargetObject | Should -Be $bad
        { Start-DumplingHub -InPort 0 -OutPort 0 -CertificatePath (Join-Path $TestDrive 'missing.pem') -AsJob } | Should -Throw -ErrorId 'CertificateFileNotFound*'
    }
}

Describe 'Start-DumplingHub on another address' {
    It 'warns who can read or write each port it leaves without a token' {
        $job = Start-DumplingHub -Address 0.0.0.0 -InPort 0 -OutPort 0 -StatusInterval 0 -EaterToken 'e' -AsJob -WarningVariable warnings -WarningAction SilentlyContinue
        try {
            "$warnings" | Should -BeLike '*in-port*needs no token*can send dumplings*-KitchenToken*'
            "$warnings" | Should -Not -BeLike '*out-port*needs no token*'
            "$warnings" | Should -BeLike '*plain ws://*-CertificatePath*'
        }
        finally { $job | Stop-Job -PassThru | Remove-Job }
        $job = Start-DumplingHub -InPort 0 -OutPort 0 -StatusInterval 0 -AsJob -WarningVariable quiet
        $job | Stop-Job -PassThru | Remove-Job
        $quiet | Should -BeNullOrEmpty
    }
}
