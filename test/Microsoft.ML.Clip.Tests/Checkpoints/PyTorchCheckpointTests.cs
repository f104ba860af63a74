using System.Text.Json;
using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.TestUtilities;
using Xunit;

namespace Microsoft.ML.Clip.Tests.Checkpoints;

/// <summary>PyTorch files read without libtorch: TorchScript archives, wrappers, the inferred architecture.</summary>
public class PyTorchCheckpointTests
{
    private static KeyValuePair<string, object> Item(string key, object value) => new(key, value);

    [Fact]
    public void TorchScriptArchiveWeightsAreRead()
    {
        var dir = Path.Combine(Fixtures.Root, "torchscript");
        var weights = PyTorchCheckpoint.ReadStateDict(Path.Combine(dir, "tiny_clip_like.jit.pt"));
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "tiny_clip_like.expected.json")));
        var expected = json.RootElement.GetProperty("state_dict");
        Assert.Equal(expected.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal), weights.Keys.Order(StringComparer.Ordinal));
        foreach (var entry in expected.EnumerateObject())
        {
            var t = weights[entry.Name];
            Assert.Equal(entry.Value.GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()), t.Shape);
            Assert.Equal(entry.Value.GetProperty("dtype").GetString(), t.Type switch
            {
                StateTensorType.Float16 => "float16",
                StateTensorType.Int64 => "int64",
                var other => other.ToString(),
            });
            double[] values = t.Type == StateTensorType.Int64 ? [.. t.ToInt64s().Select(v => (double)v)] : [.. t.ToSingles().Select(v => (double)v)];
            var sum = values.Sum();
            Assert.True(Math.Abs(sum - entry.Value.GetProperty("sum").GetDouble()) <= 1e-9 * Math.Max(1, Math.Abs(sum)), $"{entry.Name}: sum {sum}");
            Assert.Equal(entry.Value.GetProperty("first").GetDouble(), values[0]);
        }
        // The BatchNorm counter stays int64; plain tensor attributes (attn_mask, a scripted module's table) are not weights.
        Assert.Equal(12L, weights["visual.bn1.num_batches_tracked"].ToInt64s().Single());
        Assert.DoesNotContain(weights.Keys, k => k.Contains("attn_mask", StringComparison.Ordinal));
        Assert.DoesNotContain("visual.scaler.table", weights.Keys);
        Assert.Contains("visual.scaler.weight", weights.Keys);
    }

    [Theory]
    [InlineData("vit")]
    [InlineData("rn")]
    public void InferredConfigEqualsReferenceConstructorArguments(string name)
    {
        var checkpoint = PyTorchCheckpoint.Load(Fixtures.Reference("models", $"{name}.openai.pt"));
        using var json = JsonDocument.Parse(File.ReadAllText(Fixtures.Reference("models", "models.json")));
        var model = json.RootElement.GetProperty(name);
        var args = model.GetProperty("clip_constructor_args");
        var layers = args.GetProperty("vision_layers");
        var patch = args.GetProperty("vision_patch_size");
        var expected = new ClipConfig
        {
            EmbedDim = args.GetProperty("embed_dim").GetInt32(),
            ImageResolution = args.GetProperty("image_resolution").GetInt32(),
            VisionLayers = layers.ValueKind == JsonValueKind.Array ? layers.EnumerateArray().Select(x => x.GetInt32()).ToArray() : [layers.GetInt32()],
            VisionWidth = args.GetProperty("vision_width").GetInt32(),
            VisionPatchSize = patch.ValueKind == JsonValueKind.Null ? null : patch.GetInt32(),
            ContextLength = args.GetProperty("context_length").GetInt32(),
            VocabSize = args.GetProperty("vocab_size").GetInt32(),
            TransformerWidth = args.GetProperty("transformer_width").GetInt32(),
            TransformerHeads = args.GetProperty("transformer_heads").GetInt32(),
            TransformerLayers = args.GetProperty("transformer_layers").GetInt32(),
        };
        var actual = checkpoint.Config;
        Assert.Equal(expected with { VisionLayers = [] }, actual with { VisionLayers = [] });
        Assert.Equal(expected.VisionLayers, actual.VisionLayers);
        Assert.Equal(model.GetProperty("derived").GetProperty("vision_heads").GetInt32(), actual.VisionHeads);
        Assert.Equal(2.99609375f, checkpoint.LogitScale);
    }

    [Fact]
    public void OpenClipStateDictWrapperWithDdpPrefixGivesTheOpenAIStateDict()
    {
        var weights = PyTorchCheckpoint.ReadStateDict(Fixtures.Reference("models", "rn.openai.pt"));
        var path = Path.Combine(Fixtures.NewTempDir(), "epoch_3.pt");
        TorchSaveWriter.Write(path,
        [
            Item("epoch", 3L),
            Item("name", "RN-tiny"),
            Item("state_dict", weights.Select(kv => Item("module." + kv.Key, kv.Value.ToSaved())).ToList()),
            Item("optimizer", new List<KeyValuePair<string, object>> { Item("lr", 0.001) }),
        ]);
        TestTensors.AssertIdentical(weights, PyTorchCheckpoint.ReadStateDict(path));
    }

    [Fact]
    public void HalfAndBFloat16WeightsWidenExactlyToFloat32()
    {
        var weights = PyTorchCheckpoint.ReadStateDict(Fixtures.Reference("models", "vit.openai.pt"));
        Assert.Equal(StateTensorType.Float16, weights["visual.proj"].Type);
        var path = Path.Combine(Fixtures.NewTempDir(), "bf16.pt");
        TorchSaveWriter.Write(path, weights.Select(kv => new KeyValuePair<string, object>(kv.Key, (kv.Value.IsFloatingPoint ? kv.Value.ToBFloat16() : kv.Value).ToSaved())));

        var loaded = CheckpointWeights.Load(path).WithFloat32().StateDict["visual.proj"];
        Assert.Equal(StateTensorType.Float32, loaded.Type);
        Assert.Equal(weights["visual.proj"].ToBFloat16().ToSingles(), loaded.ToSingles());
        Assert.NotEqual(weights["visual.proj"].ToSingles(), loaded.ToSingles()); // bfloat16 rounded some of the float16 values
    }
}
