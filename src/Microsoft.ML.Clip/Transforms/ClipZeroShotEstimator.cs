using Microsoft.ML.Clip.Graphs;
using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.Transforms.Mappings;
using Microsoft.ML.Clip.ZeroShot;
using Microsoft.ML.Data;

namespace Microsoft.ML.Clip.Transforms;

/// <summary>Options of <see cref="ClipCatalog.ClipZeroShot(TransformsCatalog, ClipModel, ClipZeroShotOptions)"/>.</summary>
public sealed class ClipZeroShotOptions
{
    /// <summary>Default values.</summary>
    public static class Defaults
    {
        /// <summary>Input column name.</summary>
        public const string InputColumnName = "Image";

        /// <summary>Score column name (class probabilities).</summary>
        public const string ScoreColumnName = "Score";

        /// <summary>Predicted label column name (key whose values are the class names).</summary>
        public const string PredictedLabelColumnName = "PredictedLabel";

        /// <summary>The reference's logit scale: logits = 100 · cosine.</summary>
        public const float Scale = 100f;

        /// <summary>Use <see cref="Scale"/>, not the model's learned scale.</summary>
        public const bool UseModelLogitScale = false;

        /// <summary>Unreadable images fail the pipeline.</summary>
        public const bool SkipBadRows = false;

        /// <summary>CUDA failures are errors.</summary>
        public const bool FallbackToCpu = false;

        /// <summary>The <c>Score</c> column carries the class names as slot names.</summary>
        public const bool ScoreSlotNames = true;
    }

    /// <summary>The class names, in the order of the <c>Score</c> slots and of the key values. Required.</summary>
    public IReadOnlyList<string> ClassNames = [];

    /// <summary>Prompt templates (<c>{}</c> = class name); null means <see cref="ClipPromptTemplates.ImageNet80"/>.</summary>
    public IReadOnlyList<string>? Templates;

    /// <summary>The image column (path, bytes, ML.NET <c>Image</c> or preprocessed pixels). Default <see cref="Defaults.InputColumnName"/>.</summary>
    public string InputColumnName = Defaults.InputColumnName;

    /// <summary>Score column. Default <see cref="Defaults.ScoreColumnName"/>.</summary>
    public string ScoreColumnName = Defaults.ScoreColumnName;

    /// <summary>Predicted label column. Default <see cref="Defaults.PredictedLabelColumnName"/>.</summary>
    public string PredictedLabelColumnName = Defaults.PredictedLabelColumnName;

    /// <summary>
    /// Logit scale applied to the cosine similarities before the softmax. Default <see cref="Defaults.Scale"/>. A sigmoid
    /// (SigLIP) model always uses its own learned scale and bias (they were trained together): for one this must stay at
    /// its default, and <see cref="UseModelLogitScale"/> changes nothing.
    /// </summary>
    public float Scale = Defaults.Scale;

    /// <summary>Use the model's learned <c>exp(logit_scale)</c> instead of <see cref="Scale"/>. Default <see cref="Defaults.UseModelLogitScale"/>.</summary>
    public bool UseModelLogitScale = Defaults.UseModelLogitScale;

    /// <summary>Unreadable images give NaN scores and a missing label instead of failing. Default <see cref="Defaults.SkipBadRows"/>.</summary>
    public bool SkipBadRows = Defaults.SkipBadRows;

    /// <summary>
    /// Give <c>Score</c> the class names as <c>SlotNames</c>. Default <see cref="Defaults.ScoreSlotNames"/>. ML.NET lets a
    /// package attach slot names that survive <c>Model.Save</c> only by concatenating one column per class, which adds
    /// stages that grow with the class count (at 1000 classes, measured with a tiny model: ≈ 6.5 s more at <c>Fit</c> and
    /// ≈ 20 ms more per row).
    /// Set false for large class sets: <c>Score</c> is then the head's output as it is (same values, no slot names);
    /// <c>PredictedLabel</c> keeps the class names as key values and <c>Evaluate</c> works the same.
    /// </summary>
    public bool ScoreSlotNames = Defaults.ScoreSlotNames;

    /// <summary>CUDA device for ONNX Runtime; null uses <c>MLContext.GpuDeviceId</c>.</summary>
    public int? GpuDeviceId;

    /// <summary>Run on the CPU when CUDA is not usable. Default <see cref="Defaults.FallbackToCpu"/>.</summary>
    public bool FallbackToCpu = Defaults.FallbackToCpu;
}

/// <summary>
/// Zero-shot image classification: class embeddings from prompt ensembles (computed once, at the first
/// <c>Fit</c> or <c>GetOutputSchema</c>, and stored in a small ONNX head inside the fitted pipeline), then per
/// row <c>Score</c> = softmax(scale · cosine) — for a sigmoid (SigLIP) model sigmoid(scale · cosine + bias) per class
/// with the model's own scale and bias, as Hugging Face's zero-shot pipeline gives for SigLIP — with class-name
/// <c>SlotNames</c>, and <c>PredictedLabel</c>, a key whose values are the class names (the most probable class): the
/// columns <c>MulticlassClassification.Evaluate</c> reads.
/// </summary>
public sealed class ClipZeroShotEstimator : ClipEstimatorBase
{
    private readonly ClipZeroShotOptions _options;
    private readonly string[] _classes;
    private readonly string[] _templates;
    private float[]? _weights;

    internal ClipZeroShotEstimator(TransformsCatalog catalog, ClipModelSource source, ClipZeroShotOptions options)
        : base(catalog, source, "ClipZeroShot")
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _classes = [.. options.ClassNames ?? throw new ArgumentNullException(nameof(options), "ClassNames is required.")];
        _templates = [.. options.Templates ?? ClipPromptTemplates.ImageNet80];
        if (_classes.Length < 2)
            throw new ArgumentException($"Zero-shot classification needs at least 2 class names, got {_classes.Length}.", nameof(options));
        var empty = Array.FindIndex(_classes, string.IsNullOrWhiteSpace);
        if (empty >= 0)
            throw new ArgumentException($"Class name {empty} is empty.", nameof(options));
        var duplicate = _classes.GroupBy(c => c).FirstOrDefault(g => g.Count() > 1);
        if (duplicate != null)
            throw new ArgumentException($"Class name '{duplicate.Key}' appears more than once.", nameof(options));
        var reserved = _classes.FirstOrDefault(c => c.StartsWith(ClipColumns.Prefix, StringComparison.Ordinal)
            || c == options.ScoreColumnName || c == options.PredictedLabelColumnName);
        if (reserved != null)
            throw new ArgumentException($"Class name '{reserved}' is reserved (score/label column or '{ClipColumns.Prefix}' prefix).", nameof(options));
        if (_templates.Length == 0 || _templates.Any(t => !t.Contains("{}", StringComparison.Ordinal)))
            throw new ArgumentException("Every prompt template must contain '{}' (the class name's place).", nameof(options));
    }

    // At Build (first GetOutputSchema or Fit), when the model is at hand: a folder is not read at construction.
    private void CheckScale(ClipModel model)
    {
        if (model.LogitBias is not null && _options.Scale != ClipZeroShotOptions.Defaults.Scale)
            throw new ArgumentException($"{ZeroShotClassifier.SigmoidScaleMessage} Leave {nameof(ClipZeroShotOptions)}.{nameof(ClipZeroShotOptions.Scale)} at its default.", "options");
    }

    /// <summary>The class names, in score-slot order.</summary>
    public IReadOnlyList<string> ClassNames => _classes;

    /// <summary>The prompt templates.</summary>
    public IReadOnlyList<string> Templates => _templates;

    /// <summary>The class weights W [D, C] row-major (column c: class c's normalised prompt-ensemble embedding).</summary>
    public float[] GetClassWeights() => (float[])Weights().Clone();

    private protected override string InputColumnName => _options.InputColumnName;

    private int PixelCount => 3 * ModelInfo.ImageResolution * ModelInfo.ImageResolution;

    private protected override ClipInputKind KindOf(SchemaShape inputSchema) => ClipInputs.Image(inputSchema, InputColumnName, PixelCount);

    private protected override ClipInputKind KindOf(DataViewSchema inputSchema) => ClipInputs.Image(inputSchema, InputColumnName, PixelCount);

    private protected override void CheckNames(IEnumerable<string> inputColumns)
    {
        // The per-class columns are named after the classes (that is how Score gets its slot names); an input
        // column of the same name would be dropped with them.
        if (!_options.ScoreSlotNames)
            return;
        var clash = inputColumns.Intersect(_classes).FirstOrDefault();
        if (clash != null)
            throw new ArgumentOutOfRangeException("inputSchema", $"Input column '{clash}' has the name of a class; rename the column.");
    }

    /// <summary>The class weights, computed once with <paramref name="loaded"/> when given (inside <see cref="Build"/>,
    /// so a folder source is not loaded a second time), else with a model from the source.</summary>
    private float[] Weights(ClipModel? loaded = null)
    {
        lock (_classes)
            return _weights ??= loaded is not null ? Compute(loaded) : Source.Use(Compute);

        float[] Compute(ClipModel model) => ZeroShotClassifier.ComputeClassWeights(model, _classes, _templates, Log);
    }

    private protected override EstimatorChain<ITransformer> Build(ClipModel model, ClipInputKind kind)
    {
        CheckScale(model);
        var weights = Weights(model);
        var bias = model.LogitBias;
        var scale = _options.UseModelLogitScale || bias is not null ? model.LogitScale : _options.Scale;
        var temporary = new List<string>();
        var gpu = ResolveGpu(_options.GpuDeviceId, _options.FallbackToCpu);
        var chain = ClipChains.ImageEmbedding(ClipChains.Empty(), Catalog, model, kind, InputColumnName, normalize: false, _options.SkipBadRows, gpu, temporary);

        var head = ClipOnnxGraphs.ZeroShotHead(weights, model.EmbeddingSize, _classes.Length, scale, ClipColumns.Embedding, ClipColumns.Probabilities, bias);
        chain = chain.Then(gpu.Apply(ClipColumns.Probabilities, ClipColumns.Embedding, head));

        // PredictedLabel: arg-max index → class name as a key (key values = class names in class order).
        chain = chain.Then(Catalog.CustomMapping(new ClipArgMaxMapping().GetMapping(), ClipArgMaxMapping.ContractName));
        var indexToName = _classes.Select((name, i) => new KeyValuePair<float, string>(i, name));
        chain = chain.Then(Catalog.Conversion.MapValue(_options.PredictedLabelColumnName, indexToName, ClipColumns.ArgMax, treatValuesAsKeyType: true));

        temporary.AddRange([ClipColumns.Probabilities, ClipColumns.ArgMax]);
        if (!_options.ScoreSlotNames)
        {
            chain = chain.Then(Catalog.CopyColumns(_options.ScoreColumnName, ClipColumns.Probabilities));
            return chain.Then(Catalog.DropColumns([.. temporary.Distinct()]));
        }

        // Score: one scalar column per class, named after it, concatenated so the class names become SlotNames.
        chain = chain.Then(Catalog.CopyColumns(ClipColumns.Rest, ClipColumns.Probabilities));
        var split = new ClipSplitFirstMapping().GetMapping();
        foreach (var name in _classes)
        {
            chain = chain.Then(Catalog.CustomMapping(split, ClipSplitFirstMapping.ContractName));
            chain = chain.Then(Catalog.CopyColumns(name, ClipColumns.First));
        }
        chain = chain.Then(Catalog.Concatenate(_options.ScoreColumnName, _classes));
        temporary.AddRange([ClipColumns.Rest, ClipColumns.First, .. _classes]);
        return chain.Then(Catalog.DropColumns([.. temporary.Distinct()]));
    }
}
