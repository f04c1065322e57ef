using System.Runtime.CompilerServices;
using NetDumplings.Packets;

namespace NetDumplings.Chefs;

/// <summary>
/// A packet dumpling per DNS query (DNS as <see cref="DnsMessage.IsDnsPort"/> has it: UDP on port 53
/// or 5353 (mDNS), TCP on port 53; responses are not counted)
/// <c>{"lookup": {"hostname": "example.com", "when": epoch}}</c>, and on each poke the table of
/// hostnames seen <c>{"lookups_seen": {"example.com": {"count": n, "latest": epoch}}}</c>. The
/// table keeps the <see cref="MaxHostnames"/> most recently looked-up names, so its dumpling stays
/// well under the hub's 1 MiB message limit.
/// </summary>
public sealed class DNSLookupChef : DumplingChef
{
    public const int DefaultMaxHostnames = 2000;

    private readonly Dictionary<string, LinkedListNode<Lookup>> _table = new(StringComparer.Ordinal);
    private readonly LinkedList<Lookup> _recent = new(); // most recent first

    private sealed class Lookup(string hostname)
    {
        public readonly string Hostname = hostname;
        public long Count;
        public double Latest;
    }

    public DNSLookupChef() : this(DefaultMaxHostnames) { }

    public DNSLookupChef(int maxHostnames)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxHostnames, 1);
        MaxHostnames = maxHostnames;
    }

    public int MaxHostnames { get; }

    /// <summary>Hostnames forgotten to keep the table bounded.</summary>
    public long Evicted { get; private set; }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override object? OnPacket(ChefPacket packet)
    {
        var headers = packet.Headers;
        var message = headers.Status == PacketDecodeStatus.UnknownLinkType
            ? packet.FromParse(static p => DnsMessage.FindMessage(p.Extract<PacketDotNet.TransportPacket>()).ToArray(), [])
            : DnsMessage.FindMessage(packet.Data.Span, headers);   // most packets are not DNS and need no parse at all
        Span<byte> name = stackalloc byte[DnsMessage.MaxNameLength];
        if (!DnsMessage.TryReadQueryName(message, name, out var nameLength)) return null;
        var hostname = DnsMessage.NameText(name[..nameLength]);

        var when = packet.EpochSeconds;
        if (_table.TryGetValue(hostname, out var node))
        {
            _recent.Remove(node);
            _recent.AddFirst(node);
        }
        else
        {
            if (_table.Count >= MaxHostnames)
            {
                var oldest = _recent.Last!;
                _recent.RemoveLast();
                _table.Remove(oldest.Value.Hostname);
                Evicted++;
            }
            node = _recent.AddFirst(new Lookup(hostname));
            _table[hostname] = node;
        }
        node.Value.Count++;
        node.Value.Latest = when;
        return new LookupPayload(hostname, when);
    }

    public override object? OnInterval()
    {
        var seen = new Dictionary<string, SeenEntry>(_table.Count, StringComparer.Ordinal);
        foreach (var lookup in _recent) seen[lookup.Hostname] = new SeenEntry(lookup.Count, lookup.Latest);
        return new Dictionary<string, object> { ["lookups_seen"] = seen };
    }

    // Fields named as the wire wants them (the codec serialises fields as they are named).
    /// <summary>
    /// <c>{"lookup": {"hostname", "when"}}</c>: written directly by the codec (a dumpling per DNS query), and the same
    /// through <c>JsonSerializer</c> for code that calls the chef itself.
    /// </summary>
    private sealed class LookupPayload(string hostname, double when) : IJsonPayloadWriter
    {
        public LookupEntry lookup => new(hostname, when);

        public void WriteTo(System.Text.Json.Utf8JsonWriter writer)
        {
            writer.WriteStartObject();
            writer.WriteStartObject("lookup"u8);
            writer.WriteString("hostname"u8, hostname);
            JsonSeconds.Write(writer, "when"u8, when);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }
    }

    private readonly record struct LookupEntry(string hostname, double when);
    private readonly record struct SeenEntry(long count, double latest);
}
