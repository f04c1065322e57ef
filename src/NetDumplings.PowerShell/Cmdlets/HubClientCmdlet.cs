using System.Collections.Concurrent;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Net;
using System.Security;
using System.Security.Cryptography.X509Certificates;
using NetDumplings.Client;
using NetDumplings.Protocol;

using NetDumplings.PowerShell.Jobs;
using NetDumplings.WebSockets;

namespace NetDumplings.PowerShell.Cmdlets;

/// <summary>Which side of a hub a cmdlet talks to.</summary>
public enum HubRole { Kitchen, Eater }

/// <summary>
/// Base for every cmdlet that talks to a hub: -Hub parsing and its errors, the hub client's errors
/// as ErrorRecords, and the client's events replayed on the pipeline thread, all in one place.
/// </summary>
public abstract class HubClientCmdlet : DumplingCmdlet
{
    private readonly ConcurrentQueue<HubClientEventArgs> _events = new();

    /// <summary>The port this cmdlet's role connects to.</summary>
    protected abstract HubRole Role { get; }

    protected int DefaultPort => Role == HubRole.Kitchen ? HubAddress.DefaultInPort : HubAddress.DefaultOutPort;

    private string PortName => Role == HubRole.Kitchen ? $"in-port (default {HubAddress.DefaultInPort})" : $"out-port (default {HubAddress.DefaultOutPort})";

    // ---- How every client proves itself to a hub and checks it: written once, here ----

    /// <summary><para type="description">The hub's token for this port (Start-DumplingHub -KitchenToken for kitchens and Send-Dumpling, -EaterToken for Receive-Dumpling and Get-DumplingHubStatus), sent as 'Authorization: Bearer'. A SecureString, or a plain string. A hub that needs one and gets none or a wrong one refuses with HTTP 401, which ends the cmdlet. (A token can also be put in -Hub as ws://host:port/?token=..., as the original Python tools must.)</para></summary>
    [Parameter]
    [TokenTransformation]
    public SecureString? Token { get; set; }

    /// <summary><para type="description">With -Hub wss://...: trust hub certificates signed by the certificate authority in this PEM file, instead of the authorities the system trusts.</para></summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? CertificateAuthorityPath { get; set; }

    /// <summary><para type="description">With -Hub wss://...: accept any certificate the hub presents (expired, self-signed, for another name). For tests only: anyone on the network path can then read and change the dumplings and the token. A warning says so.</para></summary>
    [Parameter]
    public SwitchParameter SkipCertificateCheck { get; set; }

    /// <summary><para type="description">With -Hub wss://...: this client's certificate (PEM or PFX), for a hub that requires client certificates (Start-DumplingHub -ClientCertificateAuthorityPath).</para></summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? CertificatePath { get; set; }

    /// <summary><para type="description">The PEM file holding the private key of -CertificatePath, when it is not in the same file.</para></summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? KeyPath { get; set; }

    /// <summary>
    /// The token, trust and client certificate from the parameters above, for the client options;
    /// stops the cmdlet when a file cannot be read, and warns where the user gives up protection.
    /// </summary>
    protected HubClientSecurity ClientSecurity(HubAddress hub)
    {
        AccessToken? token = null;
        try
        {
            token = Token is null ? null : AccessToken.FromSecureString(Token);
        }
        catch (ArgumentException e)
        {
            ThrowTerminatingError(SecurityParameters.TokenError(e, nameof(Token)));
        }
        X509Certificate2Collection? authority = null;
        X509Certificate2? certificate = null;
        if (CertificateAuthorityPath is not null)
        {
            var path = GetUnresolvedProviderPathFromPSPath(CertificateAuthorityPath);
            try { authority = Tls.LoadAuthority(path); }
            catch (Exception e) when (SecurityParameters.IsFileProblem(e)) { ThrowTerminatingError(SecurityParameters.FileError(e, nameof(CertificateAuthorityPath), path)); }
        }
        if (CertificatePath is not null)
        {
            var path = GetUnresolvedProviderPathFromPSPath(CertificatePath);
            var key = KeyPath is null ? null : GetUnresolvedProviderPathFromPSPath(KeyPath);
            try { certificate = Tls.LoadCertificate(path, key, out _); }
            catch (Exception e) when (SecurityParameters.IsFileProblem(e)) { ThrowTerminatingError(SecurityParameters.FileError(e, nameof(CertificatePath), path)); }
        }
        else if (KeyPath is not null)
        {
            ThrowTerminatingError(new ArgumentException("-KeyPath is the key of -CertificatePath: give both."), "KeyWithoutCertificate",
                ErrorCategory.InvalidArgument, KeyPath, "Pass the client certificate with -CertificatePath, or leave out -KeyPath.");
        }
        if (!hub.Tls && (authority is not null || certificate is not null || SkipCertificateCheck))
            WriteWarning($"-CertificateAuthorityPath, -SkipCertificateCheck and -CertificatePath apply to TLS only; {hub} is plain ws://. Use -Hub wss://{hub.Authority} for a hub started with -CertificatePath.");
        if (hub.Tls && SkipCertificateCheck)
            WriteWarning($"-SkipCertificateCheck: the certificate of the hub at {hub} is not checked, so anyone on the network path can pose as the hub and read the dumplings{(token is null ? "" : " and the token")}. Use it for tests only; give -CertificateAuthorityPath instead.");
        if (!hub.Tls && (token is not null || hub.Path.Contains("token=", StringComparison.Ordinal)) && !IsLoopback(hub.Host))
            WriteWarning($"The token goes to {hub} in plain text (ws://): anyone on the network path can read it. Serve the hub over TLS (Start-DumplingHub -CertificatePath) and use -Hub wss://{hub.Authority}.");
        return new HubClientSecurity { Token = token, CertificateAuthority = authority, SkipCertificateCheck = SkipCertificateCheck, ClientCertificate = certificate };
    }

    private static bool IsLoopback(string host) =>
        host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip));

    /// <summary>Parses -Hub for this role, or stops the cmdlet with an error that says what a hub address looks like.</summary>
    protected HubAddress ParseHub(string text)
    {
        if (!HubAddress.TryParse(text, DefaultPort, out var address, out var error))
            ThrowTerminatingError(new ArgumentException(error), "InvalidHubAddress", ErrorCategory.InvalidArgument, text,
                $"Give the hub's {PortName} as host:port (e.g. localhost:{DefaultPort}) or ws://host:port.");
        return address!;
    }

    /// <summary>The ErrorRecord for a hub client's failure: unreachable, refused (wrong port), lost.</summary>
    protected ErrorRecord HubErrorRecord(Exception e) => e switch
    {
        DumplingHubCertificateException certificate => Errors.Record(certificate, "HubCertificateNotTrusted", ErrorCategory.SecurityError, certificate.Address,
            certificate.Problem switch
            {
                CertificateProblem.WrongName => "Name the hub in -Hub as its certificate does (one of the names in the error), or give the hub a certificate for the name you use.",
                CertificateProblem.Expired => "Give the hub a current certificate (Start-DumplingHub -CertificatePath), and check the clocks of both machines.",
                CertificateProblem.Untrusted => "Pass -CertificateAuthorityPath with the PEM file of the authority that signed the hub's certificate (or install it in the system's trusted store).",
                _ => "Give the hub a valid certificate (Start-DumplingHub -CertificatePath).",
            }),
        DumplingHubRefusedException { InnerException: WebSocketUpgradeRefusedException { StatusCode: 401 } } unauthorized => Errors.Record(unauthorized, "HubTokenRefused",
            ErrorCategory.AuthenticationError, unauthorized.Address,
            $"Pass the hub's {(Role == HubRole.Kitchen ? "kitchen token (Start-DumplingHub -KitchenToken)" : "eater token (Start-DumplingHub -EaterToken)")} with -Token."),
        DumplingHubRefusedException refused => Errors.Record(refused, "HubRefused", ErrorCategory.PermissionDenied, refused.Address,
            $"Point -Hub at the hub's {PortName}."),
        DumplingHubUnreachableException unreachable => Errors.Record(unreachable, "HubUnreachable", ErrorCategory.ConnectionError, unreachable.Address,
            $"Check that a hub is running at {unreachable.Address} (start one with Start-DumplingHub) and that -Hub names its {PortName}."),
        DumplingHubConnectionLostException lost => Errors.Record(lost, "HubConnectionLost", ErrorCategory.ConnectionError, lost.Address,
            "Leave out -NoReconnect to have the cmdlet reconnect when the hub comes back."),
        _ => Errors.Record(e, "HubClientFailed", ErrorCategory.NotSpecified, null),
    };

    /// <summary>A handler to subscribe to a hub client's Event: it only queues, since events come on background threads.</summary>
    protected void QueueEvent(object? sender, HubClientEventArgs e) => _events.Enqueue(e);

    /// <summary>Writes the queued client events; call on the pipeline thread.</summary>
    protected void WriteQueuedEvents()
    {
        while (_events.TryDequeue(out var e)) WriteEvent(e);
    }

    /// <summary>How a client event reaches the user; cmdlets may say more.</summary>
    protected virtual void WriteEvent(HubClientEventArgs e)
    {
        switch (e.Kind)
        {
            case HubClientEventKind.Disconnected:
            case HubClientEventKind.DumplingsLost:
                WriteWarning(e.Message);
                break;
            case HubClientEventKind.MalformedMessage:
                WriteError(new DumplingFormatException(e.Message), "MalformedDumpling", ErrorCategory.InvalidData, e.RawMessage,
                    "The hub forwarded something that is not a dumpling; the kitchen that sent it needs fixing. The stream goes on.");
                break;
            default:
                WriteVerbose(e.Message);
                break;
        }
    }
}

/// <summary>
/// Completes -Hub with where this session's hub jobs listen (the port for the cmdlet's role) and the
/// default address.
/// </summary>
public sealed class HubAddressCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, System.Collections.IDictionary fakeBoundParameters)
    {
        var eater = commandName.Contains("Receive-", StringComparison.OrdinalIgnoreCase) || commandName.Contains("Status", StringComparison.OrdinalIgnoreCase);
        var candidates = new List<(string Address, string Tip)>();
        try
        {
            using var ps = System.Management.Automation.PowerShell.Create(RunspaceMode.CurrentRunspace);
            foreach (var job in ps.AddCommand("Get-Job").Invoke<Job>())
                if (job is DumplingHubJob { Info: { } info } hubJob && hubJob.JobStateInfo.State == JobState.Running)
                    candidates.Add((eater ? info.EaterHub : info.KitchenHub, $"hub job '{hubJob.Name}': {info}"));
        }
        catch (Exception e) when (e is InvalidOperationException or PSInvalidOperationException)
        {
            // Completion inside a pipeline that cannot run nested commands: offer the default only.
        }
        var port = eater ? HubAddress.DefaultOutPort : HubAddress.DefaultInPort;
        candidates.Add(($"{HubAddress.DefaultHost}:{port}", $"the default hub's {(eater ? "out-port (eaters)" : "in-port (kitchens)")}"));
        foreach (var (address, tip) in candidates.DistinctBy(c => c.Address))
            if (address.StartsWith(wordToComplete.Trim('\'', '"'), StringComparison.OrdinalIgnoreCase))
                yield return new CompletionResult(address, address, CompletionResultType.ParameterValue, tip);
    }
}
