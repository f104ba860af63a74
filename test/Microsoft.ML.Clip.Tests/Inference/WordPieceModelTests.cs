using Google.Protobuf;
using Microsoft.Extensions.AI;
using Microsoft.ML.Clip.Graphs;
using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.TestUtilities;
using Microsoft.ML.Clip.Tokenization;
using Microsoft.ML.Data;
using Onnx;
using Xunit;

namespace Microsoft.ML.Clip.Tests.Inference;

/// <summary>
/// A model folder whose text tower is a frozen BERT-family encoder with MiniLM's WordPiece tokenizer (exported through
/// the exporter: <see cref="WordPieceModels.ExportedModel"/>) in everything that takes a model folder: the exported graph,
/// <c>ClipModel</c>, zero-shot with prompt ensembling, <c>Evaluate</c>, <c>PredictionEngine</c>, Save/Load in a fresh
/// process (the saved pipeline carries the vocabulary), the bulk path and <c>IEmbeddingGenerator</c>.
/// </summary>
public class WordPieceModelTests
{
    private static readonly Lazy<(string Folder, Microsoft.ML.Clip.Export.FrozenTextEncoderGraph Text)> Model = new(() => WordPieceModels.ExportedModel());
    private static readonly string[] Classes = ["cat", "dog", "red car", "grinning face"];
    private static readonly string[] Templates = ["{}", "a photo of a {}."];

    [Fact]
    public void The_export_is_the_frozen_graph_unchanged_then_the_head_with_the_tokenizer_recorded()
    {
        var (folder, text) = Model.Value;
        var info = ClipModelInfo.Load(Path.Combine(folder, ClipModelInfo.FileName));
        Assert.Equal((ClipTokenizerSpec.WordPiece, "vocab.txt", 0, 256, ClipModelInfo.DynamicSequence), (info.Tokenizer.Kind, info.Tokenizer.File, info.Tokenizer.PadId, info.Tokenizer.ContextLength, info.TextSequence));
        Assert.Equal((101, 102, WordPieceModels.VocabularyLines, (bool?)true), (info.Tokenizer.StartOfTextId, info.Tokenizer.EndOfTextId, info.Tokenizer.VocabSize, info.Tokenizer.Lowercase));
        Assert.Equal(WordPieceModels.MiniLmVocabulary, File.ReadAllBytes(Path.Combine(folder, "vocab.txt")));

        // Every initializer and node of the frozen encoder's graph is in text.onnx, byte for byte.
        var frozen = ModelProto.Parser.ParseFrom(text.GraphBytes).Graph;
        var exported = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(folder, "text.onnx"))).Graph;
        var initializers = exported.Initializer.ToDictionary(t => t.Name);
        Assert.All(frozen.Initializer, t => Assert.True(initializers.TryGetValue(t.Name, out var kept) && kept.ToByteString().Equals(t.ToByteString()), t.Name));
        var nodes = exported.Node.Select(n => n.ToByteString()).ToHashSet();
        Assert.All(frozen.Node, n => Assert.Contains(n.ToByteString(), nodes));
        Assert.Contains("ln_final.weight", initializers.Keys);
        Assert.Contains("text_projection", initializers.Keys);
    }

    [Fact]
    public void ClipModel_embeds_texts_as_the_encoder_and_the_head_written_out()
    {
        var (folder, text) = Model.Value;
        using var model = ClipModel.Load(folder, new ClipModelOptions { IntraOpNumThreads = 1 });
        string[] texts = ["a cat", "A photo of a big dog on a red car, in Zürich!", ""];
        var rows = model.Tokenize(texts);
        using var encoder = FrozenTextEncoder.FromFolder(WordPieceModels.TinyBertFolder());
        for (var i = 0; i < texts.Length; i++)
        {
            var ids = encoder.Tokenize(texts[i]);
            Assert.Equal(ids.Select(v => (long)v).Concat(Enumerable.Repeat(0L, 256 - ids.Length)), rows.AsSpan(i * 256, 256).ToArray());
        }
        var embeds = model.EmbedTexts(texts);
        var features = encoder.Featurize(texts);
        var head = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(folder, "text.onnx"))).Graph.Initializer.ToDictionary(t => t.Name);
        float[] Values(string name) => head[name].RawData.Length > 0 ? System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(head[name].RawData.Span).ToArray() : [.. head[name].FloatData];
        var (weight, bias, projection) = (Values("ln_final.weight"), Values("ln_final.bias"), Values("text_projection"));
        for (var i = 0; i < texts.Length; i++)
        {
            var f = features[i];
            var mean = f.Average();
            var variance = f.Select(v => (v - mean) * (v - mean)).Average();
            var normed = f.Select((v, k) => (v - mean) / MathF.Sqrt(variance + 1e-5f) * weight[k] + bias[k]).ToArray();
            var expected = Enumerable.Range(0, model.EmbeddingSize).Select(d => Enumerable.Range(0, f.Length).Sum(k => normed[k] * projection[k * model.EmbeddingSize + d])).ToArray();
            Assert.True(ModelFolders.MaxAbsDiff(expected, embeds[i]) <= 1e-4f, $"text {i}");
        }
    }

    [Fact]
    public void Zero_shot_evaluates_predicts_and_reloads_in_a_fresh_process()
    {
        var (folder, _) = Model.Value;
        var ml = new MLContext(seed: 1);
        var images = ImageFileTests.E2eImages();
        var rows = images.Select((p, i) => new LabeledPath { Path = p, Name = Classes[i % Classes.Length] }).ToArray();
        var data = ml.Data.LoadFromEnumerable(rows);
        var pipeline = ml.Transforms.Conversion.MapClassNamesToKey("Label", Classes, "Name")
            .Append(ml.Transforms.ClipZeroShot(folder, Classes, inputColumnName: "Path", templates: Templates));
        var fitted = pipeline.Fit(data);
        var output = fitted.Transform(data);
        var scores = output.GetColumn<float[]>("Score").ToArray();

        // Prompt ensembling by hand through ClipModel: the mean of each class's normalised prompt embeddings, renormalised;
        // logits 100 · cosine (the pipeline's default scale).
        using var model = ClipModel.Load(folder);
        var imageEmbeds = model.EmbedImageFiles(images);
        var classEmbeds = Classes.Select(c =>
        {
            var prompts = model.EmbedTexts(Templates.Select(t => t.Replace("{}", c)).ToList());
            foreach (var p in prompts) ClipModel.Normalize(p);
            var mean = Enumerable.Range(0, model.EmbeddingSize).Select(d => prompts.Average(p => p[d])).ToArray();
            ClipModel.Normalize(mean);
            return mean;
        }).ToArray();
        for (var i = 0; i < images.Length; i++)
        {
            ClipModel.Normalize(imageEmbeds[i]);
            var logits = classEmbeds.Select(c => 100f * c.Zip(imageEmbeds[i], (a, b) => a * b).Sum()).ToArray();
            var max = logits.Max();
            var exp = logits.Select(l => MathF.Exp(l - max)).ToArray();
            Assert.True(ModelFolders.MaxAbsDiff(exp.Select(e => e / exp.Sum()).ToArray(), scores[i]) <= 1e-4f, $"image {i}");
        }

        var metrics = ml.MulticlassClassification.Evaluate(output);
        var expectedAccuracy = Enumerable.Range(0, images.Length).Average(i => ZeroShot.ZeroShotMath.ArgMax(scores[i]) == i % Classes.Length ? 1.0 : 0.0);
        Assert.Equal(expectedAccuracy, metrics.MicroAccuracy, 6);

        var engine = ml.Model.CreatePredictionEngine<LabeledPath, ZeroShotPrediction>(fitted);
        var one = engine.Predict(rows[1]);
        Assert.True(ModelFolders.MaxAbsDiff(scores[1], one.Score) <= 1e-6f);

        // Saved without the folder: the zip carries the graphs, the class weights and the tokenizer with its vocabulary.
        var dir = Fixtures.NewTempDir("wordpiece-fresh");
        var zeroShot = ml.Transforms.ClipZeroShot(folder, Classes, inputColumnName: "Image", templates: Templates).Fit(ml.Data.LoadFromEnumerable(images.Select(p => new ImagePath { Image = p })));
        var zip = Path.Combine(dir, "zeroshot.zip");
        ml.Model.Save(zeroShot, ml.Data.LoadFromEnumerable(images.Select(p => new ImagePath { Image = p })).Schema, zip);
        var texts = ml.Transforms.ClipTextEmbedding("Embedding", folder, "Text").Fit(ml.Data.LoadFromEnumerable([new FreshProcessTests.TextInput()]));
        var textZip = Path.Combine(dir, "text.zip");
        ml.Model.Save(texts, ml.Data.LoadFromEnumerable([new FreshProcessTests.TextInput()]).Schema, textZip);
        string[] captions = ["a cat", "A photo of a big dog on a red car, in Zürich!", "grinning face"];
        var inProcess = texts.Transform(ml.Data.LoadFromEnumerable(captions.Select(c => new FreshProcessTests.TextInput { Text = c }))).GetColumn<float[]>("Embedding").SelectMany(e => e).ToArray();

        var copy = Fixtures.NewTempDir("wordpiece-moved");
        foreach (var file in Directory.GetFiles(folder)) File.Move(file, Path.Combine(copy, Path.GetFileName(file)));
        try
        {
            var paths = Path.Combine(dir, "paths.txt");
            File.WriteAllLines(paths, images);
            var result = FreshProcessTests.RunRunner(zip, "paths:" + paths, Path.Combine(dir, "scores.npy"));
            Assert.True(result.ExitCode == 0, result.Output);
            Assert.Equal(scores.SelectMany(s => s).ToArray(), Npy.ReadFloat32(Path.Combine(dir, "scores.npy")).Data);
            var list = Path.Combine(dir, "texts.txt");
            File.WriteAllLines(list, captions);
            var textResult = FreshProcessTests.RunRunner(textZip, "texts:" + list, Path.Combine(dir, "embeddings.npy"), "Embedding");
            Assert.True(textResult.ExitCode == 0, textResult.Output);
            Assert.Equal(inProcess, Npy.ReadFloat32(Path.Combine(dir, "embeddings.npy")).Data);
        }
        finally
        {
            foreach (var file in Directory.GetFiles(copy)) File.Move(file, Path.Combine(folder, Path.GetFileName(file)));
        }
    }

    [Fact]
    public async Task The_bulk_path_and_the_embedding_generator_use_the_models_own_tokenizer()
    {
        var (folder, _) = Model.Value;
        using var model = ClipModel.Load(folder, new ClipModelOptions { BatchSize = 2 });
        string[] texts = ["a cat", "A photo of a big dog on a red car, in Zürich!", "grinning face", "keycap: #", "tab\tseparated"];
        var expected = model.EmbedTexts(texts);
        foreach (var e in expected) ClipModel.Normalize(e);
        var ml = new MLContext(seed: 1);
        var bulk = model.EmbedTexts(ml.Data.LoadFromEnumerable(texts.Select(t => new FreshProcessTests.TextInput { Text = t })), "Text")
            .GetColumn<float[]>("Embedding").ToArray();
        IEmbeddingGenerator<string, Embedding<float>> generator = new ClipTextEmbeddingGenerator(model);
        var generated = await generator.GenerateAsync(texts);
        for (var i = 0; i < texts.Length; i++)
        {
            Assert.True(ModelFolders.MaxAbsDiff(expected[i], bulk[i]) <= 1e-5f, $"bulk, text {i}");
            Assert.True(ModelFolders.MaxAbsDiff(expected[i], generated[i].Vector.ToArray()) <= 1e-5f, $"generator, text {i}");
        }
    }

    public sealed class LabeledPath
    {
        public string Path = "";
        public string Name = "";
    }

    public sealed class ImagePath
    {
        public string Image = "";
    }
}
