using System.Globalization;
using System.Runtime.InteropServices;

namespace Microsoft.ML.Clip.Cli.Tests.Packaging;

/// <summary>
/// The repository's packages packed into a local folder feed at a version of this run's own, so that no package of an
/// earlier run — in any NuGet folder — can stand in for them. The libraries are packed from their Release builds; a
/// tool is built and packed for this machine's RID only (its pointer package then lists that RID; `build/pack.sh`
/// packs every RID).
/// </summary>
internal sealed class LocalFeed(string repositoryRoot, string folder, string workFolder, DotnetCommand dotnet)
{
    /// <summary>The library packages.</summary>
    public static readonly string[] Libraries = ["Microsoft.ML.Clip", "Microsoft.ML.Clip.TorchSharp", "Microsoft.ML.Clip.Datasets"];

    /// <summary>The feed folder.</summary>
    public string Folder { get; } = folder;

    /// <summary>The version of every package of this feed.</summary>
    public string Version { get; } = string.Create(CultureInfo.InvariantCulture, $"0.1.0-packtest.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}");

    /// <summary>This machine's RID, the one a tool installed here asks for.</summary>
    public static string Rid => RuntimeInformation.RuntimeIdentifier;

    /// <summary>The path of package <paramref name="id"/>'s .nupkg (or .snupkg) in the feed.</summary>
    public string Package(string id, string extension = ".nupkg") => Path.Combine(Folder, $"{id}.{Version}{extension}");

    /// <summary>Packs the libraries from their Release builds (no build here).</summary>
    public void PackLibraries()
    {
        foreach (var project in Libraries)
            dotnet.Dotnet("pack", ProjectFile(project), "-c", "Release", "--no-build", "--no-restore", "-nologo", "-o", Folder, $"-p:Version={Version}");
    }

    /// <summary>
    /// Builds the tool of <paramref name="project"/> for <see cref="Rid"/> (beside the portable build the other tests run,
    /// which it does not touch) and packs its pointer package and that RID's package; the RID build is removed afterwards.
    /// </summary>
    public void PackTool(string project)
    {
        var projectFile = ProjectFile(project);
        try
        {
            dotnet.Dotnet("build", projectFile, "-c", "Release", "--no-restore", "-nologo", "-r", Rid, "-p:BuildProjectReferences=false", $"-p:Version={Version}");
            dotnet.Dotnet("pack", projectFile, "-c", "Release", "--no-build", "--no-restore", "-nologo", "-o", Folder, $"-p:Version={Version}",
                $"-p:ToolPackageRuntimeIdentifiers={Rid}", $"-p:PublishDir={Path.Combine(workFolder, "publish", project)}/");
        }
        finally
        {
            foreach (var output in new[] { "bin", "obj" })
            {
                var ridFolder = Path.Combine(repositoryRoot, "src", project, output, "Release", "net10.0", Rid);
                if (Directory.Exists(ridFolder))
                    Directory.Delete(ridFolder, recursive: true);
            }
        }
    }

    private string ProjectFile(string project) => Path.Combine(repositoryRoot, "src", project, project + ".csproj");
}
