using Microsoft.ML.Clip.Imaging;
using Microsoft.ML.Clip.TorchSharp.Training;

namespace Microsoft.ML.Clip.TorchSharp.Tests.Training;

public class DataViewBatchSourceTests
{
    private static DataViewBatchSource Source(MLContext ml, double crop, int seed = 7) =>
        new(ml.Data.LoadFromEnumerable(ShapesDataset.Generate(20, 3)), "Image", "Caption",
            new ClipImagePreprocessor(ClipPreprocessSettings.OpenAI(32)), ShapesDataset.Tokenize, 8, shuffleBufferSize: 6, seed, crop);

    private static List<float[]> Images(DataViewBatchSource source, int epoch, int skip = 0) =>
        source.ReadEpoch(epoch, 4, skip, default).Select(b => { using (b) return b.Images.data<float>().ToArray(); }).ToList();

    [Fact]
    public void Epochs_are_reproducible_shuffled_and_skippable()
    {
        var ml = new MLContext(seed: 1);
        var epoch0 = Images(Source(ml, 0), 0);
        Assert.Equal(5, epoch0.Count);
        Assert.Equal(epoch0, Images(Source(ml, 0), 0));
        Assert.NotEqual(epoch0, Images(Source(ml, 0), 1));
        Assert.NotEqual(epoch0, Images(Source(ml, 0, seed: 8), 0));
        Assert.Equal(epoch0.Skip(2), Images(Source(ml, 0), 0, skip: 2));
    }

    [Fact]
    public void Random_resized_crop_is_seeded_per_batch_and_changes_the_pixels()
    {
        var ml = new MLContext(seed: 1);
        var cropped = Images(Source(ml, 0.5), 0);
        Assert.Equal(cropped, Images(Source(ml, 0.5), 0));
        Assert.Equal(cropped.Skip(3), Images(Source(ml, 0.5), 0, skip: 3));
        Assert.NotEqual(Images(Source(ml, 0), 0), cropped);
    }
}
