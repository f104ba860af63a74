using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.TestUtilities;
using Microsoft.ML.Clip.Tokenization;
using Microsoft.ML.Clip.ZeroShot;
using Microsoft.ML.Data;
using Onnx;
using Xunit;

namespace Microsoft.ML.Clip.Tests.Inference;

/// <summary>The fixture checkpoints converted by <see cref="ClipModelConverter"/> (text encoder of any length), and the same
/// folders marked <c>text_sequence: fixed</c> (every row the full 77-token context, as before).</summary>
public sealed class ConvertedFixtureModels : IDisposable
{
    private readonly string _root = Fixtures.NewTempDir("clip-dynamic-text");

    public ConvertedFixtureModels()
    {
        foreach (var kind in new[] { "vit", "rn" })
        {
            var folder = Path.Combine(_root, kind);
            ClipModelConverter.ConvertToOnnx(Fixtures.Reference("models", $"{kind}.openai.pt"), folder);
            var fixedFolder = Path.Combine(_root, kind + "-fixed");
            Directory.CreateDirectory(fixedFolder);
            foreach (var file in new[] { "image.onnx", "text.onnx" })
                File.Copy(Path.Combine(folder, file), Path.Combine(fixedFolder, file));
            var info = ClipModelInfo.Load(Path.Combine(folder, ClipModelInfo.FileName));
            (info with { TextSequence = ClipModelInfo.FixedSequence }).Save(Path.Combine(fixedFolder, ClipModelInfo.FileName));
        }
    }

    /// <summary>The converted folder of <paramref name="kind"/>; <paramref name="fixedLength"/>: its copy with every row 77 tokens.</summary>
    public string Folder(string kind, bool fixedLength = false) => Path.Combine(_root, fixedLength ? kind + "-fixed" : kind);

    public ClipModel Load(string kind, bool fixedLength = false, int batchSize = 32)
        => ClipModel.Load(Folder(kind, fixedLength), new ClipModelOptions { BatchSize = batchSize, IntraOpNumThreads = 1 });

    public void Dispose() => Directory.Delete(_root, recursive: true);
}

/// <summary>
/// The prompt-length-aware text tower: exported text encoders take any sequence length, and every text path (list APIs,
/// the bulk view, zero-shot weights, the ML.NET pipeline) cuts rows after their text — with the features of the full
/// 77-token context (openai/CLIP's) within 1e-5.
/// </summary>
public class DynamicTextLengthTests(ConvertedFixtureModels models) : IClassFixture<ConvertedFixtureModels>
{
    private const float Tolerance = 1e-5f;

    [Theory]
    [InlineData("vit")]
    [InlineData("rn")]
    public void Exported_text_encoder_takes_any_sequence_length(string kind)
    {
        var info = ClipModelInfo.Load(Path.Combine(models.Folder(kind), ClipModelInfo.FileName));
        Assert.Equal(ClipModelInfo.DynamicSequence, info.TextSequence);
        var input = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(models.Folder(kind), "text.onnx"))).Graph.Input.Single();
        Assert.Equal(["batch", "sequence"], input.Type.TensorType.Shape.Dim.Select(d => d.DimParam));
    }

    [Theory]
    [InlineData("vit", 1)]
    [InlineData("vit", 2)]
    [InlineData("vit", 32)]
    [InlineData("rn", 4)]
    public void Rows_cut_to_their_text_give_the_reference_features(string kind, int batchSize)
    {
        var tokens = Npy.ReadInt64(Fixtures.Reference("cases", "tokens.npy"));
        var expected = ModelFolders.Case($"{kind}.text_features.npy").Data;
        using var cut = models.Load(kind, batchSize: batchSize);
        using var full = models.Load(kind, fixedLength: true, batchSize: batchSize);
        var cutFeatures = cut.EmbedTokens(tokens.Data, 6).SelectMany(r => r).ToArray();
        var fullFeatures = full.EmbedTokens(tokens.Data, 6).SelectMany(r => r).ToArray();
        Assert.True(ModelFolders.MaxAbsDiff(cutFeatures, expected) <= Tolerance, $"cut rows vs openai/CLIP: {ModelFolders.MaxAbsDiff(cutFeatures, expected)}");
        Assert.True(ModelFolders.MaxAbsDiff(cutFeatures, fullFeatures) <= Tolerance, $"cut rows vs 77 tokens: {ModelFolders.MaxAbsDiff(cutFeatures, fullFeatures)}");

        // The calls really were cut: rows sorted by length, each call as long as its longest row and holding at most
        // batchSize × 77 ids. The fixture's lengths are 4, 4, 4, 9, 13 and 77 (the long caption, truncated).
        var lengths = Enumerable.Range(0, 6).Select(i => ClipModel.UsedLength(tokens.Data.AsSpan(i * 77, 77), 0)).Order().ToArray();
        Assert.Equal([4, 4, 4, 9, 13, 77], lengths);
        // batchSize 1, 2 or 4 (a budget of 77, 154 or 308 ids): the five short rows in one call at length 13 (65 ids), the
        // long one alone (77). batchSize 32 (2464 ids): all six in one call at length 77.
        long expectedIds = batchSize < 6 ? 5 * 13 + 77 : 6 * 77;
        Assert.Equal(expectedIds, cut.TextIdsRun);
        Assert.Equal(6L * 77, full.TextIdsRun);
    }

    [Fact]
    public void The_graph_gives_each_row_the_same_feature_at_any_length_past_its_end_token()
    {
        // Directly on the session: a row alone at its own length, padded to 77, and batched with a longer row.
        var tokens = Npy.ReadInt64(Fixtures.Reference("cases", "tokens.npy"));
        using var session = new OnnxRuntime.InferenceSession(Path.Combine(models.Folder("vit"), "text.onnx"));
        float[] Run(long[] ids, int rows, int length)
        {
            using var input = OnnxRuntime.OrtValue.CreateTensorValueFromMemory(ids, [rows, length]);
            using var output = session.Run(new OnnxRuntime.RunOptions(), ["input_ids"], [input], ["text_embeds"]);
            return output[0].GetTensorDataAsSpan<float>().ToArray();
        }
        var row = tokens.Data.AsSpan(1 * 77, 77).ToArray(); // "a dog"
        int used = ClipModel.UsedLength(row, 0);
        var full = Run(row, 1, 77);
        var own = Run(row[..used], 1, used);
        var padded = new long[2 * 20];
        row.AsSpan(0, used).CopyTo(padded);
        tokens.Data.AsSpan(3 * 77, 20).CopyTo(padded.AsSpan(20)); // a longer caption, its first 20 ids
        var withLonger = Run(padded, 2, 20)[..64];
        Assert.True(ModelFolders.MaxAbsDiff(own, full) <= Tolerance);
        Assert.True(ModelFolders.MaxAbsDiff(withLonger, full) <= Tolerance);
    }

    [Theory]
    [InlineData("vit", 4096)]
    [InlineData("vit", 4)]
    [InlineData("rn", 6)]
    public void Zero_shot_weights_from_cut_prompts_match_the_reference(string kind, int promptsPerChunk)
    {
        // promptsPerChunk 4 or 6: one or two classes at a time (three templates each), so chunks are stitched together.
        using var model = models.Load(kind, batchSize: 4);
        var weights = ZeroShotClassifier.ComputeClassWeights(model, ModelFolders.ZeroShotClasses, ModelFolders.ZeroShotTemplates, null, promptsPerChunk);
        var expected = ModelFolders.Case($"{kind}.zeroshot_weights.npy").Data;
        Assert.True(ModelFolders.MaxAbsDiff(weights, expected) <= Tolerance, $"{ModelFolders.MaxAbsDiff(weights, expected)}");
        Assert.True(model.TextIdsRun < 15L * 77 / 4, $"{model.TextIdsRun} ids for 15 prompts");
    }

    [Fact]
    public void Bulk_view_keeps_the_row_order_while_it_groups_rows_by_length()
    {
        // 61 texts of lengths 3..40 tokens in a scrambled order, batch 3: the view reads them in one window of 96 rows, sorts
        // them and makes calls of at most 3 × 77 ids.
        var random = new Random(5);
        var texts = Enumerable.Range(0, 61).Select(i => string.Join(' ', Enumerable.Repeat("dog", 1 + random.Next(38))) + $" {i}").ToArray();
        using var cut = models.Load("vit", batchSize: 3);
        using var full = models.Load("vit", fixedLength: true, batchSize: 3);
        var expected = full.EmbedTexts(texts);
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(texts.Select((t, i) => new TextRow { Text = t, Id = i }));
        var view = cut.EmbedTexts(data, "Text", normalize: false);
        var rows = ml.Data.CreateEnumerable<IdAndEmbedding>(view, reuseRowObject: false).ToArray();
        Assert.Equal(Enumerable.Range(0, 61), rows.Select(r => r.Id));
        for (int i = 0; i < rows.Length; i++)
            Assert.True(ModelFolders.MaxAbsDiff(rows[i].Embedding, expected[i]) <= Tolerance, $"row {i}");
        Assert.True(cut.TextIdsRun < 61L * 77 / 2, $"{cut.TextIdsRun} ids for 61 rows");
    }

    [Fact]
    public void Pipeline_rows_get_their_own_length_and_save_and_load()
    {
        var ml = new MLContext(seed: 1);
        var rows = PipelineData.Captions().Select((t, i) => new TextRow { Text = t, Id = i }).ToArray();
        var data = ml.Data.LoadFromEnumerable(rows);
        var expected = ModelFolders.Case("vit.text_features.npy").Data;
        var model = ml.Transforms.ClipTextEmbedding("Embedding", models.Folder("vit"), "Text", normalize: false).Fit(data);
        var actual = model.Transform(data).GetColumn<float[]>("Embedding").SelectMany(e => e).ToArray();
        Assert.True(ModelFolders.MaxAbsDiff(actual, expected) <= Tolerance, $"{ModelFolders.MaxAbsDiff(actual, expected)}");

        var path = Path.Combine(Fixtures.NewTempDir(), "text.zip");
        ml.Model.Save(model, data.Schema, path);
        var fresh = new MLContext();
        var engine = fresh.Model.CreatePredictionEngine<TextRow, EmbeddingPrediction>(fresh.Model.Load(path, out _));
        for (int i = 0; i < rows.Length; i++)
            Assert.True(ModelFolders.MaxAbsDiff(engine.Predict(rows[i]).Embedding, expected.AsSpan(i * 64, 64)) <= Tolerance, $"row {i} after reloading");
    }

    [Fact]
    public void Tokenize_mapping_cuts_rows_only_for_a_text_encoder_of_any_length()
    {
        var info = ClipModelInfo.Load(Path.Combine(models.Folder("vit"), ClipModelInfo.FileName));
        var dynamicSpec = ClipTokenizerSpec.For(info, models.Folder("vit"), ClipTruncation.Truncate);
        var fixedSpec = ClipTokenizerSpec.For(info with { TextSequence = ClipModelInfo.FixedSequence }, null, ClipTruncation.Truncate);
        Assert.Contains("\"text_sequence\":\"dynamic\"", dynamicSpec.ToJson());
        // A fixed model's spec is written as before the member existed, so older versions still read saved pipelines.
        Assert.DoesNotContain("text_sequence", fixedSpec.ToJson());
        Assert.Equal(dynamicSpec, ClipTokenizerSpec.Parse(dynamicSpec.ToJson()));
        Assert.Throws<InvalidDataException>(() => ClipTokenizerSpec.Parse("""{"kind":"clip-bpe","context_length":77,"truncation":"truncate","text_sequence":"ragged"}"""));

        var map = new Transforms.Mappings.ClipTokenizeMapping().GetMapping();
        Transforms.Mappings.TokenIdsRow Map(ClipTokenizerSpec spec, string text)
        {
            var output = new Transforms.Mappings.TokenIdsRow();
            map(new Transforms.Mappings.TextRow { Text = text, Spec = spec.ToJson().AsMemory() }, output);
            return output;
        }
        Assert.Equal([49406, 320, 1929, 49407], Map(dynamicSpec, "a dog").Ids);
        Assert.Equal(77, Map(fixedSpec, "a dog").Ids.Length);
        Assert.Equal(77, Map(dynamicSpec, string.Join(' ', Enumerable.Repeat("dog", 100))).Ids.Length);
    }

    [Fact]
    public void A_fixed_length_graph_marked_dynamic_is_refused_at_load()
    {
        // The torch.onnx reference export takes [batch, 77] only.
        var folder = ModelFolders.Create("vit", swap: false);
        var info = ClipModelInfo.Load(Path.Combine(folder, ClipModelInfo.FileName));
        (info with { TextSequence = ClipModelInfo.DynamicSequence }).Save(Path.Combine(folder, ClipModelInfo.FileName));
        var e = Assert.Throws<InvalidDataException>(() => ClipModel.Load(folder));
        Assert.Contains("text.onnx", e.Message);
        Assert.Contains("length 77 only", e.Message);
    }

    [Fact]
    public void Used_length_ends_at_the_last_id_that_is_not_padding()
    {
        Assert.Equal(3, ClipModel.UsedLength([49406, 320, 49407, 0, 0], 0));
        Assert.Equal(4, ClipModel.UsedLength([49406, 0, 0, 49407], 0));  // id 0 inside the text ("!") stays
        Assert.Equal(1, ClipModel.UsedLength([0, 0, 0], 0));
        Assert.Equal(2, ClipModel.UsedLength([101, 102, 7, 7], 7));
    }

    // Filled by ML.NET's CreateEnumerable.
    private sealed class IdAndEmbedding
    {
#pragma warning disable CS0649 // assigned by reflection
        public int Id;
#pragma warning restore CS0649
        public float[] Embedding = [];
    }
}
