using Microsoft.ML.Clip.Models;

// In ML.NET's namespace, as its own catalogs: `using Microsoft.ML;` finds this.
namespace Microsoft.ML;

/// <summary>
/// The CLIP paper's supervised-ImageNet baseline: 512-float ResNet-18 features (the pooled layer before the
/// classifier) from the ONNX files of the NuGet package <c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c>.
/// </summary>
/// <remarks>
/// This chains exactly what <c>DnnFeaturizeImage(…, m =&gt; m.ModelSelector.ResNet18(…))</c> runs (the package's
/// preprocessing graph — RGB 0–255 to BGR minus the mean image — then the network), without making this library
/// depend on the 64 MB package: an application that references it gets the files in <c>DnnImageModels/</c> of its
/// output folder, the default <c>modelDirectory</c> (without it, the package restored in the NuGet global packages
/// folder is read). Images are loaded and resized to 224×224 (aspect kept,
/// centre-cropped) by ML.NET's image transforms. One ONNX Runtime call per row (the graphs fix the batch at 1).
/// </remarks>
public static class ResNet18FeaturesCatalog
{
    /// <summary>Size of the feature vector.</summary>
    public const int FeatureSize = ResNet18Files.FeatureSize;

    /// <summary>Where the package puts its files, relative to the application folder (the default <c>modelDirectory</c>).</summary>
    public const string DefaultModelDirectory = ResNet18Files.DefaultModelDirectory;

    /// <summary>Adds ResNet-18 image features: <paramref name="outputColumnName"/> (<c>Vector&lt;Single, 512&gt;</c>) from image paths.</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">The feature column.</param>
    /// <param name="imagePathColumnName">A <c>String</c> column of image file paths.</param>
    /// <param name="imageFolder">Folder the paths are relative to; null: as they are.</param>
    /// <param name="modelDirectory">Folder holding <c>ResNetPrepOnnx/</c> and <c>ResNet18Onnx/</c>; null: <c>DnnImageModels</c> next to the application, else the restored NuGet package in the global packages folder.</param>
    /// <param name="gpuDeviceId">CUDA device; null: the CPU.</param>
    /// <param name="fallbackToCpu">Run on the CPU when CUDA is not usable.</param>
    /// <exception cref="FileNotFoundException">An ONNX file is missing (the message names it and the package).</exception>
    public static IEstimator<ITransformer> ResNet18ImageFeatures(this TransformsCatalog catalog, string outputColumnName, string imagePathColumnName,
        string? imageFolder = null, string? modelDirectory = null, int? gpuDeviceId = null, bool fallbackToCpu = false)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentException.ThrowIfNullOrEmpty(outputColumnName);
        ArgumentException.ThrowIfNullOrEmpty(imagePathColumnName);
        var (prep, net) = ResNet18Files.Locate(modelDirectory);

        const string image = "__ResNet18Image";
        return catalog.LoadImages(image, imageFolder ?? "", imagePathColumnName)
            .Append(catalog.ResizeImages(image, ResNet18Files.NativeResolution, ResNet18Files.NativeResolution, image))
            // Planar RGB, 0–255: the preprocessing graph's expected input.
            .Append(catalog.ExtractPixels(ResNet18Files.PrepInput, image))
            .Append(catalog.ApplyOnnxModel([ResNet18Files.PrepOutput], [ResNet18Files.PrepInput], prep, gpuDeviceId, fallbackToCpu))
            .Append(catalog.CopyColumns(ResNet18Files.NetInput, ResNet18Files.PrepOutput))
            .Append(catalog.ApplyOnnxModel([ResNet18Files.NetOutput], [ResNet18Files.NetInput], net, gpuDeviceId, fallbackToCpu))
            .Append(catalog.CopyColumns(outputColumnName, ResNet18Files.NetOutput))
            .Append(catalog.DropColumns(image, ResNet18Files.PrepInput, ResNet18Files.PrepOutput, ResNet18Files.NetInput, ResNet18Files.NetOutput));
    }
}
