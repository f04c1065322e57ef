using System.Text.Json;

namespace NetDumplings.Protocol;

/// <summary>A kitchen's first message to the hub's in-port (PROTOCOL.md: kitchen -> hub).</summary>
public sealed record KitchenAnnouncement(string KitchenName)
{
    public string Interface { get; init; } = "none";
    public string Filter { get; init; } = "";
    public IReadOnlyList<string> Chefs { get; init; } = [];
    public double PokeInterval { get; init; }

    /// <summary>
    /// Extension: ask the hub to acknowledge what it has taken (<c>{"ack": n}</c>, n messages so far on
    /// this connection), so a sender can resend exactly what a lost connection did not deliver. An
    /// original hub ignores the key and sends nothing.
    /// </summary>
    public bool Acknowledge { get; init; }

    /// <summary>The announcement key that asks for acknowledgements, and the key of the hub's acknowledgement.</summary>
    public const string AcknowledgementKey = "ack";

    public byte[] ToUtf8Json()
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            writer.WriteString("kitchen_name", KitchenName);
            writer.WriteString("interface", Interface);
            writer.WriteString("filter", Filter);
            writer.WriteStartArray("chefs");
            foreach (var chef in Chefs) writer.WriteStringValue(chef);
            writer.WriteEndArray();
            writer.WriteNumber("poke_interval", PokeInterval);
            if (Acknowledge) writer.WriteBoolean(AcknowledgementKey, true);
            writer.WriteEndObject();
        }
        return stream.ToArray();
    }
}
