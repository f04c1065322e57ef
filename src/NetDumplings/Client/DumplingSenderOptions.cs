using NetDumplings.Protocol;

namespace NetDumplings.Client;

/// <summary>How a <see cref="DumplingSender"/> (a kitchen, Send-Dumpling) holds and delivers what it sends.</summary>
public sealed record DumplingSenderOptions : HubClientOptions
{
    public DumplingSenderOptions() => Hub = new HubAddress(HubAddress.DefaultHost, HubAddress.DefaultInPort);

    /// <summary>Dumplings waiting to be sent. <see cref="DumplingSender.SendAsync"/> waits while it is full; <see cref="DumplingSender.TryOffer"/> drops and counts.</summary>
    public int OutboxCapacity { get; init; } = 8192;

    /// <summary>The largest dumpling sent; a larger one is refused here (the hub would close the connection with 1009 at its 1 MiB).</summary>
    public int MaxDumplingBytes { get; init; } = 1024 * 1024;

    /// <summary>
    /// Dumplings written but not yet acknowledged by a hub that acknowledges (ours): past this the
    /// sender waits for the hub instead of writing more. These are what a reconnect sends again.
    /// </summary>
    public int MaxUnacknowledged { get; init; } = 8192;

    /// <summary>
    /// How long, after connecting, to wait for a hub's first acknowledgement before treating it as a
    /// hub that sends none (the original): its answer, or its refusal of a wrong port, comes at once.
    /// </summary>
    public TimeSpan AcknowledgementWait { get; init; } = TimeSpan.FromMilliseconds(300);
}
