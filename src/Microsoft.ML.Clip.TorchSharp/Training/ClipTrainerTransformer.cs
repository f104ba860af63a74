using System.Text.Json.Nodes;
using Microsoft.ML.Clip.Imaging;
using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.Tokenization;
using Microsoft.ML.Clip.TorchSharp.Checkpoints;
using Microsoft.ML.Clip.TorchSharp.Export;
using Microsoft.ML.Clip.TorchSharp.Modeling;
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
public sealed class ClipTrainerTransformer : ITransformer, IDisposable
{
    private const string ModelKind = "model";

    /// <summary>Name under which a saved locked-image model carries its frozen encoder's ONNX graph (bytes).</summary>
    internal const string ImageEncoderTensorName = "image_encoder.onnx";

    private readonly ClipTorchModel _model;
    private readonly Func<IReadOnlyList<string>, int, long[]> _tokenize;
    private readonly object _sync = new();

    internal ClipTrainerTransformer(ClipTorchModel model, float? logitBias, ClipLossKind loss, string imageColumnName, string textColumnName,
        string imageEmbeddingColumnName, string textEmbeddingColumnName, Func<IReadOnlyList<string>, int, long[]>? tokenize,
        FrozenImageEncoder? imageEncoder = null)
    {
        if (model.Config.IsImageFeatureProjection != imageEncoder is not null)
            throw new ArgumentException("A locked-image model needs its frozen image encoder, and only such a model takes one.", nameof(imageEncoder));
        _model = model;
        ImageEncoder = imageEncoder;
        _model.eval();
        LogitBias = logitBias;
        Loss = loss;
        ImageColumnName = imageColumnName;
        TextColumnName = textColumnName;
        ImageEmbeddingColumnName = imageEmbeddingColumnName;
        TextEmbeddingColumnName = textEmbeddingColumnName;
        _tokenize = tokenize ?? DefaultTokenize;
        Preprocessor = new ClipImagePreprocessor(imageEncoder?.Preprocess ?? ClipPreprocessSettings.OpenAI(model.Config.ImageResolution));
    }

    /// <summary>The tokenization of training and inference alike: CLIP's tokenizer with truncation to the context.</summary>
    internal static Func<IReadOnlyList<string>, int, long[]> DefaultTokenize { get; } =
        (texts, contextLength) => ClipTokenizer.Default.EncodeBatch(texts, contextLength, ClipTruncation.Truncate);

    /// <summary>The frozen image encoder of a locked-image (LiT) model; null when the model has its own image tower.</summary>
    public FrozenImageEncoder? ImageEncoder { get; }

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

    /// <summary>The image preprocessing (OpenAI preset at the model's resolution, or the frozen image encoder's).</summary>
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

    /// <summary>
    /// Writes the model as <c>image.onnx</c>, <c>text.onnx</c> and <c>clip_model.json</c> into <paramref name="folder"/>
    /// (the inference currency: the ONNX embedders and <c>clip</c> commands load it).
    /// </summary>
    /// <param name="folder">The folder to write (created when missing).</param>
    /// <param name="weightsAsFloat16">Store the weight matrices as float16 (see <see cref="ClipOnnxExportOptions.WeightsAsFloat16"/>;
    /// trained weights are float32, so they are rounded).</param>
    public ClipModelInfo ExportOnnx(string folder, bool weightsAsFloat16 = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        lock (_sync)
        {
            var state = _model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().cpu());
            try
            {
                return ClipOnnxExporter.Export(Config, state, LogitScale, folder, "Microsoft.ML.Clip ClipTrainer",
                    new ClipOnnxExportOptions { ImageEncoder = ImageEncoder, WeightsAsFloat16 = weightsAsFloat16 });
            }
            finally
            {
                foreach (var t in state.Values) t.Dispose();
            }
        }
    }

    /// <summary>
    /// Saves the model in this package's format: magic, format version, a JSON header (config, temperature, bias,
    /// loss, column names) and the weights (OpenAI state-dict names, float32).
    /// </summary>
    public void Save(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var header = new JsonObject
        {
            ["kind"] = ModelKind,
            ["config"] = ClipConfigJson.Serialize(Config, indented: false),
            ["logit_scale"] = LogitScale,
            ["logit_bias"] = LogitBias,
            ["loss"] = Loss.ToString(),
            ["image_column"] = ImageColumnName,
            ["text_column"] = TextColumnName,
            ["image_embedding_column"] = ImageEmbeddingColumnName,
            ["text_embedding_column"] = TextEmbeddingColumnName,
        };
        var tensors = _model.state_dict().Select(kv => (kv.Key, kv.Value)).ToList();
        using var encoderGraph = ImageEncoder is null ? null : tensor(ImageEncoder.GraphBytes);
        if (ImageEncoder is not null)
        {
            // The frozen encoder travels inside the model file, so a saved LiT model loads and exports on its own.
            header[ClipPackageHeader.ImageEncoderNameKey] = ImageEncoder.Name;
            header[ClipPackageHeader.ImageEncoderIdKey] = ImageEncoder.Id;
            header["image_encoder_preprocess"] = new JsonObject
            {
                ["resolution"] = ImageEncoder.Preprocess.Resolution,
                ["resize_mode"] = ImageEncoder.Preprocess.ResizeMode.ToString(),
                ["mean"] = new JsonArray([.. ImageEncoder.Preprocess.Mean.Select(v => (JsonNode)v)]),
                ["std"] = new JsonArray([.. ImageEncoder.Preprocess.Std.Select(v => (JsonNode)v)]),
            };
            tensors.Add((ImageEncoderTensorName, encoderGraph!));
        }
        lock (_sync) ClipPackageFile.Write(stream, header, tensors);
    }

    /// <summary>Saves to a file (see <see cref="Save(Stream)"/>), through a temporary file and a rename so that a
    /// failed save never leaves a truncated model in place of an earlier one.</summary>
    public void Save(string path) => AtomicFile.Write(path, Save);

    /// <summary>Whether <paramref name="path"/> is a file in this package's model format (written by <see cref="Save(string)"/>).</summary>
    public static bool IsSavedModel(string path) =>
        File.Exists(path) && ClipPackageFile.IsPackageFile(path) && ClipPackageFile.ReadHeader(path).Kind == ModelKind;

    /// <summary>Loads a model written by <see cref="Save(Stream)"/> onto the CPU.</summary>
    /// <exception cref="InvalidDataException">The stream is not such a model, or is truncated.</exception>
    public static ClipTrainerTransformer Load(MLContext mlContext, Stream stream) => Load(mlContext, stream, "model stream");

    /// <summary>Loads a model file written by <see cref="Save(string)"/>.</summary>
    public static ClipTrainerTransformer Load(MLContext mlContext, string path)
    {
        using var stream = File.OpenRead(path);
        return Load(mlContext, stream, path);
    }

    internal static ClipTrainerTransformer Load(MLContext mlContext, Stream stream, string source, Func<IReadOnlyList<string>, int, long[]>? tokenize = null)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(stream);
        var (header, tensors) = ClipPackageFile.Read(stream, source);
        try
        {
            if (header.Kind != ModelKind)
                throw new InvalidDataException($"{source} is a {header.Kind ?? "file of no kind"}, not a trained model (resume a checkpoint with ClipTrainerOptions.ResumeFrom).");
            var model = new ClipTorchModel(header.Config);
            FrozenImageEncoder? encoder = null;
            try
            {
                encoder = ReadImageEncoder(header, tensors, source);
                model.LoadStateDict(tensors.Where(t => t.Key != ImageEncoderTensorName).ToDictionary(), source);
                return new ClipTrainerTransformer(model, header.OptionalSingle("logit_bias"), header.Enum<ClipLossKind>("loss"),
                    header.String("image_column"), header.String("text_column"),
                    header.String("image_embedding_column"), header.String("text_embedding_column"), tokenize, encoder);
            }
            catch
            {
                model.Dispose();
                encoder?.Dispose();
                throw;
            }
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    void ICanSaveModel.Save(ModelSaveContext ctx) => throw new NotSupportedException(
        "ML.NET cannot persist a TorchSharp CLIP model through mlContext.Model.Save. Use ClipTrainerTransformer.Save(Stream) / " +
        "ClipTrainerTransformer.Load(MLContext, Stream), or ExportOnnx(folder) and the ONNX embedders, which mlContext.Model.Save can store.");

    /// <summary>Releases the TorchSharp model (and the frozen image encoder's ONNX Runtime session).</summary>
    public void Dispose()
    {
        _model.Dispose();
        ImageEncoder?.Dispose();
    }

    private static FrozenImageEncoder? ReadImageEncoder(ClipPackageHeader header, Dictionary<string, Tensor> tensors, string source)
    {
        if (!tensors.TryGetValue(ImageEncoderTensorName, out var graph)) return null;
        var settings = header.OptionalObject("image_encoder_preprocess")
            ?? throw new InvalidDataException($"{source}: the frozen image encoder has no preprocessing in the header.");
        var preprocess = new ClipPreprocessSettings
        {
            Resolution = settings.Int32("resolution"),
            ResizeMode = settings.Enum<ClipResizeMode>("resize_mode"),
            Mean = settings.SingleArray("mean"),
            Std = settings.SingleArray("std"),
        };
        var encoder = FrozenImageEncoder.FromGraph(header.OptionalString(ClipPackageHeader.ImageEncoderNameKey) ?? "image encoder", graph.data<byte>().ToArray(), preprocess);
        if (encoder.Id != header.OptionalString(ClipPackageHeader.ImageEncoderIdKey))
        {
            encoder.Dispose();
            throw new InvalidDataException($"{source}: the frozen image encoder's graph does not match its recorded id (corrupt file).");
        }
        return encoder;
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
