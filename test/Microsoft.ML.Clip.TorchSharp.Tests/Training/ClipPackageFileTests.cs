using System.Buffers.Binary;
using System.Text.Json.Nodes;
using Microsoft.ML.Clip.TestUtilities;
using Microsoft.ML.Clip.TorchSharp.Checkpoints;
using Microsoft.ML.Clip.TorchSharp.Training;
using static TorchSharp.torch;

namespace Microsoft.ML.Clip.TorchSharp.Tests.Training;

/// <summary>A damaged shape in a package file fails with an error naming the source and tensor, before any big allocation.</summary>
public class ClipPackageFileTests
{
    private static byte[] OneTensorFile()
    {
        using var stream = new MemoryStream();
        using var w = ones(2, 3);
        ClipPackageFile.Write(stream, new JsonObject(), [("w", w)]);
        return stream.ToArray();
    }

    [Fact]
    public void RoundTripKeepsTheTensor()
    {
        var (_, tensors) = ClipPackageFile.Read(new MemoryStream(OneTensorFile()), "mem");
        using var w = tensors["w"];
        Assert.Equal([2L, 3L], w.shape);
        Assert.All(w.data<float>().ToArray(), v => Assert.Equal(1f, v));
    }

    [Fact]
    public void A_failed_atomic_write_keeps_the_old_file_and_leaves_no_temporary()
    {
        var path = Path.Combine(Fixtures.NewTempDir(), "model.clip");
        File.WriteAllText(path, "old");
        Assert.Throws<IOException>(() => AtomicFile.Write(path, stream =>
        {
            stream.WriteByte(1);
            throw new IOException("disk full");
        }));
        Assert.Equal("old", File.ReadAllText(path));
        Assert.False(File.Exists(path + ".tmp"));

        AtomicFile.Write(path, stream => stream.Write("new"u8));
        Assert.Equal("new", File.ReadAllText(path));
    }

    [Theory]
    [InlineData(1L << 40, "declares")]
    [InlineData(-2L, "negative dimension")]
    public void DamagedShapeNamesSourceAndTensor(long firstDimension, string expected)
    {
        var bytes = OneTensorFile();
        // The file ends with the two int64 dimensions and the 24 data bytes.
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(bytes.Length - 24 - 16, 8), firstDimension);
        var e = Assert.Throws<InvalidDataException>(() => ClipPackageFile.Read(new MemoryStream(bytes), "damaged.clip"));
        Assert.Contains("damaged.clip", e.Message);
        Assert.Contains("'w'", e.Message);
        Assert.Contains(expected, e.Message);
    }
}
