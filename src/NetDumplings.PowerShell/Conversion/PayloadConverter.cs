using System.Management.Automation;
using System.Runtime.CompilerServices;
using System.Text.Json;

namespace NetDumplings.PowerShell.Conversion;

/// <summary>
/// Turns a dumpling's JSON payload into PowerShell objects (objects as PSCustomObject with their keys
/// in order, arrays as object[], integers as long, other numbers as double), the way ConvertFrom-Json
/// would, so <c>$_.Payload.lookup.hostname</c> just works.
/// </summary>
public static class PayloadConverter
{
    // The Payload property is built on first read and kept with its dumpling: a stream filtered on
    // the typed envelope never pays for it, and reading it twice costs one conversion.
    private static readonly ConditionalWeakTable<Dumpling, object?> s_payloads = new();

    /// <summary>Backs the <c>Payload</c> CodeProperty that NetDumplings.types.ps1xml adds to Dumpling.</summary>
    public static object? GetPayload(PSObject instance)
    {
        if (instance.BaseObject is not Dumpling dumpling) return null;
        if (s_payloads.TryGetValue(dumpling, out var cached)) return cached;
        var converted = ToPowerShell(dumpling.PayloadElement);
        s_payloads.AddOrUpdate(dumpling, converted);
        return converted;
    }

    public static object? ToPowerShell(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var result = new PSObject();
                foreach (var property in element.EnumerateObject())
                    result.Properties.Add(new PSNoteProperty(property.Name, ToPowerShell(property.Value)));
                return result;
            case JsonValueKind.Array:
                var items = new object?[element.GetArrayLength()];
                var i = 0;
                foreach (var item in element.EnumerateArray())
                    items[i++] = ToPowerShell(item);
                return items;
            case JsonValueKind.String:
                return element.GetString();
            case JsonValueKind.Number:
                if (element.TryGetInt64(out var integer)) return integer;
                var text = element.GetRawText();
                // Integers too big for long stay exact, as ConvertFrom-Json keeps them.
                if (text.IndexOfAny(['.', 'e', 'E']) < 0)
                    return System.Numerics.BigInteger.Parse(text, System.Globalization.CultureInfo.InvariantCulture);
                return element.GetDouble();
            case JsonValueKind.True:
                return true;
            case JsonValueKind.False:
                return false;
            default:
                return null;
        }
    }
}
