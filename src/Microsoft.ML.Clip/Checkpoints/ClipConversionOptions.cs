namespace Microsoft.ML.Clip.Checkpoints;

/// <summary>The two ways this library writes CLIP weights as safetensors.</summary>
public enum ClipSafetensorsLayout
{
    /// <summary>
    /// A Hugging Face <c>transformers</c> <c>CLIPModel</c> folder: <c>model.safetensors</c> (float32, Hugging Face
    /// names) and <c>config.json</c>. ViT models only: <c>transformers</c> has no ModifiedResNet CLIP.
    /// </summary>
    HuggingFace,

    /// <summary>
    /// <c>model.safetensors</c> under openai/CLIP's state-dict names and <c>clip_config.json</c> (openai/CLIP's
    /// constructor arguments plus activation and LayerNorm epsilon): holds any CLIP, ModifiedResNet included.
    /// </summary>
    OpenAINames,
}

/// <summary>Options of <see cref="ClipModelConverter"/>.</summary>
public sealed class ClipConversionOptions
{
    /// <summary>Default values of the options.</summary>
    public static class Defaults
    {
        /// <summary>OpenAI's weights use QuickGELU.</summary>
        public const ClipActivation Activation = ClipActivation.QuickGelu;

        /// <summary>Weights are written in float32.</summary>
        public const bool WeightsAsFloat16 = false;
    }

    /// <summary>
    /// The MLP activation of a PyTorch <c>.pt</c> checkpoint, which its weights cannot tell: OpenAI's models use
    /// <see cref="ClipActivation.QuickGelu"/>, most open_clip models <see cref="ClipActivation.Gelu"/>. Other formats
    /// record it (Hugging Face <c>config.json</c>, <c>clip_config.json</c>, the trainer's files) and ignore this.
    /// Default <see cref="Defaults.Activation"/>.
    /// </summary>
    public ClipActivation Activation = Defaults.Activation;

    /// <summary>
    /// ONNX only: store every weight tensor of rank ≥ 2 (matrices, convolution kernels, embedding tables) as float16,
    /// each cast back to float32 inside the graph. The files shrink to about half and inference still runs in float32.
    /// Exact when the weights are float16-representable — OpenAI's released checkpoints are float16 — and a rounding
    /// otherwise (embeddings move by about 1e-3 relative), which is reported through <see cref="Log"/>. Also the way to
    /// convert an image tower whose float32 graph would exceed protobuf's 2 GB (e.g. ViT-H/14).
    /// Default <see cref="Defaults.WeightsAsFloat16"/>.
    /// </summary>
    public bool WeightsAsFloat16 = Defaults.WeightsAsFloat16;

    /// <summary>
    /// Safetensors only: the layout to write; null (the default) writes <see cref="ClipSafetensorsLayout.HuggingFace"/>
    /// for ViT models and <see cref="ClipSafetensorsLayout.OpenAINames"/> for ModifiedResNet models.
    /// </summary>
    public ClipSafetensorsLayout? SafetensorsLayout;

    /// <summary>
    /// Receives notes on what the conversion did besides the obvious: that float16 storage rounded weights that were
    /// not float16 values, or that a ResNet model was written with OpenAI names because Hugging Face cannot hold it.
    /// Null discards them.
    /// </summary>
    public Action<string>? Log;
}
