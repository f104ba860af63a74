using Microsoft.ML.Clip.TestUtilities;
using Microsoft.ML.Clip.TorchSharp.Checkpoints;
using Microsoft.ML.Clip.TorchSharp.Modeling;
using Microsoft.ML.Clip.TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Clip.TorchSharp.Tests;

/// <summary>Bad files and ill-fitting weights give errors that name the file and the tensors.</summary>
public class CheckpointErrorTests
{
    private static Dictionary<string, Tensor> VitWeights() => ClipCheckpoint.ReadStateDict(ReferenceData.Checkpoint("vit"));

    private static ClipTorchModel VitModel(Dictionary<string, Tensor> weights) => new(ClipConfigInference.FromStateDict(weights));

    [Fact]
    public void MissingFileNamesThePath()
    {
        var path = Path.Combine(Fixtures.NewTempDir(), "nope.pt");
        var e = Assert.Throws<FileNotFoundException>(() => ClipCheckpoint.Load(path));
        Assert.Contains(path, e.Message);
    }

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
    public void ArchiveWithShortStorageNamesTheEntry()
    {
        // Storage 0 cut to 10 bytes (64 needed).
        var bad = DamagedArchive(pickle => pickle, _ => new byte[10]);
        var e = Assert.Throws<InvalidDataException>(() => ClipCheckpoint.ReadStateDict(bad));
        Assert.Contains(bad, e.Message);
        Assert.Contains("good/data/0", e.Message);
    }

    [Fact]
    public void ArchiveWithNegativeStorageCountNamesTheEntry()
    {
        // The pickled element count of storage 0 (BININT 16 after "cpu") set to -1.
        var bad = DamagedArchive(pickle =>
        {
            var at = pickle.AsSpan().IndexOf("cpu"u8) + 3;
            Assert.Equal((byte)'J', pickle[at]);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(pickle.AsSpan(at + 1, 4), -1);
            return pickle;
        }, storage => storage);
        var e = Assert.Throws<InvalidDataException>(() => ClipCheckpoint.ReadStateDict(bad));
        Assert.Contains(bad, e.Message);
        Assert.Contains("good/data/0", e.Message);
        Assert.Contains("-1 elements", e.Message);
    }

    // A one-tensor torch.save archive (folder "good") rewritten with its pickle and storage 0 changed by the two functions.
    private static string DamagedArchive(Func<byte[], byte[]> pickle, Func<byte[], byte[]> storage)
    {
        var dir = Fixtures.NewTempDir();
        var good = Path.Combine(dir, "good.pt");
        TorchSaveWriter.Write(good, [new("w", (object)ones(4, 4))], stem: "good");
        var bad = Path.Combine(dir, "bad.pt");
        using var source = System.IO.Compression.ZipFile.OpenRead(good);
        TorchSaveWriter.WriteArchive(bad, "good", pickle(ReadAll(source.GetEntry("good/data.pkl")!)),
            [storage(ReadAll(source.GetEntry("good/data/0")!))]);
        return bad;
    }

    private static byte[] ReadAll(System.IO.Compression.ZipArchiveEntry entry)
    {
        using var s = entry.Open();
        using var m = new MemoryStream();
        s.CopyTo(m);
        return m.ToArray();
    }

    [Fact]
    public void UnknownFileNamesThePath()
    {
        var path = Path.Combine(Fixtures.NewTempDir(), "notes.pt");
        File.WriteAllText(path, "these are not weights");
        var e = Assert.Throws<InvalidDataException>(() => ClipCheckpoint.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("not a PyTorch checkpoint", e.Message);
    }

    [Fact]
    public void ZipWithoutDataPklNamesThePath()
    {
        var path = Path.Combine(Fixtures.NewTempDir(), "other.zip");
        using (var zip = System.IO.Compression.ZipFile.Open(path, System.IO.Compression.ZipArchiveMode.Create))
            zip.CreateEntry("readme.txt");
        var e = Assert.Throws<InvalidDataException>(() => ClipCheckpoint.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("data.pkl", e.Message);
    }

    [Fact]
    public void WeightsOfAnotherModelAreNotTakenForClip()
    {
        var path = Path.Combine(Fixtures.Root, "torchscript", "tiny_clip_like.jit.pt");
        var e = Assert.Throws<InvalidDataException>(() => ClipCheckpoint.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("visual.layer1.0.conv1.weight", e.Message);
    }

    [Fact]
    public void SafetensorsIsLeftToTheHuggingFaceRoute()
    {
        var e = Assert.Throws<NotSupportedException>(() => ClipCheckpoint.Load(Fixtures.Reference("models", "vit.hf.safetensors")));
        Assert.Contains("safetensors", e.Message);
        Assert.Throws<NotSupportedException>(() => ClipCheckpoint.Load(Fixtures.Reference("models")));
    }

    [Fact]
    public void WrongShapedTensorIsNamedWithBothShapes()
    {
        var weights = VitWeights();
        using var model = VitModel(weights);
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
        TorchSaveWriter.Write(path, weights.Select(kv => new KeyValuePair<string, object>(kv.Key, kv.Value)));
        var e = Assert.Throws<StateDictMismatchException>(() => ClipTorchModel.FromCheckpoint(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("ln_final.bias: expected [64], got [65]", e.Message);
    }

    [Fact]
    public void MissingKeysAreListed()
    {
        var weights = VitWeights();
        using var model = VitModel(weights);
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
        using var model = VitModel(weights);
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
        using var model = VitModel(weights);
        var before = model.state_dict()["ln_final.weight"].clone();
        weights["extra"] = ones(1);
        Assert.Throws<StateDictMismatchException>(() => model.LoadStateDict(weights));
        Assert.True(before.eq(model.state_dict()["ln_final.weight"]).all().item<bool>());
    }
}
