using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.TorchSharp.Checkpoints;
using Microsoft.ML.Clip.TorchSharp.Modeling;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Microsoft.ML.Clip.TorchSharp.Modules;

/// <summary>
/// A contrastive image-text model in TorchSharp whose towers its <see cref="ClipConfig"/> chooses, as open_clip's one
/// model class does: openai/CLIP's (<c>model.py</c>: an image tower <see cref="VisionTransformer"/> or
/// <see cref="ModifiedResNet"/>, field <c>visual</c>, and a causal text transformer, projected into one embedding space)
/// or, for <see cref="ClipModelFamily.Siglip"/>, Google's SigLIP as Hugging Face's <c>SiglipModel</c>
/// (<c>vision_model</c>: a ViT with an attention-pool head; <c>text_model</c>: a bidirectional transformer read at its
/// last position; a learned <see cref="LogitBias"/>). Parameter names equal the reference state-dict names (OpenAI's,
/// Hugging Face's for SigLIP), so <c>state_dict()</c> maps 1:1 and one loader, trainer and exporter serve both.
/// </summary>
/// <remarks>
/// Inputs: images [N, 3, R, R] already normalised; token ids [N, L ≤ ContextLength] (int64): for CLIP the end-of-text
/// token has the largest id in each row (CLIP's tokenizer guarantees it); a SigLIP reads the last position, so its rows
/// are padded to the full context. Built on the CPU; call <c>to(device)</c> after loading weights, and <c>eval()</c> for
/// inference (BatchNorm running statistics).
/// </remarks>
public sealed partial class ClipTorchModel : Module<Tensor, Tensor, (Tensor LogitsPerImage, Tensor LogitsPerText)>
{
#pragma warning disable IDE1006 // Field names are the PyTorch state-dict names.
    // openai/CLIP's towers (null for a SigLIP): RegisterComponents registers only the fields that hold a module or parameter.
    // A head on frozen text features (ClipConfig.TextFeatureSize) has no token or positional embedding: ln_final and text_projection only.
    private readonly Module<Tensor, Tensor>? visual;
    private readonly ResidualAttentionStack? transformer;
    private readonly Embedding? token_embedding;
    private readonly Parameter? positional_embedding;
    private readonly LayerNorm? ln_final;
    private readonly Parameter? text_projection;
    // SigLIP's towers and bias (null for a CLIP).
    private readonly SiglipVisionTransformer? vision_model;
    private readonly SiglipTextTransformer? text_model;
    private readonly Parameter? logit_bias;
    private readonly Parameter logit_scale;
#pragma warning restore IDE1006

    /// <summary>Creates a randomly initialised model (the reference initialisation) for <paramref name="config"/>.</summary>
    /// <exception cref="ArgumentException">The configuration is impossible (see <see cref="ClipConfig.Validate"/>).</exception>
    /// <param name="config">The architecture.</param>
    /// <param name="generator">
    /// Where every random initial value comes from; <see langword="null"/>: TorchSharp's process-wide default generator.
    /// Training passes its own seeded one, so that the initialisation does not depend on what other threads draw.
    /// </param>
    public ClipTorchModel(ClipConfig config, Generator? generator = null) : base("CLIP")
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        if (config.IsSiglip)
        {
            vision_model = new SiglipVisionTransformer(config.VisionWidth, config.VisionLayers[0], config.VisionHeads, config.VisionMlpWidth,
                config.ImageResolution, config.VisionPatchSize!.Value, config.LayerNormEps, config.Activation, generator);
            text_model = new SiglipTextTransformer(config.VocabSize, config.ContextLength, config.TransformerWidth, config.TransformerLayers,
                config.TransformerHeads, config.TransformerMlpWidth, config.EmbedDim, config.LayerNormEps, config.Activation, generator);
            // Hugging Face keeps both as [1]; SigLIP's initialisation: temperature ln 10, bias -10.
            logit_scale = Parameter(tensor(new[] { (float)Math.Log(10) }));
            logit_bias = Parameter(tensor(new[] { -10f }));
            RegisterComponents();
            return;
        }
        visual = config.IsImageFeatureProjection ? new ImageFeatureProjection(config, generator)
            : config.IsVisionTransformer ? new VisionTransformer(config, generator) : new ModifiedResNet(config, generator);
        transformer = new ResidualAttentionStack(config.TransformerWidth, config.TransformerLayers, config.TransformerHeads, config.Activation, config.LayerNormEps, generator);
        if (!config.IsTextFeatureProjection)
        {
            token_embedding = Embedding(config.VocabSize, config.TransformerWidth);
            positional_embedding = Parameter(empty(config.ContextLength, config.TransformerWidth));
        }
        ln_final = LayerNorm(config.TransformerWidth, config.LayerNormEps);
        text_projection = Parameter(empty(config.TransformerWidth, config.EmbedDim));
        logit_scale = Parameter(tensor(Math.Log(1 / 0.07), ScalarType.Float32));
        RegisterComponents();
        if (config.IsTextFeatureProjection) InitializeTextHead(generator);
        else InitializeTextParameters(generator);
    }

    /// <summary>The architecture.</summary>
    public ClipConfig Config { get; }

    /// <summary>The learnable log temperature; logits are scaled by its exponential.</summary>
    public Parameter LogitScale => logit_scale;

    /// <summary>A SigLIP's learned bias (<c>logit_bias</c>, [1]), added to every scaled cosine; null for a CLIP, whose
    /// sigmoid-loss training keeps its bias outside the model.</summary>
    public Parameter? LogitBias => logit_bias;

    /// <summary>SigLIP's image tower (for tests of its intermediate outputs); null for a CLIP.</summary>
    internal SiglipVisionTransformer? SiglipVision => vision_model;

    /// <summary>SigLIP's text tower (for tests of its intermediate outputs and its optional padding mask); null for a CLIP.</summary>
    internal SiglipTextTransformer? SiglipText => text_model;

    /// <summary>
    /// Reads any supported checkpoint (OpenAI / open_clip / TorchScript <c>.pt</c>, Hugging Face or OpenAI-named
    /// safetensors; see <see cref="ClipWeights.Load"/>), builds the model its weights describe, loads them and
    /// returns the model in eval mode on the CPU.
    /// </summary>
    /// <inheritdoc cref="ClipWeights.Load" path="/param"/>
    public static ClipTorchModel FromCheckpoint(string path, ClipActivation activation = ClipActivation.QuickGelu)
    {
        // The stored dtype (often float16) goes straight into the parameters, which convert it: no float32 copy on the way.
        using var weights = ClipWeights.FromPlain(CheckpointWeights.Load(path, activation), floatingAsFloat32: false);
        var model = new ClipTorchModel(weights.Config);
        try
        {
            model.LoadStateDict(weights.StateDict, path);
            model.eval();
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Image embeddings [N, EmbedDim] (not normalised) of images [N, 3, R, R] — or, for a locked-image model
    /// (<see cref="ClipConfig.IsImageFeatureProjection"/>), of its frozen encoder's features [N, F].
    /// </summary>
    public Tensor EncodeImage(Tensor images)
    {
        ArgumentNullException.ThrowIfNull(images);
        var resolution = Config.ImageResolution;
        if (Config.ImageFeatureSize is int featureSize)
        {
            if (images.dim() != 2 || images.shape[1] != featureSize)
                throw new ArgumentException($"This model projects frozen image features: expected [N, {featureSize}], got [{string.Join(", ", images.shape)}].", nameof(images));
        }
        else if (images.dim() != 4 || images.shape[1] != 3 || images.shape[2] != resolution || images.shape[3] != resolution)
            throw new ArgumentException($"Images must be [N, 3, {resolution}, {resolution}], got [{string.Join(", ", images.shape)}].", nameof(images));
        using var scope = NewDisposeScope();
        return (vision_model is not null ? vision_model.forward(images) : visual!.forward(images)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Text embeddings [N, EmbedDim] (not normalised) of token ids [N, L]: for CLIP taken at each row's end token (its
    /// largest id); for a SigLIP at the last position (<c>get_text_features</c> without an attention mask, as trained); for a
    /// model on a frozen text encoder (<see cref="ClipConfig.IsTextFeatureProjection"/>), of its features [N, F]
    /// (<c>ln_final</c>, then <c>text_projection</c>).
    /// </summary>
    public Tensor EncodeText(Tensor tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        if (Config.TextFeatureSize is int textFeatures)
        {
            if (tokens.dim() != 2 || tokens.shape[1] != textFeatures || !tokens.is_floating_point())
                throw new ArgumentException($"This model's text tower is a head on frozen text features: expected float [N, {textFeatures}], got {tokens.dtype} [{string.Join(", ", tokens.shape)}].", nameof(tokens));
            using var headScope = NewDisposeScope();
            return ln_final!.forward(tokens).matmul(text_projection!).MoveToOuterDisposeScope();
        }
        if (tokens.dim() != 2 || tokens.shape[1] > Config.ContextLength || tokens.shape[1] == 0)
            throw new ArgumentException($"Tokens must be [N, L] with 0 < L <= {Config.ContextLength}, got [{string.Join(", ", tokens.shape)}].", nameof(tokens));
        using var scope = NewDisposeScope();
        if (text_model is not null)
            return text_model.forward(tokens, null).MoveToOuterDisposeScope();
        var length = tokens.shape[1];
        var x = token_embedding!.forward(tokens).Plus(positional_embedding!.narrow(0, 0, length));
        using (var mask = CausalMask(length, x.dtype, x.device))
            x = transformer!.forward(x, mask);
        x = ln_final!.forward(x);
        var eot = tokens.argmax(-1);
        var rows = KeptScalars.Range(tokens.shape[0], ScalarType.Int64, tokens.device);
        x = x.index([TensorIndex.Tensor(rows), TensorIndex.Tensor(eot)]);
        return x.matmul(text_projection!).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Scaled cosine similarities: <c>exp(logit_scale) · norm(img)·norm(txt)ᵀ</c> [N_img, N_txt] (plus <c>logit_bias</c>
    /// for a SigLIP, whose probabilities are their sigmoid) and its transpose.
    /// </summary>
    public override (Tensor LogitsPerImage, Tensor LogitsPerText) forward(Tensor images, Tensor tokens)
    {
        using var scope = NewDisposeScope();
        var logitsPerImage = ScaledCosines(EncodeImage(images), EncodeText(tokens), logit_scale);
        if (logit_bias is not null)
            logitsPerImage = logitsPerImage.Plus(logit_bias);
        var logitsPerText = logitsPerImage.t();
        return (logitsPerImage.MoveToOuterDisposeScope(), logitsPerText.MoveToOuterDisposeScope());
    }

    /// <summary>Rows scaled to unit L2 norm.</summary>
    internal static Tensor Normalize(Tensor features) => features.div(features.norm(1, keepdim: true));

    /// <summary><c>exp(logScale) · norm(image) · norm(text)ᵀ</c>: CLIP's logits, also the contrastive losses' input.</summary>
    internal static Tensor ScaledCosines(Tensor imageFeatures, Tensor textFeatures, Tensor logScale) =>
        Normalize(imageFeatures).matmul(Normalize(textFeatures).t()).mul(logScale.exp());

    // -inf above the diagonal: token i attends to tokens 0..i only.
    private static Tensor CausalMask(long length, ScalarType dtype, Device device) =>
        KeptScalars.Full(length, length, double.NegativeInfinity, dtype, device).triu(1);

    // A head on frozen text features: the scale of the image side's head (ImageFeatureProjection), N(0, 1/F).
    private void InitializeTextHead(Generator? generator)
    {
        using var _ = no_grad();
        ParameterInit.Normal(text_projection!, Math.Pow(Config.TransformerWidth, -0.5), generator);
    }

    /// <summary>
    /// Redraws the projections that map frozen features into the joint space — <c>visual.proj</c> of a locked-image model,
    /// <c>text_projection</c> of a locked-text one — as (semi-)orthogonal matrices (<c>torch.nn.init.orthogonal_</c>'s rule),
    /// so that distinct directions of the frozen features start distinct in the joint space.
    /// </summary>
    internal void InitializeFeatureProjectionsOrthogonally(Generator? generator)
    {
        using var _ = no_grad();
        foreach (var (name, parameter) in named_parameters())
            if ((name == "visual.proj" && Config.IsImageFeatureProjection) || (name == "text_projection" && Config.IsTextFeatureProjection))
                ParameterInit.Orthogonal(parameter, generator);
    }

    // The reference initialisation of the text side (the image towers initialise themselves).
    private void InitializeTextParameters(Generator? generator)
    {
        using var _ = no_grad();
        ParameterInit.Normal(token_embedding!.weight!, 0.02, generator);
        ParameterInit.Normal(positional_embedding!, 0.01, generator);
        var width = Config.TransformerWidth;
        var projStd = Math.Pow(width, -0.5) * Math.Pow(2 * Config.TransformerLayers, -0.5);
        var attnStd = Math.Pow(width, -0.5);
        var fcStd = Math.Pow(2 * width, -0.5);
        foreach (var block in transformer!.Blocks)
        {
            ParameterInit.Normal(block.Attention.InProjWeight, attnStd, generator);
            ParameterInit.Normal(block.Attention.OutProj.weight!, projStd, generator);
            ParameterInit.Normal(block.MlpIn.weight!, fcStd, generator);
            ParameterInit.Normal(block.MlpOut.weight!, projStd, generator);
        }
        ParameterInit.Normal(text_projection!, attnStd, generator);
    }
}
