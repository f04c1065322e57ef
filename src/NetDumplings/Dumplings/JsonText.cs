using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;

namespace NetDumplings;

/// <summary>
/// JSON text composed by hand into a caller's buffer, for the built-in chefs' records of a dumpling per flow or per
/// packet: one <see cref="Utf8JsonWriter.WriteRawValue(ReadOnlySpan{byte}, bool)"/> per record instead of a writer call
/// per field, each of which validates, checks for escaping and formats through code the runtime is still profiling in
/// a kitchen's first run. Only for text that needs no escaping (names, numbers, addresses, codes the chef chose); the
/// text is what <see cref="Utf8JsonWriter"/> would write for the same values.
/// </summary>
internal ref struct JsonText(Span<byte> buffer)
{
    // Below 2^33 s a microsecond is wider than a double's step, so the microseconds' digits are the shortest text.
    private const double SecondsLimit = 8_589_934_592;

    private readonly Span<byte> _buffer = buffer;
    private int _at;

    public readonly ReadOnlySpan<byte> Written => _buffer[.._at];

    /// <summary>Text as it is: punctuation and property names (<c>,"name":</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Raw(ReadOnlySpan<byte> text)
    {
        text.CopyTo(_buffer[_at..]);
        _at += text.Length;
    }

    /// <summary>A string that needs no escaping (ASCII the caller made: addresses, codes, base64 without '+').</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Plain(ReadOnlySpan<byte> text)
    {
        _buffer[_at++] = (byte)'"';
        Raw(text);
        _buffer[_at++] = (byte)'"';
    }

    /// <summary>A string of ASCII the caller chose (a constant code or name); null as null.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Plain(string? text)
    {
        if (text is null)
        {
            Raw("null"u8);
            return;
        }
        _buffer[_at++] = (byte)'"';
        var target = _buffer.Slice(_at, text.Length);
        for (var i = 0; i < text.Length; i++) target[i] = (byte)text[i];
        _at += text.Length;
        _buffer[_at++] = (byte)'"';
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Number(long value)
    {
        if ((ulong)value < 10)
        {
            _buffer[_at++] = (byte)('0' + value);
            return;
        }
        if (value < 0)
        {
            if (value == long.MinValue)
            {
                Raw("-9223372036854775808"u8);
                return;
            }
            _buffer[_at++] = (byte)'-';
            value = -value;
        }
        var digits = 1;
        for (var rest = value / 10; rest != 0; rest /= 10) digits++;
        for (var i = _at + digits - 1; i >= _at; i--, value /= 10) _buffer[i] = (byte)('0' + value % 10);
        _at += digits;
    }

    /// <summary>
    /// Seconds (a capture time or a duration) as <see cref="Utf8JsonWriter.WriteNumberValue(double)"/> writes them
    /// (with <paramref name="roundToMicroseconds"/>, as it writes <c>Math.Round(seconds, 6)</c>): the shortest text that
    /// reads back, made from the microseconds' digits when the value is a whole number of them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Seconds(double seconds, bool roundToMicroseconds = false)
    {
        var micro = Math.Abs(seconds) < SecondsLimit ? (long)Math.Round(seconds * 1_000_000) : 0;
        // Under 0.0001 the general formatter uses an exponent (5E-06): left to it, as are values between microseconds.
        if (micro is > -100 and < 100 || (!roundToMicroseconds && micro / 1_000_000.0 != seconds))
        {
            General(roundToMicroseconds ? Math.Round(seconds, 6) : seconds);
            return;
        }
        if (micro < 0)
        {
            _buffer[_at++] = (byte)'-';
            micro = -micro;
        }
        var (whole, fraction) = Math.DivRem(micro, 1_000_000);
        Number(whole);
        if (fraction == 0) return;
        _buffer[_at++] = (byte)'.';
        var digits = 6;
        while (fraction % 10 == 0) { fraction /= 10; digits--; }
        for (var i = digits - 1; i >= 0; i--, fraction /= 10) _buffer[_at + i] = (byte)('0' + fraction % 10);
        _at += digits;
    }

    // As Utf8JsonWriter formats a double (shortest round-trip text, invariant).
    private void General(double value)
    {
        if (!double.IsFinite(value)) throw new ArgumentOutOfRangeException(nameof(value), value, "JSON has no number for NaN or infinity.");
        if (!value.TryFormat(_buffer[_at..], out var written, default, CultureInfo.InvariantCulture))
            throw new ArgumentException("The JSON text is longer than its buffer.");
        _at += written;
    }

    /// <summary>Writes the composed text into <paramref name="writer"/> as one value (after a property name, or in an array).</summary>
    public readonly void WriteTo(Utf8JsonWriter writer) => writer.WriteRawValue(Written, skipInputValidation: true);
}
