using System.IO.Compression;
using Microsoft.ML.Clip.Datasets.Idx;
using Microsoft.ML.Clip.Datasets.Mnist;
using Microsoft.ML.Data;

namespace Microsoft.ML.Clip.Datasets.Tests;

public class IdxTests
{
    private static (string Images, string Labels) WriteThree(TempFolder folder, bool gzip = false, string prefix = "train")
    {
        var images = SyntheticData.Idx([3, 28, 28], SyntheticData.ThreeImages());
        var labels = SyntheticData.Idx([3], [9, 0, 4]);
        string Save(string name, byte[] bytes)
        {
            if (!gzip)
                return folder.Write(name, bytes);
            using var output = new MemoryStream();
            using (var gz = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
                gz.Write(bytes);
            return folder.Write(name + ".gz", output.ToArray());
        }
        return (Save($"{prefix}-images-idx3-ubyte", images), Save($"{prefix}-labels-idx1-ubyte", labels));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ThreeImageIdxDecodesToPngsWithLabels(bool gzip)
    {
        using var folder = new TempFolder();
        var (images, labels) = WriteThree(folder, gzip);
        var rows = MnistDataset.Read(images, labels, MnistDataset.FashionClassNames, "test").ToList();

        Assert.Equal(3, rows.Count);
        Assert.Equal(["Ankle boot", "T-shirt/top", "Coat"], rows.Select(r => r.Label));
        Assert.Equal([9, 0, 4], rows.Select(r => r.LabelIndex));
        Assert.Equal([0, 1, 2], rows.Select(r => r.Index));
        var expected = SyntheticData.ThreeImages();
        for (var k = 0; k < 3; k++)
        {
            using var bitmap = SyntheticData.Decode(rows[k].Image);
            Assert.Equal((28, 28), (bitmap.Width, bitmap.Height));
            for (var y = 0; y < 28; y++)
                for (var x = 0; x < 28; x++)
                    Assert.Equal(expected[k * 784 + y * 28 + x], bitmap.GetPixel(x, y).Red);
        }
    }

    [Fact]
    public void MnistFolderLoadsAsDataViewWithStableSchema()
    {
        using var data = new TempFolder();
        using var mnist = new TempFolder();
        WriteThree(mnist, prefix: "t10k");
        Directory.Move(mnist.Path, Path.Combine(data.Path, "mnist"));
        var view = new MLContext(seed: 1).Data.LoadMnist(data.Path, DatasetSplit.Test);

        Assert.Equal(["Image", "Label", "LabelIndex", "Source", "Index"], view.Schema.Select(c => c.Name));
        Assert.Equal(NumberDataViewType.Byte, Assert.IsType<VectorDataViewType>(view.Schema["Image"].Type).ItemType);
        Assert.Equal(TextDataViewType.Instance, view.Schema["Label"].Type);
        var labels = view.GetColumn<string>("Label").ToArray();
        Assert.Equal(["9", "0", "4"], labels);
        Assert.Equal(["mnist", "mnist", "mnist"], view.GetColumn<string>("Source").ToArray());
    }

    [Fact]
    public void SubsampleIsSeededSortedAndSized()
    {
        using var folder = new TempFolder();
        var (images, labels) = WriteThree(folder);
        var options = new DatasetOptions { MaxItems = 2, Seed = 7 };
        var first = MnistDataset.Read(images, labels, MnistDataset.MnistClassNames, "t", options).Select(r => r.Index).ToArray();
        var again = MnistDataset.Read(images, labels, MnistDataset.MnistClassNames, "t", options).Select(r => r.Index).ToArray();
        Assert.Equal(2, first.Length);
        Assert.True(first[0] < first[1]);
        Assert.Equal(first, again);

        // Over many seeds every index gets picked: the sample is not a fixed prefix.
        var seen = Enumerable.Range(0, 20).SelectMany(s => Subsample.Indices(10, 3, s)).Distinct().Count();
        Assert.Equal(10, seen);
        Assert.Equal(Enumerable.Range(0, 5), Subsample.Indices(5, null, 0));
    }

    [Fact]
    public void BadMagicNamesTheFile()
    {
        using var folder = new TempFolder();
        var path = folder.Write("bad-idx", [0x50, 0x4B, 0x03, 0x04, 0, 0, 0, 1]);
        var e = Assert.Throws<InvalidDataException>(() => IdxFile.Open(path, 1));
        Assert.Contains(path, e.Message);
        Assert.Contains("no IDX magic", e.Message);
    }

    [Fact]
    public void WrongTypeRankAndTruncationAreReportedWithTheFile()
    {
        using var folder = new TempFolder();
        var floats = folder.Write("floats", SyntheticData.Idx([1], [0, 0, 0, 0], type: 0x0D));
        Assert.Contains("only unsigned bytes", Assert.Throws<InvalidDataException>(() => IdxFile.Open(floats, 1)).Message);

        var labels = folder.Write("labels", SyntheticData.Idx([2], [1, 2]));
        var rank = Assert.Throws<InvalidDataException>(() => IdxFile.Open(labels, 3));
        Assert.Contains(labels, rank.Message);
        Assert.Contains("expected 3", rank.Message);

        var shortFile = folder.Write("short", SyntheticData.Idx([3, 28, 28], new byte[100]));
        var truncated = Assert.Throws<InvalidDataException>(() => IdxFile.Open(shortFile, 3));
        Assert.Contains(shortFile, truncated.Message);
        Assert.Contains("truncated", truncated.Message);

        var header = folder.Write("header", [0, 0, 8, 3, 0, 0]);
        Assert.Contains("ends inside its header", Assert.Throws<InvalidDataException>(() => IdxFile.Open(header, 3)).Message);
    }

    [Fact]
    public void RecordSizeBeyondOneArrayIsRejectedWithTheFile()
    {
        using var folder = new TempFolder();
        // 65536 x 65536 overflows an int product to 0, which used to pass the length check.
        var path = folder.Write("huge", SyntheticData.Idx([1, 65536, 65536], []));
        var e = Assert.Throws<InvalidDataException>(() => IdxFile.Open(path, 3));
        Assert.Contains(path, e.Message);
        Assert.Contains("65536 x 65536", e.Message);
    }

    [Fact]
    public void CountMismatchAndLabelOutOfRangeNameTheFiles()
    {
        using var folder = new TempFolder();
        var images = folder.Write("images", SyntheticData.Idx([3, 28, 28], SyntheticData.ThreeImages()));
        var twoLabels = folder.Write("two-labels", SyntheticData.Idx([2], [1, 2]));
        var mismatch = Assert.Throws<InvalidDataException>(() => MnistDataset.Read(images, twoLabels, MnistDataset.MnistClassNames, "t"));
        Assert.Contains(images, mismatch.Message);
        Assert.Contains(twoLabels, mismatch.Message);

        var badLabels = folder.Write("bad-labels", SyntheticData.Idx([3], [1, 12, 2]));
        var rows = MnistDataset.Read(images, badLabels, MnistDataset.MnistClassNames, "t");
        var outOfRange = Assert.Throws<InvalidDataException>(() => rows.ToList());
        Assert.Contains(badLabels, outOfRange.Message);
        Assert.Contains("label 12", outOfRange.Message);
    }

    [Fact]
    public void MissingFolderSaysHowToFetch()
    {
        using var folder = new TempFolder();
        var e = Assert.Throws<DirectoryNotFoundException>(() => new MLContext().Data.LoadFashionMnist(folder.Path, DatasetSplit.Train));
        Assert.Contains("fashion-mnist", e.Message);
        Assert.Contains("build/fetch-data.sh", e.Message);
    }
}
