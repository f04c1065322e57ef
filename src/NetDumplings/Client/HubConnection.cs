using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using NetDumplings.Protocol;
using NetDumplings.WebSockets;

namespace NetDumplings.Client;

/// <summary>What one receive from the hub produced.</summary>
internal enum HubMessageKind { Message, Closed, TooLarge }

/// <summary>
/// The one client WebSocket to a hub, for every role: TCP, the RFC 6455 handshake, the announcement,
/// whole-message receives, bursts of frames we built ourselves, and the one close routine.
/// </summary>
internal sealed class HubConnection : IAsyncDisposable
{
    private readonly Socket _socket;
    private byte[] _buffer = new byte[16 * 1024];

    private HubConnection(HubAddress hub, Socket socket, FrameStream stream, WebSocket webSocket)
    {
        Hub = hub;
        _socket = socket;
        Stream = stream;
        Socket = webSocket;
    }

    public HubAddress Hub { get; }
    public FrameStream Stream { get; }
    public WebSocket Socket { get; }

    /// <summary>The last message received (valid until the next receive).</summary>
    public ReadOnlyMemory<byte> Message { get; private set; }

    /// <summary>Connects, upgrades and announces, all within <see cref="HubClientOptions.ConnectTimeout"/>.</summary>
    /// <exception cref="DumplingHubUnreachableException">No hub answered as a hub should.</exception>
    /// <exception cref="DumplingHubRefusedException">The hub refused this client for good.</exception>
    public static async Task<HubConnection> OpenAsync(HubClientOptions options, byte[] announcement, string role, CancellationToken cancellationToken)
    {
        var hub = options.Hub;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.ConnectTimeout);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var security = options.Security;
        (CertificateProblem Problem, string Reason)? certificateProblem = null;
        var stage = Stage.Connect;
        try
        {
            await socket.ConnectAsync(new DnsEndPoint(hub.Host, hub.Port), timeout.Token).ConfigureAwait(false);
            Stream transport = new NetworkStream(socket, ownsSocket: false);
            if (hub.Tls)
            {
                stage = Stage.Tls;
                var ssl = new SslStream(transport, leaveInnerStreamOpen: false);
                transport = ssl;
                await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                {
                    TargetHost = hub.Host,
                    EnabledSslProtocols = Tls.Protocols,
                    CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                    ClientCertificateContext = security.ClientCertificate is { } mine ? SslStreamCertificateContext.Create(mine, null, offline: true) : null,
                    RemoteCertificateValidationCallback = (_, certificate, chain, errors) => security.SkipCertificateCheck ||
                        (certificateProblem = Tls.Check(certificate, chain, errors, security.CertificateAuthority, hub.Host)) is null,
                }, timeout.Token).ConfigureAwait(false);
            }
            stage = Stage.Upgrade;
            var headers = security.Token is { } token ? new Dictionary<string, string> { ["Authorization"] = "Bearer " + token.Value } : null;
            var leftover = await ClientHandshake.UpgradeAsync(transport, hub.Authority, hub.Path, headers, $"NetDumplings-{role}", timeout.Token)
                .ConfigureAwait(false);
            var stream = new FrameStream(transport, leftover);
            var webSocket = WebSocket.CreateFromStream(stream, new WebSocketCreationOptions
            {
                IsServer = false,
                KeepAliveInterval = options.KeepAliveInterval,
                KeepAliveTimeout = options.KeepAliveTimeout,
            });
            await webSocket.SendAsync(announcement, WebSocketMessageType.Text, true, timeout.Token).ConfigureAwait(false);
            return new HubConnection(hub, socket, stream, webSocket);
        }
        catch (Exception e)
        {
            socket.Dispose();
            if (cancellationToken.IsCancellationRequested) throw new OperationCanceledException(cancellationToken);
            if (certificateProblem is { } bad)
                throw new DumplingHubCertificateException(hub.ToString(), bad.Problem, bad.Reason, e);
            if (e is WebSocketUpgradeRefusedException { StatusCode: 401 or 403 } refused)
                throw new DumplingHubRefusedException(hub.ToString(), $"The hub at {hub} refused this {role}: {refused.Message}", refused.Body, e);
            throw new DumplingHubUnreachableException(hub.ToString(),
                $"Cannot reach the hub at {hub}: {Describe(e, timeout.IsCancellationRequested, options.ConnectTimeout)}{TlsHint(hub, stage, e, security)}", e);
        }
    }

    private enum Stage { Connect, Tls, Upgrade }

    /// <summary>What a failure at this stage of a wss:// (or ws://) connection most likely means.</summary>
    private static string TlsHint(HubAddress hub, Stage stage, Exception e, HubClientSecurity security)
    {
        if (hub.Tls && stage == Stage.Tls)
            return " Does the hub serve TLS (one started without -CertificatePath speaks ws://)? If it requires client certificates, does this client give one that the hub's authority signed?";
        if (hub.Tls && stage == Stage.Upgrade && e is IOException && security.ClientCertificate is null)
            return " If the hub requires client certificates (mutual TLS), give this client one signed by the authority the hub trusts.";
        if (hub.Tls && stage == Stage.Upgrade && e is IOException)
            return " If the hub requires client certificates (mutual TLS), this one was not signed by the authority it trusts.";
        if (!hub.Tls && e is WebSocketUpgradeRefusedException { Body: var body } && body.Contains("wss://", StringComparison.Ordinal))
            return $" Use -Hub wss://{hub.Authority}.";
        return "";
    }

    private static string Describe(Exception e, bool timedOut, TimeSpan connectTimeout)
    {
        if (timedOut) return $"no answer within {connectTimeout.TotalSeconds:0.#} s.";
        for (Exception? inner = e; inner is not null; inner = inner.InnerException)
            if (inner is SocketException socket) return socket.Message.TrimEnd('.') + ".";
        if (e is WebSocketUpgradeRefusedException http)
            return $"it answered {http.Message.TrimEnd('.')} (is this a dumpling hub?).";
        return e.Message.TrimEnd('.') + ".";
    }

    /// <summary>
    /// Receives one whole message into <see cref="Message"/>, skipping (and reporting as
    /// <see cref="HubMessageKind.TooLarge"/>) one over <paramref name="maxBytes"/>.
    /// Not cancellable on purpose: a cancelled receive aborts the WebSocket, and a stopping client
    /// still wants to send its close code. Callers wait on the task with their token instead.
    /// </summary>
    public Task<(HubMessageKind Kind, bool Binary)> ReceiveAsync(int maxBytes)
    {
        // One receive at a time: a caller that gave up waiting (a timeout, a close) picks up the same one.
        if (_receiving is { IsCompleted: false } outstanding) return outstanding;
        return _receiving = ReceiveCoreAsync(maxBytes);
    }

    private Task<(HubMessageKind Kind, bool Binary)>? _receiving;

    private async Task<(HubMessageKind Kind, bool Binary)> ReceiveCoreAsync(int maxBytes)
    {
        var length = 0;
        var tooLarge = false;
        while (true)
        {
            if (length == _buffer.Length)
            {
                if (_buffer.Length >= maxBytes) { tooLarge = true; length = 0; }
                else Array.Resize(ref _buffer, (int)Math.Min((long)_buffer.Length * 2, maxBytes));
            }
            var result = await Socket.ReceiveAsync(_buffer.AsMemory(length), CancellationToken.None).ConfigureAwait(false);
            if (result.MessageType == WebSocketMessageType.Close) return (HubMessageKind.Closed, false);
            length += result.Count;
            if (result.EndOfMessage)
            {
                Message = _buffer.AsMemory(0, tooLarge ? 0 : length);
                return (tooLarge ? HubMessageKind.TooLarge : HubMessageKind.Message, result.MessageType == WebSocketMessageType.Binary);
            }
        }
    }

    /// <summary>
    /// The hub's close, read as a reason to stop for good: a refused announcement (wrong port for this
    /// role) is final; anything else is a lost connection a client may reconnect after.
    /// </summary>
    public DumplingHubRefusedException? Refusal(string role)
    {
        var reason = Socket.CloseStatusDescription ?? "";
        if ((int?)Socket.CloseStatus != DumplingCloseCodes.PolicyViolation ||
            !reason.StartsWith(DumplingCloseCodes.AnnouncementRefusedPrefix, StringComparison.Ordinal))
            return null;
        return new DumplingHubRefusedException(Hub.ToString(),
            $"The hub at {Hub} refused this {role} ({reason}). Kitchens and Send-Dumpling connect to a hub's in-port " +
            $"(default {HubAddress.DefaultInPort}); eaters (Receive-Dumpling, Get-DumplingHubStatus) to its out-port (default {HubAddress.DefaultOutPort}).",
            reason);
    }

    /// <summary>Says why the connection ended, for a person.</summary>
    public string LostReason(Exception? error) => error is not null
        ? $"The connection to the hub at {Hub} broke: {error.Message}"
        : $"The hub at {Hub} closed the connection ({(int?)Socket.CloseStatus} {Socket.CloseStatusDescription}).";

    /// <summary>
    /// The one close routine: sends our close frame with the protocol's code, reads (bounded) to the
    /// hub's answer so the closing handshake completes both ways, then drops the connection.
    /// </summary>
    public async Task CloseAsync(int code, string reason, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            if (Socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
                await Socket.CloseOutputAsync((WebSocketCloseStatus)code, DumplingCloseCodes.FitReason(reason), cts.Token).ConfigureAwait(false);
            while (Socket.State == WebSocketState.CloseSent)
            {
                var (kind, _) = await ReceiveAsync(64 * 1024).WaitAsync(cts.Token).ConfigureAwait(false);
                if (kind == HubMessageKind.Closed) break;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or IOException or ObjectDisposedException)
        {
            // The hub did not answer in time, or the connection is already gone: nothing left to say.
        }
        finally
        {
            Socket.Abort();
        }
    }

    public async ValueTask DisposeAsync()
    {
        Socket.Abort();
        Socket.Dispose();
        await Stream.DisposeAsync().ConfigureAwait(false);
        _socket.Dispose();
    }
}

/// <summary>
/// The one reconnect policy: connect (or reconnect) with backoff, report each step, stop at once when
/// the hub refuses the client for good, and give up after the attempts allowed.
/// </summary>
internal sealed class HubConnector(HubClientOptions options, Func<byte[]> announcement, string role, Action<HubClientEventArgs> raise)
{
    public HubClientOptions Options => options;
    public string Role => role;

    public async Task<HubConnection> ConnectAsync(bool reconnecting, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            if (reconnecting || attempt > 0)
            {
                var number = reconnecting ? attempt : attempt - 1;
                if (options.MaxReconnectAttempts is { } max && number >= max)
                    throw new DumplingHubUnreachableException(options.Hub.ToString(),
                        $"Gave up reconnecting to the hub at {options.Hub} after {max} attempts.");
                var delay = options.ReconnectBackoff.Delay(number);
                raise(new HubClientEventArgs(HubClientEventKind.Reconnecting,
                    $"Reconnecting to the hub at {options.Hub} in {delay.TotalSeconds:0.##} s (attempt {number + 1}).") { Attempt = number + 1, Delay = delay });
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            }
            try
            {
                var connection = await HubConnection.OpenAsync(options, announcement(), role, cancellationToken).ConfigureAwait(false);
                raise(new HubClientEventArgs(HubClientEventKind.Connected, $"Connected to the hub at {options.Hub} as a {role}."));
                return connection;
            }
            catch (DumplingHubUnreachableException e) when (reconnecting || options.WaitForHub)
            {
                raise(new HubClientEventArgs(HubClientEventKind.ReconnectFailed, e.Message) { Exception = e, Attempt = attempt + 1 });
            }
        }
    }
}
