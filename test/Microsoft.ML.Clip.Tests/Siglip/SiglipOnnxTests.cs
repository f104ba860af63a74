using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Data;
using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.TestUtilities;
using Microsoft.ML.Clip.Tokenization;
using Microsoft.ML.Clip.ZeroShot;
using Xunit;
using Xunit.Abstractions;

namespace Microsoft.ML.Clip.Tests.Siglip;

/// <summary>
/// The SigLIP fixture's Hugging Face folder converted to ONNX on plain arrays (<see cref="ClipModelConverter"/>) and run by
/// <see cref="ClipModel"/>: every output against the reference (Hugging Face's SiglipModel re-stated) within 1e-4.
/// </summary>
public class SiglipOnnxTests(ITestOutputHelper output)
{
    private const float Tolerance = 1e-4f;

    private static ClipModel Load(string? folder = null) => ClipModel.Load(folder ?? SiglipFixture.OnnxFolder, new ClipModelOptions { IntraOpNumThreads = 1 });

    private void AssertClose(string name, float[] actual, ReadOnlySpan<float> expected)
    {
        var max = SiglipFixture.MaxAbsDiff(actual, expected);
        output.WriteLine($"{name}: max |diff| {max:E2}");
        Assert.True(max <= Tolerance, $"{name} differs by {max}");
    }

    [Fact]
    public void TheFolderRecordsTheSigmoidFamilyTokenizerAndPreprocessing()
    {
        var folder = SiglipFixture.OnnxFolder;
        Assert.Equal(
            ["clip_model.json", "image.onnx", "spiece.model", "text.onnx"],
            Directory.GetFiles(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        var info = ClipModelInfo.Load(Path.Combine(folder, ClipModelInfo.FileName));
        Assert.Equal(ClipModelInfo.SiglipFamily, info.Family);
        Assert.Equal(2.302734375f, info.LogitScale);
        Assert.Equal(1.0f, info.LogitBias);
        Assert.Equal((48, 64), (info.EmbedDim, info.ImageResolution));
        Assert.Equal(ClipModelInfo.FixedSequence, info.TextSequence);
        Assert.Equal(ClipTokenizerSpec.SiglipSentencePiece, info.Tokenizer.Kind);
        Assert.Equal(("spiece.model", 64, 1000, 1, 1), (info.Tokenizer.File, info.Tokenizer.ContextLength, info.Tokenizer.VocabSize, info.Tokenizer.PadId, info.Tokenizer.EndOfTextId));
        Assert.Equal(ClipPreprocessInfo.Squash, info.Preprocess.ResizeMode);
        Assert.True(info.Preprocess.ConvertRgbFirst);
        Assert.Equal([0.5f, 0.5f, 0.5f], info.Preprocess.Mean);
        Assert.Equal([0.5f, 0.5f, 0.5f], info.Preprocess.Std);
        Assert.Equal(File.ReadAllBytes(Path.Combine(SiglipFixture.ModelFolder, "spiece.model")), File.ReadAllBytes(Path.Combine(folder, "spiece.model")));
    }

    [Fact]
    public void EmbeddingsMatchTheReference()
    {
        using var model = Load();
        var pixels = SiglipFixture.PixelValues;
        AssertClose("image_features (pixel_values)", [.. model.EmbedImages(pixels.Data, 4).SelectMany(e => e)], SiglipFixture.Output("image_features").Data);
        AssertClose("image_features (image files)", [.. model.EmbedImageFiles(SiglipFixture.ImageFiles).SelectMany(e => e)], SiglipFixture.Output("image_features").Data);

        var ids = SiglipFixture.Ids("input_ids");
        AssertClose("text_features (input_ids)", [.. model.EmbedTokens(ids.Data, 6).SelectMany(e => e)], SiglipFixture.Output("text_features").Data);
        Assert.Equal(ids.Data, model.Tokenize(SiglipFixture.Captions));
        AssertClose("text_features (captions)", [.. model.EmbedTexts(SiglipFixture.Captions).SelectMany(e => e)], SiglipFixture.Output("text_features").Data);
    }

    [Fact]
    public void LogitsAndProbabilitiesFollowFromTheEmbeddings()
    {
        using var model = Load();
        var images = model.EmbedImages(SiglipFixture.PixelValues.Data, 4);
        var texts = model.EmbedTexts(SiglipFixture.Captions);
        foreach (var e in images.Concat(texts))
            ClipModel.Normalize(e);
        AssertClose("image_embeds", [.. images.SelectMany(e => e)], SiglipFixture.Output("image_embeds").Data);
        AssertClose("text_embeds", [.. texts.SelectMany(e => e)], SiglipFixture.Output("text_embeds").Data);
        var logits = new float[4 * 6];
        for (var i = 0; i < 4; i++)
            for (var t = 0; t < 6; t++)
                logits[i * 6 + t] = images[i].Zip(texts[t], (a, b) => a * b).Sum() * model.LogitScale + model.LogitBias!.Value;
        AssertClose("logits_per_image", logits, SiglipFixture.Output("logits_per_image").Data);
        AssertClose("probs_per_image", [.. logits.Select(l => 1 / (1 + MathF.Exp(-l)))], SiglipFixture.Output("probs_per_image").Data);
    }

    [Fact]
    public void ZeroShotGivesTheReferenceSigmoidProbabilities()
    {
        using var model = Load();
        var classifier = new ZeroShotClassifier(model, SiglipFixture.Classes, [SiglipFixture.Template]);
        Assert.Equal(1.0f, classifier.Bias);
        var images = model.EmbedImageFiles(SiglipFixture.ImageFiles);
        AssertClose("zeroshot_probs", [.. images.SelectMany(e => classifier.Probabilities(e))], SiglipFixture.Output("zeroshot_probs").Data);
        // The prompts tokenize to the fixture's zero-shot ids.
        Assert.Equal(SiglipFixture.Ids("zeroshot_input_ids").Data,
            model.Tokenize([.. SiglipFixture.Classes.Select(c => ClipPromptTemplates.Fill(SiglipFixture.Template, c))]));
    }

    [Fact]
    public void Float16WeightsAndTheFloat16FileGiveTheSameFeatures()
    {
        var root = Fixtures.NewTempDir("siglip-fp16");
        var fp16Storage = Path.Combine(root, "fp16-storage");
        var fromFp16File = Path.Combine(root, "fp16-file");
        ClipModelConverter.ConvertToOnnx(SiglipFixture.ModelFolder, fp16Storage, new ClipConversionOptions { WeightsAsFloat16 = true });
        ClipModelConverter.ConvertToOnnx(Path.Combine(SiglipFixture.ModelFolder, "model.fp16.safetensors"), fromFp16File);
        foreach (var file in new[] { "image.onnx", "text.onnx" })
            Assert.True(new FileInfo(Path.Combine(fp16Storage, file)).Length < 0.6 * new FileInfo(Path.Combine(SiglipFixture.OnnxFolder, file)).Length);
        foreach (var folder in new[] { fp16Storage, fromFp16File })
        {
            using var model = Load(folder);
            AssertClose($"{Path.GetFileName(folder)} image_features", [.. model.EmbedImages(SiglipFixture.PixelValues.Data, 4).SelectMany(e => e)], SiglipFixture.Output("image_features").Data);
            AssertClose($"{Path.GetFileName(folder)} text_features", [.. model.EmbedTexts(SiglipFixture.Captions).SelectMany(e => e)], SiglipFixture.Output("text_features").Data);
        }
    }

    [Fact]
    public void ShardedWeightsLoadLikeTheSingleFile()
    {
        var folder = Fixtures.NewTempDir("siglip-sharded");
        foreach (var file in Directory.GetFiles(SiglipFixture.ModelFolder).Where(f => !f.EndsWith(".safetensors", StringComparison.Ordinal)))
            File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
        var tensors = SafetensorsReader.Read(Path.Combine(SiglipFixture.ModelFolder, "model.safetensors"));
        var vision = tensors.Where(t => t.Key.StartsWith("vision_model.", StringComparison.Ordinal)).ToDictionary();
        var rest = tensors.Where(t => !vision.ContainsKey(t.Key)).ToDictionary();
        SafetensorsWriter.Write(Path.Combine(folder, "model-00001-of-00002.safetensors"), vision);
        SafetensorsWriter.Write(Path.Combine(folder, "model-00002-of-00002.safetensors"), rest);
        var map = new System.Text.Json.Nodes.JsonObject();
        foreach (var name in vision.Keys) map[name] = "model-00001-of-00002.safetensors";
        foreach (var name in rest.Keys) map[name] = "model-00002-of-00002.safetensors";
        File.WriteAllText(Path.Combine(folder, "model.safetensors.index.json"), new System.Text.Json.Nodes.JsonObject { ["metadata"] = new System.Text.Json.Nodes.JsonObject(), ["weight_map"] = map }.ToJsonString());

        var sharded = CheckpointWeights.Load(folder);
        var single = CheckpointWeights.Load(SiglipFixture.ModelFolder);
        Assert.Equal(single.StateDict.Keys.Order(), sharded.StateDict.Keys.Order());
        foreach (var (name, tensor) in single.StateDict)
            Assert.True(tensor.Data.Span.SequenceEqual(sharded.StateDict[name].Data.Span), name);

        // A shard the index names but the folder lacks is named.
        File.Delete(Path.Combine(folder, "model-00002-of-00002.safetensors"));
        Assert.Contains("model-00002-of-00002.safetensors", Assert.Throws<FileNotFoundException>(() => CheckpointWeights.Load(folder)).Message);
    }

    [Fact]
    public void MismatchedWeightsAreListedTogether()
    {
        var folder = Fixtures.NewTempDir("siglip-mismatch");
        foreach (var file in Directory.GetFiles(SiglipFixture.ModelFolder).Where(f => !f.EndsWith(".safetensors", StringComparison.Ordinal)))
            File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
        var tensors = SafetensorsReader.Read(Path.Combine(SiglipFixture.ModelFolder, "model.safetensors"));
        tensors.Remove("vision_model.head.probe");
        tensors.Remove("logit_bias");
        tensors["text_model.head.weight"] = StateTensor.FromSingles(new float[48 * 40], 40, 48);
        tensors["text_model.extra.weight"] = StateTensor.FromSingles([1f], 1);
        SafetensorsWriter.Write(Path.Combine(folder, "model.safetensors"), tensors);
        var message = Assert.Throws<InvalidDataException>(() => CheckpointWeights.Load(folder)).Message;
        output.WriteLine(message);
        foreach (var part in new[] { "SigLIP", "vision_model.head.probe", "logit_bias", "'text_model.head.weight' has shape [40, 48], expected [48, 48]", "unexpected keys: text_model.extra.weight" })
            Assert.Contains(part, message);
    }

    [Fact]
    public void Bfloat16WeightsReadAsTheirFloat32Values()
    {
        // A bfloat16 copy of the weights, and a float32 file of the same (rounded) values: the two convert alike.
        var root = Fixtures.NewTempDir("siglip-bf16");
        var bf16 = Path.Combine(root, "bf16");
        var f32 = Path.Combine(root, "f32");
        var tensors = SafetensorsReader.Read(Path.Combine(SiglipFixture.ModelFolder, "model.safetensors"));
        static StateTensor ToBfloat16(StateTensor t)
        {
            var values = t.ToSingles();
            var bytes = new byte[values.Length * 2];
            for (var i = 0; i < values.Length; i++)
            {
                // Round to nearest even on the upper 16 bits.
                var bits = BitConverter.SingleToUInt32Bits(values[i]);
                var rounded = (ushort)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
                BitConverter.TryWriteBytes(bytes.AsSpan(i * 2), rounded);
            }
            return new StateTensor(StateTensorType.BFloat16, t.Shape, bytes);
        }
        var asBf16 = tensors.ToDictionary(kv => kv.Key, kv => ToBfloat16(kv.Value));
        foreach (var (folder, weights) in new[] { (bf16, asBf16), (f32, asBf16.ToDictionary(kv => kv.Key, kv => kv.Value.ToFloat32())) })
        {
            Directory.CreateDirectory(folder);
            foreach (var file in Directory.GetFiles(SiglipFixture.ModelFolder).Where(f => !f.EndsWith(".safetensors", StringComparison.Ordinal)))
                File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
            SafetensorsWriter.Write(Path.Combine(folder, "model.safetensors"), weights);
        }
        Assert.Equal(StateTensorType.BFloat16, CheckpointWeights.Load(bf16).StateDict["logit_scale"].Type);
        ClipModelConverter.ConvertToOnnx(bf16, Path.Combine(root, "bf16-onnx"));
        ClipModelConverter.ConvertToOnnx(f32, Path.Combine(root, "f32-onnx"));
        using var fromBf16 = Load(Path.Combine(root, "bf16-onnx"));
        using var fromF32 = Load(Path.Combine(root, "f32-onnx"));
        var pixels = SiglipFixture.PixelValues.Data;
        Assert.Equal(fromF32.EmbedImages(pixels, 4).SelectMany(e => e), fromBf16.EmbedImages(pixels, 4).SelectMany(e => e));
        Assert.Equal(fromF32.EmbedTexts(SiglipFixture.Captions).SelectMany(e => e), fromBf16.EmbedTexts(SiglipFixture.Captions).SelectMany(e => e));
        // Rounded to bfloat16 the features move, but stay close to the reference.
        Assert.True(SiglipFixture.MaxAbsDiff([.. fromBf16.EmbedImages(pixels, 4).SelectMany(e => e)], SiglipFixture.Output("image_features").Data) < 0.5f);
    }

    public sealed class Caption
    {
        public string Text = "";
    }

    [Fact]
    public async Task TheBulkPathAndTheEmbeddingGeneratorTokenizeWithTheModelsTokenizer()
    {
        using var model = Load();
        var ml = new MLContext();
        var data = ml.Data.LoadFromEnumerable(SiglipFixture.Captions.Select(c => new Caption { Text = c }));
        var bulk = model.EmbedTexts(data, "Text", normalize: false).GetColumn<float[]>("Embedding").SelectMany(e => e).ToArray();
        AssertClose("text_features (bulk IDataView)", bulk, SiglipFixture.Output("text_features").Data);
        using var generator = new ClipTextEmbeddingGenerator(model, normalize: true);
        var generated = await generator.GenerateAsync(SiglipFixture.Captions);
        AssertClose("text_embeds (IEmbeddingGenerator)", [.. generated.SelectMany(e => e.Vector.ToArray())], SiglipFixture.Output("text_embeds").Data);
    }
}
