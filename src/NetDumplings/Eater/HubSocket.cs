using NetDumplings.Protocol;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using NetDumplings.Hub;

namespace NetDumplings.Eater;

/// <summary>
/// Opens a client WebSocket to a hub. The TCP connection is made here (not by HttpClient's defaults)
/// so a caller can wrap the stream, e.g. to batch writes, and so a failure names the hub's address.
/// </summary>
internal static class HubSocket
{
    public static async Task<ClientWebSocket> ConnectAsync(HubAddress hub, TimeSpan keepAliveInterval, TimeSpan keepAliveTimeout,
        TimeSpan connectTimeout, Func<Stream, Stream>? wrapStream, CancellationToken cancellationToken)
    {
        var ws = new ClientWebSocket();
        ws.Options.KeepAliveInterval = keepAliveInterval;
        ws.Options.KeepAliveTimeout = keepAliveTimeout;
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, ct) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(new DnsEndPoint(context.DnsEndPoint.Host, context.DnsEndPoint.Port), ct).ConfigureAwait(false);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
                Stream stream = new NetworkStream(socket, ownsSocket: true);
                return wrapStream is null ? stream : wrapStream(stream);
            },
        };
        using var invoker = new HttpMessageInvoker(handler, disposeHandler: false);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(connectTimeout);
        try
        {
            await ws.ConnectAsync(hub.Uri, invoker, timeout.Token).ConfigureAwait(false);
            return ws;
        }
        catch (Exception e)
        {
            ws.Dispose();
            handler.Dispose();
            if (cancellationToken.IsCancellationRequested) throw new OperationCanceledException(cancellationToken);
            throw new DumplingHubUnreachableException(hub.ToString(), $"Cannot reach the dumpling hub at {hub}: {Describe(e, timeout.IsCancellationRequested, connectTimeout)}", e);
        }
    }

    private static string Describe(Exception e, bool timedOut, TimeSpan connectTimeout)
    {
        if (timedOut) return $"no answer within {connectTimeout.TotalSeconds:0.#} s.";
        for (Exception? inner = e; inner is not null; inner = inner.InnerException)
            if (inner is SocketException socket) return socket.Message.TrimEnd('.') + ".";
        return e.InnerException?.Message ?? e.Message;
    }

    /// <summary>Sends our close frame and waits (bounded) for the hub's; drops the connection if it never answers.</summary>
    public static async Task CloseAsync(WebSocket ws, int code, string reason, TimeSpan timeout, Task<ValueWebSocketReceiveResult>? pendingReceive)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            if (ws.State is WebSocketState.Open or WebSocketState.CloseReceived)
                await ws.CloseOutputAsync((WebSocketCloseStatus)code, reason, cts.Token).ConfigureAwait(false);
            // Read to the hub's close frame so the closing handshake completes both ways.
            var scratch = new byte[4096];
            if (pendingReceive is not null)
            {
                var result = await pendingReceive.WaitAsync(cts.Token).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close) return;
            }
            while (ws.State == WebSocketState.CloseSent)
            {
                var result = await ws.ReceiveAsync(scratch.AsMemory(), cts.Token).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close) break;
            }
        }
        catch (Exception) when (cts.IsCancellationRequested || ws.State is WebSocketState.Aborted or WebSocketState.Closed)
        {
            // The hub did not answer in time, or the connection is already gone: nothing left to say.
        }
        catch (WebSocketException)
        {
        }
        finally
        {
            ws.Abort();
            ws.Dispose();
        }
    }
}
