using System.Runtime.CompilerServices;
using System.Buffers.Binary;
using System.Text;
using NetDumplings.Packets;

namespace NetDumplings.Chefs;

/// <summary>
/// Which servers clients ask for, and with what client: a packet dumpling per TLS ClientHello on any TCP port
/// <c>{"protocol": "tls", "server_name", "alpn", "versions", "ja3", "ja3_string", "ja4", "client", "client_port", "server", "server_port", "time"}</c>
/// (a hello split over TCP segments is put together, up to <see cref="MaxHelloBytes"/>), and per plain HTTP
/// request <c>{"protocol": "http", "host", "method", "uri", "user_agent", ...}</c>. On each poke a summary
/// of the interval: counts, and the most frequent server names, JA4 fingerprints and HTTP hosts (bounded).
/// </summary>
public sealed class TLSChef : DumplingChef
{
    public const int MaxHelloBytes = 16 * 1024;
    public const int MaxPendingHellos = 1024;
    private const int TopCount = 20;
    private const double PendingTimeoutSeconds = 10;

    private readonly Dictionary<SegmentKey, PendingHello> _pending = [];
    private readonly BoundedCounter _serverNames = new(2000), _ja4 = new(2000), _hosts = new(2000);
    private long _hellos, _requests;

    private readonly record struct SegmentKey(UInt128 Source, UInt128 Destination, int SourcePort, int DestinationPort);

    private sealed class PendingHello(byte[] buffer, int filled, uint nextSequence, double time)
    {
        public readonly byte[] Buffer = buffer;
        public int Filled = filled;
        public uint NextSequence = nextSequence;
        public readonly double Time = time;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override object? OnPacket(ChefPacket packet)
    {
        var headers = packet.Headers;
        if (headers.TransportLayer != PacketLayer.Tcp || headers.PayloadLength == 0) return null;
        var frame = packet.Data.Span;
        var payload = headers.Payload(frame);
        var sequence = BinaryPrimitives.ReadUInt32BigEndian(frame[(headers.TransportOffset + 4)..]);

        if (_pending.Count > 0)
        {
            var key = Key(headers, frame);
            if (_pending.TryGetValue(key, out var pending)) return Continue(key, pending, payload, sequence, headers, frame, packet.EpochSeconds);
        }
        if (payload[0] == 0x16)
        {
            var length = TlsClientHello.RecordLength(payload);
            if (length == 0) return null;
            if (payload.Length >= length) return Hello(payload, headers, frame, packet.EpochSeconds);
            if (length > MaxHelloBytes) return null;
            Start(Key(headers, frame), payload, length, sequence, packet.EpochSeconds);
            return null;
        }
        return payload[0] is >= (byte)'C' and <= (byte)'T' ? HttpRequest(payload, headers, frame, packet.EpochSeconds) : null;
    }

    private static SegmentKey Key(in PacketHeaders headers, ReadOnlySpan<byte> frame) =>
        new(AddressKey.Of(headers.SourceAddressBytes(frame)), AddressKey.Of(headers.DestinationAddressBytes(frame)),
            headers.SourcePort!.Value, headers.DestinationPort!.Value);

    private void Start(SegmentKey key, ReadOnlySpan<byte> payload, int length, uint sequence, double when)
    {
        // Bounded: forget the stale hellos, and others until there is room (one pass; the table is small).
        if (_pending.Count >= MaxPendingHellos)
        {
            foreach (var (stale, old) in _pending)
                if (when - old.Time > PendingTimeoutSeconds || _pending.Count >= MaxPendingHellos) _pending.Remove(stale);
        }
        var buffer = new byte[length];
        payload.CopyTo(buffer);
        _pending[key] = new PendingHello(buffer, payload.Length, sequence + (uint)payload.Length, when);
    }

    private object? Continue(SegmentKey key, PendingHello pending, ReadOnlySpan<byte> payload, uint sequence, in PacketHeaders headers,
        ReadOnlySpan<byte> frame, double when)
    {
        // Only the next segment in order continues a hello: a retransmission is passed over, a gap ends the attempt.
        if (sequence != pending.NextSequence || when - pending.Time > PendingTimeoutSeconds)
        {
            if (sequence - pending.NextSequence < 0x8000_0000u || when - pending.Time > PendingTimeoutSeconds) _pending.Remove(key);
            return null;
        }
        var take = Math.Min(payload.Length, pending.Buffer.Length - pending.Filled);
        payload[..take].CopyTo(pending.Buffer.AsSpan(pending.Filled));
        pending.Filled += take;
        pending.NextSequence += (uint)payload.Length;
        if (pending.Filled < pending.Buffer.Length) return null;
        _pending.Remove(key);
        return Hello(pending.Buffer, headers, frame, when);
    }

    private object? Hello(ReadOnlySpan<byte> record, in PacketHeaders headers, ReadOnlySpan<byte> frame, double when)
    {
        if (!TlsClientHello.TryRead(record, out var hello)) return null;
        var serverName = hello.ServerName;
        var ja4 = hello.Ja4;
        _hellos++;
        if (serverName is not null) _serverNames.Add(serverName);
        _ja4.Add(ja4);
        return new HelloPayload("tls", serverName, hello.AlpnProtocols, hello.OfferedVersions.Select(TlsClientHello.VersionName).ToList(),
            hello.Ja3, hello.Ja3String, ja4,
            PacketText.Address(headers.SourceAddressBytes(frame))!, headers.SourcePort!.Value,
            PacketText.Address(headers.DestinationAddressBytes(frame))!, headers.DestinationPort!.Value, when);
    }

    private static readonly string[] Methods = ["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE"];

    // A request line and its headers in this segment; the Host header (and User-Agent) among them.
    private object? HttpRequest(ReadOnlySpan<byte> payload, in PacketHeaders headers, ReadOnlySpan<byte> frame, double when)
    {
        var lineEnd = payload.IndexOf("\r\n"u8);
        if (lineEnd < 0) return null;
        var line = payload[..lineEnd];
        var space = line.IndexOf((byte)' ');
        if (space < 3) return null;
        var method = Encoding.ASCII.GetString(line[..space]);
        if (Array.IndexOf(Methods, method) < 0) return null;
        var rest = line[(space + 1)..];
        var uriEnd = rest.IndexOf((byte)' ');
        if (uriEnd < 0 || !rest[(uriEnd + 1)..].StartsWith("HTTP/1."u8)) return null;
        var uri = DnsMessage.NameText(rest[..uriEnd]);

        string? host = null, agent = null;
        var fields = payload[(lineEnd + 2)..];
        // One header line per step, each moving forward, until the blank line or the segment's end.
        while (fields.Length > 0)
        {
            var end = fields.IndexOf("\r\n"u8);
            var field = end < 0 ? fields : fields[..end];
            if (field.IsEmpty) break;
            var colon = field.IndexOf((byte)':');
            if (colon > 0)
            {
                var name = field[..colon];
                var value = DnsMessage.NameText(field[(colon + 1)..].Trim((byte)' ').Trim((byte)'\t'));
                if (host is null && Ascii.EqualsIgnoreCase(name, "Host"u8)) host = value;
                else if (agent is null && Ascii.EqualsIgnoreCase(name, "User-Agent"u8)) agent = value;
            }
            if (end < 0) break;
            fields = fields[(end + 2)..];
        }
        _requests++;
        if (host is not null) _hosts.Add(host);
        return new HttpPayload("http", host, method, uri, agent,
            PacketText.Address(headers.SourceAddressBytes(frame))!, headers.SourcePort!.Value,
            PacketText.Address(headers.DestinationAddressBytes(frame))!, headers.DestinationPort!.Value, when);
    }

    public override object? OnInterval()
    {
        var payload = new SummaryPayload(_hellos, _requests, _serverNames.Top(TopCount), _ja4.Top(TopCount), _hosts.Top(TopCount));
        _hellos = _requests = 0;
        _serverNames.Clear();
        _ja4.Clear();
        _hosts.Clear();
        return payload;
    }

    // Fields named as the wire wants them (the codec serialises fields as they are named).
    private sealed record HelloPayload(string protocol, string? server_name, List<string> alpn, List<string> versions, string ja3, string ja3_string,
        string ja4, string client, int client_port, string server, int server_port, double time);
    private sealed record HttpPayload(string protocol, string? host, string method, string uri, string? user_agent,
        string client, int client_port, string server, int server_port, double time);
    private sealed record SummaryPayload(long client_hellos, long http_requests, Dictionary<string, long> top_server_names,
        Dictionary<string, long> top_ja4, Dictionary<string, long> top_http_hosts);
}
