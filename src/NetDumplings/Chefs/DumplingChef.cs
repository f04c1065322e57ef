using NetDumplings.Packets;

namespace NetDumplings.Chefs;

/// <summary>
/// A chef: user code that a kitchen hands every packet to. Its packet handler and interval handler
/// return a payload (any object System.Text.Json can serialise, a JsonElement, or a
/// <see cref="RawJsonPayload"/>) or null for no dumpling; the kitchen adds the metadata.
/// The kitchen calls a chef from one thread at a time, never the capture thread, so a chef's own
/// state needs no locks.
/// </summary>
public abstract class DumplingChef
{
    private IChefOutlet? _outlet;

    /// <summary>The chef's name in <c>metadata.chef</c>; the class name unless overridden.</summary>
    public virtual string Name => GetType().Name;

    /// <summary>Called for every packet the kitchen sees. Return a payload, or null for no dumpling.</summary>
    public virtual object? OnPacket(ChefPacket packet) => null;

    /// <summary>Called every poke interval. Return a payload, or null for no dumpling.</summary>
    public virtual object? OnInterval() => null;

    /// <summary>Called once before the first packet; a chef that owns resources opens them here.</summary>
    public virtual void OnStart(ChefContext context) { }

    /// <summary>Called once after the last packet (and the last interval poke); release resources here.</summary>
    public virtual void OnStop() { }

    /// <summary>
    /// Packets this chef was handed but did not cook (a chef that queues packets for another thread
    /// and drops when that queue is full); the kitchen's statistics show it beside the chef.
    /// </summary>
    public virtual long PacketsDropped => 0;

    /// <summary>
    /// Sends a payload now, beside a handler's return value: for several dumplings from one packet, or
    /// for chefs that do their work on a thread of their own. Safe to call from any thread while the
    /// chef is in a kitchen.
    /// </summary>
    protected void Serve(object payload, DumplingDriver driver) =>
        (_outlet ?? throw new InvalidOperationException($"Chef '{Name}' is not cooking in a kitchen yet; Serve works between OnStart and OnStop."))
        .Serve(this, payload, driver);

    /// <summary>Reports an error the chef met on a thread of its own; the kitchen counts and reports it.</summary>
    protected void ReportError(Exception error, DateTimeOffset? packetTime = null) =>
        (_outlet ?? throw new InvalidOperationException($"Chef '{Name}' is not cooking in a kitchen.", error))
        .ReportError(this, error, packetTime);

    /// <summary>Connects the chef to the kitchen it cooks in (the kitchen calls this before OnStart).</summary>
    public void Attach(IChefOutlet? outlet) => _outlet = outlet;
}

/// <summary>
/// Marks a chef class that a kitchen must not pick up by itself (a base class for other chefs, or a
/// helper), as the original's <c>assignable_to_kitchen = False</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class ChefNotAssignableAttribute : Attribute { }

/// <summary>Where a chef's out-of-band payloads and errors go: the kitchen it cooks in.</summary>
public interface IChefOutlet
{
    void Serve(DumplingChef chef, object? payload, DumplingDriver driver);
    void ReportError(DumplingChef chef, Exception error, DateTimeOffset? packetTime);
}

/// <summary>What a chef knows about the kitchen it cooks in.</summary>
public sealed record ChefContext(string KitchenName, double PokeIntervalSeconds, CancellationToken Stopping);
