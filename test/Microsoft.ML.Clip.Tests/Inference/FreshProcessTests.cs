using System.Diagnostics;
using Microsoft.ML.Clip.Imaging;
using Microsoft.ML.Clip.Models;
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

    /// <summary>An image path, the encoded file or an ML.NET image as column <c>Image</c>, as the runner gives them.</summary>
    public sealed class ImagePathInput
    {
        public string Image = "";
    }

    public sealed class ImageBytesInput
    {
        public byte[] Image = [];
    }

    public sealed class TextInput
    {
        public string Text = "";
    }

    // Resolutions outside the grid of registered factories that pipelines had before their parameters travelled through
    // the data (64, 224, 256, 288, 336, 384, 448, 512): such a model's pipeline could not be saved at all.
    [Fact]
    public void SavedZeroShotPipelineOverA96PxModelGivesEqualScoresInAFreshProcess()
    {
        var ml = new MLContext(seed: 1);
        var paths = ImageFileTests.E2eImages();
        var data = ml.Data.LoadFromEnumerable(paths.Select(p => new ImagePathInput { Image = p }));
        var folder = ModelFolders.AtResolution(96);
        var model = ml.Transforms.ClipZeroShot(folder, ModelFolders.ZeroShotClasses, templates: ModelFolders.ZeroShotTemplates).Fit(data);
        var dir = Fixtures.NewTempDir("clip-fresh-96");
        var zip = Path.Combine(dir, "zeroshot96.zip");
        ml.Model.Save(model, data.Schema, zip);
        var inProcess = model.Transform(data).GetColumn<float[]>("Score").SelectMany(s => s).ToArray();

        Directory.Delete(folder, recursive: true);
        var list = Path.Combine(dir, "paths.txt");
        File.WriteAllLines(list, paths);
        var output = Path.Combine(dir, "scores.npy");
        var result = RunRunner(zip, "paths:" + list, output);
        Assert.True(result.ExitCode == 0, result.Output);
        var fresh = Npy.ReadFloat32(output);
        Assert.Equal(new[] { 4, 5 }, fresh.Shape);
        Assert.Equal(inProcess, fresh.Data);
    }

    [Theory]
    [InlineData("paths", ClipResizeMode.ShortestSideCenterCrop)]
    [InlineData("bytes", ClipResizeMode.Squash)]
    [InlineData("images", ClipResizeMode.ShortestSideCenterCrop)]
    public void SavedImageEmbeddingPipelineAt200PxGivesEqualEmbeddingsInAFreshProcess(string input, ClipResizeMode resizeMode)
    {
        var ml = new MLContext(seed: 1);
        var paths = ImageFileTests.E2eImages();
        var pathData = ml.Data.LoadFromEnumerable(paths.Select(p => new ImagePathInput { Image = p }));
        var data = input switch
        {
            "paths" => pathData,
            "bytes" => ml.Data.LoadFromEnumerable(paths.Select(p => new ImageBytesInput { Image = File.ReadAllBytes(p) })),
            _ => ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: "Image").Fit(pathData).Transform(pathData),
        };
        var folder = ModelFolders.AtResolution(200, resizeMode);
        var model = ml.Transforms.ClipImageEmbedding("Embedding", folder, "Image", normalize: false).Fit(data);
        var dir = Fixtures.NewTempDir("clip-fresh-200");
        var zip = Path.Combine(dir, "image200.zip");
        ml.Model.Save(model, data.Schema, zip);
        var inProcess = model.Transform(data).GetColumn<float[]>("Embedding").ToArray();
        Assert.Equal(new VectorDataViewType(NumberDataViewType.Single, 64), model.GetOutputSchema(data.Schema)["Embedding"].Type);
        // The pipeline preprocessed at the model's resolution and resize mode: it agrees with ClipModel's own preprocessing.
        using (var clip = ClipModel.Load(folder))
        {
            var direct = clip.EmbedImageFiles(paths);
            for (int i = 0; i < paths.Length; i++)
                Assert.True(ModelFolders.MaxAbsDiff(direct[i], inProcess[i]) <= 1e-5f, $"row {i}: {ModelFolders.MaxAbsDiff(direct[i], inProcess[i])}");
        }

        Directory.Delete(folder, recursive: true);
        var list = Path.Combine(dir, "paths.txt");
        File.WriteAllLines(list, paths);
        var output = Path.Combine(dir, "embeddings.npy");
        var result = RunRunner(zip, input == "images" ? list : $"{input}:{list}", output, "Embedding");
        Assert.True(result.ExitCode == 0, result.Output);
        var fresh = Npy.ReadFloat32(output);
        Assert.Equal(new[] { 4, 64 }, fresh.Shape);
        Assert.Equal(inProcess.SelectMany(e => e).ToArray(), fresh.Data);
    }

    [Fact]
    public void SavedTextEmbeddingPipelineGivesEqualEmbeddingsInAFreshProcess()
    {
        var ml = new MLContext(seed: 1);
        var captions = PipelineData.Captions();
        var data = ml.Data.LoadFromEnumerable(captions.Select(t => new TextInput { Text = t }));
        var folder = ModelFolders.Create("rn", swap: false);
        var model = ml.Transforms.ClipTextEmbedding("Embedding", folder, "Text", normalize: false).Fit(data);
        var dir = Fixtures.NewTempDir("clip-fresh-text");
        var zip = Path.Combine(dir, "text.zip");
        ml.Model.Save(model, data.Schema, zip);
        var inProcess = model.Transform(data).GetColumn<float[]>("Embedding").SelectMany(e => e).ToArray();

        Directory.Delete(folder, recursive: true);
        var list = Path.Combine(dir, "texts.txt");
        Assert.DoesNotContain(captions, c => c.Contains('\n'));
        File.WriteAllLines(list, captions);
        var output = Path.Combine(dir, "embeddings.npy");
        var result = RunRunner(zip, "texts:" + list, output, "Embedding");
        Assert.True(result.ExitCode == 0, result.Output);
        var fresh = Npy.ReadFloat32(output);
        Assert.Equal(new[] { captions.Length, 64 }, fresh.Shape);
        Assert.Equal(inProcess, fresh.Data);
        Assert.True(ModelFolders.MaxAbsDiff(fresh.Data, ModelFolders.Case("rn.text_features.npy").Data) <= 1e-5f);
    }

    internal static (int ExitCode, string Output) RunRunner(params string[] args)
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
