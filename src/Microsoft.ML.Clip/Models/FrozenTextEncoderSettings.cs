using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

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
    public bool Lowercase { get; init; } = true;

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

    /// <summary>The JSON name of <paramref name="pooling"/>.</summary>
    internal static string PoolingName(FrozenTextPooling pooling) => pooling switch
    {
        FrozenTextPooling.Cls => "cls",
        FrozenTextPooling.Pooled => "pooled",
        _ => "mean",
    };

    /// <summary>Reads <c>text_encoder.json</c>; every field is optional.</summary>
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
        var known = new HashSet<string>(StringComparer.Ordinal) { "model", "lowercase", "max_length", "pooling", "output", "normalize" };
        if (root.Select(p => p.Key).FirstOrDefault(k => !known.Contains(k)) is { } unknown)
            throw new InvalidDataException($"'{path}': unknown field '{unknown}' (known: {string.Join(", ", known)}).");
        T Get<T>(string name, T fallback)
        {
            try
            {
                return root[name] is { } node ? node.GetValue<T>() : fallback;
            }
            catch (Exception e) when (e is InvalidOperationException or FormatException)
            {
                throw new InvalidDataException($"'{path}': '{name}' is not a {typeof(T).Name.ToLowerInvariant()}.", e);
            }
        }
        var pooling = Get("pooling", "mean") switch
        {
            "mean" => FrozenTextPooling.Mean,
            "cls" => FrozenTextPooling.Cls,
            "pooled" => FrozenTextPooling.Pooled,
            var other => throw new InvalidDataException($"'{path}': unknown pooling '{other}' (expected mean, cls or pooled)."),
        };
        var settings = new FrozenTextEncoderSettings
        {
            ModelFile = Get("model", DefaultModelFile),
            Lowercase = Get("lowercase", true),
            MaxLength = Get("max_length", 256),
            Pooling = pooling,
            OutputName = Get<string?>("output", null),
            Normalize = Get("normalize", true),
        };
        settings.Validate(path);
        return settings;
    }

    /// <summary>Checks the values; <paramref name="origin"/> names the file in the message.</summary>
    /// <exception cref="InvalidDataException">A value is out of range.</exception>
    internal void Validate(string origin)
    {
        if (MaxLength < 2)
            throw new InvalidDataException($"'{origin}': max_length must be at least 2 ([CLS] and [SEP]), got {MaxLength.ToString(CultureInfo.InvariantCulture)}.");
        if (string.IsNullOrEmpty(ModelFile) || ModelFile != Path.GetFileName(ModelFile))
            throw new InvalidDataException($"'{origin}': model must be a file name inside the encoder folder, got '{ModelFile}'.");
        if (!Enum.IsDefined(Pooling))
            throw new InvalidDataException($"'{origin}': unknown pooling {(int)Pooling}.");
    }

    /// <summary>The settings as the text that identifies them (part of the encoder's id).</summary>
    internal string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"lowercase={Lowercase}|max_length={MaxLength}|pooling={PoolingName(Pooling)}|output={OutputName}|normalize={Normalize}");
}
