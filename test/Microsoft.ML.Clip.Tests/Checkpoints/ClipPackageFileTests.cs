using System.Buffers.Binary;
using System.Text.Json.Nodes;
using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.IO;
using Microsoft.ML.Clip.TestUtilities;
using Xunit;

namespace Microsoft.ML.Clip.Tests.Checkpoints;

/// <summary>A damaged shape in a package file fails with an error naming the source and tensor, before any big allocation.</summary>
public class ClipPackageFileTests
{
    private static byte[] OneTensorFile()
    {
        using var stream = new MemoryStream();
        ClipPackageFile.Write(stream, new JsonObject(), 1, [("w", TestTensors.Ones(2, 3))]);
        return stream.ToArray();
    }

    [Fact]
    public void RoundTripKeepsTheTensor()
    {
        var (_, tensors) = ClipPackageFile.Read(new MemoryStream(OneTensorFile()), "mem");
        var w = tensors["w"];
        Assert.Equal([2L, 3L], w.Shape);
        Assert.All(w.ToSingles(), v => Assert.Equal(1f, v));
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
        Assert.Equal([path], Directory.GetFiles(Path.GetDirectoryName(path)!));

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

    [Fact]
    public void The_announced_tensor_count_is_kept()
    {
        Assert.Throws<ArgumentException>(() => ClipPackageFile.Write(new MemoryStream(), new JsonObject(), 2, [("w", TestTensors.Ones(1))]));
        Assert.Throws<ArgumentException>(() => ClipPackageFile.Write(new MemoryStream(), new JsonObject(), 0, [("w", TestTensors.Ones(1))]));
    }
}
