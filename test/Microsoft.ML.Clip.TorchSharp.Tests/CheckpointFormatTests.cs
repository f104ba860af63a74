using Microsoft.ML.Clip.TestUtilities;
using Microsoft.ML.Clip.TorchSharp.Checkpoints;
using Microsoft.ML.Clip.TorchSharp.Modeling;
using Microsoft.ML.Clip.TorchSharp.Modules;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Microsoft.ML.Clip.TorchSharp.Tests;

/// <summary>
/// The layouts other than OpenAI's plain state dict, loaded into the TorchSharp model: open_clip wrappers, DDP prefixes,
/// bf16 (the TorchScript layout is read on plain arrays in Microsoft.ML.Clip.Tests).
/// </summary>
public class CheckpointFormatTests(ITestOutputHelper output)
{
    private static KeyValuePair<string, object> Item(string key, object value) => new(key, value);

    [Fact]
    public void OpenClipStateDictWrapperWithDdpPrefixLoads()
    {
        var weights = ReferenceData.StateDict(ReferenceData.Checkpoint("rn"));
        var path = Path.Combine(Fixtures.NewTempDir(), "epoch_3.pt");
        TorchSaveWriter.Write(path,
        [
            Item("epoch", 3L),
            Item("name", "RN-tiny"),
            Item("state_dict", weights.Select(kv => Item("module." + kv.Key, kv.Value.ToSaved())).ToList()),
            Item("optimizer", new List<KeyValuePair<string, object>> { Item("lr", 0.001) }),
        ]);
        using var model = ClipTorchModel.FromCheckpoint(path);
        ClipTorchModelReferenceTests.AssertMatchesReference(model, "rn", output);
    }

    [Fact]
    public void ModelWrapperLoads()
    {
        var weights = ReferenceData.StateDict(ReferenceData.Checkpoint("vit"));
        var path = Path.Combine(Fixtures.NewTempDir(), "wrapped.pt");
        TorchSaveWriter.Write(path, [Item("model", weights.Select(kv => Item(kv.Key, (object)kv.Value.ToSaved())).ToList()), Item("step", 10L)]);
        using var model = ClipTorchModel.FromCheckpoint(path);
        ClipTorchModelReferenceTests.AssertMatchesReference(model, "vit", output);
    }

    [Fact]
    public void HalfAndBFloat16WeightsLoadIntoFloat32()
    {
        var weights = ReferenceData.StateDict(ReferenceData.Checkpoint("vit"));
        Assert.Equal(ScalarType.Float16, weights["visual.proj"].dtype);
        var path = Path.Combine(Fixtures.NewTempDir(), "bf16.pt");
        TorchSaveWriter.Write(path, weights.Select(kv => Item(kv.Key, (kv.Value.is_floating_point() ? kv.Value.to(ScalarType.BFloat16) : kv.Value).ToSaved())));

        using var model = ClipTorchModel.FromCheckpoint(path);
        var loaded = model.state_dict()["visual.proj"];
        Assert.Equal(ScalarType.Float32, loaded.dtype);
        Assert.True(loaded.eq(weights["visual.proj"].to(ScalarType.BFloat16).to(ScalarType.Float32)).all().item<bool>());
    }

    [Fact]
    public void NumBatchesTrackedMayBeAbsent()
    {
        var weights = ReferenceData.StateDict(ReferenceData.Checkpoint("rn"));
        Assert.Contains(weights.Keys, k => k.EndsWith(".num_batches_tracked", StringComparison.Ordinal));
        foreach (var key in weights.Keys.Where(k => k.EndsWith(".num_batches_tracked", StringComparison.Ordinal)).ToList())
            weights.Remove(key);
        using var model = new ClipTorchModel(PyTorchCheckpoint.Load(ReferenceData.Checkpoint("rn")).Config);
        model.LoadStateDict(weights);
        model.eval();
        ClipTorchModelReferenceTests.AssertMatchesReference(model, "rn", output);
    }

    [Fact]
    public void ExplicitConfigWithGeluBuildsAndRuns()
    {
        var config = new ClipConfig
        {
            EmbedDim = 16, ImageResolution = 32, VisionLayers = [1], VisionWidth = 64, VisionPatchSize = 16,
            ContextLength = 8, VocabSize = 100, TransformerWidth = 64, TransformerHeads = 2, TransformerLayers = 1,
            Activation = ClipActivation.Gelu,
        };
        using var model = new ClipTorchModel(config);
        model.eval();
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var (perImage, perText) = model.forward(randn(2, 3, 32, 32), randint(0, 100, [3, 8]));
        Assert.Equal([2L, 3L], perImage.shape);
        Assert.Equal([3L, 2L], perText.shape);
        Assert.Contains(model.named_modules(), m => m.module is global::TorchSharp.Modules.GELU);
        Assert.DoesNotContain(model.named_modules(), m => m.module is QuickGelu);
    }

    [Fact]
    public void BadInputShapesAreNamed()
    {
        using var model = ClipTorchModel.FromCheckpoint(ReferenceData.Checkpoint("vit"));
        using var scope = NewDisposeScope();
        var e = Assert.Throws<ArgumentException>(() => model.EncodeImage(zeros(1, 3, 32, 32)));
        Assert.Equal("images", e.ParamName);
        Assert.Contains("[N, 3, 64, 64]", e.Message);
        var t = Assert.Throws<ArgumentException>(() => model.EncodeText(zeros([1, 78], ScalarType.Int64)));
        Assert.Equal("tokens", t.ParamName);
    }
}
