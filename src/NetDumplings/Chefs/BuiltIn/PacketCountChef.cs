using NetDumplings.Packets;
using PacketDotNet;

namespace NetDumplings.Chefs;

/// <summary>
/// Counts every layer of every packet and reports the counts on each interval poke:
/// <c>{"packet_counts": {"Ethernet": n, "IP": n, "TCP": n, ...}}</c>, with scapy's layer names for
/// the layers dashboards written for the original look for (Ethernet, IP, IPv6, TCP, UDP, ARP, ICMP,
/// DNS, Raw); other layers under PacketDotNet's name without "Packet".
/// </summary>
public sealed class PacketCountChef : DumplingChef
{
    private static readonly Dictionary<Type, string> KnownNames = new()
    {
        [typeof(EthernetPacket)] = "Ethernet",
        [typeof(IPv4Packet)] = "IP",
        [typeof(IPv6Packet)] = "IPv6",
        [typeof(TcpPacket)] = "TCP",
        [typeof(UdpPacket)] = "UDP",
        [typeof(ArpPacket)] = "ARP",
        [typeof(IcmpV4Packet)] = "ICMP",
        [typeof(IcmpV6Packet)] = "ICMPv6",
        [typeof(LinuxSllPacket)] = "cooked linux",
        [typeof(Ieee8021QPacket)] = "Dot1Q",
    };

    // Counters in first-seen order, found by layer type without hashing a string per layer.
    private readonly Dictionary<Type, Counter> _byType = [];
    private readonly List<Counter> _order = [];
    private Counter? _dns, _raw;

    private sealed class Counter(string name)
    {
        public readonly string Name = name;
        public long Count;
    }

    private readonly Counter?[] _fastCounters = new Counter?[8];

    /// <summary>Counts with PacketDotNet's parse only (for tests comparing the two ways).</summary>
    internal bool AlwaysParse { get; init; }

    public override object? OnPacket(ChefPacket packet)
    {
        if (!AlwaysParse && CountFast(packet)) return null;
        Packet? layer = packet.Packet;
        while (layer is not null)
        {
            var type = layer.GetType();
            if (!_byType.TryGetValue(type, out var counter))
                counter = Add(type, KnownNames.GetValueOrDefault(type) ?? TrimPacket(type.Name));
            counter.Count++;

            var inner = layer.PayloadPacket;
            if (inner is null)
            {
                if (layer is TransportPacket transport && (transport.SourcePort == DnsQuestion.Port || transport.DestinationPort == DnsQuestion.Port)
                    && transport.HasPayloadData && transport.PayloadDataSegment.Length > 0)
                    (_dns ??= Add(null, "DNS")).Count++;
                else if (layer.HasPayloadData && layer.PayloadDataSegment.Length > 0 && layer is not ArpPacket)
                    (_raw ??= Add(null, "Raw")).Count++;
            }
            layer = inner;
        }
        return null;
    }

    // The common stacks straight from the bytes; false sends the packet through PacketDotNet.
    private bool CountFast(ChefPacket packet)
    {
        var raw = new RawHeaders(packet.Data.Span, packet.LinkType);
        if (!raw.Known || !raw.LinkIsEthernet) return false;
        var isIp = raw.EtherType != RawHeaders.EtherTypeArp;
        if (isIp && !raw.TransportKnown) return false;
        Fast(0, typeof(EthernetPacket)).Count++;
        if (!isIp)
        {
            Fast(1, typeof(ArpPacket)).Count++;
            return true;
        }
        Fast(raw.EtherType == RawHeaders.EtherTypeIPv4 ? 2 : 3, raw.EtherType == RawHeaders.EtherTypeIPv4 ? typeof(IPv4Packet) : typeof(IPv6Packet)).Count++;
        switch (raw.Protocol)
        {
            case RawHeaders.ProtocolTcp: Fast(4, typeof(TcpPacket)).Count++; break;
            case RawHeaders.ProtocolUdp: Fast(5, typeof(UdpPacket)).Count++; break;
            case RawHeaders.ProtocolIcmp: Fast(6, typeof(IcmpV4Packet)).Count++; break;
            default: Fast(7, typeof(IcmpV6Packet)).Count++; break;
        }
        if (raw.Payload.Length > 0)
        {
            if (raw.Protocol is RawHeaders.ProtocolTcp or RawHeaders.ProtocolUdp && raw.IsPort(DnsQuestion.Port))
                (_dns ??= Add(null, "DNS")).Count++;
            else
                (_raw ??= Add(null, "Raw")).Count++;
        }
        return true;
    }

    private Counter Fast(int slot, Type type)
    {
        var counter = _fastCounters[slot];
        if (counter is not null) return counter;
        if (!_byType.TryGetValue(type, out counter))
            counter = Add(type, KnownNames[type]);
        return _fastCounters[slot] = counter;
    }

    private Counter Add(Type? type, string name)
    {
        var counter = _order.FirstOrDefault(c => c.Name == name) ?? new Counter(name);
        if (!_order.Contains(counter)) _order.Add(counter);
        if (type is not null) _byType[type] = counter;
        return counter;
    }

    private static string TrimPacket(string name) => name.EndsWith("Packet", StringComparison.Ordinal) ? name[..^6] : name;

    public override object? OnInterval()
    {
        var counts = new Dictionary<string, long>(_order.Count);
        foreach (var counter in _order) counts[counter.Name] = counter.Count;
        return new Dictionary<string, object> { ["packet_counts"] = counts };
    }
}
