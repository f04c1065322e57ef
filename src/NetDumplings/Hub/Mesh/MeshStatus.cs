namespace NetDumplings.Hub.Mesh;

/// <summary>A remote hub as this one sees it through the mesh.</summary>
public sealed record MeshRemoteHub(string HubName, long Dumplings, long Gap, DateTimeOffset LastSeen, IReadOnlyList<string> Kitchens);

/// <summary>The mesh part of a hub's status.</summary>
public sealed record MeshStatus(
    string HubName, string Servers, bool Connected, long Published, long PublishLost, long Received,
    long Dropped, long SlowConsumerEvents, long RemoteGap, IReadOnlyList<MeshRemoteHub> RemoteHubs)
{
    public long Disconnects { get; init; }

    /// <summary>Taking remote dumplings (the hub has eaters, or had them lately).</summary>
    public bool Subscribed { get; init; }

    /// <summary>Times a local kitchen was held because NATS took dumplings more slowly than it sent them.</summary>
    public long PublishWaits { get; init; }
    public long Invalid { get; init; }

    /// <summary>The NATS subjects the hub takes remote dumplings from: what its eaters' filters ask for (<see cref="MeshInterest"/>).</summary>
    public IReadOnlyList<string> Subjects { get; init; } = [];

    /// <summary>Copies of remote dumplings a second subscription brought while the subscriptions changed: known, and not delivered again.</summary>
    public long Duplicates { get; init; }
    public string? LastError { get; init; }
}
