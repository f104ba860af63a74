using System.Text.Json;
using System.Text.Json.Nodes;

namespace Microsoft.ML.Clip.Checkpoints;

/// <summary>
/// The JSON header of a <see cref="ClipPackageFile"/>, read field by field: a field that is missing or of the wrong
/// JSON type gives an <see cref="InvalidDataException"/> naming the file and the field, never a cast or null-reference
/// error from deep inside a load.
/// </summary>
// friend: used by Microsoft.ML.Clip.TorchSharp (Training reads its models' and checkpoints' headers)
internal sealed class ClipPackageHeader
{
    /// <summary>Field naming the frozen image encoder of a locked-image model or checkpoint (for messages).</summary>
    public const string ImageEncoderNameKey = "image_encoder";

    /// <summary>Field holding the frozen image encoder's identity (a hash of its graph and preprocessing).</summary>
    public const string ImageEncoderIdKey = "image_encoder_id";

    /// <summary>Field naming the frozen text encoder of a locked-text model or checkpoint (for messages).</summary>
    public const string TextEncoderNameKey = "text_encoder";

    /// <summary>Field holding the frozen text encoder's identity (a hash of its graph, vocabulary and settings).</summary>
    public const string TextEncoderIdKey = "text_encoder_id";

    private readonly JsonObject _json;

    private readonly string _prefix;

    public ClipPackageHeader(JsonObject json, string source) : this(json, source, "")
    {
    }

    private ClipPackageHeader(JsonObject json, string source, string prefix)
    {
        _json = json;
        Source = source;
        _prefix = prefix;
    }

    /// <summary>The file (or stream description) the header came from, for messages.</summary>
    public string Source { get; }

    /// <summary>Header field <c>kind</c>: "model" or "checkpoint"; null when absent.</summary>
    public string? Kind => OptionalString("kind");

    /// <summary>The model's <see cref="ClipConfig"/> (field <c>config</c>, itself a JSON text).</summary>
    public ClipConfig Config => ClipConfigJson.Parse(String("config"), Source);

    public string String(string key) => OptionalString(key) ?? throw Missing(key, "a string");

    public string? OptionalString(string key) => Value(key, "a string") is { } v ? Get<string>(v, key, "a string") : null;

    public int Int32(string key) => Get<int>(Value(key, "an integer") ?? throw Missing(key, "an integer"), key, "an integer");

    public long Int64(string key) => Get<long>(Value(key, "an integer") ?? throw Missing(key, "an integer"), key, "an integer");

    public float? OptionalSingle(string key) => Value(key, "a number") is { } v ? Get<float>(v, key, "a number") : null;

    public double? OptionalDouble(string key) => Value(key, "a number") is { } v ? Get<double>(v, key, "a number") : null;

    public bool? OptionalBoolean(string key) => Value(key, "true or false") is { } v ? Get<bool>(v, key, "true or false") : null;

    public TEnum Enum<TEnum>(string key) where TEnum : struct, System.Enum
    {
        var text = String(key);
        return System.Enum.TryParse<TEnum>(text, ignoreCase: false, out var value) && System.Enum.IsDefined(value)
            ? value
            : throw new InvalidDataException($"{Source}: header field '{_prefix}{key}' is '{text}', not one of {string.Join(", ", System.Enum.GetNames<TEnum>())}.");
    }

    /// <summary>A nested object, read with the same checks (its fields are named "outer.inner" in messages); null when absent.</summary>
    public ClipPackageHeader? OptionalObject(string key) => _json[key] switch
    {
        null => null,
        JsonObject inner => new ClipPackageHeader(inner, Source, _prefix + key + "."),
        _ => throw WrongType(key, "an object"),
    };

    /// <summary>A nested object as it is, for a reader with checks of its own (e.g. <c>FrozenTextEncoderSettings.FromJson</c>); null when absent.</summary>
    public JsonObject? OptionalJsonObject(string key) => _json[key] switch
    {
        null => null,
        JsonObject inner => inner,
        _ => throw WrongType(key, "an object"),
    };

    public float[] SingleArray(string key)
    {
        const string expected = "an array of numbers";
        if (_json[key] is not JsonArray array) throw _json[key] is null ? Missing(key, expected) : WrongType(key, expected);
        return [.. array.Select(n => n is JsonValue v ? Get<float>(v, key, expected) : throw WrongType(key, expected))];
    }

    // The field as a JSON value (string, number, bool); null when absent; an error when it is an object or array.
    private JsonValue? Value(string key, string expected) => _json[key] switch
    {
        null => null,
        JsonValue value => value,
        _ => throw WrongType(key, expected),
    };

    private T Get<T>(JsonValue value, string key, string expected)
    {
        try
        {
            return value.GetValue<T>();
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or OverflowException or JsonException)
        {
            throw WrongType(key, expected);
        }
    }

    private InvalidDataException Missing(string key, string expected) =>
        new($"{Source}: the header has no field '{_prefix}{key}' ({expected}); the file is corrupt or was not written by this library.");

    private InvalidDataException WrongType(string key, string expected) =>
        new($"{Source}: header field '{_prefix}{key}' is {Describe(_json[key])}, expected {expected}.");

    private static string Describe(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject => "an object",
        JsonArray => "an array",
        _ => node.ToJsonString(),
    };
}
