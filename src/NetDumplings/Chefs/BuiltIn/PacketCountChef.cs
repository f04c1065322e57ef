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

    public override object? OnPacket(ChefPacket packet)
    {
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
