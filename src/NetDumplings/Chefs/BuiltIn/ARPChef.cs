using System.Runtime.CompilerServices;
using System.Net;
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override object? OnPacket(ChefPacket packet)
    {
        var headers = packet.Headers;
        ArpMessage arp;
        if (headers.NetworkLayer == PacketLayer.Arp)
            arp = headers.Arp(packet.Data.Span);
        else if (headers.Status != PacketDecodeStatus.UnknownLinkType
                 || !ArpMessage.TryRead(packet.FromParse(static p => p.Extract<ArpPacket>()?.Bytes, null), out arp))
            return null;   // the reader knows the link type, so this is not ARP: no parse for the non-ARP many
        if (arp.SenderProtocolAddress.Length is not (4 or 16)) return null;   // not ARP for IP

        object operation = arp.Operation switch
        {
            ArpMessage.Request => "request",
            ArpMessage.Reply => "reply",
            var other => other,
        };
        var srcHw = Mac(arp.SenderHardwareAddress);
        var srcIp = new IPAddress(arp.SenderProtocolAddress).ToString();
        string? notes = null;
        if (arp.Operation == ArpMessage.Reply)
        {
            if (!_ipToMac.TryGetValue(srcIp, out var known))
                notes = "source device is new";
            else if (known != srcHw)
                notes = "source device has new IP address";
            if (_ipToMac.Count < MaxAddresses || _ipToMac.ContainsKey(srcIp))
                _ipToMac[srcIp] = srcHw;
        }
        return new ArpPayload(operation, srcHw, srcIp, Mac(arp.TargetHardwareAddress), new IPAddress(arp.TargetProtocolAddress).ToString(),
            packet.EpochSeconds, notes);
    }

    private static string Mac(ReadOnlySpan<byte> address) => PacketText.Mac(address);

    private sealed record ArpPayload(object operation, string src_hw, string src_ip, string dst_hw, string dst_ip, double time, string? notes);
}
