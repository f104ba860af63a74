using Microsoft.ML.Clip.TestUtilities;
using Microsoft.ML.Clip.Tests.Inference;
using Microsoft.ML.Data;
using Xunit;
using Xunit.Abstractions;

namespace Microsoft.ML.Clip.Tests.Siglip;

/// <summary>
/// The exported SigLIP fixture in ML.NET pipelines: zero-shot (sigmoid scores, PredictedLabel, Evaluate, Save/Load in a
/// fresh process with the model folder gone) and text embeddings tokenized by the saved SentencePiece tokenizer.
/// </summary>
public class SiglipPipelineTests(ITestOutputHelper output)
{
    public sealed class ImagePath
    {
        public string Image = "";
        public string Label = "";
    }

    public sealed class Caption
    {
        public string Text = "";
    }

    /// <summary>A private copy of the exported folder, so that a test may delete it.</summary>
    private static string CopyOfOnnxFolder()
    {
        var folder = Path.Combine(Fixtures.NewTempDir("siglip-pipeline"), "model");
        Directory.CreateDirectory(folder);
        foreach (var file in Directory.GetFiles(SiglipFixture.OnnxFolder))
            File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
        return folder;
    }

    [Fact]
    public void ZeroShotScoresAreTheReferenceSigmoidProbabilitiesAlsoInAFreshProcess()
    {
        var ml = new MLContext(seed: 1);
        var files = SiglipFixture.ImageFiles;
        var classes = SiglipFixture.Classes;
        var expected = SiglipFixture.Output("zeroshot_probs");
        // Labels: the predicted class for the first two images, another one for the last two.
        var predicted = Enumerable.Range(0, 4).Select(i => ZeroShot.ZeroShotMath.ArgMax(expected.Data.AsSpan(i * 5, 5))).ToArray();
        var rows = files.Select((f, i) => new ImagePath { Image = f, Label = classes[i < 2 ? predicted[i] : (predicted[i] + 1) % 5] }).ToArray();
        var data = ml.Data.LoadFromEnumerable(rows);
        var folder = CopyOfOnnxFolder();
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label", keyData: ml.Data.LoadFromEnumerable(classes.Select(c => new Caption { Text = c })), inputColumnName: "Label")
            .Append(ml.Transforms.ClipZeroShot(folder, classes, templates: [SiglipFixture.Template]));
        var model = pipeline.Fit(data);
        var transformed = model.Transform(data);
        var scores = transformed.GetColumn<float[]>("Score").SelectMany(s => s).ToArray();
        var max = SiglipFixture.MaxAbsDiff(scores, expected.Data);
        output.WriteLine($"ML.NET zero-shot Score vs zeroshot_probs: max |diff| {max:E2}");
        Assert.True(max <= 1e-4f);
        Assert.Equal(predicted.Select(p => (uint)p + 1), transformed.GetColumn<uint>("PredictedLabel"));
        var metrics = ml.MulticlassClassification.Evaluate(transformed);
        Assert.Equal(0.5, metrics.MicroAccuracy, 6);

        var zip = Path.Combine(Fixtures.NewTempDir("siglip-fresh"), "zeroshot.zip");
        // The zero-shot transformer alone: the fresh process's rows have images, no labels.
        ml.Model.Save(model.LastTransformer, data.Schema, zip);
        Directory.Delete(folder, recursive: true);
        var list = Path.Combine(Path.GetDirectoryName(zip)!, "paths.txt");
        File.WriteAllLines(list, files);
        var npy = Path.Combine(Path.GetDirectoryName(zip)!, "scores.npy");
        var result = FreshProcessTests.RunRunner(zip, "paths:" + list, npy);
        Assert.True(result.ExitCode == 0, result.Output);
        var fresh = Npy.ReadFloat32(npy);
        Assert.Equal([4, 5], fresh.Shape);
        Assert.Equal(scores, fresh.Data);
    }

    [Fact]
    public void TextEmbeddingsAreTheReferenceFeaturesAfterSaveAndLoad()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(SiglipFixture.Captions.Select(c => new Caption { Text = c }));
        var folder = CopyOfOnnxFolder();
        var model = ml.Transforms.ClipTextEmbedding("Embedding", folder, "Text", normalize: false).Fit(data);
        var embeddings = model.Transform(data).GetColumn<float[]>("Embedding").SelectMany(e => e).ToArray();
        var max = SiglipFixture.MaxAbsDiff(embeddings, SiglipFixture.Output("text_features").Data);
        output.WriteLine($"ML.NET text embedding vs text_features: max |diff| {max:E2}");
        Assert.True(max <= 1e-4f);

        var zip = Path.Combine(Fixtures.NewTempDir("siglip-text"), "text.zip");
        ml.Model.Save(model, data.Schema, zip);
        Directory.Delete(folder, recursive: true);
        var reloaded = new MLContext().Model.Load(zip, out _).Transform(data).GetColumn<float[]>("Embedding").SelectMany(e => e).ToArray();
        Assert.Equal(embeddings, reloaded);
    }
}
