using System.Runtime.CompilerServices;
using System.Buffers.Binary;
using NetDumplings.Packets;

namespace NetDumplings.Chefs;

/// <summary>
/// A packet dumpling per DNS response (DNS as <see cref="DnsMessage.IsDnsPort"/> has it):
/// <c>{"query", "type", "rcode", "answers": [{"name", "type", "ttl", "data"}], "rtt", "client", "server", "id", "time"}</c>,
/// with the round-trip time from the query it answers (matched by client, server, ports and id; null when
/// the query was not seen). On each poke a summary of the interval: responses, response codes, round-trip
/// times, the most answered names and the queries left unanswered. Pending queries and the names counted
/// are bounded, so neither memory nor the summary grows with the traffic.
/// </summary>
public sealed class DNSAnswerChef : DumplingChef
{
    public const int DefaultMaxPendingQueries = 65536;
    public const int MaxAnswers = 64;
    private const int TopNames = 20;

    private readonly KeyTable<QueryKey, double> _pending = new();
    private readonly RingQueue<Asked> _order = new();   // oldest query first, for expiry and the bound
    private readonly Dictionary<string, long> _rcodes = new(StringComparer.Ordinal);
    private readonly BoundedCounter _names = new(2000);
    private long _responses, _unanswered, _rttCount;
    private double _rttSum, _rttMax;

    public int MaxPendingQueries { get; init; } = DefaultMaxPendingQueries;

    /// <summary>How long a query waits for its response before it counts as unanswered.</summary>
    public TimeSpan QueryTimeout { get; init; } = TimeSpan.FromSeconds(30);

    private readonly record struct QueryKey(UInt128 Client, UInt128 Server, int ClientPort, int ServerPort, ushort Id) : ITableKey<QueryKey>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public uint Hash() => TableHash.Finish(TableHash.Add(TableHash.Add(TableHash.Add(0, Client), Server),
            (uint)ClientPort ^ ((ulong)(uint)ServerPort << 16) ^ ((ulong)Id << 32)));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool Same(in QueryKey other) =>
            Id == other.Id && ClientPort == other.ClientPort && ServerPort == other.ServerPort && Client == other.Client && Server == other.Server;
    }

    private readonly record struct Asked(QueryKey Key, double Time);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override object? OnPacket(ChefPacket packet)
    {
        var headers = packet.Headers;
        if (headers.TransportLayer is not (PacketLayer.Tcp or PacketLayer.Udp)) return null;
        var frame = packet.Data.Span;
        var message = DnsMessage.FindMessage(frame, headers);
        if (!DnsMessage.TryReadHeader(message, out var id, out var flags, out _)) return null;
        var when = packet.EpochSeconds;
        Expire(when);
        var source = AddressKey.Of(headers.SourceAddressBytes(frame));
        var destination = AddressKey.Of(headers.DestinationAddressBytes(frame));
        if ((flags & 0x8000) == 0)
        {
            var query = new QueryKey(source, destination, headers.SourcePort!.Value, headers.DestinationPort!.Value, id);
            if (_pending.Count >= MaxPendingQueries && !_pending.ContainsKey(query)) ForgetOldest();
            _pending.GetOrAdd(query, out _) = when;
            _order.Enqueue(new Asked(query, when));
            // Stale entries (answered queries) leave the queue by time; this keeps it bounded under any rate.
            while (_order.Count > 2 * MaxPendingQueries) ForgetOldest();
            return null;
        }
        return Response(message, id, flags, source, destination, headers, when);
    }

    private object? Response(ReadOnlySpan<byte> message, ushort id, ushort flags, UInt128 server, UInt128 client, in PacketHeaders headers, double when)
    {
        if (!DnsMessage.TryReadCounts(message, out var questions, out var answers, out _, out _)) return null;
        Span<byte> name = stackalloc byte[DnsMessage.MaxNameLength];
        var offset = DnsMessage.FirstQuestionOffset;
        string? query = null;
        ushort queryType = 0;
        // The first question is the query; the others are skipped (real responses carry one).
        for (var i = 0; i < questions; i++)
        {
            if (!DnsMessage.TryReadQuestion(message, ref offset, name, out var nameLength, out var type, out _)) return null;
            if (i == 0) (query, queryType) = (DnsMessage.NameText(name[..nameLength]), type);
        }

        var records = new List<AnswerEntry>(Math.Min(answers, MaxAnswers));
        for (var i = 0; i < answers && records.Count < MaxAnswers; i++)
        {
            if (!DnsMessage.TryReadRecord(message, ref offset, name, out var nameLength, out var type, out _, out var ttl, out var dataOffset, out var dataLength))
                break;   // a cut or malformed record: the answers before it stand
            records.Add(new AnswerEntry(DnsMessage.NameText(name[..nameLength]), DnsMessage.NameOfType(type), ttl,
                RecordData(message, type, dataOffset, dataLength)));
        }

        double? rtt = null;
        var key = new QueryKey(client, server, headers.DestinationPort!.Value, headers.SourcePort!.Value, id);
        if (_pending.Remove(key, out var asked) && when >= asked)
        {
            rtt = when - asked;
            _rttCount++;
            _rttSum += rtt.Value;
            _rttMax = Math.Max(_rttMax, rtt.Value);
        }
        var rcode = DnsMessage.ResponseCodeName(flags & 0x000F);
        _responses++;
        _rcodes[rcode] = _rcodes.GetValueOrDefault(rcode) + 1;
        if (query is not null) _names.Add(query);
        return new AnswerPayload(query, query is null ? null : DnsMessage.NameOfType(queryType), rcode, records, rtt,
            AddressKey.Text(client), AddressKey.Text(server), id, when);
    }

    // A record's data as text for the types people read (addresses, names, text); null for the others.
    private static string? RecordData(ReadOnlySpan<byte> message, ushort type, int offset, int length)
    {
        var data = message.Slice(offset, length);
        Span<byte> name = stackalloc byte[DnsMessage.MaxNameLength];
        switch (type)
        {
            case 1 when length == 4:
            case 28 when length == 16:
                return PacketText.Address(data);
            case 2 or 5 or 12 or 39:   // NS, CNAME, PTR, DNAME
                return DnsMessage.TryReadNameAt(message, offset, name, out var nameLength) ? DnsMessage.NameText(name[..nameLength]) : null;
            case 15 when length >= 3:   // MX: preference, exchange
                return DnsMessage.TryReadNameAt(message, offset + 2, name, out var exchange)
                    ? $"{BinaryPrimitives.ReadUInt16BigEndian(data)} {DnsMessage.NameText(name[..exchange])}"
                    : null;
            case 16:   // TXT: character strings, joined
            {
                var text = new System.Text.StringBuilder();
                for (var at = 0; at < data.Length;)
                {
                    var size = data[at];
                    if (at + 1 + size > data.Length) break;
                    text.Append(DnsMessage.NameText(data.Slice(at + 1, size)));
                    at += 1 + size;
                }
                return text.ToString();
            }
            default:
                return null;
        }
    }

    private void Expire(double now)
    {
        var horizon = now - QueryTimeout.TotalSeconds;
        while (_order.TryPeek(out var oldest) && oldest.Time < horizon) ForgetOldest();
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ForgetOldest()
    {
        var (key, time) = _order.Dequeue();
        // The queue also holds queries answered since, or asked again later: only the entry still pending goes.
        if (_pending.TryGetValue(key, out var pending) && pending == time)
        {
            _pending.Remove(key, out _);
            _unanswered++;
        }
    }

    public override object? OnInterval()
    {
        var payload = new SummaryPayload(_responses, new Dictionary<string, long>(_rcodes, StringComparer.Ordinal),
            new RttSummary(_rttCount, _rttCount == 0 ? null : _rttSum / _rttCount, _rttCount == 0 ? null : _rttMax),
            _names.Top(TopNames), _unanswered, _pending.Count);
        _responses = _unanswered = _rttCount = 0;
        _rttSum = _rttMax = 0;
        _rcodes.Clear();
        _names.Clear();
        return payload;
    }

    // Fields named as the wire wants them (the codec serialises fields as they are named).
    private sealed record AnswerEntry(string name, string type, uint ttl, string? data);
    // JsonSerializer writes this for code that calls the chef itself; the kitchen's codec has it write itself (the same
    // text, without reflection: a dumpling per response). Names and record data may need escaping: the writer does it.
    private sealed record AnswerPayload(string? query, string? type, string rcode, List<AnswerEntry> answers, double? rtt,
        string client, string server, int id, double time) : IJsonPayloadWriter
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void WriteTo(System.Text.Json.Utf8JsonWriter writer)
        {
            writer.WriteStartObject();
            writer.WriteString("query"u8, query);
            writer.WriteString("type"u8, type);
            writer.WriteString("rcode"u8, rcode);
            writer.WriteStartArray("answers"u8);
            foreach (var answer in answers)
            {
                writer.WriteStartObject();
                writer.WriteString("name"u8, answer.name);
                writer.WriteString("type"u8, answer.type);
                writer.WriteNumber("ttl"u8, answer.ttl);
                writer.WriteString("data"u8, answer.data);
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
            if (rtt is { } seconds) writer.WriteNumber("rtt"u8, seconds);
            else writer.WriteNull("rtt"u8);
            writer.WriteString("client"u8, client);
            writer.WriteString("server"u8, server);
            writer.WriteNumber("id"u8, id);
            JsonSeconds.Write(writer, "time"u8, time);
            writer.WriteEndObject();
        }
    }
    private sealed record RttSummary(long count, double? average, double? max);
    private sealed record SummaryPayload(long responses, Dictionary<string, long> rcodes, RttSummary rtt,
        Dictionary<string, long> top_queries, long unanswered, int pending);
}
