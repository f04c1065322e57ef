using System.Runtime.CompilerServices;
using System.Buffers.Binary;
using System.Text.Json;
using NetDumplings.Packets;

namespace NetDumplings.Chefs;

/// <summary>
/// Connections as Zeek's conn.log has them: TCP, UDP and ICMP flows of the (innermost) packet, reported when
/// they end as packet dumplings <c>{"flows": [...]}</c> of up to <see cref="MaxFlowsPerDumpling"/> records
/// <c>{"ts", "proto", "orig_h", "orig_p", "resp_h", "resp_p", "community_id", "service", "duration", "orig_pkts", "orig_bytes",
/// "orig_ip_bytes", "resp_pkts", "resp_bytes", "resp_ip_bytes", "conn_state", "ended", "tunnel"}</c>: the flows that ended
/// within a second of capture time go together, since DNS alone ends a flow per query and a dumpling each would make
/// FlowChef most of a hub's load. A flow ends when TCP closes (FIN both ways, or a reset; packets up to
/// <see cref="CloseDelay"/> later still count), after an idle timeout, when the table is full and it is the least
/// recently active (about one flow in 32 goes at once; evicted, counted), or when the kitchen stops. Times are the packets' capture times, so a capture
/// file replays as it was captured; a poke with no packet since the last one moves that clock on by the poke interval,
/// so flows on a quiet link still end. On each poke:
/// <c>{"active_flows", "flows_ended", "evicted", "largest_active": [...], "top_talkers": [...]}</c>, ten of each.
/// </summary>
public sealed class FlowChef : DumplingChef
{
    public const int DefaultMaxFlows = 100_000;
    private const int TopCount = 10;
    private const int MaxTalkers = 10_000;
    private const int None = -1;
    private const int EvictionSample = 64;

    // The flows live in one array of structs found by index: a table of 100,000 flows holds no object the garbage
    // collector must trace or promote (as flow objects did, costing the kitchen more than the chef). Expiry scans the
    // array once a second of capture time instead of keeping lists in activity order, whose upkeep touched three
    // flows' memory on every packet.
    private Slot[] _slots = new Slot[1024];
    private int _used, _free = None;
    private uint _random = 2463534242;
    // The flows by key: each bucket holds its first flow's slot index + 1 (0 for none) and hash, so a lookup usually
    // touches two cache lines (the bucket, then the matching slot); chains and hashes of the rest beside the slots.
    // Our own table rather than a Dictionary<FlowKey, int>: that is CoreLib code the runtime profiles and recompiles
    // while a kitchen's first run is under way, and the lookup per packet was the chef's largest cost in a fresh process.
    private Bucket[] _buckets = new Bucket[2048];
    private int[] _nextInBucket = new int[1024];
    private uint[] _hashes = new uint[1024];
    // Each slot's last activity (its Slot.Last; +infinity for a free slot) in an array of its own: expiry and eviction
    // scan the whole table, and this is 8 bytes a flow to read rather than the slots' 200.
    private double[] _lastActive = new double[1024];
    private int _active;
    private readonly KeyTable<HostKey, Talker> _endedTalkers = new();
    private readonly List<FlowRecord> _ended = [];
    private double _now, _nextSweep, _pokeSeconds;
    private long _endedInInterval;
    private bool _packetSincePoke;

    public int MaxFlows { get; init; } = DefaultMaxFlows;

    /// <summary>The most flow records in one dumpling: about 300 bytes each, so a dumpling stays under the 85 KB where .NET's large objects begin.</summary>
    public int MaxFlowsPerDumpling { get; init; } = 200;

    /// <summary>A TCP flow without packets this long has ended (Zeek's tcp_inactivity_timeout).</summary>
    public TimeSpan TcpIdleTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>A UDP or ICMP flow without packets this long has ended (Zeek's udp_inactivity_timeout).</summary>
    public TimeSpan UdpIdleTimeout { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>How long a closed or reset TCP flow still takes packets (the last ACK, retransmissions) before it is reported.</summary>
    public TimeSpan CloseDelay { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Flows reported early because the table was full.</summary>
    public long Evicted { get; private set; }

    /// <summary>Flows being followed now.</summary>
    public int ActiveFlows => _active;

    [Flags]
    private enum Tcp : byte { OrigSyn = 1, RespSynAck = 2, OrigFin = 4, RespFin = 8, OrigRst = 16, RespRst = 32 }

    private enum Service : byte { Unknown, Ssl, Http, Ssh }

    private readonly record struct FlowKey(UInt128 A, UInt128 B, int PortA, int PortB, byte Protocol);

    private struct Slot
    {
        public FlowKey Key;
        public UInt128 Orig, Resp;
        public int OrigPort, RespPort;
        public double Start, Last;
        public long OrigPackets, OrigBytes, OrigIPBytes, RespPackets, RespBytes, RespIPBytes;
        public long IntervalBytes, IntervalPackets;
        public byte Protocol;
        public bool InUse;
        public Tcp Flags;
        public Service Sniffed;
        public bool SawPayload;
        public PacketTunnel Tunnel;
        public int NextFree;

        public readonly bool Closed => (Flags & (Tcp.OrigRst | Tcp.RespRst)) != 0 || (Flags & (Tcp.OrigFin | Tcp.RespFin)) == (Tcp.OrigFin | Tcp.RespFin);
    }

    private struct Bucket
    {
        public uint Hash;
        public int Head;
    }

    private struct Talker
    {
        public long Bytes, Packets;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override object? OnPacket(ChefPacket packet)
    {
        var when = packet.EpochSeconds;
        _packetSincePoke = true;
        if (when > _now) _now = when;
        if (_now >= _nextSweep) Sweep();
        else if (_ended.Count >= MaxFlowsPerDumpling) Flush();

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
        var hash = HashOf(key);
        var index = Find(key, hash);
        if (index != None && _slots[index].Closed && (tcpFlags & 0x12) == 0x02)
        {
            End(index, "closed");   // the ports were reused for a new connection
            index = None;
        }
        if (index == None)
        {
            if (_active >= MaxFlows) Evict();
            index = Allocate();
            ref var created = ref _slots[index];
            // A SYN-ACK seen first comes from the responder.
            var fromResponder = (tcpFlags & 0x12) == 0x12;
            created = new Slot
            {
                Key = key, Protocol = protocol, Start = when, Last = when, Tunnel = headers.Tunnel, InUse = true,
                Orig = fromResponder ? destination : source, Resp = fromResponder ? source : destination,
                OrigPort = fromResponder ? destinationPort : sourcePort, RespPort = fromResponder ? sourcePort : destinationPort,
            };
            Link(index, hash);
            _lastActive[index] = when;
        }

        ref var flow = ref _slots[index];
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
        if (when > flow.Last) flow.Last = _lastActive[index] = when;
        if (!flow.SawPayload && headers.PayloadLength > 0)
        {
            flow.SawPayload = true;
            flow.Sniffed = Sniff(headers.Payload(frame));
        }
        if (tcpFlags != 0) Track(ref flow, tcpFlags, fromOrig);
        return null;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private int[] ActiveIndices()
    {
        var indices = new int[_active];
        var n = 0;
        for (var index = 0; index < _used && n < indices.Length; index++)
            if (_slots[index].InUse) indices[n++] = index;
        return indices;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint HashOf(in FlowKey key) =>
        TableHash.Finish(TableHash.Add(TableHash.Add(TableHash.Add(0, key.A), key.B),
            (uint)key.PortA ^ ((ulong)(uint)key.PortB << 16) ^ ((ulong)key.Protocol << 32)));

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private int Find(in FlowKey key, uint hash)
    {
        ref var bucket = ref _buckets[hash & (uint)(_buckets.Length - 1)];
        var at = bucket.Head - 1;
        if (at == None) return None;
        if (bucket.Hash == hash && Matches(at, key)) return at;
        for (at = _nextInBucket[at] - 1; at != None; at = _nextInBucket[at] - 1)
            if (_hashes[at] == hash && Matches(at, key)) return at;
        return None;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool Matches(int at, in FlowKey key)
    {
        ref var slot = ref _slots[at];
        return slot.Key.A == key.A && slot.Key.B == key.B && slot.Key.PortA == key.PortA && slot.Key.PortB == key.PortB
               && slot.Key.Protocol == key.Protocol;
    }

    private void Link(int index, uint hash)
    {
        if (_active >= _buckets.Length / 2) Rehash(_buckets.Length * 2, linking: index);
        _hashes[index] = hash;
        ref var bucket = ref _buckets[hash & (uint)(_buckets.Length - 1)];
        _nextInBucket[index] = bucket.Head;
        bucket.Head = index + 1;
        bucket.Hash = hash;
        _active++;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Unlink(int index)
    {
        ref var bucket = ref _buckets[_hashes[index] & (uint)(_buckets.Length - 1)];
        _active--;
        if (bucket.Head == index + 1)
        {
            bucket.Head = _nextInBucket[index];
            if (bucket.Head != 0) bucket.Hash = _hashes[bucket.Head - 1];
            return;
        }
        ref var link = ref _nextInBucket[bucket.Head - 1];
        while (link != index + 1) link = ref _nextInBucket[link - 1];
        link = _nextInBucket[index];
    }

    private void Rehash(int size, int linking)
    {
        _buckets = new Bucket[size];
        for (var index = 0; index < _used; index++)
        {
            if (!_slots[index].InUse || index == linking) continue;
            ref var bucket = ref _buckets[_hashes[index] & (uint)(size - 1)];
            _nextInBucket[index] = bucket.Head;
            bucket.Head = index + 1;
            bucket.Hash = _hashes[index];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private int Allocate()
    {
        if (_free != None)
        {
            var reused = _free;
            _free = _slots[reused].NextFree;
            return reused;
        }
        if (_used == _slots.Length)
        {
            var size = Math.Max(_slots.Length * 2, 16);
            Array.Resize(ref _slots, size);
            Array.Resize(ref _nextInBucket, size);
            Array.Resize(ref _hashes, size);
            Array.Resize(ref _lastActive, size);
        }
        return _used++;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Track(ref Slot flow, byte flags, bool fromOrig)
    {
        const byte Fin = 0x01, Syn = 0x02, Rst = 0x04, Ack = 0x10;
        if ((flags & (Syn | Ack)) == Syn && fromOrig) flow.Flags |= Tcp.OrigSyn;
        if ((flags & (Syn | Ack)) == (Syn | Ack) && !fromOrig) flow.Flags |= Tcp.RespSynAck;
        if ((flags & Fin) != 0) flow.Flags |= fromOrig ? Tcp.OrigFin : Tcp.RespFin;
        if ((flags & Rst) != 0) flow.Flags |= fromOrig ? Tcp.OrigRst : Tcp.RespRst;
    }

    // The IP packet's length by its header (what it was on the wire, even when the capture cut it).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Sweep()
    {
        _nextSweep = _now + 1;
        var (closing, tcp, other) = (CloseDelay.TotalSeconds, TcpIdleTimeout.TotalSeconds, UdpIdleTimeout.TotalSeconds);
        var soonest = Math.Min(closing, Math.Min(tcp, other));
        for (var index = 0; index < _used; index++)
        {
            if (_lastActive[index] + soonest > _now) continue;   // active within the shortest timeout, or a free slot
            ref var flow = ref _slots[index];
            var closed = flow.Closed;
            var timeout = closed ? closing : flow.Protocol == PacketHeaders.ProtocolTcp ? tcp : other;
            if (flow.Last + timeout <= _now) End(index, closed ? ClosedReason(flow) : "idle");
        }
        Flush();
    }

    // The flows ended since the last flush, in dumplings of at most MaxFlowsPerDumpling.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Flush()
    {
        for (var at = 0; at < _ended.Count; at += MaxFlowsPerDumpling)
            Serve(new FlowBatch(_ended.GetRange(at, Math.Min(MaxFlowsPerDumpling, _ended.Count - at))), DumplingDriver.Packet);
        _ended.Clear();
    }

    public override void OnStart(ChefContext context) => _pokeSeconds = context.PokeIntervalSeconds;

    private static string ClosedReason(in Slot flow) => (flow.Flags & (Tcp.OrigRst | Tcp.RespRst)) != 0 ? "reset" : "closed";

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Evict()
    {
        // Room for many at once: the least recently active of the table, about one in 32, found by one pass over it
        // (with the cut-off from a sample), so a table kept full by new flows costs a pass per few thousand flows
        // rather than a search per flow. The table is full, so every slot is in use.
        var cutoff = double.MaxValue;
        if (_used <= EvictionSample)
        {
            // A small table: exactly the least recently active.
            for (var index = 0; index < _used; index++) cutoff = Math.Min(cutoff, _lastActive[index]);
        }
        else
        {
            Span<double> sample = stackalloc double[EvictionSample];
            for (var i = 0; i < sample.Length; i++)
            {
                _random ^= _random << 13;
                _random ^= _random >> 17;
                _random ^= _random << 5;
                sample[i] = _lastActive[(int)(_random % (uint)_used)];
            }
            sample.Sort();
            cutoff = sample[1];
        }
        for (var index = 0; index < _used; index++)
        {
            if (_lastActive[index] > cutoff) continue;   // free slots are at +infinity
            ref var flow = ref _slots[index];
            Evicted++;
            End(index, flow.Closed ? ClosedReason(flow) : "evicted");
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void End(int index, string ended)
    {
        ref var flow = ref _slots[index];
        Unlink(index);
        _endedInInterval++;
        if (flow.IntervalPackets > 0)
        {
            AddTalker(_endedTalkers, flow.Orig, flow);
            AddTalker(_endedTalkers, flow.Resp, flow);
        }
        _ended.Add(new FlowRecord(flow, ended));
        flow.InUse = false;
        _lastActive[index] = double.PositiveInfinity;
        flow.NextFree = _free;
        _free = index;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddTalker(KeyTable<HostKey, Talker> talkers, UInt128 host, in Slot flow)
    {
        if (talkers.Count >= MaxTalkers && !talkers.ContainsKey(new HostKey(host))) return;
        ref var talker = ref talkers.GetOrAdd(new HostKey(host), out _);
        talker.Bytes += flow.IntervalBytes;
        talker.Packets += flow.IntervalPackets;
    }

    /// <summary>Ended flows, which write their own JSON straight into the dumpling (no reflection, no strings in between).</summary>
    private sealed class FlowBatch(List<FlowRecord> flows) : IJsonPayloadWriter
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void WriteTo(Utf8JsonWriter writer)
        {
            writer.WriteStartObject();
            writer.WriteStartArray("flows"u8);
            foreach (var flow in flows) flow.WriteTo(writer);
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
    }

    private sealed class FlowRecord(Slot flow, string ended)
    {
        // The longest record: every field at its widest (IPv6 addresses, 20-digit counts) is under 700 bytes.
        private const int MaxBytes = 1024;

        // Zeek's conn.log fields, in its order; composed by hand (one raw value per record: see JsonText).
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void WriteTo(Utf8JsonWriter writer)
        {
            Span<byte> buffer = stackalloc byte[MaxBytes];
            Span<byte> text = stackalloc byte[PacketText.MaxAddressLength];
            var json = new JsonText(buffer);
            json.Raw("{\"ts\":"u8);
            json.Seconds(flow.Start);
            json.Raw(",\"proto\":"u8);
            json.Plain(ProtocolName(flow.Protocol));
            json.Raw(",\"orig_h\":"u8);
            json.Plain(text[..AddressKey.Format(flow.Orig, text)]);
            json.Raw(",\"orig_p\":"u8);
            json.Number(flow.OrigPort);
            json.Raw(",\"resp_h\":"u8);
            json.Plain(text[..AddressKey.Format(flow.Resp, text)]);
            json.Raw(",\"resp_p\":"u8);
            json.Number(flow.RespPort);
            json.Raw(",\"community_id\":"u8);
            Span<byte> id = stackalloc byte[2 + 28];
            json.Plain(CommunityId.Write(flow.Key.A, flow.Key.B, flow.Protocol, flow.Key.PortA, flow.Key.PortB, id));
            json.Raw(",\"service\":"u8);
            json.Plain(ServiceOf(flow));
            json.Raw(",\"duration\":"u8);
            json.Seconds(flow.Last - flow.Start, roundToMicroseconds: true);
            json.Raw(",\"orig_pkts\":"u8);
            json.Number(flow.OrigPackets);
            json.Raw(",\"orig_bytes\":"u8);
            json.Number(flow.OrigBytes);
            json.Raw(",\"orig_ip_bytes\":"u8);
            json.Number(flow.OrigIPBytes);
            json.Raw(",\"resp_pkts\":"u8);
            json.Number(flow.RespPackets);
            json.Raw(",\"resp_bytes\":"u8);
            json.Number(flow.RespBytes);
            json.Raw(",\"resp_ip_bytes\":"u8);
            json.Number(flow.RespIPBytes);
            json.Raw(",\"conn_state\":"u8);
            json.Plain(ConnState(flow));
            json.Raw(",\"ended\":"u8);
            json.Plain(ended);
            json.Raw(",\"tunnel\":"u8);
            json.Plain(flow.Tunnel == PacketTunnel.None ? null : TunnelName(flow.Tunnel));
            json.Raw("}"u8);
            json.WriteTo(writer);
        }

        public override string ToString() => $"{ProtocolName(flow.Protocol)} {AddressKey.Text(flow.Orig)}:{flow.OrigPort} -> {AddressKey.Text(flow.Resp)}:{flow.RespPort} {ConnState(flow)} {ended}";
    }

    private static string TunnelName(PacketTunnel tunnel) => tunnel switch
    {
        PacketTunnel.Vxlan => "vxlan", PacketTunnel.Geneve => "geneve", PacketTunnel.Gre => "gre", PacketTunnel.Erspan => "erspan",
        PacketTunnel.IPInIP => "ipinip", _ => tunnel.ToString().ToLowerInvariant(),
    };

    private static string ProtocolName(byte protocol) => protocol switch
    {
        PacketHeaders.ProtocolTcp => "tcp", PacketHeaders.ProtocolUdp => "udp", PacketHeaders.ProtocolIcmp => "icmp", PacketHeaders.ProtocolIcmpV6 => "icmp6",
        _ => protocol.ToString(),
    };

    /// <summary>Zeek's conn_state codes: S0, S1, SF, REJ, S2, S3, RSTO, RSTR, RSTOS0, RSTRH, SH, SHR, OTH; for UDP and ICMP, SF when both sides sent, else S0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static string ConnState(in Slot flow)
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
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static string? ServiceOf(in Slot flow)
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override object? OnInterval()
    {
        // No packet for a whole interval: capture time went on all the same (a quiet link), so idle flows can end.
        if (!_packetSincePoke && _now > 0 && _pokeSeconds > 0)
        {
            _now += _pokeSeconds;
            Sweep();
        }
        _packetSincePoke = false;
        Flush();
        // The interval's talkers: the flows that ended in it (kept as they ended), and the active ones' share.
        var talkers = _endedTalkers;
        var active = ActiveIndices();
        foreach (var index in active)
        {
            ref var flow = ref _slots[index];
            if (flow.IntervalPackets == 0) continue;
            AddTalker(talkers, flow.Orig, flow);
            AddTalker(talkers, flow.Resp, flow);
        }
        var top = talkers.Entries().OrderByDescending(t => t.Value.Bytes).ThenBy(t => t.Key.Address).Take(TopCount)
            .Select(t => new TalkerEntry(AddressKey.Text(t.Key.Address), t.Value.Bytes, t.Value.Packets)).ToList();
        _endedTalkers.Clear();
        var largest = active.OrderByDescending(i => _slots[i].OrigIPBytes + _slots[i].RespIPBytes).ThenBy(i => _slots[i].Start).Take(TopCount)
            .Select(i => Active(_slots[i])).ToList();
        foreach (var index in active) _slots[index].IntervalBytes = _slots[index].IntervalPackets = 0;
        var payload = new SummaryPayload(_active, _endedInInterval, Evicted, largest, top);
        _endedInInterval = 0;
        return payload;
    }

    private static ActiveEntry Active(in Slot f) => new(ProtocolName(f.Protocol), AddressKey.Text(f.Orig), f.OrigPort, AddressKey.Text(f.Resp), f.RespPort,
        f.OrigIPBytes + f.RespIPBytes, f.OrigPackets + f.RespPackets, Math.Round(f.Last - f.Start, 6), ConnState(f));

    /// <summary>Reports every flow still followed: the capture (or the kitchen) ends, and with it what it saw.</summary>
    public override void OnStop()
    {
        // Least recently active first, as they would have ended.
        var open = ActiveIndices();
        Array.Sort(open, (x, y) => _slots[x].Last.CompareTo(_slots[y].Last));
        foreach (var index in open) End(index, _slots[index].Closed ? ClosedReason(_slots[index]) : "stopped");
        Flush();
    }

    // Fields named as the wire wants them.
    private sealed record TalkerEntry(string host, long bytes, long packets);
    private sealed record ActiveEntry(string proto, string orig_h, int orig_p, string resp_h, int resp_p, long bytes, long packets,
        double duration, string conn_state);
    private sealed record SummaryPayload(int active_flows, long flows_ended, long evicted, List<ActiveEntry> largest_active,
        List<TalkerEntry> top_talkers);
}
