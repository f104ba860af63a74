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

        /// <summary>Linear layers keep their float weights.</summary>
        public const bool WeightsAsInt8 = false;
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
    /// ONNX only: quantize the weights of every linear layer (MatMul and Gemm with a weight matrix: the transformer blocks,
    /// projections, ResNet attention pools) of both towers to int8, symmetric per output channel, with the activations
    /// quantized on each call (dynamic quantization: no calibration data). ONNX Runtime's CPU optimiser fuses each layer
    /// into its int8 GEMM (<c>DynamicQuantizeMatMul</c>, using AVX-512 VNNI or AMX where the CPU has them): a ViT image
    /// tower runs about 2–3× faster on such CPUs, at a cosine to the float embeddings of about 0.999. Convolutions stay
    /// float unless <see cref="Int8CalibrationImages"/> are given (ONNX Runtime's dynamic integer convolution is slower than
    /// its float one on CPUs), so without them a ResNet image tower gains little. Combined with <see cref="WeightsAsFloat16"/>, the weights left in float are stored as float16.
    /// Default <see cref="Defaults.WeightsAsInt8"/>.
    /// </summary>
    public bool WeightsAsInt8 = Defaults.WeightsAsInt8;

    /// <summary>
    /// ONNX only, with <see cref="WeightsAsInt8"/>: image files that stand for what the model will see (a few dozen to a
    /// few hundred from the same domain). The image tower's convolutions are then quantized too, statically: int8
    /// weights per output channel, uint8 activations whose ranges are measured by running the float graph on these
    /// images (preprocessed as the model's <c>clip_model.json</c> says). ONNX Runtime runs them as fused int8
    /// convolutions (<c>QLinearConv</c>, <c>QLinearAdd</c>): the NuGet ResNet-18 runs about 2.3× faster on an AVX-512
    /// VNNI CPU at a cosine to the float features of about 0.998 (docs/results.md). The convolution over the image
    /// itself stays float. An image tower without convolutions to quantize (a ViT, whose only convolution is the patch
    /// embedding over the image) is left as the dynamic pass makes it: the images are read and checked, then unused.
    /// Null (the default): convolutions stay float.
    /// </summary>
    public IReadOnlyList<string>? Int8CalibrationImages;

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
