using System.Collections.ObjectModel;
using System.Management.Automation;

namespace NetDumplings.PowerShell.Conversion;

/// <summary>
/// What PowerShell sees of a <see cref="Dumpling"/> (NetDumplings.types.ps1xml names this adapter): the
/// properties a user wants as data, in the order a table reads them, so Export-Csv, ConvertTo-Json,
/// Select-Object * and Format-List * give time, kitchen, chef, driver and payload, not the raw bytes
/// the engine keeps. The engine's other properties (Json, PayloadJson, EpochSeconds, Utf8Json, ...)
/// still answer when named; they are only left out of the listing.
/// </summary>
public sealed class DumplingAdapter : PSPropertyAdapter
{
    private static readonly string[] s_listed = ["CreationTime", "Kitchen", "Chef", "Driver", "Payload"];

    private static readonly Dictionary<string, (Func<Dumpling, object?> Get, string Type)> s_properties = new(StringComparer.OrdinalIgnoreCase)
    {
        ["CreationTime"] = (d => d.CreationTime, "System.DateTimeOffset"),
        ["Kitchen"] = (d => d.Kitchen, "System.String"),
        ["Chef"] = (d => d.Chef, "System.String"),
        // The driver's name: JSON and CSV readers want "Packet", not the enum's number.
        ["Driver"] = (d => d.Driver.ToString(), "System.String"),
        ["Payload"] = (d => PayloadConverter.GetPayload(d), "System.Management.Automation.PSObject"),
        ["EpochSeconds"] = (d => d.EpochSeconds, "System.Double"),
        ["Json"] = (d => d.Json, "System.String"),
        ["PayloadJson"] = (d => d.PayloadJson, "System.String"),
        ["PayloadElement"] = (d => d.PayloadElement, "System.Text.Json.JsonElement"),
        ["Utf8Json"] = (d => d.Utf8Json, "System.ReadOnlyMemory`1[System.Byte]"),
        ["PayloadUtf8Json"] = (d => d.PayloadUtf8Json, "System.ReadOnlyMemory`1[System.Byte]"),
    };

    public override Collection<string> GetTypeNameHierarchy(object baseObject) => ["NetDumplings.Dumpling", "System.Object"];

    public override Collection<PSAdaptedProperty> GetProperties(object baseObject) =>
        new(s_listed.Select(name => new PSAdaptedProperty(name, null)).ToList());

    public override PSAdaptedProperty? GetProperty(object baseObject, string propertyName) =>
        s_properties.ContainsKey(propertyName) ? new PSAdaptedProperty(s_properties.Keys.First(k => k.Equals(propertyName, StringComparison.OrdinalIgnoreCase)), null) : null;

    public override bool IsGettable(PSAdaptedProperty adaptedProperty) => true;

    public override bool IsSettable(PSAdaptedProperty adaptedProperty) => false;

    public override object? GetPropertyValue(PSAdaptedProperty adaptedProperty) =>
        s_properties[adaptedProperty.Name].Get((Dumpling)adaptedProperty.BaseObject);

    public override void SetPropertyValue(PSAdaptedProperty adaptedProperty, object value) =>
        throw new SetValueException($"A dumpling's {adaptedProperty.Name} cannot be changed: dumplings are kept as the bytes the kitchen sent.");

    public override string GetPropertyTypeName(PSAdaptedProperty adaptedProperty) => s_properties[adaptedProperty.Name].Type;
}
