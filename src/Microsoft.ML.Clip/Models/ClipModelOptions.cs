namespace Microsoft.ML.Clip.Models;

/// <summary>How <see cref="ClipModel.Load(string, ClipModelOptions?)"/> runs the encoders.</summary>
public sealed class ClipModelOptions
{
    /// <summary>Default values of the options.</summary>
    public static class Defaults
    {
        /// <summary>Images or texts per ONNX Runtime call.</summary>
        public const int BatchSize = 32;

        /// <summary>Fall back to the CPU when CUDA cannot be used.</summary>
        public const bool FallbackToCpu = true;
    }

    /// <summary>ONNX Runtime intra-op threads; null lets ONNX Runtime decide (one per core).</summary>
    public int? IntraOpNumThreads;

    /// <summary>CUDA device to run on; null runs on the CPU.</summary>
    public int? GpuDeviceId;

    /// <summary>
    /// When <see cref="GpuDeviceId"/> is set and CUDA cannot be used (CPU-only ONNX Runtime package, no CUDA
    /// libraries, no device), run on the CPU and log why instead of throwing. Default <see cref="Defaults.FallbackToCpu"/>.
    /// </summary>
    public bool FallbackToCpu = Defaults.FallbackToCpu;

    /// <summary>Images or texts per ONNX Runtime call in the list and bulk APIs. Default <see cref="Defaults.BatchSize"/>.</summary>
    public int BatchSize = Defaults.BatchSize;

    /// <summary>
    /// How <see cref="ClipModel.Preprocessor"/> decodes images (size limit; <see cref="Imaging.ClipImageDecodeOptions.JpegDctScaling"/>,
    /// the faster but not bit-exact decoding of large JPEGs); null: <see cref="Imaging.ClipImageDecodeOptions.Default"/> (exact).
    /// </summary>
    public Imaging.ClipImageDecodeOptions? ImageDecodeOptions;

    /// <summary>Receives progress and fallback messages; null discards them.</summary>
    public Action<string>? Log;
}
