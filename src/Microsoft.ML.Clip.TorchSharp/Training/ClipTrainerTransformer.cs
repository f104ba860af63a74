using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.Imaging;
using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.Tokenization;
using Microsoft.ML.Clip.TorchSharp.Modules;
using Microsoft.ML.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Clip.TorchSharp.Training;

/// <summary>
/// A CLIP model trained by <see cref="ClipTrainerEstimator"/>: adds L2-normalised image and text embedding columns
/// (float vectors of <see cref="ClipConfig.EmbedDim"/>) for whichever of its input columns the data has.
/// </summary>
/// <remarks>
/// Persist it with <see cref="Save(Stream)"/> / <see cref="Load(MLContext, Stream)"/> (this package's format: a JSON
/// header with a format version and the weights): ML.NET's <c>mlContext.Model.Save</c> cannot store TorchSharp weights.
/// For inference, <see cref="ExportOnnx"/> writes the ONNX encoders the inference components run.
/// Rows are embedded one at a time through TorchSharp; it is not a row-to-row mapper (no <c>PredictionEngine</c>).
/// </remarks>
public sealed partial class ClipTrainerTransformer : ITransformer, IDisposable
{
    /// <summary>Name under which a saved locked-image model carries its frozen encoder's ONNX graph (bytes).</summary>
    internal const string ImageEncoderTensorName = ClipPackageFile.ImageEncoderTensorName;

    private readonly ClipTorchModel _model;
    private readonly Func<IReadOnlyList<string>, int, long[]> _tokenize;
    private readonly object _sync = new();

    internal ClipTrainerTransformer(ClipTorchModel model, float? logitBias, ClipLossKind loss, string imageColumnName, string textColumnName,
        string imageEmbeddingColumnName, string textEmbeddingColumnName, Func<IReadOnlyList<string>, int, long[]>? tokenize,
        FrozenImageEncoder? imageEncoder = null, FrozenTextEncoder? textEncoder = null, ClipModelFactory.ModelInputs? inputs = null)
    {
        if (model.Config.IsImageFeatureProjection != imageEncoder is not null)
            throw new ArgumentException("A locked-image model needs its frozen image encoder, and only such a model takes one.", nameof(imageEncoder));
        if (model.Config.IsTextFeatureProjection != textEncoder is not null)
            throw new ArgumentException("A locked-text model needs its frozen text encoder, and only such a model takes one.", nameof(textEncoder));
        _model = model;
        ImageEncoder = imageEncoder;
        TextEncoder = textEncoder;
        _model.eval();
        LogitBias = logitBias;
        Loss = loss;
        ImageColumnName = imageColumnName;
        TextColumnName = textColumnName;
        ImageEmbeddingColumnName = imageEmbeddingColumnName;
        TextEmbeddingColumnName = textEmbeddingColumnName;
        Inputs = inputs ?? ClipModelFactory.ModelInputs.Clip;
        _tokenize = tokenize ?? TokenizeWith(Inputs.Tokenizer);
        Preprocessor = new ClipImagePreprocessor(imageEncoder?.Preprocess ?? Inputs.Preprocess ?? ClipPreprocessSettings.OpenAI(model.Config.ImageResolution));
    }

    /// <summary>The tokenization of training and inference alike: CLIP's tokenizer with truncation to the context.</summary>
    internal static Func<IReadOnlyList<string>, int, long[]> DefaultTokenize { get; } =
        (texts, contextLength) => ClipTokenizer.Default.EncodeBatch(texts, contextLength, ClipTruncation.Truncate);

    /// <summary>Tokenization with <paramref name="tokenizer"/> (null: CLIP's BPE, <see cref="DefaultTokenize"/>), cutting long texts.</summary>
    internal static Func<IReadOnlyList<string>, int, long[]> TokenizeWith(CheckpointTokenizer? tokenizer)
    {
        if (tokenizer is null || tokenizer.Kind == ClipTokenizerSpec.ClipBpe)
            return DefaultTokenize;
        var encode = tokenizer.CreateEncoder();
        return (texts, contextLength) =>
        {
            var ids = new long[texts.Count * contextLength];
            for (var i = 0; i < texts.Count; i++)
                encode(texts[i] ?? "", ids.AsSpan(i * contextLength, contextLength), ClipTruncation.Truncate);
            return ids;
        };
    }

    /// <summary>The model's tokenizer (null: CLIP's BPE) and image preprocessing (null: openai/CLIP's), as trained.</summary>
    internal ClipModelFactory.ModelInputs Inputs { get; }

    /// <summary>The frozen image encoder of a locked-image (LiT) model; null when the model has its own image tower.</summary>
    public FrozenImageEncoder? ImageEncoder { get; }

    /// <summary>The frozen text encoder of a locked-text model (e.g. MiniLM); null when the model has its own text tower.</summary>
    public FrozenTextEncoder? TextEncoder { get; }

    /// <summary>The architecture.</summary>
    public ClipConfig Config => _model.Config;

    /// <summary>The learned log temperature (logits are scaled by its exponential, at most 100).</summary>
    public float LogitScale => _model.LogitScale.item<float>();

    /// <summary>The learned bias of the sigmoid loss; null when trained with InfoNCE.</summary>
    public float? LogitBias { get; }

    /// <summary>The loss the model was trained with.</summary>
    public ClipLossKind Loss { get; }

    /// <summary>Input column of images (<see cref="MLImage"/>, encoded bytes or a path).</summary>
    public string ImageColumnName { get; }

    /// <summary>Input column of texts.</summary>
    public string TextColumnName { get; }

    /// <summary>Output column of the image embeddings.</summary>
    public string ImageEmbeddingColumnName { get; }

    /// <summary>Output column of the text embeddings.</summary>
    public string TextEmbeddingColumnName { get; }

    /// <summary>The image preprocessing (OpenAI preset at the model's resolution, a SigLIP's own, or the frozen image encoder's).</summary>
    public ClipImagePreprocessor Preprocessor { get; }

    /// <summary>The TorchSharp model (on the device it was trained on, in eval mode).</summary>
    public ClipTorchModel Model => _model;

    /// <inheritdoc/>
    public bool IsRowToRowMapper => false;

    /// <inheritdoc/>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        var (image, text) = FindInputs(inputSchema);
        var builder = new DataViewSchema.Builder();
        builder.AddColumns(inputSchema);
        var type = new VectorDataViewType(NumberDataViewType.Single, Config.EmbedDim);
        if (image is not null) builder.AddColumn(ImageEmbeddingColumnName, type);
        if (text is not null) builder.AddColumn(TextEmbeddingColumnName, type);
        return builder.ToSchema();
    }

    /// <inheritdoc/>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) =>
        throw new NotSupportedException("ClipTrainerTransformer is not a row-to-row mapper; export it with ExportOnnx and use the ONNX embedders for PredictionEngine.");

    /// <inheritdoc/>
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var (image, text) = FindInputs(input.Schema);
        return new ClipTrainerEmbeddingDataView(this, input, GetOutputSchema(input.Schema), image, text);
    }

    /// <summary>The L2-normalised embedding of an encoded image (PNG, JPEG, ...).</summary>
    public float[] EmbedImage(ReadOnlySpan<byte> encodedImage, string? sourceName = null)
    {
        var pixels = Preprocessor.Preprocess(encodedImage, sourceName);
        return EmbedImages(pixels, 1);
    }

    /// <summary>The L2-normalised embedding of <paramref name="text"/> (truncated to the context).</summary>
    public float[] EmbedText(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return EmbedTexts([text]);
    }

    /// <summary>L2-normalised embeddings [count × EmbedDim] of preprocessed images [count, 3, R, R] (row-major).</summary>
    internal float[] EmbedImages(float[] pixels, int count)
    {
        var r = Config.ImageResolution;
        // A locked-image model's tower starts outside TorchSharp: the frozen encoder gives the features it projects.
        var features = ImageEncoder?.Featurize(pixels, count);
        lock (_sync)
        {
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            var images = (features is null ? tensor(pixels, [count, 3, r, r]) : tensor(features, [count, ImageEncoder!.FeatureSize])).to(_model.LogitScale.device);
            return ToArray(ClipTorchModel.Normalize(_model.EncodeImage(images)));
        }
    }

    /// <summary>L2-normalised embeddings [texts.Count × EmbedDim].</summary>
    internal float[] EmbedTexts(IReadOnlyList<string> texts)
    {
        if (TextEncoder is { } encoder)
        {
            // A locked-text model's tower starts outside TorchSharp: the frozen encoder gives the features its head maps.
            var features = new float[texts.Count * encoder.FeatureSize];
            encoder.Featurize(texts, features);
            lock (_sync)
            {
                using var featureScope = NewDisposeScope();
                using var noGrad = no_grad();
                var input = tensor(features, [texts.Count, encoder.FeatureSize]).to(_model.LogitScale.device);
                return ToArray(ClipTorchModel.Normalize(_model.EncodeText(input)));
            }
        }
        var context = Config.ContextLength;
        var ids = _tokenize(texts, context);
        lock (_sync)
        {
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            var tokens = tensor(ids, [texts.Count, context]).to(_model.LogitScale.device);
            return ToArray(ClipTorchModel.Normalize(_model.EncodeText(tokens)));
        }
    }

    /// <summary>Releases the TorchSharp model (and the frozen encoders' ONNX Runtime sessions).</summary>
    public void Dispose()
    {
        _model.Dispose();
        ImageEncoder?.Dispose();
        TextEncoder?.Dispose();
    }

    private (DataViewSchema.Column? Image, DataViewSchema.Column? Text) FindInputs(DataViewSchema schema)
    {
        var image = schema.GetColumnOrNull(ImageColumnName) is null ? (DataViewSchema.Column?)null : ClipImageColumn.Find(schema, ImageColumnName);
        var text = schema.GetColumnOrNull(TextColumnName) is null ? (DataViewSchema.Column?)null : ClipImageColumn.FindText(schema, TextColumnName);
        if (image is null && text is null)
            throw new ArgumentOutOfRangeException("inputSchema", $"Could not find input column '{ImageColumnName}' (or text column '{TextColumnName}')");
        return (image, text);
    }

    private static float[] ToArray(Tensor features) => features.cpu().contiguous().data<float>().ToArray();
}
