using System.Text.Json;
using System.Text.Json.Nodes;

namespace Microsoft.ML.Clip.Checkpoints;

/// <summary>
/// Reading of the JSON config files this library takes (<c>clip_config.json</c>, Hugging Face <c>config.json</c> and
/// safetensors indexes): one place for "not JSON", "not an object" and "a field of the wrong type", each naming the file.
/// </summary>
internal static class ConfigJson
{
    /// <summary>Parses <paramref name="json"/> as a JSON object; <paramref name="origin"/> names the file in messages.</summary>
    /// <exception cref="InvalidDataException">Not valid JSON, or not an object.</exception>
    public static JsonObject ParseObject(string json, string origin)
    {
        try
        {
            return JsonNode.Parse(json) as JsonObject ?? throw new InvalidDataException($"'{origin}' is not a JSON object.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{origin}' is not valid JSON: {e.Message}", e);
        }
    }

    /// <summary>
    /// The value of <paramref name="field"/> in <paramref name="section"/> (named <paramref name="sectionName"/> in messages),
    /// or <paramref name="fallback"/> when the field is absent.
    /// </summary>
    /// <exception cref="InvalidDataException">The field has another JSON type than <typeparamref name="T"/>.</exception>
    public static T Get<T>(JsonObject section, string sectionName, string field, T fallback, string origin)
    {
        var node = section[field];
        if (node is null) return fallback;
        try
        {
            return node.GetValue<T>();
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException)
        {
            throw new InvalidDataException($"'{origin}': {sectionName}.{field} has the wrong type (expected {typeof(T).Name}).", e);
        }
    }
}
