using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using NetDumplings.Hub;
using NetDumplings.Protocol;
using static NetDumplings.Tests.HubTestClient;

namespace NetDumplings.Tests;

/// <summary>The out-port's HTTP side (issue 14): the dashboard, its assets, /status.json and /healthz; the browser tests are in Pester.</summary>
public class DashboardHttpTests
{
    private static HttpClient Client(DumplingHub hub) => new() { BaseAddress = hub.DashboardUri, Timeout = Patience };

    [Fact]
    public async Task ServesThePageWithItsSecurityHeadersAndNoExternalReferences()
    {
        await using var hub = await StartHubAsync();
        using var http = Client(hub);
        using var page = await http.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType!.MediaType);
        var csp = string.Join(";", page.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("default-src 'none'", csp);
        Assert.Contains("script-src 'self'", csp);
        Assert.Contains("connect-src 'self'", csp);
        Assert.DoesNotContain("unsafe", csp);
        Assert.Equal("nosniff", page.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.True(page.Headers.CacheControl!.NoStore);

        // Everything the page loads comes from the hub: no scheme or host in any reference.
        var html = await page.Content.ReadAsStringAsync();
        foreach (var path in new[] { "/dashboard.js", "/dashboard.css", "/favicon.svg" })
        {
            Assert.Contains($"\"{path.TrimStart('/')}\"", html);
            using var asset = await http.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, asset.StatusCode);
            Assert.Equal("nosniff", asset.Headers.GetValues("X-Content-Type-Options").Single());
            var text = await asset.Content.ReadAsStringAsync();
            Assert.DoesNotMatch(@"(?i)\b(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", text.Replace("http://www.w3.org/2000/svg", ""));

            // Revalidated by digest: the same ETag gets 304 with no body.
            var etag = asset.Headers.ETag!;
            using var again = new HttpRequestMessage(HttpMethod.Get, path);
            again.Headers.IfNoneMatch.Add(etag);
            using var notModified = await http.SendAsync(again);
            Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
            Assert.Empty(await notModified.Content.ReadAsByteArrayAsync());
        }
        Assert.DoesNotMatch(@"(?i)(src|href)=""(https?:)?//", html);
        Assert.DoesNotContain("<script>", html);   // no inline script: the policy would refuse it
    }

    [Fact]
    public async Task StatusJsonIsTheHubsStatusDumplingAndHealthzSaysOk()
    {
        await using var hub = await StartHubAsync();
        using var http = Client(hub);
        using var eater = await EaterAsync(hub, "watcher");
        using var status = await http.GetAsync("/status.json");
        Assert.Equal(HttpStatusCode.OK, status.StatusCode);
        Assert.Equal("application/json", status.Content.Headers.ContentType!.MediaType);
        var dumpling = DumplingCodec.Parse(await status.Content.ReadAsByteArrayAsync());
        var report = HubStatusReport.From(dumpling);
        Assert.Equal("watcher", Assert.Single(report.Eaters).Name);

        using var health = await http.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("ok\n", await health.Content.ReadAsStringAsync());

        using var head = await http.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/healthz"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(0, head.Content.Headers.ContentLength is null ? 0 : (await head.Content.ReadAsByteArrayAsync()).Length);

        foreach (var path in new[] { "/nope", "/status.json/x", "/../etc/passwd", "/dashboard.js.map" })
        {
            using var missing = await http.GetAsync(path);
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }
        // Pages served are not refusals, and the eater is still there.
        Assert.Equal(0, hub.GetStatus().RefusedConnections);
        Assert.Single(hub.GetStatus().Eaters);
    }

    [Fact]
    public async Task WithAnEaterTokenThePageAndStatusNeedItAndTheAssetsAndHealthzDoNot()
    {
        await using var hub = await StartHubAsync(new DumplingHubOptions { EaterToken = new AccessToken("eat-s3cret"), KitchenToken = new AccessToken("cook") });
        using var http = Client(hub);
        foreach (var path in new[] { "/", "/status.json", "/?token=wrong", "/status.json?token=cook" })
        {
            using var refused = await http.GetAsync(path);
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            var body = await refused.Content.ReadAsStringAsync();
            Assert.Contains("?token=", body);
            Assert.DoesNotContain("eat-s3cret", body);
        }
        foreach (var path in new[] { "/?token=eat-s3cret", "/status.json?token=eat-s3cret", "/dashboard.js", "/healthz" })
        {
            using var ok = await http.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }
        using var bearer = new HttpRequestMessage(HttpMethod.Get, "/status.json");
        bearer.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "eat-s3cret");
        using var byHeader = await http.SendAsync(bearer);
        Assert.Equal(HttpStatusCode.OK, byHeader.StatusCode);
    }

    [Fact]
    public async Task PagesAreRefusedToOtherOriginsAndToNamesThatDnsCouldRebind()
    {
        await using var hub = await StartHubAsync();
        using var http = Client(hub);
        using var foreign = new HttpRequestMessage(HttpMethod.Get, "/status.json");
        foreign.Headers.Add("Origin", "https://evil.example");
        using var fromForeign = await http.SendAsync(foreign);
        Assert.Equal(HttpStatusCode.Forbidden, fromForeign.StatusCode);

        using var rebound = new HttpRequestMessage(HttpMethod.Get, "/");
        rebound.Headers.Host = $"rebind.example:{hub.OutEndPoint.Port}";
        using var byName = await http.SendAsync(rebound);
        Assert.Equal(HttpStatusCode.Forbidden, byName.StatusCode);
        Assert.Contains("-AllowedOrigin", await byName.Content.ReadAsStringAsync());

        await using var named = await StartHubAsync(new DumplingHubOptions { AllowedOrigins = ["http://hub.example:8080"] });
        using var namedHttp = Client(named);
        using var allowed = new HttpRequestMessage(HttpMethod.Get, "/");
        allowed.Headers.Host = "hub.example:8080";
        using var byAllowedName = await namedHttp.SendAsync(allowed);
        Assert.Equal(HttpStatusCode.OK, byAllowedName.StatusCode);

        using var localhost = new HttpRequestMessage(HttpMethod.Get, "/");
        localhost.Headers.Host = $"localhost:{hub.OutEndPoint.Port}";
        using var byLocalhost = await http.SendAsync(localhost);
        Assert.Equal(HttpStatusCode.OK, byLocalhost.StatusCode);
    }

    [Fact]
    public async Task UpgradesOnTheOutPortStayEatersAndTheInPortRefusesPlainHttp()
    {
        await using var hub = await StartHubAsync();
        using var eater = await EaterAsync(hub, "still_an_eater");
        using var kitchen = await KitchenAsync(hub);
        await SendTextAsync(kitchen, Dumpling("C", "k", 1, "x"));
        Assert.Contains("\"chef\":\"C\"", (await ReceiveAsync(eater))!.Value.Text);

        using var http = new HttpClient { Timeout = Patience };
        using var inPort = await http.GetAsync($"http://{hub.InEndPoint}/");
        Assert.Equal(HttpStatusCode.UpgradeRequired, inPort.StatusCode);
        using var inPortStatus = await http.GetAsync($"http://{hub.InEndPoint}/status.json");
        Assert.Equal(HttpStatusCode.UpgradeRequired, inPortStatus.StatusCode);
    }

    [Fact]
    public async Task OverTlsThePageIsServedOverHttpsAndItsUriSaysSo()
    {
        var ca = Security.TestCertificates.Authority();
        await using var hub = await StartHubAsync(new DumplingHubOptions { Certificate = Security.TestCertificates.Hub(ca) });
        Assert.Equal($"https://127.0.0.1:{hub.OutEndPoint.Port}/", hub.DashboardUri.ToString());
        using var handler = new HttpClientHandler
        {
            // Trust only the test CA: the page goes over the same TLS as the eaters.
            ServerCertificateCustomValidationCallback = (_, certificate, _, _) =>
            {
                using var chain = new System.Security.Cryptography.X509Certificates.X509Chain();
                chain.ChainPolicy.TrustMode = System.Security.Cryptography.X509Certificates.X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(ca);
                chain.ChainPolicy.RevocationMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck;
                return chain.Build(certificate!);
            },
        };
        using var https = new HttpClient(handler) { BaseAddress = hub.DashboardUri, Timeout = Patience };
        using var page = await https.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("dashboard.js", await page.Content.ReadAsStringAsync());

        using var http = new HttpClient { Timeout = Patience };
        using var plain = await http.GetAsync($"http://{hub.OutEndPoint}/");
        Assert.Equal(HttpStatusCode.BadRequest, plain.StatusCode);
    }

    [Fact]
    public async Task TheDashboardUriNamesTheOutPortAndLoopbackForEveryAddress()
    {
        await using var hub = new DumplingHub(new DumplingHubOptions { Address = "*", InPort = 0, OutPort = 0 });
        await hub.StartAsync();
        Assert.Equal($"http://127.0.0.1:{hub.OutEndPoint.Port}/", hub.DashboardUri.ToString());
    }
}
