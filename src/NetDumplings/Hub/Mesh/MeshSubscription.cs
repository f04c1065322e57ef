using System.Buffers;

using NATS.Client.Core;

namespace NetDumplings.Hub.Mesh;

/// <summary>
/// One NATS subscription of a hub in the mesh. NATS.Net's own subscriptions build a message object (its headers
/// parsed into a dictionary, its payload copied) and queue it for a reader on another thread; this hands the raw
/// message to <see cref="MeshReceiver.ReceiveAsync"/> on the connection's read loop, which reads the one header it needs
/// and gives the dumplings to the hub there. One read loop for all of a hub's subscriptions also keeps their
/// messages in the order NATS sent them, which is how a copy is known while subscriptions overlap.
/// </summary>
internal sealed class MeshSubscription(NatsConnection connection, string subject, MeshReceiver receiver)
    : NatsSubBase(connection, connection.SubscriptionManager, subject, queueGroup: null, opts: null)
{
    protected override ValueTask ReceiveInternalAsync(string subject, string? replyTo, ReadOnlySequence<byte>? headersBuffer, ReadOnlySequence<byte> payloadBuffer) =>
        receiver.ReceiveAsync(subject, headersBuffer, payloadBuffer);

    protected override void TryComplete() { }
}
