using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML.Clip.Tokenization;

namespace Microsoft.ML.Clip.Models;

/// <summary>How a <see cref="FrozenTextEncoder"/> turns the token states of its ONNX graph into one feature vector per text.</summary>
public enum FrozenTextPooling
{
    /// <summary>The mean of the last hidden state over the text's tokens (the attention mask), padding excluded:
    /// sentence-transformers' <c>pooling_mode_mean_tokens</c>, what all-MiniLM-L6-v2 was trained with.</summary>
    Mean = 0,

    /// <summary>The last hidden state of the first token, <c>[CLS]</c>.</summary>
    Cls = 1,

    /// <summary>A pooled output the graph computes itself ([batch, H]), taken as it is.</summary>
    Pooled = 2,
}

/// <summary>
/// The settings of a BERT-family text encoder: its tokenizer (lower-casing, maximum length) and how its output becomes
/// one vector (pooling, L2 normalisation). A folder given to <see cref="FrozenTextEncoder.FromFolder"/> may hold them as
/// <c>text_encoder.json</c>; without it, the defaults are all-MiniLM-L6-v2's (sentence-transformers' settings for it).
/// </summary>
/// <example>
/// <c>text_encoder.json</c> of a cased BERT whose graph pools itself:
/// <code>{ "model": "bert.onnx", "lowercase": false, "max_length": 512, "pooling": "pooled", "output": "pooler_output", "normalize": false }</code>
/// </example>
public sealed record FrozenTextEncoderSettings
{
    /// <summary>The settings file in an encoder folder.</summary>
    public const string FileName = "text_encoder.json";

    /// <summary>The ONNX graph's default file name in an encoder folder.</summary>
    public const string DefaultModelFile = "model.onnx";

    /// <summary>The vocabulary's file name in an encoder folder (and in an exported model folder).</summary>
    public const string VocabularyFile = "vocab.txt";

    /// <summary>all-MiniLM-L6-v2's settings: uncased, 256 tokens, mean pooling, L2-normalised.</summary>
    public static FrozenTextEncoderSettings MiniLm { get; } = new();

    /// <summary>The ONNX file in the folder (JSON <c>model</c>). Default: <c>model.onnx</c>.</summary>
    public string ModelFile { get; init; } = DefaultModelFile;

    /// <summary>Lower-case and strip accents before WordPiece (an uncased model; JSON <c>lowercase</c>). Default: true.</summary>
    public bool Lowercase { get; init; } = DefaultLowercase;

    /// <summary>
    /// Token ids per text including <c>[CLS]</c> and <c>[SEP]</c> (JSON <c>max_length</c>); longer texts keep their first
    /// pieces and <c>[SEP]</c>. Default: 256, sentence-transformers' <c>max_seq_length</c> of all-MiniLM-L6-v2 (its graph
    /// has 512 positions, it was tuned on 128).
    /// </summary>
    public int MaxLength { get; init; } = 256;

    /// <summary>How token states become one vector (JSON <c>pooling</c>: <c>mean</c>, <c>cls</c> or <c>pooled</c>). Default: mean.</summary>
    public FrozenTextPooling Pooling { get; init; } = FrozenTextPooling.Mean;

    /// <summary>
    /// The graph output to pool (JSON <c>output</c>); null: <c>last_hidden_state</c> or the only float [batch, sequence, H]
    /// output for mean and CLS pooling, the only float [batch, H] output for <see cref="FrozenTextPooling.Pooled"/>.
    /// </summary>
    public string? OutputName { get; init; }

    /// <summary>Scale each vector to unit L2 norm (sentence-transformers' <c>Normalize</c>; JSON <c>normalize</c>). Default: true.</summary>
    public bool Normalize { get; init; } = true;

    /// <summary>The default of <see cref="Lowercase"/>, also what an exported model's <c>clip_model.json</c> means when its
    /// WordPiece tokenizer has no <c>lowercase</c>.</summary>
    internal const bool DefaultLowercase = true;

    // The JSON fields, in the order they are written (a saved model's header has them so: its bytes must not move).
    private const string ModelField = "model", LowercaseField = "lowercase", MaxLengthField = "max_length",
        PoolingField = "pooling", OutputField = "output", NormalizeField = "normalize";

    private static readonly string[] Fields = [ModelField, LowercaseField, MaxLengthField, PoolingField, OutputField, NormalizeField];

    // The one mapping between the enum and its JSON names.
    private static readonly (FrozenTextPooling Value, string Name)[] Poolings =
        [(FrozenTextPooling.Mean, "mean"), (FrozenTextPooling.Cls, "cls"), (FrozenTextPooling.Pooled, "pooled")];

    private static readonly string PoolingNames =
        string.Join(", ", Poolings[..^1].Select(p => $"'{p.Name}'")) + $" or '{Poolings[^1].Name}'";

    /// <summary>The JSON name of <paramref name="pooling"/> (<c>mean</c> for a value that is not defined).</summary>
    internal static string PoolingName(FrozenTextPooling pooling) =>
        Array.Find(Poolings, p => p.Value == pooling).Name ?? Poolings[0].Name;

    /// <summary>Reads <c>text_encoder.json</c> (<see cref="FromJson"/>); every field is optional.</summary>
    /// <exception cref="InvalidDataException">The file is not such JSON, or a value is unknown or out of range (the message names the file and the field).</exception>
    internal static FrozenTextEncoderSettings Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        JsonObject root;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new InvalidDataException($"'{path}' is not a JSON object.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{path}' is not valid JSON: {e.Message}", e);
        }
        return FromJson(root, path);
    }

    /// <summary>
    /// The settings' JSON form, shared by <c>text_encoder.json</c> and a saved model's header (<c>text_encoder_settings</c>,
    /// see <c>ClipPackageTextEncoder</c>), so that both have the same field names and defaults. Every field but
    /// <c>model</c> is always written (<c>output</c> as null when unset), in the order saved models have always had them.
    /// </summary>
    /// <param name="withModelFile">Whether to write <c>model</c>: a saved model carries the graph itself, not a file name.</param>
    internal JsonObject ToJson(bool withModelFile)
    {
        var json = new JsonObject();
        if (withModelFile) json[ModelField] = ModelFile;
        json[LowercaseField] = Lowercase;
        json[MaxLengthField] = MaxLength;
        json[PoolingField] = PoolingName(Pooling);
        json[OutputField] = OutputName;
        json[NormalizeField] = Normalize;
        return json;
    }

    /// <summary>
    /// Reads the JSON form (<see cref="ToJson"/>) and <see cref="Validate"/>s it: an absent (or null) field takes its
    /// default, an unknown field is refused (a newer writer's setting must not be silently dropped).
    /// </summary>
    /// <param name="json">The settings object.</param>
    /// <param name="origin">The file it was read from, named in messages.</param>
    /// <param name="fieldPrefix">What messages put before a field's name, to say where the object is in its file (a saved
    /// model's header: <c>text_encoder_settings.</c>).</param>
    /// <exception cref="InvalidDataException">A field is unknown, of the wrong type or out of range (the message names <paramref name="origin"/> and the field).</exception>
    internal static FrozenTextEncoderSettings FromJson(JsonObject json, string origin, string fieldPrefix = "")
    {
        ArgumentNullException.ThrowIfNull(json);
        if (json.Select(p => p.Key).FirstOrDefault(k => !Fields.Contains(k)) is { } unknown)
            throw new InvalidDataException($"'{origin}': unknown field '{fieldPrefix}{unknown}' (known: {string.Join(", ", Fields)}).");
        T Get<T>(string field, T fallback, string expected) => json[field] switch
        {
            null => fallback,
            JsonValue value when value.TryGetValue<T>(out var result) => result,
            var node => throw Invalid(origin, fieldPrefix + field, $"must be {expected}, got {node.ToJsonString()}"),
        };
        // An absent field takes the value of the defaults (the properties' initial values, all-MiniLM-L6-v2's).
        var defaults = MiniLm;
        var poolingName = Get(PoolingField, PoolingName(defaults.Pooling), "a string");
        var pooling = Array.FindIndex(Poolings, p => p.Name == poolingName);
        if (pooling < 0)
            throw Invalid(origin, fieldPrefix + PoolingField, $"must be {PoolingNames}, got '{poolingName}'");
        var settings = new FrozenTextEncoderSettings
        {
            ModelFile = Get(ModelField, defaults.ModelFile, "a string"),
            Lowercase = Get(LowercaseField, defaults.Lowercase, "true or false"),
            MaxLength = Get(MaxLengthField, defaults.MaxLength, "an integer"),
            Pooling = Poolings[pooling].Value,
            OutputName = Get(OutputField, defaults.OutputName, "a string"),
            Normalize = Get(NormalizeField, defaults.Normalize, "true or false"),
        };
        settings.Validate(origin, fieldPrefix);
        return settings;
    }

    /// <summary>Checks the values, whoever made them; <paramref name="origin"/> and <paramref name="fieldPrefix"/> (see
    /// <see cref="FromJson"/>) name the file and the field in the message.</summary>
    /// <exception cref="InvalidDataException">A value is out of range.</exception>
    internal void Validate(string origin, string fieldPrefix = "")
    {
        // The upper bound is clip_model.json's for context_length, which an exported model records this as.
        if (MaxLength < 2 || MaxLength > ClipModelInfo.MaxContextLength)
            throw Invalid(origin, fieldPrefix + MaxLengthField,
                $"must be in 2..{ClipModelInfo.MaxContextLength.ToString(CultureInfo.InvariantCulture)} ([CLS] and [SEP] at least), got {MaxLength.ToString(CultureInfo.InvariantCulture)}");
        if (string.IsNullOrEmpty(ModelFile) || !ClipModelInfo.IsPlainFileName(ModelFile))
            throw Invalid(origin, fieldPrefix + ModelField, $"must be a file name inside the encoder folder, got '{ModelFile}'");
        if (!Enum.IsDefined(Pooling))
            throw Invalid(origin, fieldPrefix + PoolingField, $"must be {PoolingNames}, got {((int)Pooling).ToString(CultureInfo.InvariantCulture)}");
    }

    private static InvalidDataException Invalid(string origin, string field, string problem) => new($"'{origin}': field '{field}' {problem}.");

    /// <summary>
    /// The tokenizer part of an exported model's <c>clip_model.json</c> for an encoder with these settings over
    /// <paramref name="vocabulary"/>: WordPiece over <c>vocab.txt</c>, <see cref="Lowercase"/> as <c>lowercase</c> and
    /// <see cref="MaxLength"/> as <c>context_length</c>. Pooling, output and normalisation are not recorded there: they are
    /// part of the exported graph.
    /// </summary>
    /// <param name="vocabulary">The encoder's <c>vocab.txt</c>.</param>
    /// <param name="name">The encoder's name, for messages.</param>
    /// <exception cref="InvalidDataException">The vocabulary cannot be read.</exception>
    internal ClipTokenizerInfo ToTokenizerInfo(byte[] vocabulary, string name)
    {
        var vocabSize = BertWordPieceTokenizer.FromVocabulary(vocabulary, Lowercase, $"{name} ({VocabularyFile})").VocabularySize;
        return ClipTokenizerSpec.Describe(ClipTokenizerSpec.WordPiece, vocabulary, VocabularyFile, MaxLength, vocabSize, Lowercase);
    }

    /// <summary>The settings as the text that identifies them (part of the encoder's id).</summary>
    internal string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"lowercase={Lowercase}|max_length={MaxLength}|pooling={PoolingName(Pooling)}|output={OutputName}|normalize={Normalize}");
}
