using System.Text.Json;

namespace NetDumplings;

/// <summary>
/// Capture times and durations (seconds to the microsecond) written as JSON numbers without the general double
/// formatter (see <see cref="JsonText.Seconds"/>): the same text it writes for such values, at a fraction of the cost.
/// </summary>
internal static class JsonSeconds
{
    /// <summary>
    /// Writes <paramref name="seconds"/> as <see cref="Utf8JsonWriter.WriteNumber(ReadOnlySpan{byte}, double)"/> would
    /// (with <paramref name="roundToMicroseconds"/>, as it would <c>Math.Round(seconds, 6)</c>).
    /// </summary>
    public static void Write(Utf8JsonWriter writer, ReadOnlySpan<byte> name, double seconds, bool roundToMicroseconds = false)
    {
        Span<byte> text = stackalloc byte[32];
        var json = new JsonText(text);
        json.Seconds(seconds, roundToMicroseconds);
        writer.WritePropertyName(name);
        json.WriteTo(writer);
    }
}
