using System.Buffers.Binary;
using System.Security.Cryptography;
using NetDumplings.Packets;

namespace NetDumplings.Chefs;

/// <summary>
/// Connections as Zeek's conn.log has them: TCP, UDP and ICMP flows of the (innermost) packet, one packet
/// dumpling per flow when it ends
/// <c>{"ts", "proto", "orig_h", "orig_p", "resp_h", "resp_p", "community_id", "service", "duration", "orig_pkts", "orig_bytes",
/// "orig_ip_bytes", "resp_pkts", "resp_bytes", "resp_ip_bytes", "conn_state", "ended", "tunnel"}</c>. A flow ends when TCP
/// closes (FIN both ways, or a reset; packets up to <see cref="CloseDelay"/> later still count), after an idle timeout,
/// when the table is full and it is the least recently active (evicted, counted), or when the kitchen stops.
/// Times are the packets' capture times, so a capture file replays as it was captured. On each poke:
/// <c>{"active_flows", "flows_ended", "evicted", "largest_active": [...], "top_talkers": [...]}</c>, ten of each.
/// </summary>
public sealed class FlowChef : DumplingChef
{
    public const int DefaultMaxFlows = 100_000;
    private const int TopCount = 10;
    private const int MaxTalkers = 10_000;

    private readonly Dictionary<FlowKey, Flow> _flows = [];
    // Least recently active last, one list per timeout, so expiry only looks at the tails.
    private readonly LinkedList<Flow> _tcp = new(), _other = new(), _closing = new();
    private readonly Dictionary<UInt128, Talker> _endedTalkers = [];
    private double _now, _nextSweep;
    private long _endedInInterval;

    public int MaxFlows { get; init; } = DefaultMaxFlows;

    /// <summary>A TCP flow without packets this long has ended (Zeek's tcp_inactivity_timeout).</summary>
    public TimeSpan TcpIdleTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>A UDP or ICMP flow without packets this long has ended (Zeek's udp_inactivity_timeout).</summary>
    public TimeSpan UdpIdleTimeout { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>How long a closed or reset TCP flow still takes packets (the last ACK, retransmissions) before it is reported.</summary>
    public TimeSpan CloseDelay { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Flows reported early because the table was full.</summary>
    public long Evicted { get; private set; }

    /// <summary>Flows being followed now.</summary>
    public int ActiveFlows => _flows.Count;

    [Flags]
    private enum Tcp : byte { OrigSyn = 1, RespSynAck = 2, OrigFin = 4, RespFin = 8, OrigRst = 16, RespRst = 32 }

    private enum Service : byte { Unknown, Ssl, Http, Ssh }

    private readonly record struct FlowKey(UInt128 A, UInt128 B, int PortA, int PortB, byte Protocol);

    private sealed class Flow(FlowKey key, UInt128 orig, UInt128 resp, int origPort, int respPort, byte protocol, double start, PacketTunnel tunnel)
    {
        public readonly FlowKey Key = key;
        public readonly UInt128 Orig = orig, Resp = resp;
        public readonly int OrigPort = origPort, RespPort = respPort;
        public readonly byte Protocol = protocol;
        public readonly double Start = start;
        public readonly PacketTunnel Tunnel = tunnel;
        public double Last = start;
        public long OrigPackets, OrigBytes, OrigIPBytes, RespPackets, RespBytes, RespIPBytes;
        public long IntervalBytes, IntervalPackets;
        public Tcp Flags;
        public Service Sniffed;
        public bool SawPayload;
        public LinkedListNode<Flow>? Node;
        public bool Closed => (Flags & (Tcp.OrigRst | Tcp.RespRst)) != 0 || (Flags & (Tcp.OrigFin | Tcp.RespFin)) == (Tcp.OrigFin | Tcp.RespFin);
    }

    private sealed class Talker
    {
        public long Bytes, Packets;
    }

    public override object? OnPacket(ChefPacket packet)
    {
        var when = packet.EpochSeconds;
        if (when > _now) _now = when;
        if (_now >= _nextSweep) Sweep();

        var headers = packet.Headers;
        if (headers.NetworkLayer is not (PacketLayer.IPv4 or PacketLayer.IPv6)) return null;
        var frame = packet.Data.Span;
        int sourcePort, destinationPort;
        var oneWay = false;
        switch (headers.TransportLayer)
        {
            case PacketLayer.Tcp or PacketLayer.Udp:
                (sourcePort, destinationPort) = (headers.SourcePort!.Value, headers.DestinationPort!.Value);
                break;
            case PacketLayer.Icmp or PacketLayer.IcmpV6:
                (sourcePort, destinationPort, oneWay) = IcmpPorts(frame[headers.TransportOffset], frame[headers.TransportOffset + 1],
                    headers.TransportLayer == PacketLayer.IcmpV6);
                break;
            default:
                return null;   // other protocols, and later fragments (no ports)
        }
        var protocol = (byte)headers.IPProtocol!.Value;
        var source = AddressKey.Of(headers.SourceAddressBytes(frame));
        var destination = AddressKey.Of(headers.DestinationAddressBytes(frame));
        var key = !oneWay && (source > destination || (source == destination && sourcePort > destinationPort))
            ? new FlowKey(destination, source, destinationPort, sourcePort, protocol)
            : new FlowKey(source, destination, sourcePort, destinationPort, protocol);

        var tcpFlags = headers.TransportLayer == PacketLayer.Tcp ? frame[headers.TransportOffset + 13] : (byte)0;
        var syn = (tcpFlags & 0x12) == 0x02;
        if (_flows.TryGetValue(key, out var flow) && flow.Closed && syn)
        {
            End(flow, "closed");   // the ports were reused for a new connection
            flow = null;
        }
        if (flow is null)
        {
            if (_flows.Count >= MaxFlows) Evict();
            // A SYN-ACK seen first comes from the responder.
            var fromResponder = (tcpFlags & 0x12) == 0x12;
            flow = fromResponder
                ? new Flow(key, destination, source, destinationPort, sourcePort, protocol, when, headers.Tunnel)
                : new Flow(key, source, destination, sourcePort, destinationPort, protocol, when, headers.Tunnel);
            _flows[key] = flow;
        }

        var ipBytes = IPLength(headers, frame);
        var payloadBytes = Math.Max(0, ipBytes - (headers.PayloadOffset - headers.NetworkOffset));
        var fromOrig = source == flow.Orig && sourcePort == flow.OrigPort;
        if (fromOrig)
        {
            flow.OrigPackets++;
            flow.OrigBytes += payloadBytes;
            flow.OrigIPBytes += ipBytes;
        }
        else
        {
            flow.RespPackets++;
            flow.RespBytes += payloadBytes;
            flow.RespIPBytes += ipBytes;
        }
        flow.IntervalBytes += ipBytes;
        flow.IntervalPackets++;
        if (when > flow.Last) flow.Last = when;
        if (!flow.SawPayload && headers.PayloadLength > 0)
        {
            flow.SawPayload = true;
            flow.Sniffed = Sniff(headers.Payload(frame));
        }
        if (tcpFlags != 0) Track(flow, tcpFlags, fromOrig);

        // Most recently active first, in the list its timeout says.
        var list = flow.Closed ? _closing : flow.Protocol == PacketHeaders.ProtocolTcp ? _tcp : _other;
        if (flow.Node is null) flow.Node = list.AddFirst(flow);
        else if (flow.Node.List != list || list.First != flow.Node)
        {
            flow.Node.List!.Remove(flow.Node);
            list.AddFirst(flow.Node);
        }
        return null;
    }

    private static void Track(Flow flow, byte flags, bool fromOrig)
    {
        const byte Fin = 0x01, Syn = 0x02, Rst = 0x04, Ack = 0x10;
        if ((flags & (Syn | Ack)) == Syn && fromOrig) flow.Flags |= Tcp.OrigSyn;
        if ((flags & (Syn | Ack)) == (Syn | Ack) && !fromOrig) flow.Flags |= Tcp.RespSynAck;
        if ((flags & Fin) != 0) flow.Flags |= fromOrig ? Tcp.OrigFin : Tcp.RespFin;
        if ((flags & Rst) != 0) flow.Flags |= fromOrig ? Tcp.OrigRst : Tcp.RespRst;
    }

    // The IP packet's length by its header (what it was on the wire, even when the capture cut it).
    private static int IPLength(in PacketHeaders headers, ReadOnlySpan<byte> frame)
    {
        var length = headers.NetworkLayer == PacketLayer.IPv4
            ? BinaryPrimitives.ReadUInt16BigEndian(frame[(headers.NetworkOffset + 2)..])
            : BinaryPrimitives.ReadUInt16BigEndian(frame[(headers.NetworkOffset + 4)..]) is var payload and > 0 ? 40 + payload : 0;
        return length > 0 ? length : headers.NetworkEnd - headers.NetworkOffset;
    }

    private static Service Sniff(ReadOnlySpan<byte> payload) =>
        TlsClientHello.LooksLikeHandshake(payload) ? Service.Ssl
        : payload.StartsWith("SSH-"u8) ? Service.Ssh
        : payload.StartsWith("GET "u8) || payload.StartsWith("POST "u8) || payload.StartsWith("HEAD "u8) || payload.StartsWith("PUT "u8)
          || payload.StartsWith("HTTP/1."u8) ? Service.Http
        : Service.Unknown;

    /// <summary>
    /// ICMP's stand-ins for ports, as Community ID defines them: the type, and the type of the matching reply
    /// for request/reply pairs (which makes the flow two-way); else the code, and the flow is one-way.
    /// </summary>
    private static (int, int, bool) IcmpPorts(byte type, byte code, bool v6)
    {
        int? counterpart = v6
            ? type switch { 128 => 129, 129 => 128, 133 => 134, 134 => 133, 135 => 136, 136 => 135, 130 => 131, 131 => 130, 144 => 145, 145 => 144, 139 => 140, 140 => 139, _ => null }
            : type switch { 8 => 0, 0 => 8, 13 => 14, 14 => 13, 15 => 16, 16 => 15, 10 => 9, 9 => 10, 17 => 18, 18 => 17, _ => null };
        return counterpart is { } reply ? (type, reply, false) : (type, code, true);
    }

    private void Sweep()
    {
        _nextSweep = _now + 1;
        Expire(_closing, CloseDelay.TotalSeconds, null);
        Expire(_tcp, TcpIdleTimeout.TotalSeconds, "idle");
        Expire(_other, UdpIdleTimeout.TotalSeconds, "idle");
    }

    private void Expire(LinkedList<Flow> list, double timeout, string? ended)
    {
        // Each pass removes the tail, so the loop ends with the list.
        while (list.Last is { } tail && tail.Value.Last + timeout <= _now)
            End(tail.Value, ended ?? ClosedReason(tail.Value));
    }

    private static string ClosedReason(Flow flow) => (flow.Flags & (Tcp.OrigRst | Tcp.RespRst)) != 0 ? "reset" : "closed";

    private void Evict()
    {
        // The least recently active of the three tails.
        Flow? oldest = null;
        foreach (var list in (ReadOnlySpan<LinkedList<Flow>>)[_closing, _other, _tcp])
            if (list.Last is { } tail && (oldest is null || tail.Value.Last < oldest.Last)) oldest = tail.Value;
        if (oldest is null) return;
        Evicted++;
        End(oldest, oldest.Closed ? ClosedReason(oldest) : "evicted");
    }

    private void End(Flow flow, string ended)
    {
        _flows.Remove(flow.Key);
        flow.Node?.List?.Remove(flow.Node);
        _endedInInterval++;
        if (flow.IntervalPackets > 0)
        {
            AddTalker(_endedTalkers, flow.Orig, flow);
            AddTalker(_endedTalkers, flow.Resp, flow);
        }
        Serve(Record(flow, ended), DumplingDriver.Packet);
    }

    private static void AddTalker(Dictionary<UInt128, Talker> talkers, UInt128 host, Flow flow)
    {
        if (!talkers.TryGetValue(host, out var talker))
        {
            if (talkers.Count >= MaxTalkers) return;
            talkers[host] = talker = new Talker();
        }
        talker.Bytes += flow.IntervalBytes;
        talker.Packets += flow.IntervalPackets;
    }

    private FlowRecord Record(Flow flow, string ended) => new(
        flow.Start, ProtocolName(flow.Protocol), AddressKey.Text(flow.Orig), flow.OrigPort, AddressKey.Text(flow.Resp), flow.RespPort,
        CommunityId(flow), ServiceOf(flow), Math.Round(flow.Last - flow.Start, 6),
        flow.OrigPackets, flow.OrigBytes, flow.OrigIPBytes, flow.RespPackets, flow.RespBytes, flow.RespIPBytes,
        ConnState(flow), ended, flow.Tunnel == PacketTunnel.None ? null : flow.Tunnel.ToString().ToLowerInvariant());

    private static string ProtocolName(byte protocol) => protocol switch
    {
        PacketHeaders.ProtocolTcp => "tcp", PacketHeaders.ProtocolUdp => "udp", PacketHeaders.ProtocolIcmp => "icmp", PacketHeaders.ProtocolIcmpV6 => "icmp6",
        _ => protocol.ToString(),
    };

    /// <summary>Zeek's conn_state codes: S0, S1, SF, REJ, S2, S3, RSTO, RSTR, RSTOS0, RSTRH, SH, SHR, OTH; for UDP and ICMP, SF when both sides sent, else S0.</summary>
    private static string ConnState(Flow flow)
    {
        if (flow.Protocol != PacketHeaders.ProtocolTcp) return flow.RespPackets > 0 ? "SF" : "S0";
        var f = flow.Flags;
        var syn = (f & Tcp.OrigSyn) != 0;
        var synAck = (f & Tcp.RespSynAck) != 0;
        var established = syn && synAck;
        if ((f & Tcp.OrigRst) != 0) return established ? "RSTO" : syn ? "RSTOS0" : "OTH";
        if ((f & Tcp.RespRst) != 0) return established ? "RSTR" : syn ? "REJ" : synAck ? "RSTRH" : "OTH";
        var (finOrig, finResp) = ((f & Tcp.OrigFin) != 0, (f & Tcp.RespFin) != 0);
        if (established) return finOrig && finResp ? "SF" : finOrig ? "S2" : finResp ? "S3" : "S1";
        if (syn) return finOrig ? "SH" : "S0";
        if (synAck) return finResp ? "SHR" : "OTH";
        return "OTH";
    }

    // What the first payload looked like, else what the responder's port usually serves (Zeek's names).
    private static string? ServiceOf(Flow flow)
    {
        switch (flow.Sniffed)
        {
            case Service.Ssl: return "ssl";
            case Service.Http: return "http";
            case Service.Ssh: return "ssh";
        }
        if (flow.Protocol == PacketHeaders.ProtocolUdp)
            return flow.RespPort switch
            {
                53 or 5353 => "dns", 67 or 68 => "dhcp", 123 => "ntp", 137 => "netbios-ns", 161 or 162 => "snmp", 443 => "quic",
                500 or 4500 => "ike", 514 => "syslog", 1900 => "ssdp", 3478 => "stun", 4789 => "vxlan", 6081 => "geneve", 5355 => "llmnr",
                _ => flow.OrigPort is 53 or 5353 ? "dns" : flow.OrigPort is 67 or 68 ? "dhcp" : null,
            };
        if (flow.Protocol == PacketHeaders.ProtocolTcp)
            return flow.RespPort switch
            {
                21 => "ftp", 22 => "ssh", 23 => "telnet", 25 or 587 => "smtp", 53 => "dns", 80 or 8080 => "http", 110 => "pop3", 143 => "imap",
                443 or 8443 or 993 or 995 or 636 or 465 => "ssl", 445 => "smb", 389 => "ldap", 3306 => "mysql", 3389 => "rdp", 5432 => "postgresql",
                6379 => "redis", 179 => "bgp", 1883 => "mqtt", 5672 => "amqp",
                _ => null,
            };
        return null;
    }

    /// <summary>The flow's Community ID (version 1, seed 0): base64 of the SHA-1 of seed, addresses, protocol, padding and ports, smaller end first.</summary>
    private static string CommunityId(Flow flow)
    {
        Span<byte> input = stackalloc byte[2 + 16 + 16 + 2 + 4];
        Span<byte> a = stackalloc byte[16], b = stackalloc byte[16];
        var (first, second, firstPort, secondPort) = (flow.Key.A, flow.Key.B, flow.Key.PortA, flow.Key.PortB);
        var length = AddressKey.Write(first, a);
        AddressKey.Write(second, b);
        var at = 2;   // the seed, 0
        input[..2].Clear();
        a[..length].CopyTo(input[at..]);
        at += length;
        b[..length].CopyTo(input[at..]);
        at += length;
        input[at++] = flow.Protocol;
        input[at++] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(input[at..], (ushort)firstPort);
        BinaryPrimitives.WriteUInt16BigEndian(input[(at + 2)..], (ushort)secondPort);
        at += 4;
        return "1:" + Convert.ToBase64String(SHA1.HashData(input[..at]));
    }

    public override object? OnInterval()
    {
        var talkers = new Dictionary<UInt128, Talker>(_endedTalkers);
        _endedTalkers.Clear();
        foreach (var flow in _flows.Values)
        {
            if (flow.IntervalPackets == 0) continue;
            AddTalker(talkers, flow.Orig, flow);
            AddTalker(talkers, flow.Resp, flow);
        }
        var top = talkers.OrderByDescending(t => t.Value.Bytes).ThenBy(t => t.Key).Take(TopCount)
            .Select(t => new TalkerEntry(AddressKey.Text(t.Key), t.Value.Bytes, t.Value.Packets)).ToList();
        var largest = _flows.Values.OrderByDescending(f => f.OrigIPBytes + f.RespIPBytes).ThenBy(f => f.Start).Take(TopCount)
            .Select(f => new ActiveEntry(ProtocolName(f.Protocol), AddressKey.Text(f.Orig), f.OrigPort, AddressKey.Text(f.Resp), f.RespPort,
                f.OrigIPBytes + f.RespIPBytes, f.OrigPackets + f.RespPackets, Math.Round(f.Last - f.Start, 6), ConnState(f)))
            .ToList();
        foreach (var flow in _flows.Values) flow.IntervalBytes = flow.IntervalPackets = 0;
        var payload = new SummaryPayload(_flows.Count, _endedInInterval, Evicted, largest, top);
        _endedInInterval = 0;
        return payload;
    }

    /// <summary>Reports every flow still followed: the capture (or the kitchen) ends, and with it what it saw.</summary>
    public override void OnStop()
    {
        foreach (var list in (LinkedList<Flow>[])[_closing, _tcp, _other])
        {
            // Oldest first, as they would have ended; each pass removes the tail.
            while (list.Last is { } tail) End(tail.Value, tail.Value.Closed ? ClosedReason(tail.Value) : "stopped");
        }
    }

    // Fields named as the wire wants them (Zeek's conn.log names).
    private sealed record FlowRecord(double ts, string proto, string orig_h, int orig_p, string resp_h, int resp_p, string community_id,
        string? service, double duration, long orig_pkts, long orig_bytes, long orig_ip_bytes, long resp_pkts, long resp_bytes,
        long resp_ip_bytes, string conn_state, string ended, string? tunnel);
    private sealed record TalkerEntry(string host, long bytes, long packets);
    private sealed record ActiveEntry(string proto, string orig_h, int orig_p, string resp_h, int resp_p, long bytes, long packets,
        double duration, string conn_state);
    private sealed record SummaryPayload(int active_flows, long flows_ended, long evicted, List<ActiveEntry> largest_active,
        List<TalkerEntry> top_talkers);
}
