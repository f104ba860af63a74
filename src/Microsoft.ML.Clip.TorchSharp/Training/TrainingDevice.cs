using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Clip.TorchSharp.Training;

/// <summary>Where a run trains (<see cref="ClipTrainerOptions.Device"/>) and where its frozen image encoder runs.</summary>
internal static class TrainingDevice
{
    /// <summary>"cpu", "cuda" (refused when CUDA is not available) or null: CUDA when available, else the CPU.</summary>
    /// <exception cref="InvalidOperationException">"cuda" was asked for and <c>torch.cuda.is_available()</c> is false.</exception>
    /// <exception cref="ArgumentException">Another name.</exception>
    public static Device Resolve(string? device) => device?.ToLowerInvariant() switch
    {
        null => cuda.is_available() ? CUDA : CPU,
        "cpu" => CPU,
        "cuda" => cuda.is_available() ? CUDA : throw new InvalidOperationException("Device 'cuda' was asked for, but torch.cuda.is_available() is false."),
        _ => throw new ArgumentException($"Unknown device '{device}'; expected 'cpu' or 'cuda'.", nameof(ClipTrainerOptions.Device)),
    };

    /// <summary>
    /// The ONNX Runtime GPU of a frozen encoder that runs where the model trains: the CUDA device's index (ONNX Runtime
    /// falls back to the CPU, logged, when the application references its CPU build), or null on the CPU.
    /// </summary>
    public static int? OnnxGpuId(Device device) => device.type == DeviceType.CUDA ? Math.Max(0, device.index) : null;
}
