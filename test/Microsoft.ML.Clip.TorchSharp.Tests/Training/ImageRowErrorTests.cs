using Microsoft.ML.Clip.TestUtilities;
using Microsoft.ML.Clip.TorchSharp.Training;

namespace Microsoft.ML.Clip.TorchSharp.Tests.Training;

/// <summary>
/// A bad image in the training data: the trainer's error keeps its type and message (<c>Column 'ImagePath', row 1: …</c>) and
/// carries the column and row as data (<see cref="ClipImageRowError"/>), which <c>clip train</c> maps to a TSV line. Every image
/// here lies in a folder named <c>Column 'ImagePath', row 5</c>: the message holds those words too, the data does not. Before,
/// <c>clip train</c> searched the message for them with a regular expression.
/// </summary>
public class ImageRowErrorTests
{
    private sealed class PathPair
    {
        public string ImagePath = "";
        public string Caption = "";
    }

    // Eight rendered shapes as files in a folder named like a row; row 1 is not an image.
    private static (List<PathPair> Pairs, string Folder) Data(string name)
    {
        var folder = Directory.CreateDirectory(Path.Combine(Fixtures.NewTempDir(name), "Column 'ImagePath', row 5")).FullName;
        var pairs = ShapesDataset.Generate(8, seed: 2).Select((p, i) =>
        {
            var path = Path.Combine(folder, $"shape{i}.png");
            File.WriteAllBytes(path, p.Image);
            return new PathPair { ImagePath = path, Caption = p.Caption };
        }).ToList();
        File.WriteAllText(pairs[1].ImagePath, "not a png");
        return (pairs, folder);
    }

    private static Exception Fit(List<PathPair> pairs, ClipTrainerOptions options)
    {
        var ml = new MLContext(seed: 1);
        return Assert.ThrowsAny<Exception>(() =>
        {
            using var _ = ml.Transforms.ClipTrainer(nameof(PathPair.ImagePath), nameof(PathPair.Caption), options).Fit(ml.Data.LoadFromEnumerable(pairs));
        });
    }

    [Fact]
    public void A_bad_image_carries_its_column_and_row_whatever_its_path_says()
    {
        var (pairs, _) = Data("row-error");

        var e = Assert.IsType<InvalidDataException>(Fit(pairs, ShapesDataset.FastOptions(batchSize: 4)));

        var row = ClipImageRowError.Of(e);
        Assert.NotNull(row);
        Assert.Equal(("ImagePath", 1L), (row.Column, row.Row));
        Assert.Contains(pairs[1].ImagePath, row.Detail);
        // The message as it was: the column and row, then what is wrong.
        Assert.Equal($"Column 'ImagePath', row 1: {row.Detail}", e.Message);
    }

    [Fact]
    public void A_bad_image_of_locked_image_tuning_carries_its_column_and_row()
    {
        var (pairs, folder) = Data("row-error-lit");
        var options = ShapesDataset.FastOptions(batchSize: 8);
        options.ImageEncoder = LockedImageTuningTests.WriteConvEncoder(Path.GetDirectoryName(folder)!);
        options.FeatureCacheDirectory = Path.Combine(Path.GetDirectoryName(folder)!, "cache");

        var thrown = Fit(pairs, options);

        var e = Assert.IsType<InvalidDataException>(thrown is AggregateException a ? a.Flatten().InnerException : thrown);
        var row = ClipImageRowError.Of(e);
        Assert.NotNull(row);
        Assert.Equal(("ImagePath", 1L), (row.Column, row.Row));
        // As without a locked tower: the message names column and row, the detail the file (not the row again).
        Assert.Contains(pairs[1].ImagePath, row.Detail);
        Assert.DoesNotContain("row 1", row.Detail);
        Assert.Equal($"Column 'ImagePath', row 1: {row.Detail}", e.Message);
    }

    [Fact]
    public void Other_errors_carry_no_row_even_when_their_message_names_one()
    {
        var (pairs, folder) = Data("row-error-other");
        var options = ShapesDataset.FastOptions(batchSize: 4);
        options.Config = null;
        options.InitialCheckpoint = Path.Combine(folder, "absent.pt");

        var e = Assert.IsType<FileNotFoundException>(Fit(pairs, options));

        Assert.Contains("Column 'ImagePath', row 5", e.Message);
        Assert.Null(ClipImageRowError.Of(e));
    }
}
