using Microsoft.ML.Clip.Datasets;

namespace ClipData;

/// <summary>How much of each data set <c>clip-data prepare</c> writes (the main job's budget lives here).</summary>
public sealed record PrepareSizes
{
    /// <summary>The pair sets of the training data (the quick fetch has Fluent 3D only).</summary>
    public IReadOnlyList<PairSet> TrainingSets { get; init; } =
        [PairSet.EmojiGoogle, PairSet.EmojiTwitter, PairSet.EmojiFluent3D, PairSet.OpenClipArt, PairSet.TuxPaintStamps];

    /// <summary>Training pairs taken from each pair set (null: all).</summary>
    public int? PairsPerSet { get; init; }

    /// <summary>OpenMoji subgroups: training images per class.</summary>
    public int SubgroupTrainPerClass { get; init; } = 16;

    /// <summary>OpenMoji subgroups: at most this many test images per class (a class needs at least half of it).</summary>
    public int SubgroupTestPerClass { get; init; } = 8;

    /// <summary>OpenMoji subgroups: at most this many classes (seeded sample of the subgroups large enough).</summary>
    public int SubgroupClasses { get; init; } = 24;

    /// <summary>OpenMoji names: how many emoji names (classes).</summary>
    public int NameClasses { get; init; } = 100;

    /// <summary>MNIST and Fashion-MNIST: training images (equal share per class).</summary>
    public int DigitsTrain { get; init; } = 300;

    /// <summary>MNIST and Fashion-MNIST: test images (equal share per class).</summary>
    public int DigitsTest { get; init; } = 500;

    /// <summary>Side of the prepared (shrunk, on white) training and emoji images.</summary>
    public int ImageSide { get; init; } = 128;

    /// <summary>The <c>--quick</c> sizes: a couple of minutes end to end.</summary>
    public static PrepareSizes Quick { get; } = new()
    {
        TrainingSets = [PairSet.EmojiFluent3D],
        PairsPerSet = 200,
        SubgroupTrainPerClass = 4,
        SubgroupTestPerClass = 4,
        SubgroupClasses = 8,
        NameClasses = 12,
        DigitsTrain = 50,
        DigitsTest = 50,
    };
}
