using System.Net;
using NetDumplings.WebSockets;

namespace NetDumplings.Hub;

/// <summary>
/// Who may connect (PROTOCOL.md, "Authentication"): a browser page only from an allowed origin (or the
/// hub's own), and each role only with its token when the hub has one. Used for eaters' and kitchens'
/// upgrade requests and for the dashboard's pages alike.
/// </summary>
internal sealed class HubAdmission(DumplingHubOptions options)
{
    /// <summary>
    /// The admission check on a valid upgrade request, before the 101: the browser origin (403 when
    /// refused), then the role's token (401 when missing or wrong). Its refusals never hold the token.
    /// </summary>
    public ServerHandshake.Refusal? Admit(ServerHandshake.Request request, bool isKitchen)
    {
        if (request.Headers.TryGetValue("Origin", out var origin) && !IsAllowedOrigin(origin, request.Headers.GetValueOrDefault("Host")))
            return new ServerHandshake.Refusal(403, "Forbidden",
                $"Web pages from the origin '{origin}' may not connect to this hub. Start the hub with -AllowedOrigin '{origin}' to let them.");
        var token = isKitchen ? options.KitchenToken : options.EaterToken;
        if (token is null) return null;
        var presented = PresentedToken(request.Path, request.Headers);
        if (token.Matches(presented)) return null;
        var port = isKitchen ? "in-port needs a kitchen token" : "out-port needs an eater token";
        return new ServerHandshake.Refusal(401, "Unauthorized",
            $"{(presented is null ? "No token was given" : "The token is wrong")}: this hub's {port}, sent as 'Authorization: Bearer <token>' " +
            "or in the URL as ?token=<token> (the cmdlets' -Token).",
            "WWW-Authenticate: Bearer realm=\"netdumplings\"\r\n");
    }

    /// <summary>The token of a request: its Authorization: Bearer header, else its <c>token</c> query parameter (the original tools and browsers can only send that).</summary>
    public static string? PresentedToken(string path, IReadOnlyDictionary<string, string> headers)
    {
        if (headers.TryGetValue("Authorization", out var authorization))
        {
            var space = authorization.IndexOf(' ');
            if (space > 0 && authorization[..space].Equals("Bearer", StringComparison.OrdinalIgnoreCase))
                return authorization[(space + 1)..].Trim();
        }
        var query = path.IndexOf('?');
        if (query < 0) return null;
        foreach (var pair in path[(query + 1)..].Split('&'))
            if (pair.StartsWith("token=", StringComparison.Ordinal))
            {
                try { return Uri.UnescapeDataString(pair[6..]); }
                catch (UriFormatException) { return pair[6..]; }
            }
        return null;
    }

    /// <summary>
    /// An origin is allowed when it is listed (exactly, or <c>*</c>), or is the hub's own: a page at the
    /// same host and port the request was sent to, when that host names this hub directly (an IP
    /// address, localhost or the address it listens on) and not through a name any DNS could rebind.
    /// </summary>
    public bool IsAllowedOrigin(string origin, string? host)
    {
        origin = origin.Trim();
        foreach (var allowed in options.AllowedOrigins)
            if (allowed == "*" || string.Equals(allowed.Trim().TrimEnd('/'), origin.TrimEnd('/'), StringComparison.OrdinalIgnoreCase))
                return true;
        if (host is null || !Uri.TryCreate(origin, UriKind.Absolute, out var page) || page.Scheme is not ("http" or "https") ||
            !Uri.TryCreate($"{page.Scheme}://{host}", UriKind.Absolute, out var requested))
            return false;
        var direct = IPAddress.TryParse(requested.Host.Trim('[', ']'), out _) ||
            requested.Host.Equals("localhost", StringComparison.OrdinalIgnoreCase) ||
            requested.Host.Equals(options.Address, StringComparison.OrdinalIgnoreCase);
        return direct && page.Host.Equals(requested.Host, StringComparison.OrdinalIgnoreCase) && page.Port == requested.Port;
    }
}
