using Microsoft.ML.Clip.TestUtilities;
using Microsoft.ML.Clip.TorchSharp.Modeling;
using Microsoft.ML.Clip.TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Clip.TorchSharp.Tests;

/// <summary>
/// Ill-fitting weights give errors that name the tensors when a model loads them (the file errors of the readers are
/// tested on plain arrays in Microsoft.ML.Clip.Tests).
/// </summary>
public class CheckpointErrorTests
{
    private static Dictionary<string, Tensor> VitWeights() => ReferenceData.StateDict(ReferenceData.Checkpoint("vit"));

    private static ClipTorchModel VitModel() => new(PyTorchCheckpoint.Load(ReferenceData.Checkpoint("vit")).Config);

    [Fact]
    public void TruncatedArchiveNamesThePath()
    {
        var path = Path.Combine(Fixtures.NewTempDir(), "cut.pt");
        var bytes = File.ReadAllBytes(ReferenceData.Checkpoint("vit"));
        File.WriteAllBytes(path, bytes[..(bytes.Length * 2 / 3)]);
        var e = Assert.Throws<InvalidDataException>(() => ClipTorchModel.FromCheckpoint(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void WrongShapedTensorIsNamedWithBothShapes()
    {
        var weights = VitWeights();
        using var model = VitModel();
        weights["visual.ln_pre.weight"] = zeros(127);
        var e = Assert.Throws<StateDictMismatchException>(() => model.LoadStateDict(weights, "my.pt"));
        Assert.Contains("visual.ln_pre.weight: expected [128], got [127]", e.Message);
        Assert.Contains("my.pt", e.Message);
        Assert.Single(e.ShapeMismatches);
        Assert.Empty(e.Missing);
        Assert.Empty(e.Unexpected);
    }

    [Fact]
    public void WrongShapedTensorInAFileNamesTheFileAndTensor()
    {
        var weights = VitWeights();
        weights["ln_final.bias"] = zeros(65);
        var path = Path.Combine(Fixtures.NewTempDir(), "reshaped.pt");
        TorchSaveWriter.Write(path, weights.Select(kv => new KeyValuePair<string, object>(kv.Key, kv.Value.ToSaved())));
        var e = Assert.Throws<StateDictMismatchException>(() => ClipTorchModel.FromCheckpoint(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("ln_final.bias: expected [64], got [65]", e.Message);
    }

    [Fact]
    public void MissingKeysAreListed()
    {
        var weights = VitWeights();
        using var model = VitModel();
        weights.Remove("ln_final.bias");
        weights.Remove("visual.transformer.resblocks.1.mlp.c_proj.weight");
        var e = Assert.Throws<StateDictMismatchException>(() => model.LoadStateDict(weights));
        Assert.Equal(["ln_final.bias", "visual.transformer.resblocks.1.mlp.c_proj.weight"], e.Missing.Order(StringComparer.Ordinal));
        Assert.Contains("Missing keys (2): ", e.Message);
        Assert.Contains("ln_final.bias", e.Message);
    }

    [Fact]
    public void UnexpectedKeysAreListed()
    {
        var weights = VitWeights();
        using var model = VitModel();
        weights["visual.extra.weight"] = ones(3);
        weights["text_head.bias"] = ones(3);
        var e = Assert.Throws<StateDictMismatchException>(() => model.LoadStateDict(weights));
        Assert.Equal(["text_head.bias", "visual.extra.weight"], e.Unexpected.Order(StringComparer.Ordinal));
        Assert.Contains("Unexpected keys (2): ", e.Message);
        Assert.Empty(e.Missing);
    }

    [Fact]
    public void FailedLoadLeavesTheModelUntouched()
    {
        var weights = VitWeights();
        using var model = VitModel();
        var before = model.state_dict()["ln_final.weight"].clone();
        weights["extra"] = ones(1);
        Assert.Throws<StateDictMismatchException>(() => model.LoadStateDict(weights));
        Assert.True(before.eq(model.state_dict()["ln_final.weight"]).all().item<bool>());
    }
}
