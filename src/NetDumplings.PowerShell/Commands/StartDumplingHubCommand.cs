using NetDumplings.Protocol;
using System.Management.Automation;
using System.Net;
using System.Net.Sockets;
using System.Security;
using System.Security.Cryptography.X509Certificates;
using NetDumplings.WebSockets;
using NetDumplings.Hub;

using NetDumplings.PowerShell.Cmdlets;
using NetDumplings.PowerShell.Jobs;

namespace NetDumplings.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Starts a dumpling hub: kitchens send dumplings to its in-port, eaters receive them from its out-port.</para>
/// <para type="description">The hub speaks the wire protocol of the Python netdumplings, so nd-sniff kitchens and nd-print eaters work with it. Every eater that reads gets every dumpling (-OverflowPolicy Backpressure), and a Receive-Dumpling that loses its connection, or comes back to a restarted hub, resumes where it left off from the hub's replay window (-ReplayWindow). A stopping hub first sends its eaters what it already took (for up to 2 s), then closes everyone with 1001. It runs in the foreground until stopped (Ctrl+C), reporting connections and problems as nd-hub's log does; with -AsJob it runs as a job that Get-Job, Receive-Job and Stop-Job handle. It first outputs where it listens (use -InPort 0 -OutPort 0 to pick free ports). It listens on localhost unless told otherwise; on any other address it warns about each port left without a token (-KitchenToken, -EaterToken) and about plain ws:// (-CertificatePath serves wss://). Browser pages may connect only from -AllowedOrigin. It never forwards what would break the original Python eaters (nesting deeper than 500 levels, integers of more than 4300 digits, a duplicate metadata, chef or kitchen key), nor a kitchen's dumpling posing as its own status (chef SystemStatusChef with no kitchen): these are skipped and counted as invalid. A frame announcing more than -MaxMessageBytes is refused with 1009 as soon as its header arrives.</para>
/// </summary>
/// <example>
///   <code>Start-DumplingHub</code>
///   <para>Runs a hub on localhost:11347 (kitchens) and localhost:11348 (eaters) until Ctrl+C, printing who connects.</para>
/// </example>
/// <example>
///   <code>$hub = Start-DumplingHub -InPort 0 -OutPort 0 -AsJob
/// Receive-Dumpling -Hub $hub.Info.EaterHub -Count 10
/// Stop-Job $hub; Remove-Job $hub</code>
///   <para>Runs a hub on free ports as a job, eats ten dumplings from it, then stops it.</para>
/// </example>
/// <example>
///   <code>Start-DumplingHub -Address * -CertificatePath /etc/netdumplings/hub.crt -KeyPath /etc/netdumplings/hub.key -KitchenToken (Get-Content /etc/netdumplings/kitchen.token) -EaterToken (Read-Host -AsSecureString 'Eater token')</code>
///   <para>Serves both ports over TLS on every interface; kitchens connect with -Hub wss://hubhost:11347 -Token (the kitchen token), eaters with -Hub wss://hubhost:11348 -Token (the eater token). Anyone without the port's token gets HTTP 401, counted in the status dumplings.</para>
/// </example>
/// <example>
///   <code>Start-DumplingHub -Address * -OverflowPolicy Disconnect -EaterQueueLimit 1000</code>
///   <para>Listens on every interface and disconnects any eater that falls 1000 dumplings behind, instead of holding the kitchens back for it.</para>
/// </example>
/// <example>
///   <code>Start-DumplingHub -SlowEaterTimeout 2</code>
///   <para>Holds the kitchens back for a full eater (the default) for at most 2 s of it reading nothing, then cuts that eater off.</para>
/// </example>
/// <example>
///   <code>Start-DumplingHub -Address * -Nats nats://nats1:4222,nats://nats2:4222 -NatsCredential (Get-Credential hub) -HubName site-a</code>
///   <para>Joins a mesh of hubs through a NATS cluster: this hub's kitchens' dumplings reach the eaters of every hub in the mesh, and theirs reach this hub's eaters. Get-DumplingHubStatus shows the mesh (.Mesh): connected or not, published, received, lost, and the other hubs' kitchens.</para>
/// </example>
[Cmdlet(VerbsLifecycle.Start, "DumplingHub")]
[OutputType(typeof(DumplingHubInfo), typeof(DumplingHubJob))]
public sealed class StartDumplingHubCommand : DumplingCmdlet
{
    /// <summary><para type="description">Where to listen: localhost (the default: this machine only), an IP address of this machine, or * for every interface.</para></summary>
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Address { get; set; } = HubAddress.DefaultHost;

    /// <summary><para type="description">The kitchens' port (default 11347); 0 picks a free port.</para></summary>
    [Parameter]
    [ValidateRange(0, 65535)]
    public int InPort { get; set; } = HubAddress.DefaultInPort;

    /// <summary><para type="description">The eaters' port (default 11348); 0 picks a free port.</para></summary>
    [Parameter]
    [ValidateRange(0, 65535)]
    public int OutPort { get; set; } = HubAddress.DefaultOutPort;

    /// <summary><para type="description">Seconds between the hub's SystemStatusChef dumplings (default 5); 0 turns them off.</para></summary>
    [Parameter]
    [ValidateRange(0, 86400)]
    public double StatusInterval { get; set; } = 5;

    /// <summary><para type="description">Largest message accepted from a peer (default 1 MiB); a bigger one closes its sender with 1009.</para></summary>
    [Parameter]
    [ValidateRange(1024, int.MaxValue)]
    public int MaxMessageBytes { get; set; } = 1024 * 1024;

    /// <summary><para type="description">Dumplings an eater may have waiting (default 10000) before -OverflowPolicy applies.</para></summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int EaterQueueLimit { get; set; } = 10_000;

    /// <summary><para type="description">Bytes an eater may have waiting (default 16 MiB; at least -MaxMessageBytes) before -OverflowPolicy applies.</para></summary>
    [Parameter]
    [ValidateRange(1024L, long.MaxValue)]
    public long EaterQueueBytes { get; set; } = 16L * 1024 * 1024;

    /// <summary><para type="description">What to do when an eater's queue is full. Backpressure (the default, lossless for eaters that read): stop reading the kitchens, so TCP slows them to the slowest eater, until the eater makes room; an eater that takes nothing for -SlowEaterTimeout is cut off (close 1008, counted in the status dumplings). DropOldest: drop its oldest dumplings and count them; kitchens never wait. Disconnect: close the eater (1008) at once.</para></summary>
    [Parameter]
    public EaterOverflowPolicy OverflowPolicy { get; set; } = EaterOverflowPolicy.Backpressure;

    /// <summary><para type="description">With -OverflowPolicy Backpressure: seconds an eater may take nothing from its full queue, holding the kitchens back, before it is cut off with close 1008 (default 5). A stalled eater holds the others back for at most this long. Keep it below the kitchens' own keepalive timeout (20 s): a held kitchen's pings go unanswered meanwhile.</para></summary>
    [Parameter]
    [ValidateRange(0.05, 3600)]
    public double SlowEaterTimeout { get; set; } = 5;

    /// <summary><para type="description">Dumplings the hub keeps after sending them (default 10000), so that a Receive-Dumpling whose connection drops, or that comes back to a restarted hub, is first sent what it missed (it resumes after the last dumpling it got; nothing comes twice); what has left the window by then is reported to it as lost. 0 keeps none. Original eaters (nd-print) are never replayed to.</para></summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int ReplayWindow { get; set; } = 10_000;

    /// <summary><para type="description">Bytes of dumplings the replay window keeps at most (default 16 MiB), beside the eaters' queues.</para></summary>
    [Parameter]
    [ValidateRange(0L, long.MaxValue)]
    public long ReplayWindowBytes { get; set; } = 16L * 1024 * 1024;

    /// <summary><para type="description">Seconds between keepalive pings, and to wait for their answer before closing a dead peer (default 20, as the original).</para></summary>
    [Parameter]
    [ValidateRange(0.05, 3600)]
    public double KeepAlive { get; set; } = 20;

    /// <summary><para type="description">Seconds a new connection has, from its TCP connect, for TLS, the WebSocket upgrade and its announcement together (default 10): one deadline, so a peer dribbling its handshake cannot hold a place longer.</para></summary>
    [Parameter]
    [ValidateRange(0.05, 3600)]
    public double AnnounceTimeout { get; set; } = 10;

    /// <summary><para type="description">Connections the hub keeps at once on both ports together (default 512; see also -MaxKitchenConnections, -MaxEaterConnections and -MaxConnectionsPerAddress); more are refused with HTTP 503.</para></summary>
    [Parameter]
    [ValidateRange(1, 100_000)]
    public int MaxConnections { get; set; } = 512;

    /// <summary><para type="description">Names or wildcards an eater may list in each of its announcement's chefs and kitchens filters (default 64); an eater announcing more is refused with 1008.</para></summary>
    [Parameter]
    [ValidateRange(1, 100_000)]
    public int MaxEaterPatterns { get; set; } = 64;

    /// <summary><para type="description">Characters each of an eater's chef or kitchen names or wildcards may have (default 128); a longer one is refused with 1008.</para></summary>
    [Parameter]
    [ValidateRange(1, 100_000)]
    public int MaxEaterPatternLength { get; set; } = 128;

    /// <summary><para type="description">Bytes a kitchen's or eater's announcement may have (default 65536; real ones are a few hundred); a larger one is refused with 1008 and counted, since the hub keeps every announcement while its peer is connected.</para></summary>
    [Parameter]
    [ValidateRange(1024, 1024 * 1024)]
    public int MaxAnnouncementBytes { get; set; } = 64 * 1024;

    /// <summary><para type="description">Kitchens (including ones still connecting) the in-port keeps at once (default 256); more are refused with HTTP 503, and eaters can never take these places.</para></summary>
    [Parameter]
    [ValidateRange(1, 100_000)]
    public int MaxKitchenConnections { get; set; } = 256;

    /// <summary><para type="description">Eaters (including ones still connecting) the out-port keeps at once (default 256); more are refused with HTTP 503.</para></summary>
    [Parameter]
    [ValidateRange(1, 100_000)]
    public int MaxEaterConnections { get; set; } = 256;

    /// <summary><para type="description">Connections one IP address may have open on both ports together (default 64); more are refused with HTTP 503, so one host cannot lock the others out. -AnnounceTimeout is the one deadline a new connection has for TLS, the WebSocket upgrade and its announcement together.</para></summary>
    [Parameter]
    [ValidateRange(1, 100_000)]
    public int MaxConnectionsPerAddress { get; set; } = 64;

    /// <summary><para type="description">Serve both ports over TLS (clients then use -Hub wss://host:port) with this certificate: a PEM file (its key in the same file or in -KeyPath; further certificates in it are sent as the chain) or a PFX file without a password. TLS 1.2 and 1.3 only.</para></summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? CertificatePath { get; set; }

    /// <summary><para type="description">The PEM file holding the private key of -CertificatePath, when it is not in the same file.</para></summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? KeyPath { get; set; }

    /// <summary><para type="description">With -CertificatePath: require every kitchen and eater to present a client certificate signed by the certificate authority in this PEM file (mutual TLS). Clients give theirs with -CertificatePath (and -KeyPath).</para></summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ClientCertificateAuthorityPath { get; set; }

    /// <summary><para type="description">The token kitchens must present on the in-port (a SecureString, or a plain string): sent by the cmdlets' -Token as 'Authorization: Bearer', or in the URL as ws://host:11347/?token=... (the original nd-sniff: --hub host:11347/?token=...). Missing or wrong: HTTP 401, logged with the peer's address (never the token) and counted in the status dumplings' total_refused_connections. Default: none required.</para></summary>
    [Parameter]
    [TokenTransformation]
    public SecureString? KitchenToken { get; set; }

    /// <summary><para type="description">The token eaters must present on the out-port, as -KitchenToken does for kitchens (the original nd-print: --hub host:11348/?token=...). Default: none required.</para></summary>
    [Parameter]
    [TokenTransformation]
    public SecureString? EaterToken { get; set; }

    /// <summary><para type="description">Web page origins (such as https://dash.example:8443) whose pages may connect from a browser; a request with an Origin header from any other page is refused with HTTP 403. 'null' allows pages opened from a file (the original's webnom page), '*' any page. The hub's own origin is always allowed; clients that are not browsers send no Origin and are judged by their token alone.</para></summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[] AllowedOrigin { get; set; } = [];

    /// <summary><para type="description">Join a mesh of hubs through NATS (nats://host:4222, several for a cluster): every dumpling a kitchen of this hub sends is published once to NATS (subject netdumplings.v1.kitchen.chef.driver), and every other hub's dumplings reach this hub's eaters as its own kitchens' do (eater filters included; none twice, none looping back). NATS unreachable is a warning: the hub serves its own kitchens and eaters and keeps trying; what could not cross meanwhile is counted in the status (Get-DumplingHubStatus, .Mesh). Default: none (the hub stands alone).</para></summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? Nats { get; set; }

    /// <summary><para type="description">This hub's name in the mesh, shown in the other hubs' status beside its kitchens (default: the host name).</para></summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? HubName { get; set; }

    /// <summary><para type="description">With -Nats: the NATS token (authorization { token }), a SecureString or a plain string. Default: none.</para></summary>
    [Parameter]
    [TokenTransformation]
    public SecureString? NatsToken { get; set; }

    /// <summary><para type="description">With -Nats: the NATS user and password, as a PSCredential (Get-Credential). Default: none.</para></summary>
    [Parameter]
    [Credential]
    public PSCredential? NatsCredential { get; set; }

    /// <summary><para type="description">With -Nats: a NATS credentials file (.creds: a user JWT and its nkey seed), as nsc makes them. Default: none.</para></summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? NatsCredentialsPath { get; set; }

    /// <summary><para type="description">With -Nats: an nkey seed file. Default: none.</para></summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? NatsNKeyPath { get; set; }

    /// <summary><para type="description">With -Nats: require TLS to NATS (also implied by tls:// URLs and the -NatsCa/-NatsCertificate paths). Default: TLS when the server offers it.</para></summary>
    [Parameter]
    public SwitchParameter NatsTls { get; set; }

    /// <summary><para type="description">With -Nats: the CA (PEM) the NATS servers' certificates are checked against. Default: the system's.</para></summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? NatsCaPath { get; set; }

    /// <summary><para type="description">With -Nats: this hub's client certificate (PEM) for NATS servers that require one; its key in -NatsKeyPath. Default: none.</para></summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? NatsCertificatePath { get; set; }

    /// <summary><para type="description">The PEM key of -NatsCertificatePath. Default: none.</para></summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? NatsKeyPath { get; set; }

    /// <summary><para type="description">Run the hub as a job and return the job at once.</para></summary>
    [Parameter]
    public SwitchParameter AsJob { get; set; }

    /// <summary><para type="description">The job's name, with -AsJob.</para></summary>
    [Parameter]
    public string? JobName { get; set; }

    protected override void EndProcessing()
    {
        var hub = CreateHub();
        var job = new DumplingHubJob(hub, MyInvocation.Line.Trim(), JobName);
        Start(hub);
        WarnAboutExposure(hub);
        job.Started();
        if (AsJob)
        {
            JobRepository.Add(job);
            WriteObject(job);
            return;
        }
        // The foreground is the same job, its streams written here until Ctrl+C stops the hub.
        using (job) job.Replay(this, CancelToken);
    }

    private DumplingHub CreateHub()
    {
        var kitchenToken = Token(KitchenToken, nameof(KitchenToken));
        var eaterToken = Token(EaterToken, nameof(EaterToken));
        X509Certificate2? certificate = null;
        X509Certificate2Collection? chain = null, clients = null;
        if (CertificatePath is not null)
        {
            var path = GetUnresolvedProviderPathFromPSPath(CertificatePath);
            var key = KeyPath is null ? null : GetUnresolvedProviderPathFromPSPath(KeyPath);
            try { certificate = Tls.LoadCertificate(path, key, out chain); }
            catch (Exception e) when (SecurityParameters.IsFileProblem(e)) { ThrowTerminatingError(SecurityParameters.FileError(e, nameof(CertificatePath), path)); }
            if (certificate!.NotAfter < DateTime.Now)
                WriteWarning($"The hub's certificate '{certificate.Subject}' expired on {certificate.NotAfter:u}: clients will refuse it.");
        }
        else if (KeyPath is not null || ClientCertificateAuthorityPath is not null)
        {
            ThrowTerminatingError(new ArgumentException("-KeyPath and -ClientCertificateAuthorityPath go with -CertificatePath (TLS)."), "TlsOptionWithoutCertificate",
                ErrorCategory.InvalidArgument, KeyPath ?? ClientCertificateAuthorityPath, "Give the hub's certificate with -CertificatePath.");
        }
        if (ClientCertificateAuthorityPath is not null)
        {
            var path = GetUnresolvedProviderPathFromPSPath(ClientCertificateAuthorityPath);
            try { clients = Tls.LoadAuthority(path); }
            catch (Exception e) when (SecurityParameters.IsFileProblem(e)) { ThrowTerminatingError(SecurityParameters.FileError(e, nameof(ClientCertificateAuthorityPath), path)); }
        }
        try
        {
            return new DumplingHub(new DumplingHubOptions
            {
                Address = Address,
                InPort = InPort,
                OutPort = OutPort,
                StatusInterval = TimeSpan.FromSeconds(StatusInterval),
                MaxMessageBytes = MaxMessageBytes,
                EaterQueueDumplings = EaterQueueLimit,
                EaterQueueBytes = Math.Max(EaterQueueBytes, MaxMessageBytes),
                OverflowPolicy = OverflowPolicy,
                SlowEaterTimeout = TimeSpan.FromSeconds(SlowEaterTimeout),
                ReplayWindowDumplings = ReplayWindow,
                ReplayWindowBytes = ReplayWindowBytes,
                KeepAliveInterval = TimeSpan.FromSeconds(KeepAlive),
                KeepAliveTimeout = TimeSpan.FromSeconds(KeepAlive),
                AnnounceTimeout = TimeSpan.FromSeconds(AnnounceTimeout),
                MaxConnections = MaxConnections,
                MaxEaterPatterns = MaxEaterPatterns,
                MaxEaterPatternLength = MaxEaterPatternLength,
                MaxAnnouncementBytes = MaxAnnouncementBytes,
                MaxKitchenConnections = MaxKitchenConnections,
                MaxEaterConnections = MaxEaterConnections,
                MaxConnectionsPerAddress = MaxConnectionsPerAddress,
                Certificate = certificate,
                CertificateChain = chain,
                ClientCertificateAuthority = clients,
                KitchenToken = kitchenToken,
                EaterToken = eaterToken,
                AllowedOrigins = AllowedOrigin,
                Mesh = MeshOptions(),
            });
        }
        catch (ArgumentException e)
        {
            ThrowTerminatingError(e, "InvalidHubOptions", ErrorCategory.InvalidArgument, this,
                Nats is null ? "Give -InPort and -OutPort different values, each 0 to 65535 (0 picks a free port)."
                    : "Give -InPort and -OutPort different values, each 0 to 65535 (0 picks a free port); -Nats nats://host:4222 URLs; a NATS user with its password.");
            throw; // not reached: ThrowTerminatingError throws
        }
    }

    private NetDumplings.Hub.Mesh.NatsMeshOptions? MeshOptions()
    {
        if (Nats is null)
        {
            if (HubName is not null || NatsToken is not null || NatsCredential is not null || NatsCredentialsPath is not null || NatsNKeyPath is not null ||
                NatsTls || NatsCaPath is not null || NatsCertificatePath is not null || NatsKeyPath is not null)
                ThrowTerminatingError(new ArgumentException("-HubName and the -Nats* options go with -Nats (the NATS servers of the mesh)."), "MeshOptionWithoutNats",
                    ErrorCategory.InvalidArgument, HubName, "Give the NATS servers with -Nats nats://host:4222.");
            return null;
        }
        string? Path(string? path) => path is null ? null : GetUnresolvedProviderPathFromPSPath(path);
        var options = new NetDumplings.Hub.Mesh.NatsMeshOptions
        {
            Servers = string.Join(",", Nats.SelectMany(n => n.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))),
            Token = Plain(NatsToken),
            User = NatsCredential?.UserName,
            Password = Plain(NatsCredential?.Password),
            CredentialsFile = Path(NatsCredentialsPath),
            NKeyFile = Path(NatsNKeyPath),
            RequireTls = NatsTls,
            TlsCaFile = Path(NatsCaPath),
            TlsCertFile = Path(NatsCertificatePath),
            TlsKeyFile = Path(NatsKeyPath),
        };
        if (HubName is not null) options = options with { HubName = HubName };
        foreach (var (file, parameter) in new[] { (options.CredentialsFile, nameof(NatsCredentialsPath)), (options.NKeyFile, nameof(NatsNKeyPath)),
            (options.TlsCaFile, nameof(NatsCaPath)), (options.TlsCertFile, nameof(NatsCertificatePath)), (options.TlsKeyFile, nameof(NatsKeyPath)) })
            if (file is not null && !File.Exists(file))
                ThrowTerminatingError(new FileNotFoundException($"-{parameter}: there is no file '{file}'.", file), "NatsFileNotFound", ErrorCategory.ObjectNotFound, file, $"Give -{parameter} an existing file.");
        return options;
    }

    private static string? Plain(SecureString? value) => value is null ? null : NetDumplings.Protocol.SecureText.Of(value);

    private AccessToken? Token(SecureString? value, string parameter)
    {
        try
        {
            return value is null ? null : AccessToken.FromSecureString(value);
        }
        catch (ArgumentException e)
        {
            ThrowTerminatingError(SecurityParameters.TokenError(e, parameter));
            return null; // not reached
        }
    }

    /// <summary>A hub reachable from other hosts says who can use each port it leaves open.</summary>
    private void WarnAboutExposure(DumplingHub hub)
    {
        var address = hub.InEndPoint.Address;
        if (IPAddress.IsLoopback(address)) return;
        var everyone = address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) ? "any host on any network of this machine" : $"any host that can reach {address}";
        if (hub.Options.KitchenToken is null)
            WriteWarning($"The in-port {hub.InEndPoint} needs no token: {everyone} can send dumplings to every eater, as any kitchen. Pass -KitchenToken.");
        if (hub.Options.EaterToken is null)
            WriteWarning($"The out-port {hub.OutEndPoint} needs no token: {everyone} can read every dumpling the kitchens send. Pass -EaterToken.");
        if (hub.Options.Certificate is null)
            WriteWarning($"The hub serves plain ws:// on {address}: dumplings{((hub.Options.KitchenToken ?? hub.Options.EaterToken) is not null ? " and tokens" : "")} cross the network readable by anyone on the path. Pass -CertificatePath to serve wss://.");
    }

    private void Start(DumplingHub hub)
    {
        try
        {
            hub.StartAsync().GetAwaiter().GetResult();
        }
        catch (HubStartException e)
        {
            var error = (e.InnerException as SocketException)?.SocketErrorCode;
            var (category, action) = error switch
            {
                SocketError.AddressAlreadyInUse => (ErrorCategory.ResourceUnavailable,
                    "Stop whatever holds the port (another Start-DumplingHub or nd-hub?), or pass -InPort/-OutPort (0 picks free ports)."),
                SocketError.AccessDenied => (ErrorCategory.PermissionDenied, "Use ports from 1024 up, or run as root."),
                _ => (ErrorCategory.InvalidArgument, "Pass -Address localhost, an address of this machine, or * for all interfaces."),
            };
            ThrowTerminatingError(e, "HubStartFailed", category, (object?)e.EndPoint ?? Address, action);
        }
    }
}
