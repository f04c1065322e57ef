using System.Buffers.Binary;
using System.Net;
using System.Text;

namespace NetDumplings.Traffic;

/// <summary>
/// Frames built byte by byte (lengths and checksums right), for captures whose every header the tests
/// control: Ethernet, IPv4, IPv6, UDP, TCP, ARP, and the application messages the chefs read (DNS, TLS
/// ClientHello, HTTP, DHCP).
/// </summary>
public static class FrameBuilder
{
    public const ushort EtherIPv4 = 0x0800, EtherIPv6 = 0x86DD, EtherArp = 0x0806;

    public static byte[] Mac(string text) => text.Split(':').Select(b => Convert.ToByte(b, 16)).ToArray();

    public static byte[] Ethernet(string destination, string source, ushort etherType, byte[] payload)
    {
        var frame = new byte[14 + payload.Length];
        Mac(destination).CopyTo(frame, 0);
        Mac(source).CopyTo(frame, 6);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), etherType);
        payload.CopyTo(frame, 14);
        return frame;
    }

    /// <summary>An Ethernet frame around an IP packet, its EtherType by the IP version.</summary>
    public static byte[] EthernetIP(byte[] ip, string destination = "02:00:00:00:00:02", string source = "02:00:00:00:00:01") =>
        Ethernet(destination, source, ip[0] >> 4 == 6 ? EtherIPv6 : EtherIPv4, ip);

    public static byte[] IPv4(string source, string destination, byte protocol, byte[] payload, ushort id = 1, byte ttl = 64, ushort fragment = 0x4000)
    {
        var packet = new byte[20 + payload.Length];
        packet[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), (ushort)packet.Length);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(4), id);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(6), fragment);
        packet[8] = ttl;
        packet[9] = protocol;
        IPAddress.Parse(source).GetAddressBytes().CopyTo(packet, 12);
        IPAddress.Parse(destination).GetAddressBytes().CopyTo(packet, 16);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(10), Checksum(packet.AsSpan(0, 20), 0));
        payload.CopyTo(packet, 20);
        if (protocol is 6 or 17) FillTransportChecksum(packet, 20, protocol);
        return packet;
    }

    public static byte[] IPv6(string source, string destination, byte next, byte[] payload, byte hopLimit = 64)
    {
        var packet = new byte[40 + payload.Length];
        packet[0] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(4), (ushort)payload.Length);
        packet[6] = next;
        packet[7] = hopLimit;
        IPAddress.Parse(source).GetAddressBytes().CopyTo(packet, 8);
        IPAddress.Parse(destination).GetAddressBytes().CopyTo(packet, 24);
        payload.CopyTo(packet, 40);
        if (next is 6 or 17) FillTransportChecksum(packet, 40, next);
        return packet;
    }

    /// <summary>An IP packet of the version the addresses say.</summary>
    public static byte[] IP(string source, string destination, byte protocol, byte[] payload) =>
        source.Contains(':') ? IPv6(source, destination, protocol, payload) : IPv4(source, destination, protocol, payload);

    public static byte[] Udp(int sourcePort, int destinationPort, byte[] payload)
    {
        var datagram = new byte[8 + payload.Length];
        BinaryPrimitives.WriteUInt16BigEndian(datagram, (ushort)sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(2), (ushort)destinationPort);
        BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(4), (ushort)datagram.Length);
        payload.CopyTo(datagram, 8);
        return datagram;
    }

    public const byte Fin = 0x01, Syn = 0x02, Rst = 0x04, Psh = 0x08, Ack = 0x10;

    public static byte[] Tcp(int sourcePort, int destinationPort, uint sequence, uint acknowledgment, byte flags, byte[] payload, ushort window = 64240)
    {
        var segment = new byte[20 + payload.Length];
        BinaryPrimitives.WriteUInt16BigEndian(segment, (ushort)sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(segment.AsSpan(2), (ushort)destinationPort);
        BinaryPrimitives.WriteUInt32BigEndian(segment.AsSpan(4), sequence);
        BinaryPrimitives.WriteUInt32BigEndian(segment.AsSpan(8), acknowledgment);
        segment[12] = 5 << 4;
        segment[13] = flags;
        BinaryPrimitives.WriteUInt16BigEndian(segment.AsSpan(14), window);
        payload.CopyTo(segment, 20);
        return segment;
    }

    public static byte[] Icmp(byte type, byte code, byte[] rest)
    {
        var message = new byte[4 + rest.Length];
        message[0] = type;
        message[1] = code;
        rest.CopyTo(message, 4);
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(2), Checksum(message, 0));
        return message;
    }

    private static void FillTransportChecksum(byte[] packet, int at, byte protocol)
    {
        var v6 = packet[0] >> 4 == 6;
        var length = packet.Length - at;
        var checksumAt = at + (protocol == 6 ? 16 : 6);
        if (packet.Length < checksumAt + 2) return;
        packet[checksumAt] = packet[checksumAt + 1] = 0;
        // The pseudo-header: addresses, protocol, length.
        uint sum = 0;
        var addresses = v6 ? packet.AsSpan(8, 32) : packet.AsSpan(12, 8);
        for (var i = 0; i < addresses.Length; i += 2) sum += BinaryPrimitives.ReadUInt16BigEndian(addresses[i..]);
        sum += protocol;
        sum += (uint)length;
        var checksum = Checksum(packet.AsSpan(at), sum);
        if (checksum == 0 && protocol == 17) checksum = 0xFFFF;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(checksumAt), checksum);
    }

    private static ushort Checksum(ReadOnlySpan<byte> bytes, uint sum)
    {
        for (var i = 0; i + 1 < bytes.Length; i += 2) sum += BinaryPrimitives.ReadUInt16BigEndian(bytes[i..]);
        if ((bytes.Length & 1) != 0) sum += (uint)bytes[^1] << 8;
        while (sum >> 16 != 0) sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)~sum;
    }

    public static byte[] Arp(int operation, string senderMac, string senderIp, string targetMac, string targetIp)
    {
        var message = new byte[28];
        BinaryPrimitives.WriteUInt16BigEndian(message, 1);
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(2), 0x0800);
        message[4] = 6;
        message[5] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(6), (ushort)operation);
        Mac(senderMac).CopyTo(message, 8);
        IPAddress.Parse(senderIp).GetAddressBytes().CopyTo(message, 14);
        Mac(targetMac).CopyTo(message, 18);
        IPAddress.Parse(targetIp).GetAddressBytes().CopyTo(message, 24);
        return message;
    }

    // DNS

    public sealed record DnsRecord(string Name, ushort Type, uint Ttl, string Data);

    /// <summary>A DNS message: one question, and answers (A, AAAA: addresses; CNAME, PTR, NS: names) that point back to names before them.</summary>
    public static byte[] Dns(ushort id, bool response, string name, ushort type, int rcode = 0, params DnsRecord[] answers)
    {
        var bytes = new List<byte>();
        void U16(int v) { bytes.Add((byte)(v >> 8)); bytes.Add((byte)v); }
        U16(id);
        U16(response ? 0x8180 | rcode : 0x0100);
        U16(1);
        U16(answers.Length);
        U16(0);
        U16(0);
        var names = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        void Name(string text)
        {
            // Each suffix already written is a pointer away (RFC 1035 section 4.1.4).
            var labels = text.TrimEnd('.').Split('.');
            for (var i = 0; i < labels.Length; i++)
            {
                var suffix = string.Join('.', labels[i..]);
                if (names.TryGetValue(suffix, out var at))
                {
                    U16(0xC000 | at);
                    return;
                }
                if (bytes.Count < 0x3FFF) names[suffix] = bytes.Count;
                var label = Encoding.UTF8.GetBytes(labels[i]);
                bytes.Add((byte)label.Length);
                bytes.AddRange(label);
            }
            bytes.Add(0);
        }
        Name(name);
        U16(type);
        U16(1);
        foreach (var answer in answers)
        {
            Name(answer.Name);
            U16(answer.Type);
            U16(1);
            U16((int)(answer.Ttl >> 16));
            U16((int)(answer.Ttl & 0xFFFF));
            var lengthAt = bytes.Count;
            U16(0);
            if (answer.Type is 1 or 28) bytes.AddRange(IPAddress.Parse(answer.Data).GetAddressBytes());
            else Name(answer.Data);
            var length = bytes.Count - lengthAt - 2;
            bytes[lengthAt] = (byte)(length >> 8);
            bytes[lengthAt + 1] = (byte)length;
        }
        return [.. bytes];
    }

    // TLS

    /// <summary>What a ClientHello offers; GREASE values may be mixed in where browsers put them.</summary>
    public sealed record TlsHello(string? ServerName, string[] Alpn, ushort[] Versions, ushort[] Ciphers, ushort[] Groups, ushort[] SignatureAlgorithms,
        bool Grease = true, int Padding = 0);

    /// <summary>A TLS record holding a ClientHello with the usual extensions (and GREASE ones when asked), in Chrome's order.</summary>
    public static byte[] ClientHello(TlsHello hello)
    {
        var extensions = new List<byte>();
        void Extension(int type, byte[] data)
        {
            extensions.Add((byte)(type >> 8));
            extensions.Add((byte)type);
            extensions.Add((byte)(data.Length >> 8));
            extensions.Add((byte)data.Length);
            extensions.AddRange(data);
        }
        static byte[] U16List(IEnumerable<ushort> values, int lengthBytes)
        {
            var list = values.SelectMany(v => new[] { (byte)(v >> 8), (byte)v }).ToArray();
            return lengthBytes == 2 ? [(byte)(list.Length >> 8), (byte)list.Length, .. list] : [(byte)list.Length, .. list];
        }
        if (hello.Grease) Extension(0x0A0A, []);
        if (hello.ServerName is { } sni)
        {
            var name = Encoding.ASCII.GetBytes(sni);
            byte[] entry = [0, (byte)(name.Length >> 8), (byte)name.Length, .. name];
            Extension(0, [(byte)(entry.Length >> 8), (byte)entry.Length, .. entry]);
        }
        Extension(23, []);                      // extended master secret
        Extension(0xFF01, [0]);                 // renegotiation info
        Extension(10, U16List(hello.Grease ? [0x2A2A, .. hello.Groups] : hello.Groups, 2));
        Extension(11, [1, 0]);                  // point formats: uncompressed
        Extension(35, []);                      // session ticket
        if (hello.Alpn.Length > 0)
        {
            var list = hello.Alpn.SelectMany(p => new[] { (byte)p.Length }.Concat(Encoding.ASCII.GetBytes(p))).ToArray();
            Extension(16, [(byte)(list.Length >> 8), (byte)list.Length, .. list]);
        }
        Extension(5, [1, 0, 0, 0, 0]);          // status request
        Extension(13, U16List(hello.SignatureAlgorithms, 2));
        if (hello.Versions.Length > 0) Extension(43, U16List(hello.Grease ? [0x7A7A, .. hello.Versions] : hello.Versions, 1));
        Extension(45, [1, 1]);                  // PSK modes
        if (hello.Padding > 0) Extension(21, new byte[hello.Padding]);
        if (hello.Grease) Extension(0x1A1A, [0]);

        var body = new List<byte> { 3, 3 };
        body.AddRange(Enumerable.Range(0, 32).Select(i => (byte)(i * 7)));
        body.Add(32);
        body.AddRange(Enumerable.Range(0, 32).Select(i => (byte)(255 - i)));
        body.AddRange(U16List(hello.Grease ? [0x3A3A, .. hello.Ciphers] : hello.Ciphers, 2));
        body.AddRange([1, 0]);
        body.Add((byte)(extensions.Count >> 8));
        body.Add((byte)extensions.Count);
        body.AddRange(extensions);
        byte[] handshake = [1, (byte)(body.Count >> 16), (byte)(body.Count >> 8), (byte)body.Count, .. body];
        return [0x16, 3, 1, (byte)(handshake.Length >> 8), (byte)handshake.Length, .. handshake];
    }

    // DHCP

    public sealed record DhcpOptions(int MessageType, string? HostName = null, string? VendorClass = null, string? RequestedAddress = null,
        string? ServerId = null, uint? LeaseTime = null, string? ClientFqdn = null, byte[]? ParameterRequestList = null);

    /// <summary>A DHCPv4 message (BOOTP header, magic cookie, options); a server's reply when <paramref name="reply"/>.</summary>
    public static byte[] Dhcp(bool reply, uint transactionId, string clientMac, string yourAddress, DhcpOptions options, string clientAddress = "0.0.0.0")
    {
        var message = new List<byte>(new byte[236]);
        message[0] = (byte)(reply ? 2 : 1);
        message[1] = 1;
        message[2] = 6;
        message[4] = (byte)(transactionId >> 24);
        message[5] = (byte)(transactionId >> 16);
        message[6] = (byte)(transactionId >> 8);
        message[7] = (byte)transactionId;
        var ciaddr = IPAddress.Parse(clientAddress).GetAddressBytes();
        var yiaddr = IPAddress.Parse(yourAddress).GetAddressBytes();
        for (var i = 0; i < 4; i++)
        {
            message[12 + i] = ciaddr[i];
            message[16 + i] = yiaddr[i];
        }
        var mac = Mac(clientMac);
        for (var i = 0; i < mac.Length; i++) message[28 + i] = mac[i];
        message.AddRange([0x63, 0x82, 0x53, 0x63]);
        void Option(int code, byte[] data)
        {
            message.Add((byte)code);
            message.Add((byte)data.Length);
            message.AddRange(data);
        }
        Option(53, [(byte)options.MessageType]);
        if (options.ServerId is { } server) Option(54, IPAddress.Parse(server).GetAddressBytes());
        if (options.LeaseTime is { } lease) Option(51, [(byte)(lease >> 24), (byte)(lease >> 16), (byte)(lease >> 8), (byte)lease]);
        if (options.RequestedAddress is { } requested) Option(50, IPAddress.Parse(requested).GetAddressBytes());
        if (options.HostName is { } host) Option(12, Encoding.ASCII.GetBytes(host));
        if (options.ClientFqdn is { } fqdn)
        {
            // Flags S and E (the name in DNS wire format), two zero rcode bytes, then the labels.
            var wire = fqdn.Split('.').SelectMany(l => new[] { (byte)l.Length }.Concat(Encoding.ASCII.GetBytes(l))).Append((byte)0);
            Option(81, [0x05, 0, 0, .. wire]);
        }
        if (options.VendorClass is { } vendor) Option(60, Encoding.ASCII.GetBytes(vendor));
        if (options.ParameterRequestList is { } list) Option(55, list);
        message.Add(255);
        while (message.Count < 300) message.Add(0);
        return [.. message];
    }

    public static byte[] HttpGet(string host, string path, string userAgent) =>
        Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {userAgent}\r\nAccept: */*\r\n\r\n");
}
