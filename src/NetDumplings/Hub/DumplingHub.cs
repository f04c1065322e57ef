using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

using NetDumplings.Hub.Mesh;
using NetDumplings.WebSockets;

namespace NetDumplings.Hub;

/// <summary>
/// The hub: kitchens connect to the in-port and send dumplings; eaters connect to the out-port and
/// get every valid dumpling, as the same bytes, plus the hub's own status dumplings (PROTOCOL.md).
/// Each eater has a bounded queue, so a slow or stalled eater costs bounded memory. When one is full,
/// the kitchens wait for it (backpressure, the default) until it makes room or misses its deadline
/// and is cut off; or, as the user chooses, its oldest dumplings are dropped, or it is disconnected.
/// Dumplings are numbered as they are taken and the latest kept in a bounded replay window, from which
/// an eater of ours that reconnects is sent what it missed (an extension the original eaters never see).
/// </summary>
public sealed class DumplingHub : IAsyncDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly object _peersLock = new();
    private readonly HashSet<KitchenSession> _kitchens = [];
    private EaterSession[] _eaters = [];   // copy-on-write: the status and the eaters' wake-up read it without a lock
    // Numbering a dumpling, keeping it in the window and queueing it for every eater happen under this
    // lock, so each eater's queue is in number order (and a resuming eater's replay meets its live
    // queue exactly) even with many kitchens. Held for queue operations only, never across a wait.
    private readonly object _publishLock = new();
    private long _sequence;
    private readonly ReplayWindow _window;
    private readonly List<Task> _tasks = [];
    private TcpListener? _inListener;
    private TcpListener? _outListener;
    private Task? _stopTask;
    private readonly Stopwatch _uptime = new();
    private long _dumplingsIn, _dumplingsOut, _invalid, _refused, _droppedByGoneEaters, _heldTicks, _cutOff;
    private readonly Queue<HubCutOffEater> _recentCutOffs = new(); // under _peersLock
    private const int RecentCutOffs = 16;

    public DumplingHub(DumplingHubOptions? options = null)
    {
        Options = options ?? new DumplingHubOptions();
        Options.Validate();
        _window = new ReplayWindow(Options.ReplayWindowDumplings, Options.ReplayWindowBytes);
        _places = new ConnectionPlaces(Options);
        Admission = new HubAdmission(Options);
        _dashboard = new HubDashboard(this);
    }

    private readonly HubDashboard _dashboard;

    /// <summary>The hub's part in a mesh of hubs through NATS (<see cref="DumplingHubOptions.Mesh"/>); null when it stands alone.</summary>
    internal NatsMesh? Mesh { get; private set; }

    public DumplingHubOptions Options { get; }

    /// <summary>
    /// This hub's instance: dumpling numbers mean something only within it. An eater resuming with
    /// another instance's number (the hub restarted) is sent this hub's whole replay window.
    /// </summary>
    public string InstanceId { get; } = Guid.NewGuid().ToString("N");

    internal ReplayWindow Window => _window;

    /// <summary>The kitchens' endpoint, as bound (the real port when 0 was asked for).</summary>
    public IPEndPoint InEndPoint => (IPEndPoint)(_inListener ?? throw NotStarted()).LocalEndpoint;

    /// <summary>The eaters' endpoint, as bound.</summary>
    public IPEndPoint OutEndPoint => (IPEndPoint)(_outListener ?? throw NotStarted()).LocalEndpoint;

    /// <summary>
    /// Where a browser on this machine opens the dashboard: the out-port over http (https with TLS), at
    /// loopback when the hub listens on every address. Never holds the eater token.
    /// </summary>
    public Uri DashboardUri
    {
        get
        {
            var endPoint = OutEndPoint;
            var address = endPoint.Address.Equals(IPAddress.Any) ? IPAddress.Loopback
                : endPoint.Address.Equals(IPAddress.IPv6Any) ? IPAddress.IPv6Loopback : endPoint.Address;
            return new UriBuilder(Options.Certificate is null ? "http" : "https", address.ToString(), endPoint.Port, "/").Uri;
        }
    }

    /// <summary>The hub's log: connections, disconnections, invalid dumplings, overloads. Raised on background threads.</summary>
    public event EventHandler<HubLogEventArgs>? Log;

    /// <summary>Completes when the hub has stopped.</summary>
    public Task Completion => _stopTask ?? Task.CompletedTask;

    public long DumplingsIn => Interlocked.Read(ref _dumplingsIn);
    public long DumplingsOut => Interlocked.Read(ref _dumplingsOut);

    private static InvalidOperationException NotStarted() => new("The hub has not started: call StartAsync first.");

    /// <summary>Binds both ports and starts accepting. Throws <see cref="HubStartException"/> saying why it cannot.</summary>
    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_inListener is not null) throw new InvalidOperationException("The hub has already started.");
        var address = ResolveAddress(Options.Address);
        if (Options.Certificate is { } certificate)
            _tls = SslStreamCertificateContext.Create(certificate, Options.CertificateChain, offline: true);
        _inListener = Listen(address, Options.InPort, "in-port (kitchens)");
        try
        {
            _outListener = Listen(address, Options.OutPort, "out-port (eaters)");
        }
        catch
        {
            _inListener.Stop();
            _inListener = null;
            throw;
        }
        _uptime.Start();
        if (Options.Mesh is { } mesh)
        {
            // NATS away at start is no failure: the mesh keeps trying in the background and says why it cannot join.
            Mesh = new NatsMesh(this, mesh);
            Mesh.Start();
        }
        lock (_peersLock)
        {
            _tasks.Add(AcceptLoopAsync(_inListener, isKitchen: true));
            _tasks.Add(AcceptLoopAsync(_outListener, isKitchen: false));
            if (Options.StatusInterval > TimeSpan.Zero) _tasks.Add(StatusLoopAsync());
        }
        var scheme = _tls is null ? "" : " over TLS (wss://)";
        var token = Options.EaterToken is null ? "" : " (add ?token= and the eater token)";
        Report(HubLogLevel.Information, $"Dumpling hub listening for kitchens on {InEndPoint} and eaters on {OutEndPoint}{scheme}; dashboard at {DashboardUri}{token}.");
        return Task.CompletedTask;
    }

    private static IPAddress ResolveAddress(string address)
    {
        if (string.IsNullOrWhiteSpace(address) || address.Equals("localhost", StringComparison.OrdinalIgnoreCase)) return IPAddress.Loopback;
        if (address is "*" or "0.0.0.0") return IPAddress.Any;
        if (IPAddress.TryParse(address.Trim('[', ']'), out var ip)) return ip;
        try
        {
            var found = Dns.GetHostAddresses(address);
            return found.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? found.First();
        }
        catch (Exception e) when (e is SocketException or InvalidOperationException or ArgumentException)
        {
            throw new HubStartException($"Cannot listen on '{address}': it is not an IP address and does not resolve to one. Use localhost, an address of this machine, or * for all.", e);
        }
    }

    private static TcpListener Listen(IPAddress address, int port, string role)
    {
        var listener = new TcpListener(address, port);
        try
        {
            listener.Start(backlog: 512);
            return listener;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            throw new HubStartException($"Cannot listen for the {role} on {address}:{port}: the port is already in use (is another hub running?). Stop the other program or choose another port.", e)
            { EndPoint = new IPEndPoint(address, port) };
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressNotAvailable)
        {
            throw new HubStartException($"Cannot listen for the {role} on {address}:{port}: that address is not on this machine. Use localhost, an address of this machine, or * for all.", e)
            { EndPoint = new IPEndPoint(address, port) };
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AccessDenied)
        {
            throw new HubStartException($"Cannot listen for the {role} on {address}:{port}: permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE).", e)
            { EndPoint = new IPEndPoint(address, port) };
        }
    }

    private async Task AcceptLoopAsync(TcpListener listener, bool isKitchen)
    {
        while (!_stopping.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await listener.AcceptTcpClientAsync(_stopping.Token); }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (_stopping.IsCancellationRequested) return;
                continue; // a connection that failed while being accepted; keep listening
            }
            var task = HandleConnectionAsync(client, isKitchen);
            lock (_peersLock)
            {
                _tasks.RemoveAll(t => t.IsCompleted);
                _tasks.Add(task);
            }
        }
    }

    private async Task HandleConnectionAsync(TcpClient client, bool isKitchen)
    {
        var role = isKitchen ? "kitchen" : "eater";
        var remote = (IPEndPoint)client.Client.RemoteEndPoint!;
        HubPeer? peer = null;
        FrameStream? frames = null;
        var full = _places.TryTake(isKitchen, remote.Address);
        // One deadline from accept to announcement, shared by TLS, the upgrade and the announcement:
        // with one timeout each, a peer dribbling its handshake held its place for two of them.
        var accepted = Stopwatch.StartNew();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        deadline.CancelAfter(Options.AnnounceTimeout);
        try
        {
            client.NoDelay = true;
            var network = client.GetStream();
            if (full is not null)
            {
                CountRefused();
                Report(HubLogLevel.Warning, $"Refused {WithArticle(role)} connection from {remote}: {full}.");
                await ServerHandshake.RefuseAsync(network, 503, "Service Unavailable", $"The hub is at its limit: {full}.", deadline.Token);
                return;
            }
            if (!await CheckTransportAsync(client.Client, network, role, remote, deadline.Token)) return;
            Stream transport = network;
            if (_tls is not null)
            {
                var tls = await AuthenticateAsync(network, role, remote, deadline.Token);
                if (tls is null) return;
                transport = tls;
            }
            // The out-port also answers plain GETs (the dashboard); the in-port speaks WebSocket only.
            var handshake = await ServerHandshake.AcceptAsync(transport, deadline.Token, request => Admission.Admit(request, isKitchen),
                isKitchen ? null : _dashboard.Serve, refusing: CountRefused);
            if (handshake.Served)
            {
                Report(HubLogLevel.Verbose, $"Answered GET {ServedPath(handshake.Path)} from {remote}.");
                return;
            }
            if (!handshake.Accepted)
            {
                // Counted by ServerHandshake (refusing) before the refusal went out, not here after it: a peer that
                // reads its answer and then the status finds it counted.
                Report(HubLogLevel.Warning, $"Refused {WithArticle(role)} connection from {remote}: {handshake.Refusal}");
                return;
            }

            // A frame header over the message limit is refused when it arrives, not after its payload (or a keepalive) would.
            frames = new FrameStream(transport, handshake.Leftover) { MaxIncomingFrameBytes = Options.MaxMessageBytes };
            var socket = WebSocket.CreateFromStream(frames, new WebSocketCreationOptions
            {
                IsServer = true,
                // The sessions keep alive themselves (HubPeer.KeepAliveAsync): the WebSocket's own
                // timeout waits for a pong that sits behind a held kitchen's unread dumplings.
                KeepAliveInterval = Timeout.InfiniteTimeSpan,
            });
            peer = isKitchen ? new KitchenSession(this, socket, frames, remote) : new EaterSession(this, socket, frames, remote);
            if (!await peer.ReceiveAnnouncementAsync(Options.AnnounceTimeout - accepted.Elapsed, _stopping.Token))
                return;

            if (peer is KitchenSession kitchen)
            {
                lock (_peersLock) _kitchens.Add(kitchen);
            }
            else
            {
                // A hub in a mesh takes what its eaters want: the subscription is in place before this one starts.
                if (Mesh is { } mesh) await mesh.EaterArrivingAsync(peer, ((EaterSession)peer).MeshInterest, _stopping.Token);
                AdmitEater((EaterSession)peer);
            }
            Report(HubLogLevel.Information, $"Connected {peer}.");
            await peer.RunAsync(_stopping.Token);
        }
        catch (Exception e) when (frames is { RefusedFrameLength: > 0 } && e is IOException or WebSocketException)
        {
            if (isKitchen) CountInvalid();
            Report(HubLogLevel.Warning, $"Closed {(peer is null ? $"{role} at {remote}" : peer.ToString())} with 1009: it announced a frame of " +
                $"{frames.RefusedFrameLength} bytes, over the limit of {Options.MaxMessageBytes}.");
        }
        catch (Exception e) when (e is IOException or SocketException or WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            if (peer is not null && !_stopping.IsCancellationRequested)
                Report(HubLogLevel.Verbose, $"Lost {peer}: {e.Message}");
        }
        catch (Exception e)
        {
            Report(HubLogLevel.Error, $"Unexpected error with {WithArticle(role)} at {remote}: {e}");
        }
        finally
        {
            if (full is null) _places.Release(isKitchen, remote.Address);
            if (peer is not null)
            {
                var known = false;
                lock (_peersLock)
                {
                    if (peer is KitchenSession k) known = _kitchens.Remove(k);
                    else if (peer is EaterSession eater && Array.IndexOf(_eaters, eater) >= 0)
                    {
                        known = true;
                        _eaters = _eaters.Where(x => x != eater).ToArray();
                        Interlocked.Add(ref _droppedByGoneEaters, eater.Dropped);
                        // Kept for the status once gone, when the kitchens' holds on it have ended.
                        if (eater.CutOffReason is { } reason)
                        {
                            if (_recentCutOffs.Count == RecentCutOffs) _recentCutOffs.Dequeue();
                            _recentCutOffs.Enqueue(new HubCutOffEater(eater.Name, eater.Remote, eater.CutOffTime, reason, eater.HeldKitchens));
                        }
                    }
                }
                // Arrived in the mesh, admitted or not (the hub may have stopped in between): what it wanted lingers, then goes.
                if (peer is EaterSession gone) Mesh?.EaterLeft(gone);
                if (peer.Socket.State == WebSocketState.CloseReceived)
                    await peer.CloseAsync(peer.Socket.CloseStatus ?? WebSocketCloseStatus.NormalClosure, "");
                if (known && !_stopping.IsCancellationRequested)
                    Report(HubLogLevel.Information, $"Disconnected {peer}{CloseDescription(peer.Socket)}.");
                peer.Socket.Dispose();
            }
            frames?.Dispose();
            client.Dispose();
        }
    }

    // ---- Who may connect: connection limits, TLS, tokens and origins (PROTOCOL.md, "Authentication") ----

    private readonly ConnectionPlaces _places;
    private SslStreamCertificateContext? _tls;

    /// <summary>
    /// The peer's first byte says what it speaks (0x16 opens a TLS handshake, 'G' an HTTP request):
    /// a client at the wrong scheme is told so at once instead of both sides waiting out a timeout.
    /// </summary>
    private async Task<bool> CheckTransportAsync(Socket socket, NetworkStream network, string role, IPEndPoint remote, CancellationToken cancel)
    {
        var first = new byte[1];
        if (await socket.ReceiveAsync(first, SocketFlags.Peek, cancel) == 0) return false;
        var speaksTls = first[0] == 0x16;
        if (speaksTls == (_tls is not null)) return true;
        CountRefused();
        if (speaksTls)
        {
            Report(HubLogLevel.Warning, $"Refused {WithArticle(role)} connection from {remote}: it began a TLS handshake (wss://), but this hub serves plain ws://.");
            return false;
        }
        Report(HubLogLevel.Warning, $"Refused {WithArticle(role)} connection from {remote}: it spoke plain HTTP (ws://) to a hub that serves TLS (wss://).");
        // A browser opening http:// here is told the same (not 426, which says nothing about TLS).
        const string UseTls = "This hub serves TLS: connect with wss://host:port (a browser: https://host:port/).";
        await ServerHandshake.AcceptAsync(network, cancel, _ => new ServerHandshake.Refusal(400, "Bad Request", UseTls),
            _ => ServerHandshake.HttpResponse.Text(400, "Bad Request", UseTls));
        return false;
    }

    private async Task<SslStream?> AuthenticateAsync(NetworkStream network, string role, IPEndPoint remote, CancellationToken cancel)
    {
        (CertificateProblem Problem, string Reason)? problem = null;
        var options = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = _tls,
            EnabledSslProtocols = Tls.Protocols,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        };
        if (Options.ClientCertificateAuthority is { } authority)
        {
            options.ClientCertificateRequired = true;
            options.RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
                (problem = Tls.Check(certificate, chain, errors, authority, expectedName: null)) is null;
        }
        var ssl = new SslStream(network, leaveInnerStreamOpen: true);
        try
        {
            await ssl.AuthenticateAsServerAsync(options, cancel);
            return ssl;
        }
        catch (Exception e) when (e is AuthenticationException or IOException)
        {
            await ssl.DisposeAsync();
            CountRefused();
            Report(HubLogLevel.Warning, problem is { } p
                ? $"Refused {WithArticle(role)} connection from {remote}: its client certificate was not accepted: {p.Reason}."
                : $"Refused {WithArticle(role)} connection from {remote}: the TLS handshake failed: {e.Message}");
            return null;
        }
    }

    /// <summary>Who may connect: browser origins and the token of each role.</summary>
    internal HubAdmission Admission { get; }

    /// <summary>"an eater", "a kitchen": the log names a peer's role as a sentence would.</summary>
    private static string WithArticle(string role) => role == "eater" ? "an eater" : $"a {role}";

    /// <summary>A served path for the log, without its query (it may hold the token).</summary>
    private static string ServedPath(string? path) => path is null ? "?" : path.Split('?')[0];

    private static string CloseDescription(WebSocket socket) => socket.CloseStatus is { } status
        ? $" (close {(int)status}{(string.IsNullOrEmpty(socket.CloseStatusDescription) ? "" : " " + socket.CloseStatusDescription)})"
        : "";

    /// <summary>
    /// What the hub forwards from a kitchen: a dumpling by the original's rule that would not break the
    /// original eaters (<see cref="DumplingCodec.TryReadForwardable(ReadOnlySpan{byte}, out string?, out string?, out string?)"/>) and does not claim to be the hub's
    /// own status (chef SystemStatusChef with no kitchen): only the hub makes those, so that eaters
    /// (Get-DumplingHubStatus, HubStatusReport.IsStatus) can believe them.
    /// </summary>
    internal static bool IsForwardable(ReadOnlySpan<byte> message, out string? chef, out string? kitchen, out DumplingDriver driver, out string? error)
    {
        if (!DumplingCodec.TryReadForwardable(message, out chef, out kitchen, out driver, out error)) return false;
        if (Protocol.HubStatusReport.IsStatus(chef, kitchen))
        {
            error = $"a kitchen may not send a {HubStatus.ChefName} dumpling without a kitchen name: that is the hub's own status dumpling";
            return false;
        }
        return true;
    }

    /// <summary>
    /// Adds an eater to the fan-out. One that resumes is first sent the replay window after its resume
    /// point (all of it when it comes from another instance of the hub); the rest start after the last
    /// dumpling taken. Decided under the publish lock, so nothing falls between replay and live queue.
    /// </summary>
    private void AdmitEater(EaterSession eater)
    {
        lock (_publishLock)
        {
            var last = _sequence;
            var after = eater.ResumePoint is { } resume
                ? resume.HubId == InstanceId ? Math.Min(resume.Sequence, last) : 0
                : last;
            eater.StartAfter(after, last);
            lock (_peersLock) _eaters = [.. _eaters, eater];
        }
    }

    /// <summary>
    /// Numbers a frame, keeps it in the replay window and queues it for every eater that wants it;
    /// <see cref="SignalEaters"/> sends them. Completes at once unless an eater's queue is full under
    /// backpressure: then it completes when that eater has taken the frame in or was cut off, and the
    /// kitchen reads nothing meanwhile (TCP pushes back to it).
    /// </summary>
    /// <remarks>
    /// A dumpling another hub of the mesh took from its kitchen comes here too, with no kitchen, and is
    /// delivered exactly as a local one; it is never published to the mesh again, so nothing loops.
    /// </remarks>
    internal ValueTask PublishAsync(HubFrame frame, KitchenSession? kitchen, CancellationToken cancel)
    {
        Interlocked.Increment(ref _dumplingsIn);
        List<(EaterSession Eater, Task Moved)>? parked = null;
        lock (_publishLock)
        {
            if (!frame.TakesNoNumber)
            {
                frame.Sequence = ++_sequence;
                _window.Add(frame);
            }
            foreach (var eater in _eaters)
                if (eater.Wants(frame) && eater.Offer(frame, out var moved) == Offered.Parked)
                    (parked ??= []).Add((eater, moved));
        }
        return parked is null ? ValueTask.CompletedTask : HoldAsync(parked, kitchen, cancel);
    }

    private async ValueTask HoldAsync(List<(EaterSession Eater, Task Moved)> parked, KitchenSession? kitchen, CancellationToken cancel)
    {
        // The full eaters' senders must run to make room (and the others' may have frames unsignalled).
        SignalEaters();
        foreach (var (eater, moved) in parked)
        {
            if (moved.IsCompleted) continue;
            var start = kitchen?.HoldStarted() ?? Stopwatch.GetTimestamp();
            eater.HoldStarted(start);
            try
            {
                await eater.WaitForRoomAsync(moved, cancel);
            }
            finally
            {
                var held = kitchen?.HoldEnded(start) ?? Stopwatch.GetTimestamp() - start;
                eater.HoldEnded(start, held);
                Interlocked.Add(ref _heldTicks, held);
            }
        }
    }

    /// <summary>Queues a status dumpling for every eater that wants it; never waits.</summary>
    private void DeliverStatus(HubFrame frame)
    {
        foreach (var eater in Volatile.Read(ref _eaters))
            if (eater.Wants(frame)) eater.OfferStatus(frame);
    }

    /// <summary>Wakes every eater's sender that has frames waiting.</summary>
    internal void SignalEaters()
    {
        foreach (var eater in Volatile.Read(ref _eaters))
            eater.Signal();
    }

    private async Task StatusLoopAsync()
    {
        using var timer = new PeriodicTimer(Options.StatusInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token))
            {
                // As the original: status dumplings go out only while someone is listening.
                if (Volatile.Read(ref _eaters).Length == 0) continue;
                try
                {
                    var status = HubStatus.CreateDumpling(this);
                    DeliverStatus(HubFrame.Create(status.Utf8Json.Span, binary: false, HubStatus.ChefName, null));
                    SignalEaters();
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // One bad status must not end them all.
                    Report(HubLogLevel.Error, $"Could not send a status dumpling: {e}");
                }
            }
        }
        catch (OperationCanceledException) { }
    }

    /// <summary>A snapshot of the hub's state: what its status dumplings carry.</summary>
    public HubStatusSnapshot GetStatus()
    {
        KitchenSession[] kitchens;
        HubCutOffEater[] cutOffs;
        lock (_peersLock)
        {
            kitchens = [.. _kitchens];
            cutOffs = [.. _recentCutOffs];
        }
        var eaters = Volatile.Read(ref _eaters);
        var holding = kitchens.Sum(k => k.HoldingNowTicks);
        return new HubStatusSnapshot(
            DumplingsIn: DumplingsIn,
            DumplingsOut: DumplingsOut,
            Uptime: _uptime.Elapsed,
            InvalidDumplings: Interlocked.Read(ref _invalid),
            RefusedConnections: Interlocked.Read(ref _refused),
            DroppedDumplings: Interlocked.Read(ref _droppedByGoneEaters) + eaters.Sum(e => e.Dropped),
            Kitchens: kitchens.Select(k => new HubPeerStatus(k.Name, k.Remote, k.Announcement, k.Received, 0, 0, 0, k.Invalid) { HeldBack = k.HeldBack }).ToArray(),
            Eaters: eaters.Select(e => new HubPeerStatus(e.Name, e.Remote, e.Announcement, e.Sent, e.Dropped, e.QueuedDumplings, e.QueuedBytes, 0) { HeldBack = e.HeldKitchens, Replayed = e.Replayed, Missed = e.Missed }).ToArray())
        {
            OverflowPolicy = Options.OverflowPolicy,
            KitchensHeldBack = Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _heldTicks) + holding),
            EatersCutOff = Interlocked.Read(ref _cutOff),
            RecentCutOffs = cutOffs,
            HubId = InstanceId,
            LastSequence = Interlocked.Read(ref _sequence),
            ReplayWindowDumplings = _window.Count,
            ReplayWindowBytes = _window.Bytes,
            Mesh = Mesh?.GetStatus(),
        };
    }

    internal void CountCutOff() => Interlocked.Increment(ref _cutOff);

    internal void CountOut(int count) => Interlocked.Add(ref _dumplingsOut, count);
    internal void CountInvalid() => Interlocked.Increment(ref _invalid);
    internal void CountRefused() => Interlocked.Increment(ref _refused);

    internal void Report(HubLogLevel level, string message)
    {
        try { Log?.Invoke(this, new HubLogEventArgs(level, message)); }
        catch { /* a listener's failure must not take the hub down */ }
    }

    /// <summary>Stops accepting, releases both ports at once, and closes every peer with 1001.</summary>
    public Task StopAsync()
    {
        lock (_peersLock) return _stopTask ??= StopCoreAsync();
    }

    private async Task StopCoreAsync()
    {
        _inListener?.Stop();
        _outListener?.Stop();
        HubPeer[] peers;
        KitchenSession[] kitchens;
        lock (_peersLock)
        {
            peers = [.. _kitchens, .. _eaters];
            kitchens = [.. _kitchens];
        }
        // Kitchens first: stop taking their dumplings and say exactly what was taken; then let the eaters
        // that read have what was taken (bounded), then close everyone.
        await Task.WhenAll(kitchens.Select(k => k.StopTakingAsync()));
        var drainUntil = DateTime.UtcNow + Options.StopDrainTimeout;
        await Task.WhenAll(peers.OfType<EaterSession>().Select(e => e.DrainAsync(drainUntil)));
        await Task.WhenAll(peers.Select(p => p.CloseAsync(WebSocketCloseStatus.EndpointUnavailable, "hub shutting down",
            lingerForPeer: p is KitchenSession ? TimeSpan.FromSeconds(1) : null)));
        _stopping.Cancel();
        if (Mesh is { } mesh) await mesh.DisposeAsync();
        Task[] tasks;
        lock (_peersLock) tasks = [.. _tasks];
        await Task.WhenAny(Task.WhenAll(tasks), Task.Delay(TimeSpan.FromSeconds(5)));
        if (_inListener is not null) Report(HubLogLevel.Information, "Dumpling hub stopped.");
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stopping.Dispose();
    }
}
