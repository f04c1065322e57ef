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

    // The JSON each payload object was made from: its ToString (what Export-Csv writes in a cell).
    private static readonly ConditionalWeakTable<PSObject, string> s_texts = new();

    /// <summary>The type name every payload object carries, for the ToString that NetDumplings.types.ps1xml gives it.</summary>
    public const string PayloadTypeName = "NetDumplings.DumplingPayload";

    /// <summary>Backs the <c>Payload</c> property (see <see cref="DumplingAdapter"/>).</summary>
    public static object? GetPayload(Dumpling dumpling)
    {
        if (s_payloads.TryGetValue(dumpling, out var cached)) return cached;
        var converted = ToPowerShell(dumpling.PayloadElement);
        if (converted is PSObject payload)
        {
            payload.TypeNames.Insert(0, PayloadTypeName);
            s_texts.AddOrUpdate(payload, dumpling.PayloadJson);
        }
        s_payloads.AddOrUpdate(dumpling, converted);
        return converted;
    }

    /// <summary>A payload object as text: its JSON, so a CSV cell or a string holds what the chef sent, not @{lookup=}.</summary>
    public static string PayloadText(PSObject instance) =>
        s_texts.TryGetValue(instance, out var json) ? json : instance.ImmediateBaseObject?.ToString() ?? "";

    /// <summary>
    /// A dumpling as one flat row: CreationTime, Kitchen, Chef, Driver, then every leaf of the payload
    /// as a column named by its path (lookup.hostname); arrays stay whole, as JSON text. For Export-Csv
    /// and Format-Table: <c>Receive-Dumpling | ForEach-Object Flatten | Export-Csv x.csv</c>.
    /// </summary>
    public static PSObject Flatten(PSObject instance)
    {
        var row = new PSObject();
        if (instance.BaseObject is not Dumpling d) return row;
        row.Properties.Add(new PSNoteProperty("CreationTime", d.CreationTime));
        row.Properties.Add(new PSNoteProperty("Kitchen", d.Kitchen));
        row.Properties.Add(new PSNoteProperty("Chef", d.Chef));
        row.Properties.Add(new PSNoteProperty("Driver", d.Driver.ToString()));
        AddLeaves(row, d.PayloadElement, "", 0);
        return row;
    }

    private static void AddLeaves(PSObject row, JsonElement element, string path, int depth)
    {
        // Nesting past 64 levels stays as JSON text: the walk is bounded however deep a payload goes.
        if (element.ValueKind == JsonValueKind.Object && depth < 64)
        {
            foreach (var property in element.EnumerateObject())
                AddLeaves(row, property.Value, path.Length == 0 ? property.Name : $"{path}.{property.Name}", depth + 1);
            return;
        }
        var name = path.Length == 0 ? "Payload" : path;
        object? value = element.ValueKind is JsonValueKind.Array or JsonValueKind.Object ? element.GetRawText() : ToPowerShell(element);
        if (row.Properties[name] is null) row.Properties.Add(new PSNoteProperty(name, value));
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
