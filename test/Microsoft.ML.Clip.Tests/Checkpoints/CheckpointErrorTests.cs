using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.TestUtilities;
using Xunit;

namespace Microsoft.ML.Clip.Tests.Checkpoints;

/// <summary>Bad files give errors that name the file and the tensors (the TorchSharp package adds the model-loading ones).</summary>
public class CheckpointErrorTests
{
    [Fact]
    public void MissingFileNamesThePath()
    {
        var path = Path.Combine(Fixtures.NewTempDir(), "nope.pt");
        var e = Assert.Throws<FileNotFoundException>(() => PyTorchCheckpoint.Load(path));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void TruncatedArchiveNamesThePath()
    {
        var path = Path.Combine(Fixtures.NewTempDir(), "cut.pt");
        var bytes = File.ReadAllBytes(Fixtures.Reference("models", "vit.openai.pt"));
        File.WriteAllBytes(path, bytes[..(bytes.Length * 2 / 3)]);
        var e = Assert.Throws<InvalidDataException>(() => ClipModelConverter.ConvertToOnnx(path, Path.Combine(Fixtures.NewTempDir(), "out")));
        Assert.Contains(path, e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void ArchiveWithShortStorageNamesTheEntry()
    {
        // Storage 0 cut to 10 bytes (64 needed).
        var bad = DamagedArchive(pickle => pickle, _ => new byte[10]);
        var e = Assert.Throws<InvalidDataException>(() => PyTorchCheckpoint.ReadStateDict(bad));
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
        var e = Assert.Throws<InvalidDataException>(() => PyTorchCheckpoint.ReadStateDict(bad));
        Assert.Contains(bad, e.Message);
        Assert.Contains("good/data/0", e.Message);
        Assert.Contains("-1 elements", e.Message);
    }

    // A one-tensor torch.save archive (folder "good") rewritten with its pickle and storage 0 changed by the two functions.
    private static string DamagedArchive(Func<byte[], byte[]> pickle, Func<byte[], byte[]> storage)
    {
        var dir = Fixtures.NewTempDir();
        var good = Path.Combine(dir, "good.pt");
        TorchSaveWriter.Write(good, [new("w", (object)TestTensors.Ones(4, 4).ToSaved())], stem: "good");
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
        var e = Assert.Throws<InvalidDataException>(() => PyTorchCheckpoint.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("not a PyTorch checkpoint", e.Message);
    }

    [Fact]
    public void ZipWithoutDataPklNamesThePath()
    {
        var path = Path.Combine(Fixtures.NewTempDir(), "other.zip");
        using (var zip = System.IO.Compression.ZipFile.Open(path, System.IO.Compression.ZipArchiveMode.Create))
            zip.CreateEntry("readme.txt");
        var e = Assert.Throws<InvalidDataException>(() => PyTorchCheckpoint.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("data.pkl", e.Message);
    }

    [Fact]
    public void WeightsOfAnotherModelAreNotTakenForClip()
    {
        var path = Path.Combine(Fixtures.Root, "torchscript", "tiny_clip_like.jit.pt");
        var e = Assert.Throws<InvalidDataException>(() => PyTorchCheckpoint.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("visual.layer1.0.conv1.weight", e.Message);
    }

    [Fact]
    public void SafetensorsIsLeftToTheHuggingFaceRoute()
    {
        var e = Assert.Throws<NotSupportedException>(() => PyTorchCheckpoint.Load(Fixtures.Reference("models", "vit.hf.safetensors")));
        Assert.Contains("safetensors", e.Message);
        Assert.Throws<NotSupportedException>(() => PyTorchCheckpoint.Load(Fixtures.Reference("models")));
    }

    [Fact]
    public void WrongShapedTensorInAFileNamesTheFileAndTensor()
    {
        var weights = PyTorchCheckpoint.ReadStateDict(Fixtures.Reference("models", "vit.openai.pt"));
        weights["ln_final.bias"] = TestTensors.Zeros(65);
        var path = Path.Combine(Fixtures.NewTempDir(), "reshaped.pt");
        TorchSaveWriter.Write(path, weights.Select(kv => new KeyValuePair<string, object>(kv.Key, kv.Value.ToSaved())));
        var e = Assert.Throws<InvalidDataException>(() => ClipModelConverter.ConvertToOnnx(path, Path.Combine(Fixtures.NewTempDir(), "out")));
        Assert.Contains(path, e.Message);
        Assert.Contains("'ln_final.bias' has shape [65], expected [64]", e.Message);
    }
}
