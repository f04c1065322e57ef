using System.Runtime.CompilerServices;
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
        var srcIp = PacketText.Address(arp.SenderProtocolAddress)!;
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
        return new ArpPayload(operation, srcHw, srcIp, Mac(arp.TargetHardwareAddress), PacketText.Address(arp.TargetProtocolAddress)!,
            packet.EpochSeconds, notes);
    }

    private static string Mac(ReadOnlySpan<byte> address) => PacketText.Mac(address);

    // Fields named as the wire wants them, for JsonSerializer (code that calls the chef itself); the kitchen's codec has it
    // write itself, the same text without reflection (a dumpling per ARP packet).
    private sealed record ArpPayload(object operation, string src_hw, string src_ip, string dst_hw, string dst_ip, double time, string? notes)
        : IJsonPayloadWriter
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void WriteTo(System.Text.Json.Utf8JsonWriter writer)
        {
            // Hardware and IP addresses are ASCII we formatted, the notes our own: nothing to escape.
            Span<byte> buffer = stackalloc byte[256 + src_hw.Length + src_ip.Length + dst_hw.Length + dst_ip.Length + (notes?.Length ?? 0)];
            var json = new JsonText(buffer);
            json.Raw("{\"operation\":"u8);
            if (operation is string name) json.Plain(name);
            else json.Number(Convert.ToInt64(operation, System.Globalization.CultureInfo.InvariantCulture));
            json.Raw(",\"src_hw\":"u8);
            json.Plain(src_hw);
            json.Raw(",\"src_ip\":"u8);
            json.Plain(src_ip);
            json.Raw(",\"dst_hw\":"u8);
            json.Plain(dst_hw);
            json.Raw(",\"dst_ip\":"u8);
            json.Plain(dst_ip);
            json.Raw(",\"time\":"u8);
            json.Seconds(time);
            json.Raw(",\"notes\":"u8);
            json.Plain(notes);
            json.Raw("}"u8);
            json.WriteTo(writer);
        }
    }
}
