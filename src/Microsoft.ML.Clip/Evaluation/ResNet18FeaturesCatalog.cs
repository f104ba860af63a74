namespace Microsoft.ML.Clip.Evaluation;

/// <summary>
/// The CLIP paper's supervised-ImageNet baseline: 512-float ResNet-18 features (the pooled layer before the
/// classifier) from the ONNX files of the NuGet package <c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c>.
/// </summary>
/// <remarks>
/// This chains exactly what <c>DnnFeaturizeImage(…, m =&gt; m.ModelSelector.ResNet18(…))</c> runs (the package's
/// preprocessing graph — RGB 0–255 to BGR minus the mean image — then the network), without making this library
/// depend on the 64 MB package: an application that references it gets the files in <c>DnnImageModels/</c> of its
/// output folder, the default <c>modelDirectory</c>. Images are loaded and resized to 224×224 (aspect kept,
/// centre-cropped) by ML.NET's image transforms. One ONNX Runtime call per row (the graphs fix the batch at 1).
/// </remarks>
public static class ResNet18FeaturesCatalog
{
    /// <summary>Size of the feature vector.</summary>
    public const int FeatureSize = 512;

    /// <summary>Side of the network's square input.</summary>
    public const int ImageSize = 224;

    /// <summary>Where the package puts its files, relative to the application folder.</summary>
    public const string DefaultModelDirectory = "DnnImageModels";

    /// <summary>The preprocessing graph, relative to the model directory.</summary>
    public static readonly string PreprocessFile = Path.Combine("ResNetPrepOnnx", "ResNetPreprocess.onnx");

    /// <summary>The network, relative to the model directory.</summary>
    public static readonly string NetworkFile = Path.Combine("ResNet18Onnx", "ResNet18.onnx");

    // Node names of the two graphs: ApplyOnnxModel binds columns by these names.
    private const string PrepInput = "OriginalInput", PrepOutput = "PreprocessedInput", NetInput = "Input247", NetOutput = "Pooling395_Output_0";

    /// <summary>Adds ResNet-18 image features: <paramref name="outputColumnName"/> (<c>Vector&lt;Single, 512&gt;</c>) from image paths.</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">The feature column.</param>
    /// <param name="imagePathColumnName">A <c>String</c> column of image file paths.</param>
    /// <param name="imageFolder">Folder the paths are relative to; null: as they are.</param>
    /// <param name="modelDirectory">Folder holding <c>ResNetPrepOnnx/</c> and <c>ResNet18Onnx/</c>; null: <c>DnnImageModels</c> next to the application.</param>
    /// <param name="gpuDeviceId">CUDA device; null: the CPU.</param>
    /// <param name="fallbackToCpu">Run on the CPU when CUDA is not usable.</param>
    /// <exception cref="FileNotFoundException">An ONNX file is missing (the message names it and the package).</exception>
    public static IEstimator<ITransformer> ResNet18ImageFeatures(this TransformsCatalog catalog, string outputColumnName, string imagePathColumnName,
        string? imageFolder = null, string? modelDirectory = null, int? gpuDeviceId = null, bool fallbackToCpu = false)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentException.ThrowIfNullOrEmpty(outputColumnName);
        ArgumentException.ThrowIfNullOrEmpty(imagePathColumnName);
        modelDirectory ??= Path.Combine(AppContext.BaseDirectory, DefaultModelDirectory);
        var prep = Path.Combine(modelDirectory, PreprocessFile);
        var net = Path.Combine(modelDirectory, NetworkFile);
        foreach (var file in new[] { prep, net })
            if (!File.Exists(file))
                throw new FileNotFoundException(
                    $"ResNet-18 model file '{file}' is missing: reference the NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18 (it copies DnnImageModels/ to the output) or pass its folder as modelDirectory.", file);

        const string image = "__ResNet18Image";
        return catalog.LoadImages(image, imageFolder ?? "", imagePathColumnName)
            .Append(catalog.ResizeImages(image, ImageSize, ImageSize, image))
            // Planar RGB, 0–255: the preprocessing graph's expected input.
            .Append(catalog.ExtractPixels(PrepInput, image))
            .Append(catalog.ApplyOnnxModel([PrepOutput], [PrepInput], prep, gpuDeviceId, fallbackToCpu))
            .Append(catalog.CopyColumns(NetInput, PrepOutput))
            .Append(catalog.ApplyOnnxModel([NetOutput], [NetInput], net, gpuDeviceId, fallbackToCpu))
            .Append(catalog.CopyColumns(outputColumnName, NetOutput))
            .Append(catalog.DropColumns(image, PrepInput, PrepOutput, NetInput, NetOutput));
    }
}
