namespace Microsoft.ML.Clip.Models;

/// <summary>
/// The two ONNX files of the NuGet package <c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c> (a preprocessing graph and
/// the network), defined once for the per-row pipeline (<see cref="ResNet18FeaturesCatalog"/>) and the batched encoder
/// (<see cref="FrozenImageEncoder.ResNet18"/>): where they are, the value names inside them, and the missing-file error.
/// </summary>
/// <remarks>
/// Without a folder given, the files are read where the package puts them: <c>DnnImageModels/</c> beside the
/// application (the package's build props copy them there for a project that references it), else the restored package
/// in the NuGet global packages folder (an installed .NET tool carries no copy of its own).
/// friend: <see cref="PackageId"/> and <see cref="PackageVersion"/> are used by clip (<c>clip restore-models</c>).
/// </remarks>
internal static class ResNet18Files
{
    /// <summary>The NuGet package that ships the files.</summary>
    public const string PackageId = "Microsoft.ML.DnnImageFeaturizer.ResNet18";

    /// <summary>The package version read from the global packages folder (the one <c>Directory.Packages.props</c> pins; a test checks they agree).</summary>
    public const string PackageVersion = "0.23.1";

    /// <summary>Where the package puts its files, relative to the application folder.</summary>
    public const string DefaultModelDirectory = "DnnImageModels";

    /// <summary>Where the files are inside the package.</summary>
    public static readonly string PackageModelDirectory = Path.Combine("tools", DefaultModelDirectory);

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

    /// <summary>
    /// The two files' paths in <paramref name="modelDirectory"/>; null: <see cref="DefaultModelDirectory"/> next to the
    /// application, else the restored package in the NuGet global packages folder.
    /// </summary>
    /// <exception cref="FileNotFoundException">A file is missing; the message names it and the package.</exception>
    public static (string Preprocess, string Network) Locate(string? modelDirectory)
        => Locate(modelDirectory, AppContext.BaseDirectory, NuGetPackageFolder.GlobalPackagesFolder);

    /// <summary><see cref="Locate(string?)"/> with the application folder and the global packages folder given (tests).</summary>
    internal static (string Preprocess, string Network) Locate(string? modelDirectory, string applicationDirectory, string packagesFolder)
    {
        if (modelDirectory is not null)
        {
            foreach (var file in new[] { Path.Combine(modelDirectory, PreprocessFile), Path.Combine(modelDirectory, NetworkFile) })
                if (!File.Exists(file))
                    throw new FileNotFoundException(
                        $"ResNet-18 model file '{file}' is missing: pass the folder that holds {PreprocessFile} and {NetworkFile} (the {DefaultModelDirectory} folder of the NuGet package {PackageId}), or none to use the package's.", file);
            return (Path.Combine(modelDirectory, PreprocessFile), Path.Combine(modelDirectory, NetworkFile));
        }
        var besideApplication = Path.Combine(applicationDirectory, DefaultModelDirectory);
        var restored = Path.Combine(NuGetPackageFolder.PackageDirectory(PackageId, PackageVersion, packagesFolder), PackageModelDirectory);
        foreach (var folder in new[] { besideApplication, restored })
            if (File.Exists(Path.Combine(folder, PreprocessFile)) && File.Exists(Path.Combine(folder, NetworkFile)))
                return (Path.Combine(folder, PreprocessFile), Path.Combine(folder, NetworkFile));
        throw new FileNotFoundException(
            $"The ResNet-18 model files ({PreprocessFile}, {NetworkFile}) are neither beside the application ('{besideApplication}') nor in the restored NuGet package ('{restored}'): " +
            $"reference the NuGet package {PackageId} {PackageVersion} in the application (it copies {DefaultModelDirectory}/ to the output), or restore it once into the NuGet global packages folder " +
            $"(`clip restore-models`, or `dotnet restore` of any project that references it), or pass the folder that holds the files (modelDirectory; --resnet18-models).",
            Path.Combine(restored, PreprocessFile));
    }
}
