using System.Runtime.CompilerServices;
using NetDumplings.Packets;
using PacketDotNet;

namespace NetDumplings.Chefs;

/// <summary>
/// Counts every layer of every packet and reports the counts on each interval poke:
/// <c>{"packet_counts": {"Ethernet": n, "IP": n, "TCP": n, ...}}</c>, with scapy's layer names for
/// the layers dashboards written for the original look for (Ethernet, IP, IPv6, TCP, UDP, ARP, ICMP,
/// DNS, Raw); other layers under PacketDotNet's name without "Packet". The layers come from the
/// packet's <see cref="PacketHeaders"/>, the same ones a scriptblock chef's <c>LayerNames</c> lists;
/// PacketDotNet names only what the header reader does not decode (other link types and protocols).
/// </summary>
public sealed class PacketCountChef : DumplingChef
{
    private static readonly Dictionary<Type, string> KnownNames = new()
    {
        [typeof(EthernetPacket)] = PacketLayerNames.Of(PacketLayer.Ethernet),
        [typeof(IPv4Packet)] = PacketLayerNames.Of(PacketLayer.IPv4),
        [typeof(IPv6Packet)] = PacketLayerNames.Of(PacketLayer.IPv6),
        [typeof(TcpPacket)] = PacketLayerNames.Of(PacketLayer.Tcp),
        [typeof(UdpPacket)] = PacketLayerNames.Of(PacketLayer.Udp),
        [typeof(ArpPacket)] = PacketLayerNames.Of(PacketLayer.Arp),
        [typeof(IcmpV4Packet)] = PacketLayerNames.Of(PacketLayer.Icmp),
        [typeof(IcmpV6Packet)] = PacketLayerNames.Of(PacketLayer.IcmpV6),
        [typeof(LinuxSllPacket)] = PacketLayerNames.Of(PacketLayer.LinuxCooked),
        [typeof(LinuxSll2Packet)] = PacketLayerNames.Of(PacketLayer.LinuxCookedV2),
        [typeof(Ieee8021QPacket)] = PacketLayerNames.Of(PacketLayer.Dot1Q),
    };

    // Counters in first-seen order, found by layer (or by PacketDotNet type) without hashing a string per layer.
    private readonly Dictionary<Type, Counter> _byType = [];
    private readonly Counter?[] _byLayer = new Counter?[Enum.GetValues<PacketLayer>().Length];
    private readonly List<Counter> _order = [];

    private sealed class Counter(string name)
    {
        public readonly string Name = name;
        public long Count;
    }

    /// <summary>Counts with PacketDotNet's parse only (for tests comparing the two ways).</summary>
    internal bool AlwaysParse { get; init; }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override object? OnPacket(ChefPacket packet)
    {
        Span<PacketLayer> layers = stackalloc PacketLayer[PacketHeaders.MaxLayers];
        if (!AlwaysParse && packet.Headers.TryCopyLayers(packet.Data.Span, layers, out var count))
        {
            foreach (var layer in layers[..count]) CountLayer(layer);
            return null;
        }
        CountParsed(packet);
        return null;
    }

    private void CountParsed(ChefPacket packet)
    {
        try
        {
            for (Packet? layer = packet.Packet; layer is not null; layer = layer.PayloadPacket)
            {
                var type = layer.GetType();
                if (!_byType.TryGetValue(type, out var counter))
                    _byType[type] = counter = Add(KnownNames.GetValueOrDefault(type) ?? TrimPacket(type.Name));
                counter.Count++;
                if (layer.PayloadPacket is not null) continue;

                if (layer is TransportPacket transport && DnsMessage.IsWellFormed(DnsMessage.FindMessage(transport)))
                    CountLayer(PacketLayer.Dns);
                else if (layer.HasPayloadData && layer.PayloadDataSegment.Length > 0 && layer is not ArpPacket)
                    CountLayer(PacketLayer.Raw);
            }
        }
        catch (Exception e) when (ChefPacket.IsMalformedPacketError(e))
        {
            // PacketDotNet gave up partway into a malformed packet: the layers before it are counted.
        }
    }

    private void CountLayer(PacketLayer layer) => (_byLayer[(int)layer] ??= Add(PacketLayerNames.Of(layer))).Count++;

    private Counter Add(string name)
    {
        foreach (var counter in _order)
            if (counter.Name == name) return counter;
        var added = new Counter(name);
        _order.Add(added);
        return added;
    }

    private static string TrimPacket(string name) => name.EndsWith("Packet", StringComparison.Ordinal) ? name[..^6] : name;

    public override object? OnInterval()
    {
        var counts = new Dictionary<string, long>(_order.Count);
        foreach (var counter in _order) counts[counter.Name] = counter.Count;
        return new Dictionary<string, object> { ["packet_counts"] = counts };
    }
}
