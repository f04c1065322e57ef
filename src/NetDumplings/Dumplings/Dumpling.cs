using System.Text;
using System.Text.Json;

namespace NetDumplings;

/// <summary>
/// One dumpling: the metadata the kitchen added and the payload a chef made, kept as the exact
/// UTF-8 JSON it arrived as (or was encoded to). The payload is parsed only when it is read, so a
/// stream of dumplings filtered on their metadata never pays for payloads nobody looks at.
/// The raw members carry Newtonsoft's JsonIgnore so that PowerShell's ConvertTo-Json (which reads .NET
/// properties by reflection) leaves them out and takes the driver's name and the payload from the
/// module's adapter instead; for JSON of a dumpling in C#, use <see cref="Json"/>.
/// </summary>
public sealed class Dumpling
{
    private readonly int _payloadStart;
    private readonly int _payloadLength;
    private JsonElement? _payload;

    internal Dumpling(ReadOnlyMemory<byte> utf8Json, string chef, string? kitchen, double creationTime,
        DumplingDriver driver, int payloadStart, int payloadLength)
    {
        Utf8Json = utf8Json;
        Chef = chef;
        Kitchen = kitchen;
        EpochSeconds = creationTime;
        Driver = driver;
        _payloadStart = payloadStart;
        _payloadLength = payloadLength;
    }

    /// <summary>The chef's name (<c>metadata.chef</c>).</summary>
    public string Chef { get; }

    /// <summary>The kitchen's name (<c>metadata.kitchen</c>); null for dumplings made by a hub.</summary>
    public string? Kitchen { get; }

    /// <summary><c>metadata.creation_time</c> as sent: seconds since the Unix epoch, with a fraction.</summary>
    [Newtonsoft.Json.JsonIgnore]
    public double EpochSeconds { get; }

    /// <summary>The creation time as a point in time (UTC).</summary>
    public DateTimeOffset CreationTime => FromEpochSeconds(EpochSeconds);

    /// <summary><c>metadata.driver</c>.</summary>
    [Newtonsoft.Json.JsonIgnore]
    public DumplingDriver Driver { get; }

    /// <summary>The whole dumpling, byte for byte as received or encoded.</summary>
    [Newtonsoft.Json.JsonIgnore]
    public ReadOnlyMemory<byte> Utf8Json { get; }

    /// <summary>The payload's JSON text exactly as it stands in <see cref="Utf8Json"/>.</summary>
    [Newtonsoft.Json.JsonIgnore]
    public ReadOnlyMemory<byte> PayloadUtf8Json => Utf8Json.Slice(_payloadStart, _payloadLength);

    /// <summary>The payload as a JSON element, parsed on first read.</summary>
    [Newtonsoft.Json.JsonIgnore]
    public JsonElement PayloadElement => _payload ??= ParsePayload();

    private string? _json;

    /// <summary>The whole dumpling as JSON text (decoded once, on first read).</summary>
    [Newtonsoft.Json.JsonIgnore]
    public string Json => _json ??= Encoding.UTF8.GetString(Utf8Json.Span);

    /// <summary>The payload as JSON text.</summary>
    [Newtonsoft.Json.JsonIgnore]
    public string PayloadJson => Encoding.UTF8.GetString(PayloadUtf8Json.Span);

    private JsonElement ParsePayload()
    {
        using var doc = JsonDocument.Parse(PayloadUtf8Json, DumplingCodec.DocumentOptions);
        return doc.RootElement.Clone();
    }

    public static DateTimeOffset FromEpochSeconds(double seconds) =>
        DateTimeOffset.UnixEpoch.AddTicks((long)Math.Round(seconds * TimeSpan.TicksPerSecond));

    public static double ToEpochSeconds(DateTimeOffset time) =>
        (time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / (double)TimeSpan.TicksPerSecond;

    public override string ToString() => $"{CreationTime:O} {Kitchen ?? "(hub)"} {Chef} {Driver}";
}
