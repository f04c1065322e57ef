using System.Buffers.Binary;
using System.Net;
using System.Text;

namespace NetDumplings.Packets;

/// <summary>
/// A DHCPv4 message (RFC 2131: the BOOTP header, the magic cookie, then options of RFC 2132), read in
/// place: which packets carry one (UDP to or from ports 67 and 68), the header's addresses, and the
/// options a device tells about itself (message type, host name, client FQDN, vendor class, requested
/// address, lease time, server identifier, parameter request list).
/// </summary>
public readonly ref struct DhcpMessage
{
    public const int ServerPort = 67, ClientPort = 68;
    public const int OptionHostName = 12, OptionRequestedAddress = 50, OptionLeaseTime = 51, OptionMessageType = 53,
        OptionServerId = 54, OptionParameterRequestList = 55, OptionVendorClass = 60, OptionClientId = 61, OptionClientFqdn = 81;

    private const int HeaderLength = 236;
    private const uint MagicCookie = 0x63825363;

    private readonly ReadOnlySpan<byte> _message;
    private readonly ReadOnlySpan<byte> _options;

    private DhcpMessage(ReadOnlySpan<byte> message)
    {
        _message = message;
        _options = message[(HeaderLength + 4)..];
    }

    /// <summary>True for UDP to or from the DHCP server or client port.</summary>
    public static bool IsDhcpPort(in PacketHeaders headers) =>
        headers.TransportLayer == PacketLayer.Udp
        && (headers.SourcePort is ServerPort or ClientPort || headers.DestinationPort is ServerPort or ClientPort);

    /// <summary>Reads a message from a UDP payload; false when it is too short or lacks the DHCP magic cookie (plain BOOTP).</summary>
    public static bool TryRead(ReadOnlySpan<byte> payload, out DhcpMessage message)
    {
        message = default;
        if (payload.Length < HeaderLength + 4 || BinaryPrimitives.ReadUInt32BigEndian(payload[HeaderLength..]) != MagicCookie) return false;
        if (payload[0] is not (1 or 2)) return false;   // BOOTREQUEST, BOOTREPLY
        message = new DhcpMessage(payload);
        return true;
    }

    /// <summary>1 for a request from a client, 2 for a reply from a server.</summary>
    public int Operation => _message[0];

    public int HardwareType => _message[1];

    public uint TransactionId => BinaryPrimitives.ReadUInt32BigEndian(_message[4..]);

    /// <summary>ciaddr: the address the client already has (renewing), or 0.0.0.0.</summary>
    public IPAddress ClientAddress => new(_message.Slice(12, 4));

    /// <summary>yiaddr: the address the server gives the client.</summary>
    public IPAddress YourAddress => new(_message.Slice(16, 4));

    /// <summary>giaddr: the relay agent's address, or 0.0.0.0.</summary>
    public IPAddress RelayAddress => new(_message.Slice(24, 4));

    /// <summary>The client's hardware address (chaddr, as long as hlen says, at most 16 bytes).</summary>
    public ReadOnlySpan<byte> ClientHardwareAddress => _message.Slice(28, Math.Min((int)_message[2], 16));

    /// <summary>
    /// The first option of the code, or false. Pad (0) is skipped, End (255) ends the options; an option running
    /// past the message ends them too (every step moves forward, so the walk ends).
    /// </summary>
    public bool TryGetOption(int code, out ReadOnlySpan<byte> data)
    {
        for (var at = 0; at < _options.Length;)
        {
            var option = _options[at];
            if (option == 255) break;
            if (option == 0) { at++; continue; }
            if (at + 2 > _options.Length || at + 2 + _options[at + 1] > _options.Length) break;
            if (option == code)
            {
                data = _options.Slice(at + 2, _options[at + 1]);
                return true;
            }
            at += 2 + _options[at + 1];
        }
        data = default;
        return false;
    }

    /// <summary>The message type (option 53: 1 DISCOVER ... 8 INFORM), or 0 when absent.</summary>
    public int MessageType => TryGetOption(OptionMessageType, out var data) && data.Length == 1 ? data[0] : 0;

    public static string MessageTypeName(int type) => type switch
    {
        1 => "DISCOVER", 2 => "OFFER", 3 => "REQUEST", 4 => "DECLINE", 5 => "ACK", 6 => "NAK", 7 => "RELEASE", 8 => "INFORM",
        9 => "FORCERENEW", 10 => "LEASEQUERY", 11 => "LEASEUNASSIGNED", 12 => "LEASEUNKNOWN", 13 => "LEASEACTIVE",
        0 => "BOOTP", _ => "TYPE" + type,
    };

    /// <summary>An option's data as text (host name, vendor class), control characters shown as '?'; null when absent.</summary>
    public string? TextOption(int code) => TryGetOption(code, out var data) ? DnsMessage.NameText(data.TrimEnd((byte)0)) : null;

    /// <summary>An option holding one IPv4 address (requested address, server identifier); null when absent or not 4 bytes.</summary>
    public IPAddress? AddressOption(int code) => TryGetOption(code, out var data) && data.Length == 4 ? new IPAddress(data) : null;

    /// <summary>The lease time in seconds (option 51), or null.</summary>
    public uint? LeaseTime => TryGetOption(OptionLeaseTime, out var data) && data.Length == 4 ? BinaryPrimitives.ReadUInt32BigEndian(data) : null;

    /// <summary>
    /// The client FQDN (option 81, RFC 4702): flags, two obsolete rcode bytes, then the name, in DNS wire format
    /// when flag E (0x04) is set, else as ASCII. Null when absent or unreadable.
    /// </summary>
    public string? ClientFqdn
    {
        get
        {
            if (!TryGetOption(OptionClientFqdn, out var data) || data.Length < 3) return null;
            var name = data[3..];
            if ((data[0] & 0x04) == 0) return DnsMessage.NameText(name.TrimEnd((byte)0));
            var text = new StringBuilder();
            // Labels until the root (or the end: a partial name is allowed); each step moves forward.
            for (var at = 0; at < name.Length && name[at] != 0;)
            {
                var length = name[at];
                if ((length & 0xC0) != 0 || at + 1 + length > name.Length) return null;
                if (text.Length > 0) text.Append('.');
                text.Append(DnsMessage.NameText(name.Slice(at + 1, length)));
                at += 1 + length;
            }
            return text.ToString();
        }
    }

    /// <summary>The option codes the client asks for (option 55), in its order: a fingerprint of the DHCP client.</summary>
    public ReadOnlySpan<byte> ParameterRequestList => TryGetOption(OptionParameterRequestList, out var data) ? data : default;
}
