using System.Security.Cryptography;
using System.Text;

using NetDumplings.WebSockets;

namespace NetDumplings.Hub;

/// <summary>
/// What the out-port answers to a plain HTTP GET (no upgrade): the dashboard page, its script and
/// style (embedded in this assembly: no files to find, no CDN, nothing for a user to build),
/// <c>/status.json</c> (the hub's status dumpling, made on request) and <c>/healthz</c>; anything
/// else is 404. The page is an ordinary eater once loaded: it connects back to the same port.
/// </summary>
internal sealed class HubDashboard(DumplingHub hub)
{
    // The page loads only its own script and style and connects only back to this port ('self'
    // covers ws:// and wss:// on the same host and port); no inline code, no frames, no forms.
    private const string PagePolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    // Every answer: no type sniffing, no embedding in other sites' frames, no referrer (the page's URL may hold the token).
    private const string CommonHeaders =
        "X-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\nX-Frame-Options: DENY\r\n" +
        "Cross-Origin-Resource-Policy: same-origin\r\n";

    private static readonly Asset Page = Asset.Load("index.html", "text/html; charset=utf-8");

    private static readonly Dictionary<string, Asset> Assets = new(StringComparer.Ordinal)
    {
        ["/dashboard.js"] = Asset.Load("dashboard.js", "text/javascript; charset=utf-8"),
        ["/dashboard.css"] = Asset.Load("dashboard.css", "text/css; charset=utf-8"),
        ["/favicon.svg"] = Asset.Load("favicon.svg", "image/svg+xml"),
    };

    public ServerHandshake.HttpResponse Serve(ServerHandshake.HttpRequest request)
    {
        var query = request.Path.IndexOf('?');
        var path = query < 0 ? request.Path : request.Path[..query];
        var host = request.Headers.GetValueOrDefault("Host");
        // For probes, which may name the hub any way and cannot hold the token: it says only that the hub is up.
        if (path == "/healthz") return Text(200, "OK", "ok", "Cache-Control: no-store\r\n");

        // A page of another site may not read from here, and neither may one that reached this port
        // through a name that any DNS could point here (rebinding): the rule the eaters' upgrade keeps.
        if (request.Headers.TryGetValue("Origin", out var origin) && !hub.Admission.IsAllowedOrigin(origin, host))
            return Text(403, "Forbidden", $"Web pages from the origin '{origin}' may not read from this hub. Start the hub with -AllowedOrigin '{origin}' to let them.");
        var scheme = hub.Options.Certificate is null ? "http" : "https";
        if (host is not null && !hub.Admission.IsAllowedOrigin($"{scheme}://{host}", host))
            return Text(403, "Forbidden",
                $"This hub serves its dashboard at its own address (an IP address, localhost or -Address). To open it as {scheme}://{host}/, " +
                $"start the hub with -AllowedOrigin '{scheme}://{host}'.");

        switch (path)
        {
            case "/" or "/index.html":
                return Authorize(request) ?? Respond(Page, $"Content-Security-Policy: {PagePolicy}\r\nCache-Control: no-store\r\n");
            case "/status.json":
                if (Authorize(request) is { } refused) return refused;
                var status = HubStatus.CreateDumpling(hub);
                return new ServerHandshake.HttpResponse(200, "OK", "application/json", status.Utf8Json,
                    CommonHeaders + "Cache-Control: no-store\r\n");
        }
        if (Assets.TryGetValue(path, out var asset))
        {
            // Assets hold nothing of the hub's, so they need no token; revalidated by their digest, so
            // a new module version is never hidden behind a stale copy.
            if (request.Headers.TryGetValue("If-None-Match", out var etag) && etag == asset.ETag)
                return new ServerHandshake.HttpResponse(304, "Not Modified", asset.ContentType, default,
                    $"{CommonHeaders}ETag: {asset.ETag}\r\nCache-Control: no-cache\r\n");
            return Respond(asset, $"ETag: {asset.ETag}\r\nCache-Control: no-cache\r\n");
        }
        return Text(404, "Not Found", "Not found. This hub serves its dashboard at /, its status at /status.json and /healthz; eaters connect here with WebSocket.");
    }

    /// <summary>Null when the request may see the hub's data: no eater token is set, or it presents the right one.</summary>
    private ServerHandshake.HttpResponse? Authorize(ServerHandshake.HttpRequest request)
    {
        if (hub.Options.EaterToken is not { } token) return null;
        var presented = HubAdmission.PresentedToken(request.Path, request.Headers);
        if (token.Matches(presented)) return null;
        return Text(401, "Unauthorized",
            $"{(presented is null ? "No token was given" : "The token is wrong")}: this hub's out-port needs its eater token. " +
            "Open the dashboard as /?token=<eater token>.",
            "WWW-Authenticate: Bearer realm=\"netdumplings\"\r\nCache-Control: no-store\r\n");
    }

    private static ServerHandshake.HttpResponse Respond(Asset asset, string headers) =>
        new(200, "OK", asset.ContentType, asset.Bytes, CommonHeaders + headers);

    private static ServerHandshake.HttpResponse Text(int status, string reason, string body, string headers = "") =>
        ServerHandshake.HttpResponse.Text(status, reason, body, CommonHeaders + headers);

    private sealed record Asset(byte[] Bytes, string ContentType, string ETag)
    {
        public static Asset Load(string name, string contentType)
        {
            using var stream = typeof(HubDashboard).Assembly.GetManifestResourceStream("NetDumplings.Dashboard." + name)
                ?? throw new InvalidOperationException($"The dashboard's {name} is not embedded in the NetDumplings assembly.");
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var bytes = copy.ToArray();
            return new Asset(bytes, contentType, $"\"{Convert.ToHexStringLower(SHA256.HashData(bytes))[..16]}\"");
        }
    }
}
