using System.Security.Cryptography;
using System.Text;

namespace NetDumplings.WebSockets;

/// <summary>
/// The client side of the RFC 6455 opening handshake, over a stream we opened ourselves, so that the
/// same <see cref="FrameStream"/> (one buffered writer for whole bursts of frames) serves clients
/// as it serves the hub. ClientWebSocket would write every frame on its own.
/// </summary>
internal static class ClientHandshake
{
    private const int MaxResponseBytes = 16 * 1024;
    private static readonly byte[] HeaderEnd = "\r\n\r\n"u8.ToArray();

    /// <summary>Asks for the upgrade; returns the bytes that came after the response's headers.</summary>
    /// <exception cref="WebSocketUpgradeRefusedException">The server answered with anything but 101.</exception>
    /// <exception cref="IOException">The server closed the connection or answered with something that is not HTTP.</exception>
    public static async Task<ReadOnlyMemory<byte>> UpgradeAsync(Stream stream, string hostHeader, string path,
        IReadOnlyDictionary<string, string>? extraHeaders, string userAgent, CancellationToken cancellationToken)
    {
        var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
        var request = new StringBuilder()
            .Append("GET ").Append(path).Append(" HTTP/1.1\r\n")
            .Append("Host: ").Append(hostHeader).Append("\r\n")
            .Append("Upgrade: websocket\r\nConnection: Upgrade\r\n")
            .Append("Sec-WebSocket-Key: ").Append(key).Append("\r\n")
            .Append("Sec-WebSocket-Version: 13\r\n")
            .Append("User-Agent: ").Append(userAgent).Append("\r\n");
        if (extraHeaders is not null)
            foreach (var (name, value) in extraHeaders) request.Append(name).Append(": ").Append(value).Append("\r\n");
        request.Append("\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request.ToString()), cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);

        var buffer = new byte[4096];
        var length = 0;
        int end;
        while ((end = buffer.AsSpan(0, length).IndexOf(HeaderEnd)) < 0)
        {
            if (length == buffer.Length)
            {
                if (buffer.Length >= MaxResponseBytes) throw new IOException("the server's answer to the WebSocket upgrade has over 16 KiB of headers");
                Array.Resize(ref buffer, buffer.Length * 2);
            }
            var read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false);
            if (read == 0)
                throw new IOException(length == 0
                    ? "the server closed the connection without answering the WebSocket upgrade"
                    : "the server closed the connection in the middle of its answer to the WebSocket upgrade");
            length += read;
        }

        var lines = Encoding.Latin1.GetString(buffer, 0, end).Split("\r\n");
        var status = lines[0].Split(' ', 3);
        if (status.Length < 2 || !status[0].StartsWith("HTTP/1.", StringComparison.Ordinal) || !int.TryParse(status[1], out var code))
            throw new IOException($"the server answered the WebSocket upgrade with something that is not HTTP: '{Shorten(lines[0])}'");
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':');
            if (colon > 0) headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
        }
        if (code != 101)
        {
            // Read what body came with the refusal: our hub says in it why it refused.
            var bodyLength = headers.TryGetValue("Content-Length", out var cl) && int.TryParse(cl, out var n) ? Math.Clamp(n, 0, 4096) : 0;
            var bodyStart = end + HeaderEnd.Length;
            // The body may come in a later segment than the headers: read on (bounded) until it is all here.
            if (buffer.Length < bodyStart + bodyLength) Array.Resize(ref buffer, bodyStart + bodyLength);
            while (length - bodyStart < bodyLength)
            {
                int read;
                try { read = await stream.ReadAsync(buffer.AsMemory(length, bodyStart + bodyLength - length), cancellationToken).ConfigureAwait(false); }
                catch (IOException) { break; }
                if (read == 0) break;
                length += read;
            }
            var text = Encoding.UTF8.GetString(buffer, bodyStart, Math.Min(length - bodyStart, bodyLength)).Trim();
            throw new WebSocketUpgradeRefusedException(code, status.Length > 2 ? status[2] : "", text);
        }
        var expected = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + ServerHandshake.AcceptGuid)));
        if (!headers.TryGetValue("Sec-WebSocket-Accept", out var accept) || accept != expected)
            throw new IOException("the server answered the WebSocket upgrade with a wrong Sec-WebSocket-Accept");
        return buffer.AsMemory(end + HeaderEnd.Length, length - end - HeaderEnd.Length);
    }

    private static string Shorten(string text) => text.Length > 80 ? text[..80] + "..." : text;
}

/// <summary>The server answered the WebSocket upgrade with an HTTP status other than 101.</summary>
public sealed class WebSocketUpgradeRefusedException(int statusCode, string reasonPhrase, string body)
    : IOException($"HTTP {statusCode} {reasonPhrase}{(body.Length > 0 ? ": " + body : "")}")
{
    public int StatusCode { get; } = statusCode;
    public string ReasonPhrase { get; } = reasonPhrase;

    /// <summary>The text the server sent with its refusal (our hub says why in it).</summary>
    public string Body { get; } = body;
}
