namespace Microsoft.ML.Clip.Models;

/// <summary>
/// The two ONNX files of the NuGet package <c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c> (a preprocessing graph and
/// the network), defined once for the per-row pipeline (<see cref="ResNet18FeaturesCatalog"/>) and the batched encoder
/// (<see cref="FrozenImageEncoder.ResNet18"/>): where they are, the value names inside them, and the missing-file error.
/// </summary>
internal static class ResNet18Files
{
    /// <summary>Where the package puts its files, relative to the application folder.</summary>
    public const string DefaultModelDirectory = "DnnImageModels";

    /// <summary>The preprocessing graph (RGB 0–255 → BGR minus the mean image), relative to the model directory.</summary>
    public static readonly string PreprocessFile = Path.Combine("ResNetPrepOnnx", "ResNetPreprocess.onnx");

    /// <summary>The network, relative to the model directory.</summary>
    public static readonly string NetworkFile = Path.Combine("ResNet18Onnx", "ResNet18.onnx");

    /// <summary>Size of the pooled feature vector.</summary>
    public const int FeatureSize = 512;

    /// <summary>Side of the square input both files declare.</summary>
    public const int NativeResolution = 224;

    /// <summary>Value names inside the two graphs (ApplyOnnxModel binds columns by them; the chained graph renames them).</summary>
    public const string PrepInput = "OriginalInput", PrepOutput = "PreprocessedInput", NetInput = "Input247", NetOutput = "Pooling395_Output_0";

    /// <summary>The two files' paths in <paramref name="modelDirectory"/> (null: <see cref="DefaultModelDirectory"/> next to the application).</summary>
    /// <exception cref="FileNotFoundException">A file is missing; the message names it and the package.</exception>
    public static (string Preprocess, string Network) Locate(string? modelDirectory)
    {
        modelDirectory ??= Path.Combine(AppContext.BaseDirectory, DefaultModelDirectory);
        var prep = Path.Combine(modelDirectory, PreprocessFile);
        var net = Path.Combine(modelDirectory, NetworkFile);
        foreach (var file in new[] { prep, net })
            if (!File.Exists(file))
                throw new FileNotFoundException(
                    $"ResNet-18 model file '{file}' is missing: reference the NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18 (it copies DnnImageModels/ to the output) or pass its folder as modelDirectory.", file);
        return (prep, net);
    }
}
