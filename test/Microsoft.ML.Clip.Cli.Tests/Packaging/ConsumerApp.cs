using System.Security;

namespace Microsoft.ML.Clip.Cli.Tests.Packaging;

/// <summary>
/// A console app as a user writes it, in a folder outside the repository: it references <c>Microsoft.ML.Clip</c> from the
/// local feed and the CPU ONNX Runtime, converts a checkpoint with <c>ClipModelConverter.ConvertToOnnx</c> and classifies
/// images zero-shot in an ML.NET pipeline, printing one JSON line per image as <c>clip zeroshot</c> does.
/// </summary>
internal static class ConsumerApp
{
    /// <summary>
    /// Writes the app into <paramref name="folder"/>. Its NuGet.config adds the local feed and otherwise inherits the
    /// machine's sources; restore goes to the NUGET_PACKAGES the caller sets, with the machine's global packages folder as
    /// a read-only fallback (third-party packages are not fetched again; nothing is added to that folder).
    /// </summary>
    public static void Write(string folder, LocalFeed feed, string machinePackagesFolder, string onnxRuntimeVersion)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "NuGet.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="clip-local-feed" value="{SecurityElement.Escape(feed.Folder)}" />
              </packageSources>
              <fallbackPackageFolders>
                <add key="machine-global-packages" value="{SecurityElement.Escape(machinePackagesFolder)}" />
              </fallbackPackageFolders>
            </configuration>
            """);
        // A temporary folder's parents hold no build settings, but make sure none apply (as in a fresh project folder).
        foreach (var file in new[] { "Directory.Build.props", "Directory.Build.targets", "Directory.Packages.props" })
            File.WriteAllText(Path.Combine(folder, file), "<Project />\n");
        File.WriteAllText(Path.Combine(folder, "ConsumerApp.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="Microsoft.ML.Clip" Version="{feed.Version}" />
                <PackageReference Include="Microsoft.ML.OnnxRuntime" Version="{onnxRuntimeVersion}" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(folder, "Program.cs"), """
            using System.Text.Json;
            using Microsoft.ML;
            using Microsoft.ML.Clip.Checkpoints;

            // ConsumerApp CHECKPOINT MODEL_FOLDER CLASS,CLASS,... IMAGE...
            var (checkpoint, modelFolder, classes, images) = (args[0], args[1], args[2].Split(','), args[3..]);
            var info = ClipModelConverter.ConvertToOnnx(checkpoint, modelFolder);
            Console.Error.WriteLine($"converted: embedding {info.EmbedDim}, resolution {info.ImageResolution}");

            var ml = new MLContext();
            var data = ml.Data.LoadFromEnumerable(images.Select(path => new Photo { Path = path }));
            var pipeline = ml.Transforms.ClipZeroShot(modelFolder, classes, inputColumnName: nameof(Photo.Path))
                .Append(ml.Transforms.Conversion.MapKeyToValue(nameof(Prediction.Label), "PredictedLabel"));
            var model = pipeline.Fit(data);
            foreach (var row in ml.Data.CreateEnumerable<Prediction>(model.Transform(data), reuseRowObject: false))
                Console.WriteLine(JsonSerializer.Serialize(new { file = row.Path, label = row.Label, scores = row.Score }));
            (model as IDisposable)?.Dispose();

            class Photo { public string Path { get; set; } = ""; }
            class Prediction { public string Path { get; set; } = ""; public string Label { get; set; } = ""; public float[] Score { get; set; } = []; }
            """);
    }
}
