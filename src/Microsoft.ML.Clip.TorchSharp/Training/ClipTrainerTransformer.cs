using System.Text.Json.Nodes;
using Microsoft.ML.Clip.Imaging;
using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.TorchSharp.Checkpoints;
using Microsoft.ML.Clip.TorchSharp.Export;
using Microsoft.ML.Clip.TorchSharp.Modeling;
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
    private readonly ClipTorchModel _model;
    private readonly Func<IReadOnlyList<string>, int, long[]> _tokenize;
    private readonly object _sync = new();

    internal ClipTrainerTransformer(ClipTorchModel model, float? logitBias, ClipLossKind loss, string imageColumnName, string textColumnName,
        string imageEmbeddingColumnName, string textEmbeddingColumnName, Func<IReadOnlyList<string>, int, long[]>? tokenize)
    {
        _model = model;
        _model.eval();
        LogitBias = logitBias;
        Loss = loss;
        ImageColumnName = imageColumnName;
        TextColumnName = textColumnName;
        ImageEmbeddingColumnName = imageEmbeddingColumnName;
        TextEmbeddingColumnName = textEmbeddingColumnName;
        _tokenize = tokenize ?? ClipTrainingSession.DefaultTokenize;
        Preprocessor = new ClipImagePreprocessor(ClipPreprocessSettings.OpenAI(model.Config.ImageResolution));
    }

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

    /// <summary>The image preprocessing (OpenAI preset at the model's resolution).</summary>
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
        return new ClipEmbeddingDataView(this, input, GetOutputSchema(input.Schema), image, text);
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
        lock (_sync)
        {
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            var images = tensor(pixels, [count, 3, r, r]).to(_model.LogitScale.device);
            return Normalize(_model.EncodeImage(images));
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
            return Normalize(_model.EncodeText(tokens));
        }
    }

    /// <summary>
    /// Writes the model as <c>image.onnx</c>, <c>text.onnx</c> and <c>clip_model.json</c> into <paramref name="folder"/>
    /// (the inference currency: the ONNX embedders and <c>clip</c> commands load it).
    /// </summary>
    public ClipModelInfo ExportOnnx(string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        lock (_sync)
        {
            var state = _model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().cpu());
            try
            {
                return ClipOnnxExporter.Export(Config, state, LogitScale, folder, "Microsoft.ML.Clip ClipTrainer");
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
        lock (_sync) ClipPackageFile.Write(stream, header, _model.state_dict().Select(kv => (kv.Key, kv.Value)));
    }

    /// <summary>Saves to a file (see <see cref="Save(Stream)"/>), through a temporary file and a rename so that a
    /// failed save never leaves a truncated model in place of an earlier one.</summary>
    public void Save(string path) => AtomicFile.Write(path, Save);

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
            if ((string?)header["kind"] != ModelKind)
                throw new InvalidDataException($"{source} is a {(string?)header["kind"]}, not a trained model (resume a checkpoint with ClipTrainerOptions.ResumeFrom).");
            var model = new ClipTorchModel(ClipConfigJson.Parse((string)header["config"]!, source));
            try
            {
                model.LoadStateDict(tensors, source);
                var loss = Enum.Parse<ClipLossKind>((string)header["loss"]!);
                return new ClipTrainerTransformer(model, (float?)header["logit_bias"], loss,
                    (string)header["image_column"]!, (string)header["text_column"]!,
                    (string)header["image_embedding_column"]!, (string)header["text_embedding_column"]!, tokenize);
            }
            catch
            {
                model.Dispose();
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

    /// <summary>Releases the TorchSharp model.</summary>
    public void Dispose() => _model.Dispose();

    private (DataViewSchema.Column? Image, DataViewSchema.Column? Text) FindInputs(DataViewSchema schema)
    {
        var image = schema.GetColumnOrNull(ImageColumnName) is null ? (DataViewSchema.Column?)null : ClipImageColumn.Find(schema, ImageColumnName);
        var text = schema.GetColumnOrNull(TextColumnName) is null ? (DataViewSchema.Column?)null : ClipImageColumn.FindText(schema, TextColumnName);
        if (image is null && text is null)
            throw new ArgumentOutOfRangeException("inputSchema", $"Could not find input column '{ImageColumnName}' (or text column '{TextColumnName}')");
        return (image, text);
    }

    private static float[] Normalize(Tensor features) =>
        features.div(features.norm(1, keepdim: true)).cpu().contiguous().data<float>().ToArray();

}
