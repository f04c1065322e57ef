using System.Buffers;
using System.Collections;
using System.Globalization;
using System.Management.Automation;
using System.Net;
using System.Net.NetworkInformation;
using System.Numerics;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace NetDumplings.PowerShell.Chefs;

/// <summary>
/// Writes what a chef's script outputs as JSON, straight from the objects (ConvertTo-Json is far slower
/// and its depth limit truncates silently): hashtables and [pscustomobject] become objects (keys in
/// order for [ordered] and [pscustomobject]), lists become arrays, strings, numbers, booleans and null
/// stay themselves, dates become ISO 8601 text, enums their name, MAC addresses aa:bb:cc:dd:ee:ff, and
/// any other object its string form (so an IPAddress reads "10.0.0.1", not its properties).
/// </summary>
public static class PowerShellJson
{
    /// <summary>Nesting allowed in a payload; deeper means a loop (a hashtable holding itself) or a mistake.</summary>
    public const int MaxDepth = 64;

    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = true,
        MaxDepth = MaxDepth + 1,
    };

    [ThreadStatic] private static ArrayBufferWriter<byte>? t_buffer;
    [ThreadStatic] private static Utf8JsonWriter? t_writer;

    /// <summary>The JSON of <paramref name="value"/>, or null when the value is null (no dumpling).</summary>
    /// <exception cref="ArgumentException">The value nests deeper than <see cref="MaxDepth"/>.</exception>
    public static RawJsonPayload? ToPayload(object? value)
    {
        value = Unwrap(value);
        if (value is null) return null;
        if (value is RawJsonPayload raw) return raw;
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(256);
        buffer.ResetWrittenCount();
        var writer = t_writer;
        if (writer is null) t_writer = writer = new Utf8JsonWriter(buffer, WriterOptions);
        else writer.Reset(buffer);
        try
        {
            Write(writer, value, 0);
            writer.Flush();
        }
        catch
        {
            t_writer = null;
            throw;
        }
        return new RawJsonPayload(buffer.WrittenSpan.ToArray());
    }

    /// <summary>The JSON text of <paramref name="value"/> ("null" for null).</summary>
    public static string ToJson(object? value) =>
        ToPayload(value) is { } payload ? System.Text.Encoding.UTF8.GetString(payload.Utf8Json.Span) : "null";

    private static object? Unwrap(object? value)
    {
        if (value is PSObject pso)
        {
            // A [pscustomobject] is its note properties; any other PSObject is the object it wraps.
            if (pso.BaseObject is PSCustomObject) return pso;
            value = pso.BaseObject;
        }
        return value is DBNull || value == System.Management.Automation.Internal.AutomationNull.Value ? null : value;
    }

    private static void Write(Utf8JsonWriter writer, object? value, int depth)
    {
        value = Unwrap(value);
        if (depth > MaxDepth)
            throw new ArgumentException($"The payload nests deeper than {MaxDepth} levels (does a hashtable or object hold itself?).");
        switch (value)
        {
            case null: writer.WriteNullValue(); return;
            case string s: writer.WriteStringValue(s); return;
            case bool b: writer.WriteBooleanValue(b); return;
            case int i: writer.WriteNumberValue(i); return;
            case long l: writer.WriteNumberValue(l); return;
            case double d: WriteDouble(writer, d); return;
            case byte u8: writer.WriteNumberValue(u8); return;
            case sbyte s8: writer.WriteNumberValue(s8); return;
            case short s16: writer.WriteNumberValue(s16); return;
            case ushort u16: writer.WriteNumberValue(u16); return;
            case uint u32: writer.WriteNumberValue(u32); return;
            case ulong u64: writer.WriteNumberValue(u64); return;
            case float f: WriteDouble(writer, f); return;
            case decimal m: writer.WriteNumberValue(m); return;
            case BigInteger big: writer.WriteRawValue(big.ToString(CultureInfo.InvariantCulture), skipInputValidation: true); return;
            case char c: writer.WriteStringValue(c.ToString()); return;
            case DateTime dt: writer.WriteStringValue(dt.ToString("O", CultureInfo.InvariantCulture)); return;
            case DateTimeOffset dto: writer.WriteStringValue(dto.ToString("O", CultureInfo.InvariantCulture)); return;
            case Enum e: writer.WriteStringValue(e.ToString()); return;
            case PhysicalAddress mac: writer.WriteStringValue(FormatMac(mac)); return;
            case IPAddress ip: writer.WriteStringValue(ip.ToString()); return;
            case JsonElement element: element.WriteTo(writer); return;
            case RawJsonPayload raw: writer.WriteRawValue(raw.Utf8Json.Span); return;
            case PSObject custom:
                writer.WriteStartObject();
                foreach (var property in custom.Properties)
                {
                    writer.WritePropertyName(property.Name);
                    Write(writer, ReadProperty(property), depth + 1);
                }
                writer.WriteEndObject();
                return;
            case IDictionary dictionary:
                writer.WriteStartObject();
                foreach (DictionaryEntry entry in dictionary)
                {
                    writer.WritePropertyName(Convert.ToString(Unwrap(entry.Key), CultureInfo.InvariantCulture) ?? "");
                    Write(writer, entry.Value, depth + 1);
                }
                writer.WriteEndObject();
                return;
            case IEnumerable items:
                writer.WriteStartArray();
                foreach (var item in items) Write(writer, item, depth + 1);
                writer.WriteEndArray();
                return;
            default:
                writer.WriteStringValue(Convert.ToString(value, CultureInfo.InvariantCulture));
                return;
        }
    }

    private static object? ReadProperty(PSPropertyInfo property)
    {
        try
        {
            return property.Value;
        }
        catch (GetValueException)
        {
            return null;
        }
    }

    // JSON has no NaN or infinity; null says "no number" to every reader.
    private static void WriteDouble(Utf8JsonWriter writer, double value)
    {
        if (double.IsFinite(value)) writer.WriteNumberValue(value);
        else writer.WriteNullValue();
    }

    private static string FormatMac(PhysicalAddress mac) =>
        string.Join(':', mac.GetAddressBytes().Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));
}
