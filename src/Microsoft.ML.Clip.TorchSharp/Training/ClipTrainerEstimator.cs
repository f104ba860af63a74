using Microsoft.ML.Clip.Imaging;
using Microsoft.ML.Clip.Transforms;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Microsoft.ML.Transforms.Image;

namespace Microsoft.ML.Clip.TorchSharp.Training;

/// <summary>
/// Trains a CLIP model contrastively on (image, text) pairs of an <see cref="IDataView"/> and returns a
/// <see cref="ClipTrainerTransformer"/> that embeds images and texts. Create it with
/// <see cref="ClipTrainerCatalog.ClipTrainer(TransformsCatalog, string, string, ClipTrainerOptions?)"/>.
/// </summary>
/// <remarks>
/// Images: <see cref="MLImage"/>, encoded bytes (a byte vector) or a path (text); texts: text. Images get the
/// inference preprocessing (OpenAI preset at the model's resolution), texts CLIP's tokenizer with truncation. The
/// data is streamed through a seeded shuffle buffer (<see cref="ClipTrainerOptions.ShuffleBufferSize"/>), never loaded
/// whole, and the next batch is prepared on a background thread during each step.
/// </remarks>
public sealed class ClipTrainerEstimator : IEstimator<ClipTrainerTransformer>
{
    private readonly IHostEnvironment _env;
    private readonly ClipTrainerOptions _options;
    private readonly ClipTrainerTestHooks _hooks;

    /// <summary>Creates the estimator.</summary>
    /// <param name="mlContext">The context; progress is logged to its <c>Log</c>.</param>
    /// <param name="imageColumnName">The image column.</param>
    /// <param name="textColumnName">The text column (captions).</param>
    /// <param name="options">Training options; null for the defaults.</param>
    public ClipTrainerEstimator(MLContext mlContext, string imageColumnName, string textColumnName, ClipTrainerOptions? options = null)
        : this((IHostEnvironment)mlContext ?? throw new ArgumentNullException(nameof(mlContext)), imageColumnName, textColumnName, options)
    {
    }

    /// <summary>The estimator on <paramref name="env"/> (the catalog's environment), with test seams when <paramref name="hooks"/> is given.</summary>
    internal ClipTrainerEstimator(IHostEnvironment env, string imageColumnName, string textColumnName, ClipTrainerOptions? options,
        ClipTrainerTestHooks? hooks = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(imageColumnName);
        ArgumentException.ThrowIfNullOrEmpty(textColumnName);
        _env = env;
        ImageColumnName = imageColumnName;
        TextColumnName = textColumnName;
        _options = (options ?? new ClipTrainerOptions()).Clone();
        _hooks = hooks ?? ClipTrainerTestHooks.None;
    }

    /// <summary>The image column.</summary>
    public string ImageColumnName { get; }

    /// <summary>The text column.</summary>
    public string TextColumnName { get; }

    /// <summary>Trains on <paramref name="input"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing or has an unsupported type (paramName <c>inputSchema</c>).</exception>
    /// <exception cref="OperationCanceledException">The options' cancellation token fired.</exception>
    /// <exception cref="ClipTrainingDivergedException">The loss became NaN or infinite.</exception>
    public ClipTrainerTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        ClipImageColumn.Find(input.Schema, ImageColumnName);
        ClipImageColumn.FindText(input.Schema, TextColumnName);
        using var channel = _env.Register("Microsoft.ML.Clip.ClipTrainer").Start("Fit");
        Action<string> log = message => channel.Info(MessageSensitivity.None, message);
        using var session = ClipTrainingSession.Create(_options, log, _hooks);
        var config = session.Model.Config;
        var preprocessor = new ClipImagePreprocessor(session.ImageEncoder?.Preprocess ?? session.Inputs.Preprocess ?? ClipPreprocessSettings.OpenAI(config.ImageResolution));
        using var lockedFeatures = session.ImageEncoder is { } encoder
            ? new LockedImageFeatures(encoder, _options.FeatureCacheDirectory ?? ClipTrainerOptions.Defaults.FeatureCacheDirectory,
                _options.ImageVariantProbability > 0 ? new ImageVariants(_options.ImageVariantProbability, _options.Seed, encoder.Preprocess) : null)
            : null;
        if (lockedFeatures is not null)
        {
            log($"Image features of '{session.ImageEncoder!.Name}' are cached in {lockedFeatures.Cache.FilePath} ({lockedFeatures.Cache.Count} images already).");
            var (known, encoded, elapsed) = lockedFeatures.EncodeAll(input, input.Schema[ImageColumnName], _options.CancellationToken);
            log(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"Encoded {encoded} images with '{session.ImageEncoder.Name}' in {elapsed.TotalSeconds:F1} s ({encoded / Math.Max(elapsed.TotalSeconds, 1e-9):F1} images/s; {lockedFeatures.VariantsEncoded} of them variants); {known} rows were in the cache already."));
            _hooks.FeatureCacheObserver?.Invoke(-1, known, encoded);
        }
        using var lockedText = session.TextEncoder is { } textEncoder
            ? new LockedTextFeatures(textEncoder, _options.FeatureCacheDirectory ?? ClipTrainerOptions.Defaults.FeatureCacheDirectory)
            : null;
        if (lockedText is not null)
        {
            log($"Text features of '{session.TextEncoder!.Name}' are cached in {lockedText.Cache.FilePath} ({lockedText.Cache.Count} captions already).");
            var (known, encoded, elapsed) = lockedText.EncodeAll(input, input.Schema[TextColumnName], _options.CancellationToken, log);
            log(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"Encoded {encoded} distinct captions with '{session.TextEncoder.Name}' in {elapsed.TotalSeconds:F1} s; {known} rows had a caption in the cache already."));
            _hooks.TextFeatureCacheObserver?.Invoke(-1, known, encoded);
        }
        if (lockedFeatures is not null || lockedText is not null)
        {
            session.EpochCompleted = epoch =>
            {
                if (lockedFeatures is not null)
                {
                    var (hits, misses) = lockedFeatures.TakeCounts();
                    log($"Epoch {epoch + 1}: image features of {hits} images from the cache, {misses} encoded.");
                    _hooks.FeatureCacheObserver?.Invoke(epoch, hits, misses);
                }
                if (lockedText is not null)
                {
                    var (hits, misses) = lockedText.TakeCounts();
                    log($"Epoch {epoch + 1}: text features of {hits} captions from the cache, {misses} encoded.");
                    _hooks.TextFeatureCacheObserver?.Invoke(epoch, hits, misses);
                }
            };
        }
        var source = new DataViewBatchSource(input, ImageColumnName, TextColumnName, preprocessor,
            session.Tokenize, config.ContextLength, _options.ShuffleBufferSize, _options.Seed,
            _options.RandomResizedCropMinScale, lockedFeatures, lockedText, _options.OneCaptionPerImage, cutToLongest: !config.IsSiglip);
        if (_options.OneCaptionPerImage)
            log($"One caption per image: {source.RowCount} images with {source.CaptionCount} captions; each epoch draws one caption per image.");
        session.Run(source);
        return session.ToTransformer(ImageColumnName, TextColumnName);
    }

    /// <summary>
    /// The input schema plus the two embedding columns (float vectors of the model's embedding size). The size comes
    /// from the preset, the config or the header of the checkpoint to start from or resume: no tensor data is read.
    /// </summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ClipInputs.Image(inputSchema, ImageColumnName, pixelCount: null);
        CheckText(inputSchema, TextColumnName);
        var dimension = ClipModelFactory.ResolveConfig(_options).EmbedDim;
        return EmbeddingSchema.Append(_env as MLContext ?? new MLContext(), inputSchema, _options.ImageEmbeddingColumnName, _options.TextEmbeddingColumnName, dimension);
    }

    private static void CheckText(SchemaShape schema, string name)
    {
        var column = schema.LastOrDefault(c => c.Name == name);
        if (column.Name is null)
            throw ClipInputs.NotFound(name);
        if (column.Kind != SchemaShape.Column.VectorKind.Scalar || column.ItemType is not TextDataViewType)
            throw ClipInputs.Mismatch(name, "String", column.Kind == SchemaShape.Column.VectorKind.Scalar ? column.ItemType.ToString() ?? "?" : $"Vector<{column.ItemType}>");
    }
}
