using System.Net;
using System.Net.WebSockets;
using System.Text.Json;

using NetDumplings.WebSockets;

namespace NetDumplings.Hub;

/// <summary>
/// An eater on the out-port: a bounded queue of frames and a sender that drains it in bursts. Its
/// announcement may carry the filter extension (<c>chefs</c>, <c>kitchens</c>: names or wildcards).
/// </summary>
internal sealed class EaterSession(DumplingHub hub, WebSocket socket, FrameStream stream, IPEndPoint remote)
    : HubPeer(hub, socket, stream, remote)
{
    private const int BatchBytes = 256 * 1024;
    private readonly EaterQueue _queue = new(hub.Options.EaterQueueDumplings, hub.Options.EaterQueueBytes);
    private EaterFilter? _chefs;
    private EaterFilter? _kitchens;
    private long _sent;
    private int _overflowed;

    public override string Role => "eater";

    protected override string NameKey => "eater_name";

    public long Sent => Interlocked.Read(ref _sent);
    public long Dropped => _queue.Dropped;
    public int QueuedDumplings => _queue.Count;
    public long QueuedBytes => _queue.Bytes;

    protected override string WrongPortHint => $"is this the out-port? kitchens connect to the in-port, {Hub.InEndPoint.Port}";

    /// <summary>Reads the filter extension (an original eater sends none), within the hub's limits.</summary>
    protected override string? ReadAnnouncement(JsonElement announcement)
    {
        _chefs = EaterFilter.Read(announcement, "chefs", Hub.Options, out var problem);
        if (problem is null) _kitchens = EaterFilter.Read(announcement, "kitchens", Hub.Options, out problem);
        return problem;
    }

    public bool Wants(HubFrame frame) =>
        (_chefs is null || _chefs.IsMatch(frame.Chef)) &&
        (_kitchens is null || _kitchens.IsMatch(frame.Kitchen));

    /// <summary>Wakes the sender for whatever was offered since the last signal.</summary>
    public void Signal() => _queue.Signal();

    /// <summary>Queues a frame; applies the overflow policy when the queue is full. Never blocks.</summary>
    public void Offer(HubFrame frame)
    {
        var dropOldest = Hub.Options.OverflowPolicy == EaterOverflowPolicy.DropOldest;
        if (_queue.TryEnqueue(frame, dropOldest)) return;
        if (Interlocked.Exchange(ref _overflowed, 1) == 0)
        {
            Hub.Report(HubLogLevel.Warning, $"Disconnecting {this}: its queue is full ({Hub.Options.EaterQueueDumplings} dumplings / {Hub.Options.EaterQueueBytes} bytes); it reads too slowly.");
            _queue.Close();
            _ = CloseAsync(WebSocketCloseStatus.PolicyViolation, "dumpling eater too slow: its queue was full");
        }
    }

    public override async Task RunAsync(CancellationToken cancel)
    {
        var sender = SendLoopAsync(cancel);
        var receiver = ReceiveLoopAsync(cancel);
        await Task.WhenAny(sender, receiver);
        _queue.Close();
        // An eater that closed gets its close echoed (RFC 6455) before the connection drops.
        if (Socket.State == WebSocketState.CloseReceived)
            await CloseAsync(Socket.CloseStatus ?? WebSocketCloseStatus.NormalClosure, Socket.CloseStatusDescription ?? "");
        Socket.Abort();
        try { await Task.WhenAll(sender, receiver); }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException) { }
    }

    private async Task SendLoopAsync(CancellationToken cancel)
    {
        var batch = new List<HubFrame>(64);
        try
        {
            while (await _queue.WaitAsync())
            {
                batch.Clear();
                _queue.DrainTo(batch, BatchBytes);
                if (batch.Count == 0) continue;
                if (Socket.State != WebSocketState.Open) return;
                await Stream.WriteFramesAsync(batch, static f => f.Bytes, cancel);
                Interlocked.Add(ref _sent, batch.Count);
                Hub.CountOut(batch.Count);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or System.Net.Sockets.SocketException) { }
    }

    private async Task ReceiveLoopAsync(CancellationToken cancel)
    {
        // An eater has nothing more to say after its announcement; reading keeps pings, pongs and
        // its close flowing, and enforces the message limit.
        try
        {
            while (!cancel.IsCancellationRequested)
            {
                var outcome = await ReceiveAsync(cancel);
                if (outcome == ReceiveOutcome.Closed) return;
                if (outcome == ReceiveOutcome.TooBig)
                {
                    await RefuseTooBigAsync();
                    return;
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or IOException or OperationCanceledException or ObjectDisposedException) { }
    }
}
