using System.Text.Json;

namespace NetDumplings;

/// <summary>
/// Capture times and durations (seconds to the microsecond) written as JSON numbers without the general double
/// formatter: the same text it writes for such values (the shortest that reads back, no exponent), at a fraction of
/// the cost for the built-in chefs that write one or two per flow.
/// </summary>
internal static class JsonSeconds
{
    // Below 2^33 s a microsecond is wider than a double's step, so the microseconds' digits are the shortest text.
    private const double Limit = 8_589_934_592;

    /// <summary>
    /// Writes <paramref name="seconds"/> as <see cref="Utf8JsonWriter.WriteNumber(ReadOnlySpan{byte}, double)"/> would
    /// (with <paramref name="roundToMicroseconds"/>, as it would <c>Math.Round(seconds, 6)</c>); a value that is not a
    /// whole number of microseconds goes to it.
    /// </summary>
    public static void Write(Utf8JsonWriter writer, ReadOnlySpan<byte> name, double seconds, bool roundToMicroseconds = false)
    {
        var micro = Math.Abs(seconds) < Limit ? (long)Math.Round(seconds * 1_000_000) : 0;
        // Under 0.0001 the general writer uses an exponent (5E-06): left to it.
        if (micro is > -100 and < 100 || (!roundToMicroseconds && micro / 1_000_000.0 != seconds))
        {
            writer.WriteNumber(name, roundToMicroseconds ? Math.Round(seconds, 6) : seconds);
            return;
        }
        Span<byte> text = stackalloc byte[24];
        var at = 0;
        if (micro < 0)
        {
            text[at++] = (byte)'-';
            micro = -micro;
        }
        var (whole, fraction) = Math.DivRem(micro, 1_000_000);
        whole.TryFormat(text[at..], out var written, default, System.Globalization.CultureInfo.InvariantCulture);
        at += written;
        if (fraction != 0)
        {
            text[at++] = (byte)'.';
            var digits = 6;
            while (fraction % 10 == 0) { fraction /= 10; digits--; }
            for (var i = digits - 1; i >= 0; i--, fraction /= 10) text[at + i] = (byte)('0' + fraction % 10);
            at += digits;
        }
        writer.WritePropertyName(name);
        writer.WriteRawValue(text[..at], skipInputValidation: true);
    }
}
