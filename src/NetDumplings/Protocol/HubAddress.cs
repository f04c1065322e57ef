using System.Globalization;

namespace NetDumplings.Protocol;

/// <summary>
/// Where a hub listens: <c>host:port</c>, <c>host</c> (with a default port), <c>[::1]:port</c>, or a
/// <c>ws://</c> or <c>wss://</c> (TLS) URI, whose path and query (<c>?token=...</c>) are sent as they are.
/// Parsing says exactly what is wrong with a bad address.
/// </summary>
public sealed record HubAddress(string Host, int Port, string Path = "/", bool Tls = false)
{
    public const int DefaultInPort = 11347;
    public const int DefaultOutPort = 11348;
    public const string DefaultHost = "localhost";

    public Uri Uri => new($"{(Tls ? "wss" : "ws")}://{(Host.Contains(':') ? $"[{Host}]" : Host)}:{Port.ToString(CultureInfo.InvariantCulture)}{Path}");

    /// <summary>host:port, as the Host header and a person want it.</summary>
    public string Authority => $"{(Host.Contains(':') ? $"[{Host}]" : Host)}:{Port.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>host:port (wss://host:port over TLS); never the path, which may hold a token.</summary>
    public override string ToString() => Tls ? "wss://" + Authority : Authority;

    public static HubAddress Parse(string? text, int defaultPort)
    {
        if (!TryParse(text, defaultPort, out var address, out var error))
            throw new FormatException(error);
        return address!;
    }

    public static bool TryParse(string? text, int defaultPort, out HubAddress? address, out string? error)
    {
        address = null;
        error = null;
        text = text?.Trim();
        if (string.IsNullOrEmpty(text))
            text = DefaultHost;

        if (text.Contains("://", StringComparison.Ordinal))
        {
            if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || (uri.Scheme != "ws" && uri.Scheme != "wss"))
                return Fail(out error, $"'{text}' is not a hub address: use host:port, ws://host:port or wss://host:port (TLS).");
            // The path and query go as typed: a token in the query (?token=...) must reach the hub as the user wrote it.
            address = new HubAddress(uri.IdnHost.Trim('[', ']'), uri.IsDefaultPort ? defaultPort : uri.Port, uri.PathAndQuery, Tls: uri.Scheme == "wss");
            return true;
        }

        string host;
        string? portText = null;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']');
            if (close < 0) return Fail(out error, $"'{text}' opens an IPv6 address with '[' but never closes it with ']'.");
            host = text[1..close];
            var rest = text[(close + 1)..];
            if (rest.Length > 0)
            {
                if (rest[0] != ':') return Fail(out error, $"'{text}': expected ':port' after ']'.");
                portText = rest[1..];
            }
        }
        else if (text.Count(c => c == ':') == 1)
        {
            var colon = text.IndexOf(':');
            host = text[..colon];
            portText = text[(colon + 1)..];
        }
        else
        {
            host = text; // a bare host, or a bare IPv6 address
        }

        if (host.Length == 0) host = DefaultHost;
        var port = defaultPort;
        if (portText is not null &&
            (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535))
            return Fail(out error, $"'{portText}' in '{text}' is not a port: use a number from 1 to 65535.");
        address = new HubAddress(host, port);
        return true;
    }

    private static bool Fail(out string? error, string message)
    {
        error = message;
        return false;
    }
}
