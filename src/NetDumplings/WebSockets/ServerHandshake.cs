using System.Security.Cryptography;
using System.Text;

namespace NetDumplings.WebSockets;

/// <summary>
/// The server side of the RFC 6455 opening handshake, small enough to read in one go: the hub runs
/// inside pwsh where ASP.NET Core is absent, and a TcpListener of our own is what gives us
/// KeepAliveTimeout and one buffered writer per eater (DESIGN.md §4).
/// </summary>
internal static class ServerHandshake
{
    private const int MaxRequestBytes = 16 * 1024;
    private static readonly byte[] HeaderEnd = "\r\n\r\n"u8.ToArray();

    /// <summary>RFC 6455 1.3: the GUID both sides hash with the key.</summary>
    internal const string AcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

    /// <summary>
    /// The outcome: accepted (with any bytes the client sent after its request), refused (answered with
    /// an HTTP error), or served (a plain HTTP request answered by the server's page handler: not a refusal).
    /// </summary>
    internal readonly record struct Result(bool Accepted, string? Path, string? Refusal, ReadOnlyMemory<byte> Leftover, bool Served = false);

    /// <summary>A valid WebSocket upgrade request, as the server's admission check sees it (header names case-insensitive).</summary>
    internal sealed record Request(string Path, IReadOnlyDictionary<string, string> Headers);

    /// <summary>An HTTP refusal an admission check answers with instead of the upgrade.</summary>
    internal sealed record Refusal(int Status, string Reason, string Body, string ExtraHeaders = "");

    /// <summary>A plain HTTP request (GET or HEAD without an upgrade), as a page handler sees it.</summary>
    internal sealed record HttpRequest(string Method, string Path, IReadOnlyDictionary<string, string> Headers);

    /// <summary>A page handler's answer; <paramref name="ExtraHeaders"/> are whole lines, each ending in CRLF.</summary>
    internal sealed record HttpResponse(int Status, string Reason, string ContentType, ReadOnlyMemory<byte> Body, string ExtraHeaders = "")
    {
        /// <summary>A plain-text answer: the body and a newline.</summary>
        public static HttpResponse Text(int status, string reason, string body, string extraHeaders = "") =>
            new(status, reason, "text/plain; charset=utf-8", Encoding.UTF8.GetBytes(body + "\n"), extraHeaders);
    }

    /// <summary>Reads the upgrade request and answers it: 101, or an HTTP error that says why not.</summary>
    /// <param name="stream">The connection (a NetworkStream, or an SslStream over one).</param>
    /// <param name="cancel">The deadline of the whole handshake.</param>
    /// <param name="admit">Called once the request is a valid upgrade, before the 101 goes out; a refusal it returns is sent instead.</param>
    /// <param name="serve">
    /// Answers a plain GET or HEAD (no upgrade); without it such a request gets 426. The connection is
    /// closed after the answer: a page's few requests do not need keep-alive, and each holds a place.
    /// </param>
    /// <param name="refusing">Called just before any refusal is written, and when the peer leaves mid-request (to count it).</param>
    public static async Task<Result> AcceptAsync(Stream stream, CancellationToken cancel, Func<Request, Refusal?>? admit = null,
        Func<HttpRequest, HttpResponse>? serve = null, Action? refusing = null)
    {
        // Said before the refusal goes out, so whoever reads the answer finds it already counted.
        Task<Result> Refuse(int status, string reason, string body, string extraHeaders = "")
        {
            refusing?.Invoke();
            return RefuseAsync(stream, status, reason, body, cancel, extraHeaders);
        }

        var buffer = new byte[4096];
        var length = 0;
        int end;
        while ((end = buffer.AsSpan(0, length).IndexOf(HeaderEnd)) < 0)
        {
            if (length == buffer.Length)
            {
                if (buffer.Length >= MaxRequestBytes)
                    return await Refuse(431, "Request Header Fields Too Large", "The request's headers are larger than 16 KiB.");
                Array.Resize(ref buffer, buffer.Length * 2);
            }
            var read = await stream.ReadAsync(buffer.AsMemory(length), cancel);
            if (read == 0)
            {
                refusing?.Invoke(); // nothing to answer, but a connection the hub did not take all the same
                return new Result(false, null, "the peer closed the connection before finishing its request", default);
            }
            length += read;
        }

        var head = Encoding.Latin1.GetString(buffer, 0, end);
        var lines = head.Split("\r\n");
        var requestLine = lines[0].Split(' ');
        if (requestLine.Length != 3 || !requestLine[2].StartsWith("HTTP/1.", StringComparison.Ordinal))
            return await Refuse(400, "Bad Request", "This is not an HTTP request.");

        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':');
            if (colon <= 0) continue;
            var name = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            headers[name] = headers.TryGetValue(name, out var previous) ? previous + ", " + value : value;
        }

        if (serve is not null && requestLine[0] is ("GET" or "HEAD") && !HasToken(headers, "Upgrade", "websocket"))
        {
            var answer = serve(new HttpRequest(requestLine[0], requestLine[1], headers));
            await WriteAsync(stream, answer, headOnly: requestLine[0] == "HEAD", cancel);
            return new Result(false, requestLine[1], null, default, Served: true);
        }
        if (requestLine[0] != "GET")
            return await Refuse(405, "Method Not Allowed", "A netdumplings hub speaks WebSocket only: connect with a WebSocket client (GET with Upgrade: websocket).", "Allow: GET\r\n");
        if (!HasToken(headers, "Upgrade", "websocket"))
            return await Refuse(426, "Upgrade Required",
                "This is a netdumplings hub: it speaks WebSocket only. Kitchens connect to the in-port, eaters (Receive-Dumpling) to the out-port.",
                "Upgrade: websocket\r\nConnection: Upgrade\r\n");
        if (!HasToken(headers, "Connection", "upgrade"))
            return await Refuse(400, "Bad Request", "A WebSocket request must say 'Connection: Upgrade'.");
        if (!headers.TryGetValue("Sec-WebSocket-Version", out var version) || version != "13")
            return await Refuse(426, "Upgrade Required", "Only WebSocket version 13 (RFC 6455) is spoken here.", "Sec-WebSocket-Version: 13\r\n");
        if (!headers.TryGetValue("Sec-WebSocket-Key", out var key) || !IsValidKey(key))
            return await Refuse(400, "Bad Request", "The request has no valid Sec-WebSocket-Key.");

        if (admit?.Invoke(new Request(requestLine[1], headers)) is { } refusal)
            return await Refuse(refusal.Status, refusal.Reason, refusal.Body, refusal.ExtraHeaders);

        // permessage-deflate is declined: every peer works without it (PROTOCOL.md), and it costs CPU per eater.
        var accept = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + AcceptGuid)));
        var response = $"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(response), cancel);
        await stream.FlushAsync(cancel);

        var leftover = buffer.AsMemory(end + HeaderEnd.Length, length - end - HeaderEnd.Length);
        return new Result(true, requestLine[1], null, leftover);
    }

    /// <summary>Answers with an HTTP error and says why; used for bad requests and for a hub at its connection limit.</summary>
    public static async Task<Result> RefuseAsync(Stream stream, int status, string reason, string body, CancellationToken cancel, string extraHeaders = "")
    {
        await WriteAsync(stream, HttpResponse.Text(status, reason, body, extraHeaders), headOnly: false, cancel);
        return new Result(false, null, $"HTTP {status} {reason}: {body}", default);
    }

    private static async Task WriteAsync(Stream stream, HttpResponse answer, bool headOnly, CancellationToken cancel)
    {
        var head = $"HTTP/1.1 {answer.Status} {answer.Reason}\r\nContent-Type: {answer.ContentType}\r\nContent-Length: {answer.Body.Length}\r\n" +
            $"{answer.ExtraHeaders}Connection: close\r\n\r\n";
        try
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes(head), cancel);
            if (!headOnly) await stream.WriteAsync(answer.Body, cancel);
            await stream.FlushAsync(cancel);
        }
        catch (IOException) { } // the peer has gone (a closed tab); a refusal stands, and there is nothing to tell it
    }

    private static bool HasToken(Dictionary<string, string> headers, string name, string token) =>
        headers.TryGetValue(name, out var value) &&
        value.Split(',').Any(t => t.Trim().Equals(token, StringComparison.OrdinalIgnoreCase));

    private static bool IsValidKey(string key)
    {
        Span<byte> decoded = stackalloc byte[32];
        return Convert.TryFromBase64String(key, decoded, out var written) && written == 16;
    }
}
