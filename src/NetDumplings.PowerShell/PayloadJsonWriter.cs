using System.Buffers;
using System.Collections;
using System.Globalization;
using System.Management.Automation;
using System.Numerics;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace NetDumplings.PowerShell;

/// <summary>
/// Writes PowerShell objects as JSON payloads, straight to UTF-8 with a Utf8JsonWriter (several times
/// faster than ConvertTo-Json, which builds a dictionary tree first). The rules follow
/// ConvertTo-Json where it is sensible: custom objects and other objects become JSON objects of
/// their properties, dictionaries objects, collections arrays; dates are ISO 8601 strings and enums
/// their names (readable on the other side, e.g. in a Python eater). Past <c>depth</c> levels an
/// object is written as its ToString(). A property whose getter throws is left out.
/// Runs on the pipeline thread only: reading a ScriptProperty runs script.
/// </summary>
internal sealed class PayloadJsonWriter
{
    private readonly ArrayBufferWriter<byte> _buffer = new(4096);
    private readonly Utf8JsonWriter _writer;
    private readonly int _depth;

    public PayloadJsonWriter(int depth)
    {
        _depth = depth;
        _writer = new Utf8JsonWriter(_buffer, new JsonWriterOptions
        {
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            MaxDepth = DumplingCodec.MaxDepth,
            SkipValidation = true,
        });
    }

    /// <summary>Serialises <paramref name="value"/>; the bytes stay valid until the next call.</summary>
    /// <exception cref="NotSupportedException">Something in the value has no JSON form (NaN, infinity).</exception>
    public ReadOnlyMemory<byte> Write(object? value)
    {
        _buffer.ResetWrittenCount();
        _writer.Reset(_buffer);
        WriteValue(value, 0);
        _writer.Flush();
        return _buffer.WrittenMemory;
    }

    private void WriteValue(object? value, int level)
    {
        var pso = value as PSObject;
        var baseObject = pso is null ? value : pso.BaseObject;
        switch (baseObject)
        {
            case null:
                _writer.WriteNullValue();
                return;
            case string s:
                _writer.WriteStringValue(s);
                return;
            case bool b:
                _writer.WriteBooleanValue(b);
                return;
            case int i:
                _writer.WriteNumberValue(i);
                return;
            case long l:
                _writer.WriteNumberValue(l);
                return;
            case double d:
                WriteDouble(d);
                return;
            case float f:
                WriteDouble(f);
                return;
            case decimal m:
                _writer.WriteNumberValue(m);
                return;
            case byte or sbyte or short or ushort or uint:
                _writer.WriteNumberValue(Convert.ToInt64(baseObject, CultureInfo.InvariantCulture));
                return;
            case ulong ul:
                _writer.WriteNumberValue(ul);
                return;
            case BigInteger big:
                _writer.WriteRawValue(big.ToString(CultureInfo.InvariantCulture), skipInputValidation: true);
                return;
            case char c:
                _writer.WriteStringValue(c.ToString());
                return;
            case DateTime dt:
                _writer.WriteStringValue(dt.ToString("O", CultureInfo.InvariantCulture));
                return;
            case DateTimeOffset dto:
                _writer.WriteStringValue(dto.ToString("O", CultureInfo.InvariantCulture));
                return;
            case Enum e:
                _writer.WriteStringValue(e.ToString());
                return;
            case TimeSpan or Guid or Uri or Version or System.Net.IPAddress or System.Net.IPEndPoint or System.Text.RegularExpressions.Regex:
                _writer.WriteStringValue(Convert.ToString(baseObject, CultureInfo.InvariantCulture));
                return;
            case JsonElement element:
                element.WriteTo(_writer);
                return;
            case ScriptBlock block:
                _writer.WriteStringValue(block.ToString());
                return;
        }

        if (level >= _depth)
        {
            // Like ConvertTo-Json past its depth: the object's text form.
            _writer.WriteStringValue(Convert.ToString(baseObject, CultureInfo.InvariantCulture));
            return;
        }

        switch (baseObject)
        {
            case PSCustomObject:
                WriteProperties(pso!, level);
                return;
            case IDictionary dictionary:
                _writer.WriteStartObject();
                foreach (DictionaryEntry entry in dictionary)
                {
                    _writer.WritePropertyName(Convert.ToString(entry.Key, CultureInfo.InvariantCulture) ?? "");
                    WriteValue(entry.Value, level + 1);
                }
                _writer.WriteEndObject();
                return;
            case IEnumerable sequence:
                _writer.WriteStartArray();
                foreach (var item in sequence) WriteValue(item, level + 1);
                _writer.WriteEndArray();
                return;
            default:
                WriteProperties(pso ?? PSObject.AsPSObject(baseObject), level);
                return;
        }
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
            catch (Exception e) when (e is GetValueException or ExtendedTypeSystemException or RuntimeException)
            {
                continue; // e.g. a process property this user may not read
            }
            _writer.WritePropertyName(property.Name);
            WriteValue(value, level + 1);
        }
        _writer.WriteEndObject();
    }

    private void WriteDouble(double d)
    {
        if (!double.IsFinite(d))
            throw new NotSupportedException($"{d.ToString(CultureInfo.InvariantCulture)} has no JSON form; JSON numbers are finite.");
        _writer.WriteNumberValue(d);
    }
}
