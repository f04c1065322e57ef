using System.Runtime.CompilerServices;
using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace NetDumplings;

/// <summary>
/// Reads and writes dumplings in the wire format of the Python netdumplings (see PROTOCOL.md):
/// <c>{"metadata": {"chef", "kitchen", "creation_time", "driver"}, "payload": any}</c>.
/// Every dumpling passes through here, so it works on UTF-8 bytes with Utf8JsonReader/Writer
/// and never builds a DOM for the envelope.
/// </summary>
public static class DumplingCodec
{
    /// <summary>Nesting allowed in a payload. Python's json accepts ~1000 levels; so do we.</summary>
    public const int MaxDepth = 1000;

    internal static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = MaxDepth };
    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = MaxDepth };
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        // Keep non-ASCII text readable on the wire; any JSON parser reads it the same.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        MaxDepth = MaxDepth,
        SkipValidation = true,
    };

    /// <summary>Options used to serialise payload objects that are not already JSON.</summary>
    public static JsonSerializerOptions PayloadSerializerOptions { get; } = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        MaxDepth = MaxDepth,
        IncludeFields = true,
    };

    [ThreadStatic] private static ArrayBufferWriter<byte>? t_buffer;
    [ThreadStatic] private static Utf8JsonWriter? t_writer;

    /// <summary>Seconds since the Unix epoch, with a fraction, as <c>creation_time</c> wants them.</summary>
    // To the microsecond, as Python's time.time() is in practice: such a time is written without the general double formatter.
    public static double Now() => (DateTimeOffset.UtcNow.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10 / 1_000_000.0;

    // ---------------------------------------------------------------- reading

    /// <summary>
    /// Parses a dumpling strictly: valid JSON, an object with <c>metadata</c> (an object with a string
    /// <c>chef</c>, a string or null <c>kitchen</c>, a number <c>creation_time</c>, a <c>driver</c> of
    /// "packet" or "interval") and a <c>payload</c>. Unknown keys are allowed and kept.
    /// </summary>
    /// <exception cref="DumplingFormatException">The message says exactly what is wrong.</exception>
    public static Dumpling Parse(ReadOnlyMemory<byte> utf8Json)
    {
        if (!TryParse(utf8Json, out var dumpling, out var error))
            throw new DumplingFormatException(error!);
        return dumpling!;
    }

    /// <summary>Parses a dumpling from JSON text. See <see cref="Parse(ReadOnlyMemory{byte})"/>.</summary>
    public static Dumpling Parse(string json) => Parse(Encoding.UTF8.GetBytes(json));

    /// <summary>Strict parse without exceptions for bad input; <paramref name="error"/> says what is wrong.</summary>
    public static bool TryParse(ReadOnlyMemory<byte> utf8Json, out Dumpling? dumpling, out string? error)
    {
        dumpling = null;
        if (!Scan(utf8Json.Span, strict: true, out var fields, out error))
            return false;
        dumpling = new Dumpling(utf8Json, fields.Chef!, fields.Kitchen, fields.CreationTime, fields.Driver,
            fields.PayloadStart, fields.PayloadLength);
        return true;
    }

    /// <summary>
    /// The hub's rule, as the original's: a message is a dumpling when it is JSON and has
    /// <c>metadata.chef</c>. Returns the chef (a string, or the raw JSON of a non-string chef) and the
    /// kitchen (null when absent or not a string) for hub-side filtering.
    /// </summary>
    public static bool TryReadEnvelope(ReadOnlySpan<byte> utf8Json, out string? chef, out string? kitchen, out string? error)
    {
        var ok = Scan(utf8Json, strict: false, out var fields, out error);
        chef = fields.Chef;
        kitchen = fields.Kitchen;
        return ok;
    }

    /// <summary>
    /// Containers a dumpling the hub forwards may nest. Python's json (the original eaters) raises
    /// RecursionError near 1000 levels, fewer inside an eater's own call stack: 999 broke nd-print.
    /// </summary>
    public const int MaxForwardDepth = 500;

    /// <summary>Digits an integer in a forwarded dumpling may have: Python 3.11+ refuses to read longer ones (sys.int_info.default_max_str_digits).</summary>
    public const int MaxForwardIntegerDigits = 4300;

    /// <summary>
    /// The hub's rule for what it forwards: <see cref="TryReadEnvelope"/>'s (JSON with <c>metadata.chef</c>),
    /// plus nothing that would break the original eaters, which read every dumpling with Python's json:
    /// no nesting deeper than <see cref="MaxForwardDepth"/>, no integer longer than
    /// <see cref="MaxForwardIntegerDigits"/> digits, no duplicate <c>metadata</c>, <c>chef</c> or <c>kitchen</c>
    /// key (Python keeps the last, the hub would have checked the first).
    /// </summary>
    public static bool TryReadForwardable(ReadOnlySpan<byte> utf8Json, out string? chef, out string? kitchen, out string? error) =>
        TryReadForwardable(utf8Json, out chef, out kitchen, out _, out error);

    /// <summary><see cref="TryReadForwardable(ReadOnlySpan{byte}, out string?, out string?, out string?)"/>, with the dumpling's driver.</summary>
    public static bool TryReadForwardable(ReadOnlySpan<byte> utf8Json, out string? chef, out string? kitchen, out DumplingDriver driver, out string? error)
    {
        var ok = Scan(utf8Json, strict: false, out var fields, out error, forwarding: true);
        chef = fields.Chef;
        kitchen = fields.Kitchen;
        driver = fields.Driver;
        return ok;
    }

    /// <summary>Skips the value the reader is on; when forwarding, checks its depth and integers on the way.</summary>
    private static bool Skip(ref Utf8JsonReader reader, bool forwarding, out string? error)
    {
        error = null;
        if (!forwarding)
        {
            reader.Skip();
            return true;
        }
        var depth = reader.CurrentDepth;
        while (true)
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject or JsonTokenType.StartArray when reader.CurrentDepth >= MaxForwardDepth:
                    return Fail(out error, $"the dumpling nests deeper than {MaxForwardDepth} levels (the original eaters fail near 1000)");
                case JsonTokenType.Number when reader.ValueSpan.Length > MaxForwardIntegerDigits && IsLongInteger(reader.ValueSpan):
                    return Fail(out error, $"the dumpling holds an integer of more than {MaxForwardIntegerDigits} digits (the original eaters, Python 3.11+, cannot read it)");
            }
            if (reader.CurrentDepth <= depth && reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray)) return true;
            reader.Read();
        }
    }

    private static bool IsLongInteger(ReadOnlySpan<byte> number) =>
        number.IndexOfAny((byte)'.', (byte)'e', (byte)'E') < 0 &&
        number.Length - (number[0] == (byte)'-' ? 1 : 0) > MaxForwardIntegerDigits;

    private struct Fields
    {
        public string? Chef;
        public string? Kitchen;
        public double CreationTime;
        public DumplingDriver Driver;
        public int PayloadStart;
        public int PayloadLength;
    }

    private static bool Scan(ReadOnlySpan<byte> json, bool strict, out Fields fields, out string? error, bool forwarding = false)
    {
        fields = default;
        error = null;
        bool sawMetadata = false, sawPayload = false, sawChef = false, sawTime = false, sawDriver = false, sawKitchen = false;
        if (json.Trim(" \t\r\n"u8).IsEmpty)
            return Fail(out error, "the message is empty; a dumpling is a JSON object");
        // The reader checks only the bytes it decodes; a peer's text must be UTF-8 throughout.
        if (!System.Text.Unicode.Utf8.IsValid(json))
            return Fail(out error, "the message is not valid JSON: it is not valid UTF-8 text");
        try
        {
            var reader = new Utf8JsonReader(json, ReaderOptions);
            reader.Read();
            if (reader.TokenType != JsonTokenType.StartObject)
                return Fail(out error, $"a dumpling must be a JSON object, but this message is {Describe(reader.TokenType)}");

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("metadata"u8))
                {
                    // Python's json keeps the last of duplicate keys, we the first: an eater would see other metadata than the hub checked.
                    if (forwarding && sawMetadata) return Fail(out error, "the dumpling has 'metadata' twice (the original eaters would read the last, the hub the first)");
                    sawMetadata = true;
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.StartObject)
                        return Fail(out error, $"'metadata' must be an object, but it is {Describe(reader.TokenType)}");
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        if (reader.ValueTextEquals("chef"u8))
                        {
                            if (forwarding && sawChef) return Fail(out error, "the dumpling has 'metadata.chef' twice (the original eaters would read the last, the hub the first)");
                            sawChef = true;
                            reader.Read();
                            if (reader.TokenType == JsonTokenType.String)
                            {
                                if (!TryGetString(ref reader, "metadata.chef", out fields.Chef, out error)) return false;
                            }
                            else if (strict)
                                return Fail(out error, $"'metadata.chef' must be a string, but it is {Describe(reader.TokenType)}");
                            else
                            {
                                var start = (int)reader.TokenStartIndex;
                                if (!Skip(ref reader, forwarding, out error)) return false;
                                fields.Chef = Encoding.UTF8.GetString(json[start..(int)reader.BytesConsumed]);
                            }
                        }
                        else if (reader.ValueTextEquals("kitchen"u8))
                        {
                            if (forwarding && sawKitchen) return Fail(out error, "the dumpling has 'metadata.kitchen' twice (the original eaters would read the last, the hub the first)");
                            sawKitchen = true;
                            reader.Read();
                            if (reader.TokenType == JsonTokenType.String)
                            {
                                if (!TryGetString(ref reader, "metadata.kitchen", out fields.Kitchen, out error)) return false;
                            }
                            else if (reader.TokenType == JsonTokenType.Null)
                                fields.Kitchen = null;
                            else if (strict)
                                return Fail(out error, $"'metadata.kitchen' must be a string or null, but it is {Describe(reader.TokenType)}");
                            else
                                if (!Skip(ref reader, forwarding, out error)) return false;
                        }
                        else if (strict && reader.ValueTextEquals("creation_time"u8))
                        {
                            sawTime = true;
                            reader.Read();
                            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetDouble(out fields.CreationTime))
                                return Fail(out error, $"'metadata.creation_time' must be a number of seconds since the Unix epoch, but it is {Describe(reader.TokenType)}");
                        }
                        else if (strict && reader.ValueTextEquals("driver"u8))
                        {
                            sawDriver = true;
                            reader.Read();
                            if (reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("packet"u8))
                                fields.Driver = DumplingDriver.Packet;
                            else if (reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("interval"u8))
                                fields.Driver = DumplingDriver.Interval;
                            else
                                return Fail(out error, reader.TokenType == JsonTokenType.String
                                    ? $"'metadata.driver' must be \"packet\" or \"interval\", but it is \"{Encoding.UTF8.GetString(reader.ValueSpan)}\""
                                    : $"'metadata.driver' must be \"packet\" or \"interval\", but it is {Describe(reader.TokenType)}");
                        }
                        else
                        {
                            reader.Read();
                            if (!Skip(ref reader, forwarding, out error)) return false;
                        }
                    }
                }
                else if (reader.ValueTextEquals("payload"u8))
                {
                    sawPayload = true;
                    reader.Read();
                    fields.PayloadStart = (int)reader.TokenStartIndex;
                    if (!Skip(ref reader, forwarding, out error)) return false;
                    fields.PayloadLength = (int)reader.BytesConsumed - fields.PayloadStart;
                }
                else
                {
                    reader.Read();
                    if (!Skip(ref reader, forwarding, out error)) return false;
                }
            }
            // Anything after the root object is an error the reader reports here.
            if (reader.Read())
                return Fail(out error, "there is more JSON after the dumpling's closing brace");
        }
        catch (JsonException e)
        {
            return Fail(out error, $"the message is not valid JSON: {e.Message}");
        }
        catch (InvalidOperationException e)
        {
            // The reader decodes escapes when it compares a key or value; an escaped lone surrogate
            // (\udc00) is well-formed JSON but no Unicode text, and must be an invalid dumpling, not a crash.
            return Fail(out error, $"the message holds an escape that is not Unicode text: {e.Message}");
        }

        if (!sawMetadata) return Fail(out error, "the dumpling has no 'metadata' object");
        if (!sawChef) return Fail(out error, "the dumpling has no 'metadata.chef'");
        if (!strict) return true;
        if (!sawTime) return Fail(out error, "the dumpling has no 'metadata.creation_time'");
        if (!sawDriver) return Fail(out error, "the dumpling has no 'metadata.driver'");
        if (!sawPayload) return Fail(out error, "the dumpling has no 'payload'");
        return true;
    }

    private static bool TryGetString(ref Utf8JsonReader reader, string field, out string? value, out string? error)
    {
        error = null;
        try
        {
            value = KnownName(ref reader) ?? Remember(ref reader, reader.GetString());
            return true;
        }
        catch (InvalidOperationException e)
        {
            value = null;
            return Fail(out error, $"'{field}' is not Unicode text (it holds an escaped lone surrogate such as \\udc00): {e.Message}");
        }
    }

    // The chef and kitchen names a thread read last: a hub reads the same few names in every dumpling, and a string
    // each time was most of what checking a dumpling allocated.
    [ThreadStatic] private static (byte[] Utf8, string Text)[]? t_names;
    [ThreadStatic] private static int t_nextName;

    private static string? KnownName(ref Utf8JsonReader reader)
    {
        if (reader.ValueIsEscaped || reader.HasValueSequence || t_names is not { } names) return null;
        var utf8 = reader.ValueSpan;
        foreach (var (known, text) in names)
            if (known is not null && utf8.SequenceEqual(known)) return text;
        return null;
    }

    private static string? Remember(ref Utf8JsonReader reader, string? text)
    {
        if (text is null || reader.ValueIsEscaped || reader.HasValueSequence || reader.ValueSpan.Length > 256) return text;
        var names = t_names ??= new (byte[], string)[16];
        names[t_nextName] = (reader.ValueSpan.ToArray(), text);
        t_nextName = (t_nextName + 1) % names.Length;
        return text;
    }

    private static bool Fail(out string? error, string message)
    {
        error = message;
        return false;
    }

    private static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => token.ToString(),
    };

    // ---------------------------------------------------------------- writing

    /// <summary>
    /// Encodes a dumpling. <paramref name="payload"/> may be a <see cref="JsonElement"/>, a
    /// <see cref="JsonDocument"/>, a <see cref="RawJsonPayload"/> (JSON text already encoded), or any
    /// object System.Text.Json can serialise. A null payload is the JSON null; the protocol says a
    /// handler that returns nothing makes no dumpling, which is the caller's decision.
    /// </summary>
    public static Dumpling Create(string chef, string? kitchen, DumplingDriver driver, object? payload, double? creationTime = null)
    {
        ArgumentNullException.ThrowIfNull(chef);
        return Create(EnvelopeHead(chef, kitchen), chef, kitchen, driver, payload, creationTime);
    }

    /// <summary>
    /// <see cref="Create(string, string?, DumplingDriver, object?, double?)"/> with the envelope's head made beforehand
    /// (<see cref="MakeEnvelopeHead"/>): a kitchen keeps each chef's, however many chefs it has.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static Dumpling Create(byte[] envelopeHead, string chef, string? kitchen, DumplingDriver driver, object? payload, double? creationTime = null)
    {
        var time = creationTime ?? Now();
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(1024);
        buffer.ResetWrittenCount();
        var writer = t_writer;
        if (writer is null)
            t_writer = writer = new Utf8JsonWriter(buffer, WriterOptions);
        else
            writer.Reset(buffer);

        try
        {
            // The envelope around the payload is bytes known in advance but for the time: its head (chef and kitchen,
            // escaped as the writer escapes them) is made once per chef and kitchen and copied, the time composed.
            buffer.Write(envelopeHead);
            Span<byte> text = stackalloc byte[32];
            var seconds = new JsonText(text);
            seconds.Seconds(time);
            buffer.Write(seconds.Written);
            buffer.Write(driver == DumplingDriver.Packet ? ",\"driver\":\"packet\"},\"payload\":"u8 : ",\"driver\":\"interval\"},\"payload\":"u8);
            var payloadStart = buffer.WrittenCount;
            WritePayload(writer, payload);
            writer.Flush();
            var payloadLength = buffer.WrittenCount - payloadStart;
            buffer.Write("}"u8);
            return new Dumpling(buffer.WrittenSpan.ToArray(), chef, kitchen, time, driver, payloadStart, payloadLength);
        }
        catch
        {
            // A half-written writer must not leak into the next call on this thread.
            t_writer = null;
            throw;
        }
    }

    // The last few envelope heads this thread made, found by the very strings (a caller passes the same ones each time).
    [ThreadStatic] private static (string Chef, string? Kitchen, byte[] Head)[]? t_heads;
    [ThreadStatic] private static int t_nextHead;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static byte[] EnvelopeHead(string chef, string? kitchen)
    {
        var heads = t_heads ??= new (string, string?, byte[])[8];
        foreach (var (c, k, head) in heads)
            if (ReferenceEquals(c, chef) && ReferenceEquals(k, kitchen)) return head;
        var made = MakeEnvelopeHead(chef, kitchen);
        heads[t_nextHead] = (chef, kitchen, made);
        t_nextHead = (t_nextHead + 1) % heads.Length;
        return made;
    }

    /// <summary><c>{"metadata":{"chef":...,"kitchen":...,"creation_time":</c>, as the writer writes it.</summary>
    internal static byte[] MakeEnvelopeHead(string chef, string? kitchen)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("metadata"u8);
            writer.WriteString("chef"u8, chef);
            if (kitchen is null) writer.WriteNull("kitchen"u8);
            else writer.WriteString("kitchen"u8, kitchen);
            writer.WritePropertyName("creation_time"u8);
            writer.Flush();
        }
        return buffer.WrittenSpan.ToArray();
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WritePayload(Utf8JsonWriter writer, object? payload)
    {
        switch (payload)
        {
            case null:
                writer.WriteNullValue();
                break;
            case JsonElement element:
                element.WriteTo(writer);
                break;
            case JsonDocument document:
                document.RootElement.WriteTo(writer);
                break;
            case IJsonPayloadWriter own:
                own.WriteTo(writer);
                break;
            case RawJsonPayload raw:
                // Validated: a payload that is not one JSON value would corrupt the whole dumpling.
                ValidateRawPayload(raw.Utf8Json.Span);
                writer.WriteRawValue(raw.Utf8Json.Span, skipInputValidation: true);
                break;
            default:
                JsonSerializer.Serialize(writer, payload, payload.GetType(), PayloadSerializerOptions);
                break;
        }
    }

    private static void ValidateRawPayload(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json, ReaderOptions);
            if (!reader.Read())
                throw new DumplingFormatException("the payload JSON is empty");
            reader.Skip();
            if (reader.Read())
                throw new DumplingFormatException("the payload JSON holds more than one value");
        }
        catch (JsonException e)
        {
            throw new DumplingFormatException($"the payload is not valid JSON: {e.Message}", e);
        }
    }
}

/// <summary>
/// A payload that writes its own JSON value, for the built-in chefs that make a dumpling per flow: several
/// times cheaper than reflection. Internal: a writer that got it wrong would corrupt the dumpling.
/// </summary>
internal interface IJsonPayloadWriter
{
    void WriteTo(Utf8JsonWriter writer);
}

/// <summary>A payload that is already JSON text (UTF-8); it is written into the dumpling as is.</summary>
public readonly record struct RawJsonPayload(ReadOnlyMemory<byte> Utf8Json)
{
    public RawJsonPayload(string json) : this(Encoding.UTF8.GetBytes(json)) { }
}
