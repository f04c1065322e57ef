using System.Runtime.CompilerServices;
using NetDumplings.Packets;

namespace NetDumplings.Chefs;

/// <summary>
/// Devices as DHCPv4 shows them: a packet dumpling per DHCP message
/// <c>{"message_type", "mac", "transaction_id", "host_name", "client_fqdn", "vendor_class", "requested_address", "assigned_address",
/// "client_address", "server_id", "lease_time", "parameter_request_list", "client", "server", "time"}</c>, and on each poke
/// the devices seen <c>{"devices": {"aa:bb:..": {"host_name", "client_fqdn", "vendor_class", "requested_address",
/// "assigned_address", "lease_time", "message_types", "first_seen", "last_seen"}}}</c>, holding the <see cref="MaxDevices"/>
/// most recently seen devices.
/// </summary>
public sealed class DHCPChef : DumplingChef
{
    public const int DefaultMaxDevices = 1000;

    private readonly Dictionary<string, LinkedListNode<Device>> _devices = new(StringComparer.Ordinal);
    private readonly LinkedList<Device> _recent = new();   // most recently seen first

    public int MaxDevices { get; init; } = DefaultMaxDevices;

    /// <summary>Devices forgotten to keep the table bounded.</summary>
    public long Evicted { get; private set; }

    private sealed class Device(string mac, double firstSeen)
    {
        public readonly string Mac = mac;
        public readonly double FirstSeen = firstSeen;
        public double LastSeen;
        public string? HostName, ClientFqdn, VendorClass, RequestedAddress, AssignedAddress;
        public uint? LeaseTime;
        public readonly List<string> MessageTypes = [];
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override object? OnPacket(ChefPacket packet)
    {
        var headers = packet.Headers;
        if (!DhcpMessage.IsDhcpPort(headers)) return null;
        var frame = packet.Data.Span;
        if (!DhcpMessage.TryRead(headers.Payload(frame), out var dhcp)) return null;

        var type = DhcpMessage.MessageTypeName(dhcp.MessageType);
        var mac = PacketText.Mac(dhcp.ClientHardwareAddress);
        var requested = dhcp.AddressOption(DhcpMessage.OptionRequestedAddress)?.ToString();
        var yours = dhcp.YourAddress;
        var assigned = yours.Equals(System.Net.IPAddress.Any) ? null : yours.ToString();
        var client = dhcp.ClientAddress;
        var payload = new DhcpPayload(type, mac, $"0x{dhcp.TransactionId:x8}",
            dhcp.TextOption(DhcpMessage.OptionHostName), dhcp.ClientFqdn, dhcp.TextOption(DhcpMessage.OptionVendorClass),
            requested, assigned, client.Equals(System.Net.IPAddress.Any) ? null : client.ToString(),
            dhcp.AddressOption(DhcpMessage.OptionServerId)?.ToString(), dhcp.LeaseTime, ToInts(dhcp.ParameterRequestList),
            PacketText.Address(headers.SourceAddressBytes(frame)), PacketText.Address(headers.DestinationAddressBytes(frame)),
            packet.EpochSeconds);
        if (mac.Length > 0) Remember(payload);
        return payload;
    }

    private static int[]? ToInts(ReadOnlySpan<byte> codes)
    {
        if (codes.IsEmpty) return null;
        var values = new int[codes.Length];
        for (var i = 0; i < codes.Length; i++) values[i] = codes[i];
        return values;
    }

    private void Remember(DhcpPayload message)
    {
        if (_devices.TryGetValue(message.mac, out var node)) _recent.Remove(node);
        else
        {
            if (_devices.Count >= MaxDevices)
            {
                _devices.Remove(_recent.Last!.Value.Mac);
                _recent.RemoveLast();
                Evicted++;
            }
            node = new LinkedListNode<Device>(new Device(message.mac, message.time));
            _devices[message.mac] = node;
        }
        _recent.AddFirst(node);
        var device = node.Value;
        device.LastSeen = message.time;
        // What the client says of itself comes in its requests, what it was given in the server's replies.
        device.HostName = message.host_name ?? device.HostName;
        device.ClientFqdn = message.client_fqdn ?? device.ClientFqdn;
        device.VendorClass = message.vendor_class ?? device.VendorClass;
        device.RequestedAddress = message.requested_address ?? device.RequestedAddress;
        if (message.message_type == "ACK")
        {
            device.AssignedAddress = message.assigned_address ?? message.client_address ?? device.AssignedAddress;
            device.LeaseTime = message.lease_time ?? device.LeaseTime;
        }
        // The types seen, in the order first seen: a handful at most.
        if (!device.MessageTypes.Contains(message.message_type) && device.MessageTypes.Count < 16) device.MessageTypes.Add(message.message_type);
    }

    public override object? OnInterval()
    {
        var devices = new Dictionary<string, DeviceEntry>(_devices.Count, StringComparer.Ordinal);
        foreach (var d in _recent)
            devices[d.Mac] = new DeviceEntry(d.HostName, d.ClientFqdn, d.VendorClass, d.RequestedAddress, d.AssignedAddress, d.LeaseTime,
                [.. d.MessageTypes], d.FirstSeen, d.LastSeen);
        return new Dictionary<string, object> { ["devices"] = devices };
    }

    // Fields named as the wire wants them (the codec serialises fields as they are named).
    private sealed record DhcpPayload(string message_type, string mac, string transaction_id, string? host_name, string? client_fqdn,
        string? vendor_class, string? requested_address, string? assigned_address, string? client_address, string? server_id,
        uint? lease_time, int[]? parameter_request_list, string? client, string? server, double time);
    private sealed record DeviceEntry(string? host_name, string? client_fqdn, string? vendor_class, string? requested_address,
        string? assigned_address, uint? lease_time, string[] message_types, double first_seen, double last_seen);
}
