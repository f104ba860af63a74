using System.Diagnostics;
using Microsoft.ML.Clip.IO;
using Microsoft.ML.Clip.TestUtilities;
using Microsoft.ML.Data;
using Xunit;

namespace Microsoft.ML.Clip.Tests.Inference;

public class FreshProcessTests
{
    [Fact]
    public void SavedZeroShotModelGivesEqualScoresInAFreshProcess()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(PipelineData.Images());
        var folder = ModelFolders.Create("rn", swap: false);
        var model = ml.Transforms.ClipZeroShot(folder, ModelFolders.ZeroShotClasses, templates: ModelFolders.ZeroShotTemplates).Fit(data);
        var dir = Fixtures.NewTempDir("clip-fresh");
        var zip = Path.Combine(dir, "zeroshot.zip");
        ml.Model.Save(model, data.Schema, zip);
        var inProcess = model.Transform(data).GetColumn<float[]>("Score").SelectMany(s => s).ToArray();

        // The model folder is deleted first: the zip alone must carry the ONNX graphs and class weights.
        Directory.Delete(folder, recursive: true);
        var output = Path.Combine(dir, "scores.npy");
        var result = RunRunner(zip, Fixtures.Reference("cases", "images.npy"), output);
        Assert.True(result.ExitCode == 0, result.Output);
        var fresh = Npy.ReadFloat32(output);
        Assert.Equal(new[] { 4, 5 }, fresh.Shape);
        Assert.Equal(inProcess, fresh.Data);
        Assert.True(ModelFolders.MaxAbsDiff(fresh.Data, ModelFolders.Case("rn.zeroshot_probs.npy").Data) <= 1e-4f);
    }

    [Fact]
    public void SavedImageColumnModelGivesEqualEmbeddingsInAFreshProcess()
    {
        var ml = new MLContext(seed: 1);
        var (_, images) = MLImageColumnTests.Data(ml);
        var folder = ModelFolders.Create("vit", swap: false);
        var model = ml.Transforms.ClipImageEmbedding("Embedding", folder, "Image", normalize: false).Fit(images);
        var dir = Fixtures.NewTempDir("clip-fresh-image");
        var zip = Path.Combine(dir, "image.zip");
        ml.Model.Save(model, images.Schema, zip);
        var inProcess = model.Transform(images).GetColumn<float[]>("Embedding").SelectMany(s => s).ToArray();

        Directory.Delete(folder, recursive: true);
        var paths = Path.Combine(dir, "paths.txt");
        File.WriteAllLines(paths, ImageFileTests.E2eImages());
        var output = Path.Combine(dir, "embeddings.npy");
        // The runner reads the images with LoadImages in its own MLContext: a fresh Image column type instance.
        var result = RunRunner(zip, paths, output, "Embedding");
        Assert.True(result.ExitCode == 0, result.Output);
        var fresh = Npy.ReadFloat32(output);
        Assert.Equal(new[] { 4, 64 }, fresh.Shape);
        Assert.Equal(inProcess, fresh.Data);
        ImageFileTests.AssertCosine(Enumerable.Range(0, 4).Select(i => fresh.Data.AsSpan(i * 64, 64).ToArray()).ToArray(), "vit");
    }

    private static (int ExitCode, string Output) RunRunner(params string[] args)
    {
        var config = AppContext.BaseDirectory.Contains("/Debug/") ? "Debug" : "Release";
        var repo = Directory.GetParent(Fixtures.Root)!.Parent!.FullName;
        var runner = Path.Combine(repo, "test", "Microsoft.ML.Clip.ModelRunner", "bin", config, "net10.0", "Microsoft.ML.Clip.ModelRunner.dll");
        Assert.True(File.Exists(runner), $"'{runner}' is not built.");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(runner);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("ModelRunner did not finish in 5 minutes.");
        }
        return (process.ExitCode, stdout.Result + stderr.Result);
    }
}
