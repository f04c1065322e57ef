using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using NetDumplings.Client;
using NetDumplings.Hub;
using NetDumplings.Protocol;
using NetDumplings.WebSockets;
using static NetDumplings.Tests.HubTestClient;

namespace NetDumplings.Tests.Security;

/// <summary>TLS, tokens per role and browser origins through the one client stack (PROTOCOL.md, "Authentication").</summary>
public class HubAuthenticationTests
{
    private static readonly X509Certificate2 Ca = TestCertificates.Authority();
    private static readonly X509Certificate2 HubCertificate = TestCertificates.Hub(Ca);
    private const string KitchenSecret = "kitchen-s3cret";
    private const string EaterSecret = "eater-s3cret";

    private static async Task<(DumplingHub Hub, List<string> Log)> StartAsync(bool tls, DumplingHubOptions? options = null)
    {
        var hub = await StartHubAsync((options ?? new DumplingHubOptions()) with
        {
            Certificate = tls ? (options?.Certificate ?? HubCertificate) : null,
            StatusInterval = TimeSpan.Zero,
        });
        var log = new List<string>();
        hub.Log += (_, e) => { lock (log) log.Add(e.Message); };
        return (hub, log);
    }

    private static HubAddress Address(DumplingHub hub, bool kitchen, bool tls, string path = "/") =>
        new("127.0.0.1", (kitchen ? hub.InEndPoint : hub.OutEndPoint).Port, path, tls);

    private static HubClientSecurity Trusting(string? token = null, X509Certificate2? clientCertificate = null) => new()
    {
        Token = token is null ? null : new AccessToken(token),
        CertificateAuthority = [Ca],
        ClientCertificate = clientCertificate,
    };

    /// <summary>Eats one dumpling sent by a kitchen through <paramref name="sender"/>; throws what the client throws.</summary>
    private static async Task RoundTripAsync(DumplingHub hub, HubAddress kitchenAt, HubClientSecurity kitchen, HubAddress eaterAt, HubClientSecurity eater)
    {
        var eating = new DumplingEater(new DumplingEaterOptions { Hub = eaterAt, EaterName = "auth_eater", Count = 1, Reconnect = false, Security = eater });
        using var cts = new CancellationTokenSource(Patience);
        var got = Task.Run(async () =>
        {
            await foreach (var d in eating.EatAsync(cts.Token)) return d;
            return null;
        });
        await WaitUntilAsync(() => got.IsCompleted || hub.GetStatus().Eaters.Count == 1, "eater registered");
        if (got.IsCompleted) { await got; throw new InvalidOperationException("the eater ended without a dumpling"); }
        await using var sender = await DumplingSender.ConnectAsync(kitchenAt, new KitchenAnnouncement("auth_kitchen"),
            new DumplingSenderOptions { Security = kitchen, Reconnect = false }, cts.Token);
        await sender.SendAsync(DumplingCodec.Create("AuthChef", "auth_kitchen", DumplingDriver.Packet, new { n = 1 }), cts.Token);
        var dumpling = await got;
        Assert.Equal("AuthChef", dumpling!.Chef);
    }

    private static async Task EatOneAsync(DumplingEaterOptions options)
    {
        await foreach (var _ in new DumplingEater(options).EatAsync(TestTime.Token())) return;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task EachPortTakesItsOwnTokenAsHeaderOrQueryAndRefusesOthersWith401(bool tls)
    {
        var (hub, log) = await StartAsync(tls, new DumplingHubOptions { KitchenToken = new AccessToken(KitchenSecret), EaterToken = new AccessToken(EaterSecret) });
        await using var _ = hub;
        // Right tokens, as headers, then as query parameters.
        await RoundTripAsync(hub, Address(hub, true, tls), Trusting(KitchenSecret), Address(hub, false, tls), Trusting(EaterSecret));
        await WaitUntilAsync(() => hub.GetStatus().Eaters.Count == 0, "eater gone");
        await RoundTripAsync(hub, Address(hub, true, tls, $"/?token={KitchenSecret}"), Trusting(), Address(hub, false, tls, $"/?token={EaterSecret}"), Trusting());

        // Wrong token (the other role's), and none: 401, final, and counted.
        (HubAddress At, HubClientSecurity Security)[] refused =
        [
            (Address(hub, false, tls), Trusting(KitchenSecret)),
            (Address(hub, false, tls), Trusting()),
            (Address(hub, false, tls, $"/?token={KitchenSecret}"), Trusting()),
            (Address(hub, true, tls), Trusting(EaterSecret)),
            (Address(hub, true, tls), Trusting()),
            (Address(hub, true, tls, "/?token=nope"), Trusting()),
        ];
        foreach (var (at, security) in refused)
        {
            var error = await Assert.ThrowsAsync<DumplingHubRefusedException>(async () =>
            {
                if (at.Port == hub.InEndPoint.Port)
                    await DumplingSender.ConnectAsync(at, new KitchenAnnouncement("k"), new DumplingSenderOptions { Security = security, Reconnect = false });
                else
                    await foreach (var d in new DumplingEater(new DumplingEaterOptions { Hub = at, Count = 1, Reconnect = false, Security = security }).EatAsync(TestTime.Token())) { }
            });
            Assert.Contains("401", error.Message);
            Assert.Contains(at.Port == hub.InEndPoint.Port ? "kitchen token" : "eater token", error.Message);
        }
        Assert.Equal(refused.Length, hub.GetStatus().RefusedConnections);
        lock (log)
        {
            Assert.Equal(refused.Length, log.Count(l => l.StartsWith("Refused") && l.Contains("127.0.0.1") && l.Contains("401")));
            Assert.DoesNotContain(log, l => l.Contains("s3cret") || l.Contains("nope"));
        }
        Assert.DoesNotContain("s3cret", HubStatus.Build(hub).ToString() ?? "");
        Assert.Equal("(token hidden)", new AccessToken(KitchenSecret).ToString());
        Assert.DoesNotContain("s3cret", (hub.Options with { }).ToString());
    }

    [Fact]
    public async Task AClientSaysWhyTheHubsCertificateIsNotTrustedAndStopsAtOnce()
    {
        var otherCa = TestCertificates.Authority("Someone Else's CA");
        (X509Certificate2 Certificate, HubClientSecurity Client, CertificateProblem Problem, string Says)[] cases =
        [
            (HubCertificate, new HubClientSecurity(), CertificateProblem.Untrusted, "not signed by a certificate authority this machine trusts"),
            (HubCertificate, new HubClientSecurity { CertificateAuthority = [otherCa] }, CertificateProblem.Untrusted, "not signed by the certificate authority given"),
            (TestCertificates.Hub(Ca, ["otherhost"]), Trusting(), CertificateProblem.WrongName, "is for 'otherhost', not for '127.0.0.1'"),
            (TestCertificates.Hub(Ca, expired: true), Trusting(), CertificateProblem.Expired, "expired on"),
        ];
        foreach (var (certificate, client, problem, says) in cases)
        {
            var (hub, _) = await StartAsync(tls: true, new DumplingHubOptions { Certificate = certificate });
            await using var __ = hub;
            var error = await Assert.ThrowsAsync<DumplingHubCertificateException>(() => EatOneAsync(new DumplingEaterOptions { Hub = Address(hub, false, true), Count = 1, Security = client }));
            Assert.Equal(problem, error.Problem);
            Assert.Contains(says, error.Message);
            // A waiting kitchen does not retry a certificate that cannot change.
            var clock = System.Diagnostics.Stopwatch.StartNew();
            await Assert.ThrowsAsync<DumplingHubCertificateException>(() => DumplingSender.ConnectAsync(Address(hub, true, true), new KitchenAnnouncement("k"),
                new DumplingSenderOptions { Security = client, WaitForHub = true }));
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5));
        }
    }

    [Fact]
    public async Task SkipCertificateCheckAcceptsAnyCertificate()
    {
        var (hub, _) = await StartAsync(tls: true, new DumplingHubOptions { Certificate = TestCertificates.Hub(Ca, ["otherhost"], expired: true) });
        await using var _ = hub;
        var skip = new HubClientSecurity { SkipCertificateCheck = true };
        await RoundTripAsync(hub, Address(hub, true, true), skip, Address(hub, false, true), skip);
    }

    [Fact]
    public async Task AClientAtTheWrongSchemeIsToldWhichOneToUse()
    {
        var (tlsHub, tlsLog) = await StartAsync(tls: true);
        await using (tlsHub)
        {
            var error = await Assert.ThrowsAsync<DumplingHubUnreachableException>(() => DumplingSender.ConnectAsync(Address(tlsHub, true, tls: false),
                new KitchenAnnouncement("k"), new DumplingSenderOptions { Reconnect = false }));
            Assert.Contains("This hub serves TLS", error.Message);
            Assert.Contains($"wss://127.0.0.1:{tlsHub.InEndPoint.Port}", error.Message);
            lock (tlsLog) Assert.Contains(tlsLog, l => l.Contains("plain HTTP (ws://) to a hub that serves TLS"));
        }
        var (plainHub, plainLog) = await StartAsync(tls: false);
        await using (plainHub)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var error = await Assert.ThrowsAsync<DumplingHubUnreachableException>(() => EatOneAsync(new DumplingEaterOptions { Hub = Address(plainHub, false, tls: true), Count = 1, Reconnect = false, Security = Trusting() }));
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
            Assert.Contains("Does the hub serve TLS", error.Message);
            lock (plainLog) Assert.Contains(plainLog, l => l.Contains("began a TLS handshake (wss://)"));
            Assert.Equal(1, plainHub.GetStatus().RefusedConnections);
        }
    }

    [Fact]
    public async Task MutualTlsAdmitsOnlyClientsWithACertificateFromTheAuthority()
    {
        var (hub, log) = await StartAsync(tls: true, new DumplingHubOptions { ClientCertificateAuthority = [Ca] });
        await using var _ = hub;
        var mine = TestCertificates.Client(Ca);
        await RoundTripAsync(hub, Address(hub, true, true), Trusting(clientCertificate: mine), Address(hub, false, true), Trusting(clientCertificate: mine));

        var stranger = TestCertificates.Client(TestCertificates.Authority("Stranger CA"), "stranger");
        foreach (var client in new[] { Trusting(), Trusting(clientCertificate: stranger) })
        {
            var error = await Assert.ThrowsAsync<DumplingHubUnreachableException>(() => EatOneAsync(new DumplingEaterOptions { Hub = Address(hub, false, true), Count = 1, Reconnect = false, Security = client }));
            Assert.Contains("client certificate", error.Message);
        }
        await WaitUntilAsync(() => hub.GetStatus().RefusedConnections == 2, "both refusals counted");
        lock (log)
        {
            Assert.Contains(log, l => l.Contains("its client certificate was not accepted: no certificate was presented"));
            Assert.Contains(log, l => l.Contains("its client certificate was not accepted") && l.Contains("CN=stranger"));
        }
    }

    public static TheoryData<string[], string?, string, int> Origins => new()
    {
        { [], null, "localhost", 101 },                                     // not a browser: judged by its token (none needed here)
        { [], "https://evil.example", "localhost", 403 },
        { ["https://dash.example:8443"], "https://dash.example:8443", "localhost", 101 },
        { ["https://dash.example:8443"], "https://DASH.example:8443/", "localhost", 101 },
        { ["https://dash.example:8443"], "https://dash.example", "localhost", 403 },
        { [], "null", "localhost", 403 },                                   // the webnom page opened from a file
        { ["null"], "null", "localhost", 101 },
        { ["*"], "https://anything.example", "localhost", 101 },
        { [], "http://127.0.0.1:{port}", "127.0.0.1:{port}", 101 },          // the hub's own origin
        { [], "http://rebound.example:{port}", "rebound.example:{port}", 403 }, // not through a name DNS could rebind
    };

    [Theory]
    [MemberData(nameof(Origins))]
    public async Task BrowserOriginsAreAllowedOnlyWhenListedOrTheHubsOwn(string[] allowed, string? origin, string host, int status)
    {
        var (hub, _) = await StartAsync(tls: false, new DumplingHubOptions { AllowedOrigins = allowed });
        await using var _ = hub;
        var port = hub.OutEndPoint.Port.ToString();
        using var peer = await RawPeer.ConnectAsync(hub.OutEndPoint);
        var request = $"GET / HTTP/1.1\r\nHost: {host.Replace("{port}", port)}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
            (origin is null ? "" : $"Origin: {origin.Replace("{port}", port)}\r\n") + "\r\n";
        var answer = status == 101 ? await peer.SendRequestAsync(request) : await HostilePeerTests.RefusalAsync(peer, request);
        Assert.StartsWith($"HTTP/1.1 {status}", answer);
        if (status == 403)
        {
            Assert.Contains("-AllowedOrigin", answer);
            Assert.Equal(1, hub.GetStatus().RefusedConnections);
        }
    }

    [Fact]
    public async Task AnAllowedOriginStillNeedsTheToken()
    {
        var (hub, _) = await StartAsync(tls: false, new DumplingHubOptions { AllowedOrigins = ["null"], EaterToken = new AccessToken(EaterSecret) });
        await using var _ = hub;
        string Request(string path) => $"GET {path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: null\r\n\r\n";
        using (var peer = await RawPeer.ConnectAsync(hub.OutEndPoint))
            Assert.StartsWith("HTTP/1.1 401", await HostilePeerTests.RefusalAsync(peer, Request("/")));
        using (var peer = await RawPeer.ConnectAsync(hub.OutEndPoint))
            Assert.StartsWith("HTTP/1.1 101", await peer.SendRequestAsync(Request($"/?token={EaterSecret}")));
    }
}
