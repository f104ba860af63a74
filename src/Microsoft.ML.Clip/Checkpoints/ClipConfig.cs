namespace Microsoft.ML.Clip.Checkpoints;

/// <summary>Activation of the transformer MLPs.</summary>
public enum ClipActivation
{
    /// <summary><c>x·σ(1.702x)</c>, used by OpenAI's weights.</summary>
    QuickGelu = 0,

    /// <summary>Exact (erf) GELU, used by most open_clip models.</summary>
    Gelu = 1,

    /// <summary>GELU's tanh approximation <c>0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))</c>: Hugging Face's
    /// <c>gelu_pytorch_tanh</c>, used by SigLIP.</summary>
    GeluTanh = 2,
}

/// <summary>The model family: which towers a <see cref="ClipConfig"/> describes.</summary>
public enum ClipModelFamily
{
    /// <summary>
    /// openai/CLIP's architecture: ViT (class token, <c>ln_pre</c>) or ModifiedResNet image tower, causal text transformer
    /// read at the end-of-text token, projections to the embedding; softmax zero-shot. State dicts use OpenAI's names.
    /// </summary>
    Clip = 0,

    /// <summary>
    /// Google's SigLIP (also SigLIP 2 FixRes), as Hugging Face's <c>SiglipModel</c>: a ViT without class token whose output
    /// is an attention-pool head, a bidirectional text transformer read at its last position with a linear head, and a
    /// learned <c>logit_bias</c> beside <c>logit_scale</c> (sigmoid zero-shot). State dicts use Hugging Face's names
    /// (<c>vision_model.*</c>, <c>text_model.*</c>).
    /// </summary>
    Siglip = 1,
}

/// <summary>
/// Architecture of a CLIP model, with the arguments of openai/CLIP's <c>CLIP(...)</c> constructor.
/// A ViT vision tower has <see cref="VisionPatchSize"/> set and one entry in <see cref="VisionLayers"/>;
/// a ModifiedResNet has no patch size and four entries (blocks per stage). A SigLIP (<see cref="Family"/>) uses the same
/// fields for its towers (a ViT of <see cref="VisionWidth"/>, the text transformer of <see cref="TransformerWidth"/>,
/// <see cref="EmbedDim"/> = the vision width = the text head's output) plus the sizes openai/CLIP derives and SigLIP
/// sets: <see cref="VisionHeads"/>, <see cref="VisionMlpWidth"/> and <see cref="TransformerMlpWidth"/>.
/// </summary>
/// <remarks>CONTRACT FILE: shared by the checkpoint readers, the ONNX exporter and the TorchSharp model and trainer.</remarks>
public sealed record ClipConfig
{
    private readonly int? _visionHeads;
    private readonly int? _visionMlpWidth;
    private readonly int? _transformerMlpWidth;

    /// <summary>The model family: openai/CLIP's towers (the default) or SigLIP's.</summary>
    public ClipModelFamily Family { get; init; } = ClipModelFamily.Clip;

    /// <summary>True for a <see cref="ClipModelFamily.Siglip"/> model.</summary>
    public bool IsSiglip => Family == ClipModelFamily.Siglip;

    /// <summary>Size of the joint embedding space.</summary>
    public int EmbedDim { get; init; }

    /// <summary>Side of the square image input.</summary>
    public int ImageResolution { get; init; }

    /// <summary>ViT: one entry, the number of blocks. ResNet: four entries, blocks per stage.</summary>
    public int[] VisionLayers { get; init; } = [];

    /// <summary>ViT: token width. ResNet: width of the stem (stage widths are 1, 2, 4, 8 × it, ×4 expansion).</summary>
    public int VisionWidth { get; init; }

    /// <summary>ViT patch size; null for a ModifiedResNet.</summary>
    public int? VisionPatchSize { get; init; }

    /// <summary>Text context length.</summary>
    public int ContextLength { get; init; } = 77;

    /// <summary>Text vocabulary size.</summary>
    public int VocabSize { get; init; } = 49408;

    /// <summary>Text transformer width.</summary>
    public int TransformerWidth { get; init; }

    /// <summary>Text transformer heads.</summary>
    public int TransformerHeads { get; init; }

    /// <summary>Text transformer blocks.</summary>
    public int TransformerLayers { get; init; }

    /// <summary>MLP activation of both towers.</summary>
    public ClipActivation Activation { get; init; } = ClipActivation.QuickGelu;

    /// <summary>LayerNorm epsilon.</summary>
    public float LayerNormEps { get; init; } = 1e-5f;

    /// <summary>
    /// Size F of the features of a frozen external image encoder (locked-image tuning): the image tower is then only a
    /// trainable projection <c>visual.proj</c> [F, EmbedDim] applied to precomputed features; null for a CLIP image tower.
    /// </summary>
    public int? ImageFeatureSize { get; init; }

    /// <summary>True when the image tower is a projection of frozen external features (<see cref="ImageFeatureSize"/>).</summary>
    public bool IsImageFeatureProjection => ImageFeatureSize is not null;

    /// <summary>
    /// Size F of the features of a frozen external text encoder (a pretrained sentence encoder such as MiniLM): the text
    /// tower is then only a trainable head on precomputed features, <c>ln_final</c> (LayerNorm over F) and
    /// <c>text_projection</c> [F, EmbedDim] — CLIP's own last two text parameters — and the transformer fields describe
    /// no layers (<see cref="TransformerWidth"/> = F, <see cref="TransformerLayers"/> = 0); null for a CLIP text tower.
    /// <see cref="ContextLength"/> and <see cref="VocabSize"/> are then the encoder's tokenizer's.
    /// </summary>
    public int? TextFeatureSize { get; init; }

    /// <summary>True when the text tower is a head on frozen external features (<see cref="TextFeatureSize"/>).</summary>
    public bool IsTextFeatureProjection => TextFeatureSize is not null;

    /// <summary>
    /// This config with its text tower replaced by a head on <paramref name="featureSize"/> frozen text features of an
    /// encoder whose tokenizer has <paramref name="contextLength"/> ids per text and <paramref name="vocabSize"/> tokens;
    /// the image side and the embedding size are unchanged.
    /// </summary>
    public ClipConfig WithTextFeatures(int featureSize, int contextLength, int vocabSize) => this with
    {
        TextFeatureSize = featureSize,
        TransformerWidth = featureSize,
        TransformerLayers = 0,
        TransformerHeads = 1,
        ContextLength = contextLength,
        VocabSize = vocabSize,
    };

    /// <summary>True for a ViT vision tower (CLIP's or SigLIP's), false for a ModifiedResNet or a feature projection.</summary>
    public bool IsVisionTransformer => VisionPatchSize is not null && !IsImageFeatureProjection;

    /// <summary>
    /// This config with its image tower replaced by a projection of <paramref name="featureSize"/> frozen features
    /// taken at <paramref name="resolution"/>; the text side is unchanged.
    /// </summary>
    public ClipConfig WithImageFeatures(int featureSize, int resolution) => this with
    {
        ImageFeatureSize = featureSize,
        ImageResolution = resolution,
        VisionLayers = [],
        VisionPatchSize = null,
        VisionWidth = featureSize,
    };

    /// <summary>
    /// Vision attention heads: as set (SigLIP's configs give them), else as openai/CLIP derives them: ViT width / 64;
    /// ResNet width × 32 / 64 (meaningless for a feature projection).
    /// </summary>
    public int VisionHeads
    {
        get => _visionHeads ?? (IsVisionTransformer ? VisionWidth / 64 : VisionWidth * 32 / 64);
        init => _visionHeads = value;
    }

    /// <summary>Hidden width of the vision MLPs: as set (SigLIP), else openai/CLIP's 4 × <see cref="VisionWidth"/>.</summary>
    public int VisionMlpWidth
    {
        get => _visionMlpWidth ?? 4 * VisionWidth;
        init => _visionMlpWidth = value;
    }

    /// <summary>Hidden width of the text MLPs: as set (SigLIP), else openai/CLIP's 4 × <see cref="TransformerWidth"/>.</summary>
    public int TransformerMlpWidth
    {
        get => _transformerMlpWidth ?? 4 * TransformerWidth;
        init => _transformerMlpWidth = value;
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first impossible value.</summary>
    public void Validate()
    {
        static void Positive(int value, string name)
        {
            if (value <= 0) throw new ArgumentException($"ClipConfig.{name} must be positive, got {value}.", name);
        }
        Positive(EmbedDim, nameof(EmbedDim));
        Positive(ImageResolution, nameof(ImageResolution));
        Positive(VisionWidth, nameof(VisionWidth));
        Positive(ContextLength, nameof(ContextLength));
        Positive(VocabSize, nameof(VocabSize));
        Positive(TransformerWidth, nameof(TransformerWidth));
        Positive(TransformerHeads, nameof(TransformerHeads));
        if (IsTextFeatureProjection)
        {
            if (TextFeatureSize != TransformerWidth || TransformerLayers != 0)
                throw new ArgumentException($"A text-feature config has TransformerWidth = TextFeatureSize and no layers; got width {TransformerWidth}, {TransformerLayers} layers for {TextFeatureSize} features.", nameof(TextFeatureSize));
            if (IsSiglip)
                throw new ArgumentException("A SigLIP config has its own text tower, not a head on frozen text features (TextFeatureSize).", nameof(TextFeatureSize));
        }
        else Positive(TransformerLayers, nameof(TransformerLayers));
        if (IsSiglip)
        {
            // Hugging Face's SiglipVisionEmbeddings convolve without padding: a side that is not a multiple of the patch
            // drops its last pixels (so400m-patch14-384: 27 × 27 patches), so only a side of at least one patch is needed.
            if (VisionPatchSize is not int patch || patch <= 0 || VisionLayers.Length != 1 || VisionLayers[0] <= 0 || IsImageFeatureProjection)
                throw new ArgumentException("A SigLIP config needs a positive VisionPatchSize and exactly one positive VisionLayers entry (and no ImageFeatureSize).", nameof(VisionPatchSize));
            if (ImageResolution < patch)
                throw new ArgumentException($"ImageResolution {ImageResolution} is smaller than VisionPatchSize {patch}.", nameof(ImageResolution));
            if (EmbedDim != VisionWidth)
                throw new ArgumentException($"A SigLIP's embedding is its vision tower's pooled output: EmbedDim {EmbedDim} must equal VisionWidth {VisionWidth} (and the text head projects to it).", nameof(EmbedDim));
            Positive(VisionHeads, nameof(VisionHeads));
            Positive(VisionMlpWidth, nameof(VisionMlpWidth));
            Positive(TransformerMlpWidth, nameof(TransformerMlpWidth));
            if (VisionWidth % VisionHeads != 0)
                throw new ArgumentException($"VisionWidth {VisionWidth} is not a multiple of VisionHeads {VisionHeads}.", nameof(VisionHeads));
        }
        else if (IsImageFeatureProjection)
        {
            if (ImageFeatureSize <= 0) throw new ArgumentException($"ClipConfig.ImageFeatureSize must be positive, got {ImageFeatureSize}.", nameof(ImageFeatureSize));
            if (VisionLayers.Length != 0 || VisionPatchSize is not null)
                throw new ArgumentException("A feature-projection config has no vision layers or patch size.", nameof(ImageFeatureSize));
        }
        else if (IsVisionTransformer)
        {
            if (VisionLayers.Length != 1) throw new ArgumentException("A ViT config needs exactly one VisionLayers entry.", nameof(VisionLayers));
            if (ImageResolution % VisionPatchSize!.Value != 0)
                throw new ArgumentException($"ImageResolution {ImageResolution} is not a multiple of VisionPatchSize {VisionPatchSize}.", nameof(ImageResolution));
        }
        else if (VisionLayers.Length != 4)
            throw new ArgumentException("A ModifiedResNet config needs four VisionLayers entries.", nameof(VisionLayers));
        if (TransformerWidth % TransformerHeads != 0)
            throw new ArgumentException($"TransformerWidth {TransformerWidth} is not a multiple of TransformerHeads {TransformerHeads}.", nameof(TransformerHeads));
    }
}
