using System.Buffers.Binary;
using System.Net;
using System.Net.NetworkInformation;
using System.Text;
using PacketDotNet;

namespace NetDumplings.Tests.Packets;

/// <summary>Frames for the header reader's tests: built with PacketDotNet, then reframed or edited as bytes.</summary>
internal static class TestFrames
{
    public static readonly PhysicalAddress From = PhysicalAddress.Parse("02-00-00-00-00-0A");
    public static readonly PhysicalAddress To = PhysicalAddress.Parse("02-00-00-00-00-0B");
    public const int EthernetLength = 14;

    /// <summary>A DNS message with one question per name; a name after the first may end in a pointer to the first.</summary>
    public static byte[] Dns(bool response, params string[] names)
    {
        var bytes = new List<byte> { 0x12, 0x34, (byte)(response ? 0x84 : 0x00), 0, 0, (byte)names.Length, 0, 0, 0, 0, 0, 0 };
        foreach (var name in names)
        {
            foreach (var label in name.Split('.', StringSplitOptions.RemoveEmptyEntries))
            {
                var text = Encoding.UTF8.GetBytes(label);
                bytes.Add((byte)text.Length);
                bytes.AddRange(text);
            }
            bytes.AddRange([0, 0, 1, 0, 1]);   // root, type A, class IN
        }
        return [.. bytes];
    }

    public static IPPacket Ip(string from, string to, TransportPacket transport)
    {
        IPPacket ip = IPAddress.Parse(from).AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
            ? new IPv6Packet(IPAddress.Parse(from), IPAddress.Parse(to))
            : new IPv4Packet(IPAddress.Parse(from), IPAddress.Parse(to));
        ip.PayloadPacket = transport;
        transport.UpdateCalculatedValues();
        ip.UpdateCalculatedValues();
        return ip;
    }

    public static byte[] UdpIp(string from, string to, ushort sourcePort, ushort destinationPort, byte[] payload) =>
        Ip(from, to, new UdpPacket(sourcePort, destinationPort) { PayloadData = payload }).Bytes;

    public static byte[] TcpIp(string from, string to, ushort sourcePort, ushort destinationPort, byte[] payload) =>
        Ip(from, to, new TcpPacket(sourcePort, destinationPort) { PayloadData = payload, Acknowledgment = true }).Bytes;

    /// <summary>An Ethernet frame around an IP packet (its version picks the EtherType) or an ARP message.</summary>
    public static byte[] Ethernet(byte[] network, ushort? etherType = null)
    {
        var frame = new byte[EthernetLength + network.Length];
        From.GetAddressBytes().CopyTo(frame, 0);
        To.GetAddressBytes().CopyTo(frame, 6);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), etherType ?? (ushort)(network[0] >> 4 == 6 ? 0x86DD : 0x0800));
        network.CopyTo(frame, EthernetLength);
        return frame;
    }

    /// <summary>The frame with VLAN tags (their TPIDs, outermost first) between the addresses and the EtherType.</summary>
    public static byte[] Tagged(byte[] ethernet, params ushort[] tpids)
    {
        var tags = new byte[tpids.Length * 4];
        for (var i = 0; i < tpids.Length; i++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(tags.AsSpan(i * 4), tpids[i]);
            BinaryPrimitives.WriteUInt16BigEndian(tags.AsSpan(i * 4 + 2), (ushort)(100 + i));   // the VLAN id
        }
        // Each TPID stands where the EtherType was; the real EtherType follows the last tag.
        return [.. ethernet[..12], .. tags, .. ethernet[12..]];
    }

    /// <summary>A Linux cooked capture (v1) frame around a network packet.</summary>
    public static byte[] Cooked(byte[] network, ushort protocol)
    {
        var header = new byte[16];
        BinaryPrimitives.WriteUInt16BigEndian(header, 4);              // sent by us
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(2), 1);    // ARPHRD_ETHER
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(4), 6);
        From.GetAddressBytes().CopyTo(header, 6);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(14), protocol);
        return [.. header, .. network];
    }

    /// <summary>A Linux cooked capture v2 frame around a network packet.</summary>
    public static byte[] CookedV2(byte[] network, ushort protocol)
    {
        var header = new byte[20];
        BinaryPrimitives.WriteUInt16BigEndian(header, protocol);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4), 3);    // interface index
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(8), 1);    // ARPHRD_ETHER
        header[11] = 6;
        From.GetAddressBytes().CopyTo(header, 12);
        return [.. header, .. network];
    }

    /// <summary>
    /// An IPv6 packet with extension headers (their next-header numbers, 8 bytes each; 44 is a fragment header
    /// with the given offset in 8-byte units) inserted before its upper-layer header.
    /// </summary>
    public static byte[] WithExtensionHeaders(byte[] ipv6, int fragmentOffset, params byte[] extensions)
    {
        var upper = ipv6[6];
        var inserted = new List<byte>();
        for (var i = 0; i < extensions.Length; i++)
        {
            var next = i + 1 < extensions.Length ? extensions[i + 1] : upper;
            // A length byte of 0 is 8 bytes for them all: (0 + 1) * 8, and (0 + 2) * 4 for AH.
            var header = new byte[8];
            header[0] = next;
            if (extensions[i] == 44)
                BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(2), (ushort)((fragmentOffset << 3) | 1));   // offset, more fragments
            inserted.AddRange(header);
        }
        var packet = (byte[])[.. ipv6[..40], .. inserted, .. ipv6[40..]];
        packet[6] = extensions[0];
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(4), (ushort)(packet.Length - 40));
        return packet;
    }

    /// <summary>An IPv4 packet edited into a fragment: the MF flag and an offset in 8-byte units.</summary>
    public static byte[] AsIPv4Fragment(byte[] ipv4, bool moreFragments, int offset)
    {
        var packet = (byte[])ipv4.Clone();
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(6), (ushort)((moreFragments ? 0x2000 : 0) | offset));
        return packet;
    }

    public static byte[] Arp(int hardwareLength, int protocolLength, int operation)
    {
        var message = new byte[8 + 2 * (hardwareLength + protocolLength)];
        BinaryPrimitives.WriteUInt16BigEndian(message, 1);
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(2), 0x0800);
        message[4] = (byte)hardwareLength;
        message[5] = (byte)protocolLength;
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(6), (ushort)operation);
        for (var i = 8; i < message.Length; i++) message[i] = (byte)i;
        return message;
    }
}
