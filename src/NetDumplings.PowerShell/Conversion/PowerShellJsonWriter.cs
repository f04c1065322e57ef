using System.Buffers;
using System.Collections;
using System.Globalization;
using System.Management.Automation;
using System.Net;
using System.Net.NetworkInformation;
using System.Numerics;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace NetDumplings.PowerShell.Conversion;

/// <summary>
/// The one writer of PowerShell objects as dumpling payloads, used by Send-Dumpling and by scriptblock
/// chefs, so the same object makes the same JSON from either. It writes straight to UTF-8 with a
/// Utf8JsonWriter, several times faster than ConvertTo-Json (which builds a dictionary tree first).
/// <list type="bullet">
/// <item>A string holding a JSON object or array (its first non-blank character is <c>{</c> or <c>[</c>) is
/// that JSON, as is; any other string is a JSON string.</item>
/// <item>Dictionaries (hashtables, [ordered]) are JSON objects with their keys as text, in their order;
/// [pscustomobject] and any other object are JSON objects of their properties (a property whose getter
/// fails is null); other collections are arrays; byte arrays are base64 text, as System.Text.Json writes
/// them for C# chefs.</item>
/// <item>Dates and times are ISO 8601 round-trip text ("O"); enums their names (ConvertTo-Json
/// -EnumsAsStrings; readable by an eater in any language); Guid, TimeSpan ("c"), IP addresses, URIs,
/// versions and the like their text; MAC addresses aa:bb:cc:dd:ee:ff.</item>
/// <item>Objects nested deeper than <see cref="Depth"/> levels (the payload is level 1), and .NET objects
/// that refer back to one holding them, are written as their text, as ConvertTo-Json does past its depth;
/// <see cref="CutAt"/> says where, for a warning.</item>
/// <item>NaN, infinities and a hashtable, list or [pscustomobject] that holds itself have no JSON form:
/// <see cref="PayloadJsonException"/> names where they are.</item>
/// </list>
/// One instance serves one thread at a time (reading a ScriptProperty runs script in that thread's runspace).
/// </summary>
public sealed class PowerShellJsonWriter
{
    /// <summary>
    /// Levels written by default. ConvertTo-Json's 2 is meant for arbitrary .NET objects; dumplings are
    /// records made on purpose (the sample chefs nest 3 levels, tables of tables 4-5), and 10 leaves room.
    /// Cutting at back-references keeps it affordable for whole .NET objects: a Process measured ~95 ms
    /// to write at 10 against ~45 ms at 4, a FileInfo a few ms at either.
    /// </summary>
    public const int DefaultDepth = 10;

    private readonly ArrayBufferWriter<byte> _buffer = new(1024);
    private readonly Utf8JsonWriter _writer;

    // Where the writer is, one slot per level: the container (to see a cycle) and the key or index that
    // leads down from it. Filled as it goes, read only to name a place in a message.
    private readonly object?[] _containers;
    private readonly string?[] _keys;
    private readonly int[] _indexes;
    private string? _cutAt;
    private bool _cutAtCycle;

    public PowerShellJsonWriter(int depth = DefaultDepth)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(depth, 1);
        Depth = depth;
        _containers = new object?[depth];
        _keys = new string?[depth];
        _indexes = new int[depth];
        _writer = new Utf8JsonWriter(_buffer, new JsonWriterOptions
        {
            // Non-ASCII text stays readable on the wire, as the codec writes it.
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            MaxDepth = DumplingCodec.MaxDepth,
            SkipValidation = true,
        });
    }

    /// <summary>Levels of objects and arrays written; deeper ones are written as their text.</summary>
    public int Depth { get; }

    /// <summary>
    /// The largest payload written: past it the write stops with a <see cref="PayloadJsonException"/>
    /// (<see cref="PayloadJsonException.TooLarge"/>), so a huge object is refused while it is written,
    /// not after 100 MB of JSON were built for a hub that takes 1 MiB.
    /// </summary>
    public int MaxBytes { get; init; } = int.MaxValue;

    /// <summary>Where and why the last <see cref="Write"/> first cut an object (written as its text), or null.</summary>
    public string? CutAt => _cutAt;

    /// <summary>Whether a chef's output is no output: null, $null, [DBNull] (no dumpling).</summary>
    public static bool IsNothing(object? value)
    {
        if (value is PSObject pso) value = pso.BaseObject;
        return value is null or DBNull || value == System.Management.Automation.Internal.AutomationNull.Value;
    }

    /// <summary>The payload JSON of <paramref name="value"/>; the bytes stay valid until the next call.</summary>
    /// <exception cref="PayloadJsonException">Something in the value has no JSON form (NaN, infinity, a cycle).</exception>
    public ReadOnlyMemory<byte> Write(object? value)
    {
        _buffer.ResetWrittenCount();
        _writer.Reset(_buffer);
        _cutAt = null;
        if ((value is PSObject pso ? pso.BaseObject : value) is string text && HoldsJson(text))
        {
            if (Encoding.UTF8.GetByteCount(text) > MaxBytes) throw TooLarge(0);
            // Checked by the codec when the dumpling is made, as any ready-made payload.
            var bytes = Encoding.UTF8.GetBytes(text, _buffer.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length)));
            _buffer.Advance(bytes);
            return _buffer.WrittenMemory;
        }
        try
        {
            WriteValue(value, 0);
        }
        catch
        {
            Array.Clear(_containers);   // keep no reference to the user's objects
            throw;
        }
        _writer.Flush();
        return _buffer.WrittenMemory;
    }

    /// <summary>The warning for a payload that was cut; <paramref name="raise"/> says where the depth is set.</summary>
    public string CutWarning(string raise) =>
        _cutAtCycle
            ? $"{_cutAt}, so it was written as its text, not as JSON, as is anything that refers back to an object holding it or is deeper than {Depth} levels. Pick the properties you need (Select-Object) to leave such references out."
            : $"{_cutAt}, so it was written as its text, not as JSON, as was anything else as deep. Raise {raise} (now {Depth}) to write it whole.";

    private static bool HoldsJson(string text)
    {
        var trimmed = text.AsSpan().TrimStart();
        return trimmed.Length > 0 && (trimmed[0] == '{' || trimmed[0] == '[');
    }

    // level: how many objects and arrays hold this value.
    private void WriteValue(object? value, int level)
    {
        if (_writer.BytesCommitted + _writer.BytesPending > MaxBytes) throw TooLarge(level);
        var pso = value as PSObject;
        var item = pso is null ? value : pso.BaseObject;
        switch (item)
        {
            case null or DBNull: _writer.WriteNullValue(); return;
            case string s: _writer.WriteStringValue(s); return;
            case bool b: _writer.WriteBooleanValue(b); return;
            case int i: _writer.WriteNumberValue(i); return;
            case long l: _writer.WriteNumberValue(l); return;
            case double d:
                if (!double.IsFinite(d)) throw NotFinite(d, level);
                _writer.WriteNumberValue(d);
                return;
            case float f:
                if (!float.IsFinite(f)) throw NotFinite(f, level);
                _writer.WriteNumberValue(f);
                return;
            case decimal m: _writer.WriteNumberValue(m); return;
            case byte u8: _writer.WriteNumberValue(u8); return;
            case sbyte s8: _writer.WriteNumberValue(s8); return;
            case short s16: _writer.WriteNumberValue(s16); return;
            case ushort u16: _writer.WriteNumberValue(u16); return;
            case uint u32: _writer.WriteNumberValue(u32); return;
            case ulong u64: _writer.WriteNumberValue(u64); return;
            case BigInteger big: _writer.WriteRawValue(big.ToString(CultureInfo.InvariantCulture), skipInputValidation: true); return;
            case char c: _writer.WriteStringValue(new ReadOnlySpan<char>(in c)); return;
            case DateTime dt: WriteText(dt, "O"); return;
            case DateTimeOffset dto: WriteText(dto, "O"); return;
            case DateOnly date: WriteText(date, "O"); return;
            case TimeOnly time: WriteText(time, "O"); return;
            case TimeSpan span: WriteText(span, "c"); return;
            case Guid guid: _writer.WriteStringValue(guid); return;
            case IPAddress ip: WriteText(ip, null); return;
            case Enum e: _writer.WriteStringValue(e.ToString()); return;
            case PhysicalAddress mac: WriteMac(mac); return;
            case Uri uri: _writer.WriteStringValue(uri.OriginalString); return;
            case Version or IPEndPoint or System.Text.RegularExpressions.Regex or ScriptBlock or Type:
                _writer.WriteStringValue(Convert.ToString(item, CultureInfo.InvariantCulture));
                return;
            case byte[] bytes: _writer.WriteBase64StringValue(bytes); return;
            case ReadOnlyMemory<byte> memory: _writer.WriteBase64StringValue(memory.Span); return;
            case JsonElement element: element.WriteTo(_writer); return;
            case JsonDocument document: document.RootElement.WriteTo(_writer); return;
            case RawJsonPayload raw:
                // Checked with the whole payload by the codec when the dumpling is made.
                _writer.WriteRawValue(raw.Utf8Json.Span, skipInputValidation: true);
                return;
        }

        // From here on a container: a [pscustomobject] is its PSObject (they all share one base object).
        var container = item is PSCustomObject ? pso! : item;
        for (var i = 0; i < level; i++)
        {
            if (!ReferenceEquals(_containers[i], container)) continue;
            // Data a script built that holds itself is a mistake; a .NET object referring back (a provider's
            // drive's provider) is normal, and is cut there, as it would be at the depth limit.
            if (item is PSCustomObject or IDictionary or IList)
                throw new PayloadJsonException(
                    $"{PathTo(level)} is {PathTo(i)} again (a {TypeName(value)} that holds itself); JSON cannot hold a cycle.", PathTo(level));
            Cut(value!, level, i);
            return;
        }
        if (level >= Depth)
        {
            Cut(value!, level, -1);
            return;
        }
        _containers[level] = container;
        switch (item)
        {
            case PSCustomObject:
                WriteProperties(pso!, level);
                break;
            case IDictionary dictionary:
                WriteDictionary(dictionary, level);
                break;
            case IList list:
                _writer.WriteStartArray();
                _keys[level] = null;
                for (var i = 0; i < list.Count; i++)
                {
                    _indexes[level] = i;
                    WriteValue(list[i], level + 1);
                }
                _writer.WriteEndArray();
                break;
            case IEnumerable sequence:
                _writer.WriteStartArray();
                _keys[level] = null;
                var index = 0;
                foreach (var element in sequence)
                {
                    _indexes[level] = index++;
                    WriteValue(element, level + 1);
                }
                _writer.WriteEndArray();
                break;
            default:
                WriteProperties(pso ?? PSObject.AsPSObject(item), level);
                break;
        }
        _containers[level] = null;
    }

    // As ConvertTo-Json past its depth: the object's text; the caller warns.
    private void Cut(object value, int level, int again)
    {
        if (_cutAt is null)
        {
            _cutAtCycle = again >= 0;
            _cutAt = _cutAtCycle
                ? $"{PathTo(level)} (a {TypeName(value)}) is {PathTo(again)} again"
                : $"{PathTo(level)} (a {TypeName(value)}) is deeper than {Depth} levels";
        }
        _writer.WriteStringValue(Convert.ToString(value, CultureInfo.InvariantCulture));
    }

    private void WriteDictionary(IDictionary dictionary, int level)
    {
        _writer.WriteStartObject();
        // The entry enumerator, not foreach: foreach boxes each DictionaryEntry.
        var entries = dictionary.GetEnumerator();
        while (entries.MoveNext())
        {
            var key = entries.Key;
            if (key is PSObject wrapped) key = wrapped.BaseObject;
            var name = key as string ?? Convert.ToString(key, CultureInfo.InvariantCulture) ?? "";
            _keys[level] = name;
            _writer.WritePropertyName(name);
            WriteValue(entries.Value, level + 1);
        }
        _writer.WriteEndObject();
    }

    private void WriteProperties(PSObject pso, int level)
    {
        _writer.WriteStartObject();
        foreach (var property in pso.Properties)
        {
            if (!property.IsGettable) continue;
            object? value;
            try
            {
                value = property.Value;
            }
            catch (RuntimeException)
            {
                value = null;   // e.g. a process property this user may not read: present, without a value
            }
            _keys[level] = property.Name;
            _writer.WritePropertyName(property.Name);
            WriteValue(value, level + 1);
        }
        _writer.WriteEndObject();
    }

    private void WriteText<T>(T value, string? format) where T : ISpanFormattable
    {
        Span<char> text = stackalloc char[64];
        if (value.TryFormat(text, out var length, format, CultureInfo.InvariantCulture))
            _writer.WriteStringValue(text[..length]);
        else
            _writer.WriteStringValue(value.ToString(format, CultureInfo.InvariantCulture));
    }

    private void WriteMac(PhysicalAddress mac)
    {
        var bytes = mac.GetAddressBytes();
        Span<char> text = bytes.Length <= 32 ? stackalloc char[96] : new char[bytes.Length * 3];
        var length = 0;
        foreach (var b in bytes)
        {
            if (length > 0) text[length++] = ':';
            b.TryFormat(text[length..], out var written, "x2", CultureInfo.InvariantCulture);
            length += written;
        }
        _writer.WriteStringValue(text[..length]);
    }

    private PayloadJsonException TooLarge(int level) =>
        new($"the payload is over {MaxBytes:N0} bytes of JSON (reached at {PathTo(level)}), more than the hub accepts; send fewer items or pick the properties you need (Select-Object).", PathTo(level)) { TooLarge = true };

    private PayloadJsonException NotFinite(double value, int level) =>
        new($"{PathTo(level)} is {(double.IsNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity")}, which JSON cannot hold (it has no NaN or infinity); send null or text instead.", PathTo(level));

    private static string TypeName(object? value) =>
        value is PSObject { BaseObject: PSCustomObject } ? "[pscustomobject]" : (value is PSObject p ? p.BaseObject : value)?.GetType().Name ?? "null";

    // payload.map.inner, payload.list[2], payload['odd key']: read as $_.Payload is read on the eater's side.
    private string PathTo(int level)
    {
        var path = new StringBuilder("payload");
        for (var i = 0; i < level; i++)
        {
            var key = _keys[i];
            if (key is null) path.Append('[').Append(_indexes[i]).Append(']');
            else if (key.Length > 0 && key.All(c => char.IsLetterOrDigit(c) || c is '_' or '-')) path.Append('.').Append(key);
            else path.Append("['").Append(key.Replace("'", "''")).Append("']");
        }
        return path.ToString();
    }
}

/// <summary>A value with no JSON form (NaN, infinity, an object that holds itself); <see cref="Path"/> says where.</summary>
public sealed class PayloadJsonException(string message, string path) : Exception(message)
{
    /// <summary>Where in the payload, e.g. <c>payload.stats.rate</c>.</summary>
    public string Path { get; } = path;

    /// <summary>The payload grew past the writer's <see cref="PowerShellJsonWriter.MaxBytes"/>.</summary>
    public bool TooLarge { get; init; }
}
