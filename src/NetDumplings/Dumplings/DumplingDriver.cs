namespace NetDumplings;

/// <summary>What made a dumpling: a chef's packet handler, or an interval handler (or the hub).</summary>
public enum DumplingDriver
{
    Packet,
    Interval,
}
