using System.Net;
using System.Net.WebSockets;
using System.Text.Json;

namespace NetDumplings.Hub;

/// <summary>A kitchen on the in-port: every message after its announcement is a dumpling to forward.</summary>
internal sealed class KitchenSession(DumplingHub hub, WebSocket socket, PeerStream stream, IPEndPoint remote)
    : HubPeer(hub, socket, stream, remote)
{
    private long _received;
    private long _invalid;

    public override string Role => "kitchen";

    protected override string NameKey => "kitchen_name";

    protected override string WrongPortHint => $"is this the in-port? eaters connect to the out-port, {Hub.OutEndPoint.Port}";

    public long Received => Interlocked.Read(ref _received);
    public long Invalid => Interlocked.Read(ref _invalid);

    public override async Task RunAsync(CancellationToken cancel)
    {
        // Dumplings are queued as they are read and the eaters woken once this kitchen's input is used up.
        Stream.BeforeSocketRead = Hub.SignalEaters;
        try
        {
            await ForwardAsync(cancel);
        }
        finally
        {
            Stream.BeforeSocketRead = null;
            Hub.SignalEaters();
        }
    }

    private async Task ForwardAsync(CancellationToken cancel)
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
            // The original's rule: JSON with metadata.chef. Anything else is logged and skipped; the kitchen stays.
            if (!DumplingCodec.TryReadEnvelope(Message, out var chef, out var kitchen, out var error))
            {
                Interlocked.Increment(ref _invalid);
                Hub.CountInvalid();
                Hub.Report(HubLogLevel.Warning, $"Skipped an invalid dumpling from {this}: {error}.");
                continue;
            }
            Interlocked.Increment(ref _received);
            Hub.Publish(HubFrame.Create(Message, MessageType == WebSocketMessageType.Binary, chef, kitchen));
        }
    }
}
