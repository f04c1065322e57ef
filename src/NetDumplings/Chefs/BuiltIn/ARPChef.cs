using System.Net.NetworkInformation;
using NetDumplings.Packets;
using PacketDotNet;

namespace NetDumplings.Chefs;

/// <summary>
/// A packet dumpling per ARP packet: operation, source and destination hardware and IP addresses,
/// the capture time, and on replies a note from the IP -> MAC table the chef keeps ("source device
/// is new", "source device has new IP address"), as the original.
/// </summary>
public sealed class ARPChef : DumplingChef
{
    public const int DefaultMaxAddresses = 65536;

    private readonly Dictionary<string, string> _ipToMac = new(StringComparer.Ordinal);

    public int MaxAddresses { get; init; } = DefaultMaxAddresses;

    public override object? OnPacket(ChefPacket packet)
    {
        var raw = new RawHeaders(packet.Data.Span, packet.LinkType);
        if (raw.Known && raw.EtherType != RawHeaders.EtherTypeArp) return null; // no parse for the non-ARP many
        var arp = packet.Extract<ArpPacket>();
        if (arp is null) return null;
        object operation = arp.Operation switch
        {
            ArpOperation.Request => "request",
            ArpOperation.Response => "reply",
            var other => (int)other,
        };
        var srcHw = Mac(arp.SenderHardwareAddress);
        var srcIp = arp.SenderProtocolAddress.ToString();
        string? notes = null;
        if (arp.Operation == ArpOperation.Response)
        {
            if (!_ipToMac.TryGetValue(srcIp, out var known))
                notes = "source device is new";
            else if (known != srcHw)
                notes = "source device has new IP address";
            if (_ipToMac.Count < MaxAddresses || _ipToMac.ContainsKey(srcIp))
                _ipToMac[srcIp] = srcHw;
        }
        return new ArpPayload(operation, srcHw, srcIp, Mac(arp.TargetHardwareAddress), arp.TargetProtocolAddress.ToString(),
            packet.EpochSeconds, notes);
    }

    private static string Mac(PhysicalAddress address) =>
        string.Join(":", address.GetAddressBytes().Select(b => b.ToString("x2")));

    private sealed record ArpPayload(object operation, string src_hw, string src_ip, string dst_hw, string dst_ip, double time, string? notes);
}
