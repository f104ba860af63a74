using System.Diagnostics;
using Microsoft.ML.Clip.Datasets.Emoji;
using Microsoft.ML.Clip.Datasets.Icons;
using Microsoft.ML.Clip.Datasets.Mnist;
using Microsoft.ML.Clip.Datasets.OpenClipArt;
using Microsoft.ML.Clip.Datasets.TuxPaint;
using SkiaSharp;
using Xunit.Abstractions;

namespace Microsoft.ML.Clip.Datasets.Tests.RealData;

/// <summary>
/// Checks on the real downloaded data (compiled only when data/fetched-full exists, see the project file): every set
/// loads, has the expected size, and its images decode. Prints counts and times for docs/datasets.md.
/// </summary>
public class RealDataTests(ITestOutputHelper output)
{
    private static readonly string Data = DataPaths.FindDefault()
        ?? throw new InvalidOperationException("data/fetched-full exists at build time but the data folder is not found now.");

    private T Timed<T>(string what, Func<T> run)
    {
        var watch = Stopwatch.StartNew();
        var result = run();
        output.WriteLine($"{what}: {watch.Elapsed.TotalSeconds:F1} s");
        return result;
    }

    private static void AssertDecodes(string path)
    {
        using var bitmap = SKBitmap.Decode(path);
        Assert.True(bitmap is not null && bitmap.Width > 0 && bitmap.Height > 0, $"'{path}' does not decode");
    }

    [Theory]
    [InlineData(EmojiStyle.Google, 1800)]
    [InlineData(EmojiStyle.Twitter, 1800)]
    [InlineData(EmojiStyle.Fluent3D, 1400)]
    [InlineData(EmojiStyle.OpenMoji, 1800)]
    public void EmojiStyleLoadsWithSubgroups(EmojiStyle style, int atLeast)
    {
        var rows = Timed($"emoji {style} (all rows)", () => EmojiDataset.Read(Data, style).ToList());
        var subgroups = rows.Select(r => r.Subgroup).Distinct().Count();
        output.WriteLine($"emoji {style}: {rows.Count} pairs, {subgroups} subgroups, {rows.Select(r => r.Group).Distinct().Count()} groups");
        Assert.True(rows.Count >= atLeast, $"{style}: {rows.Count} pairs");
        Assert.True(subgroups >= 90, $"{style}: {subgroups} subgroups");
        Assert.All(rows, r => Assert.False(string.IsNullOrWhiteSpace(r.Caption)));
        foreach (var row in rows.Where((_, i) => i % 97 == 0))
            AssertDecodes(row.ImagePath);
    }

    [Fact]
    public void OpenClipArtLoadsWithTitles()
    {
        var rows = Timed("openclipart (all rows)", () => OpenClipArtDataset.Read(Data).ToList());
        output.WriteLine($"openclipart: {rows.Count} pairs, {rows.Select(r => r.Group).Distinct().Count()} top folders; e.g. "
            + string.Join(" | ", rows.Where((_, i) => i % 700 == 0).Select(r => r.Caption)));
        Assert.True(rows.Count >= 4000, $"{rows.Count} pairs");
        Assert.True(rows.Count(r => r.Caption.Length < 3) < rows.Count / 100, "too many empty captions");
        foreach (var row in rows.Where((_, i) => i % 211 == 0))
            AssertDecodes(row.ImagePath);
    }

    [Fact]
    public void TuxPaintStampsLoadWithCaptions()
    {
        var rows = Timed("tuxpaint (all rows)", () => TuxPaintStampDataset.Read(Data).ToList());
        output.WriteLine($"tuxpaint: {rows.Count} pairs ({rows.Count(r => r.ImagePath.Contains("/cache/"))} rendered from SVG); e.g. "
            + string.Join(" | ", rows.Where((_, i) => i % 150 == 0).Select(r => r.Caption)));
        Assert.True(rows.Count >= 900, $"{rows.Count} pairs");
        foreach (var row in rows.Where((_, i) => i % 53 == 0))
            AssertDecodes(row.ImagePath);
    }

    [Fact]
    public void GameIconsLoadWithNames()
    {
        var rows = Timed("game-icons (all rows; renders the SVGs the first time)", () => GameIconsDataset.Read(Data).ToList());
        output.WriteLine($"game-icons: {rows.Count} pairs; e.g. " + string.Join(" | ", rows.Where((_, i) => i % 400 == 0).Select(r => r.Caption)));
        Assert.True(rows.Count > 4000, $"{rows.Count} pairs");
        Assert.Contains(rows, r => r.Id == "t-shirt" && r.Caption == "t-shirt");
        Assert.Contains(rows, r => r.Id == "trousers" && r.Caption == "trousers");
        Assert.Contains(rows, r => r.Id == "horse-head" && r.Caption == "horse head");
        Assert.DoesNotContain(rows, r => r.Id.StartsWith("abstract-", StringComparison.Ordinal) || r.Id == "female-vampire"); // numbered series; hidden
        Assert.Equal(rows.Count, rows.Select(r => r.Id).Distinct().Count());
        foreach (var row in rows.Where((_, i) => i % 97 == 0))
            AssertDecodes(row.ImagePath);
    }

    [Theory]
    [InlineData(false, DatasetSplit.Train, 60000)]
    [InlineData(false, DatasetSplit.Test, 10000)]
    [InlineData(true, DatasetSplit.Train, 60000)]
    [InlineData(true, DatasetSplit.Test, 10000)]
    public void MnistSetsHaveAllRecordsAndTenBalancedClasses(bool fashion, DatasetSplit split, int count)
    {
        var name = fashion ? "fashion-mnist" : "mnist";
        var labels = Timed($"{name} {split} (all rows, PNG-encoded)", () =>
            (fashion ? MnistDataset.ReadFashionMnist(Data, split) : MnistDataset.ReadMnist(Data, split)).Select(r => r.Label).ToList());
        Assert.Equal(count, labels.Count);
        var perClass = labels.GroupBy(l => l).ToDictionary(g => g.Key, g => g.Count());
        output.WriteLine($"{name} {split}: {labels.Count} images, {perClass.Count} classes, smallest class {perClass.Values.Min()}");
        Assert.Equal(10, perClass.Count);
        Assert.True(perClass.Values.Min() > count / 20);
    }

    [Fact]
    public void TrainingMixStreamsAndWritesPairsTsv()
    {
        var sets = new[] { PairSet.EmojiGoogle, PairSet.EmojiTwitter, PairSet.EmojiFluent3D, PairSet.OpenClipArt, PairSet.TuxPaintStamps, PairSet.GameIcons };
        using var folder = new TempFolder();
        var tsv = Path.Combine(folder.Path, "pairs.tsv");
        var written = Timed("training mix listed + pairs.tsv written", () => PairsTsv.Write(tsv, DatasetCatalog.ReadPairs(Data, null, sets)));
        output.WriteLine($"training mix (3 emoji styles + clip art + stamps + icons): {written} pairs");
        Assert.True(written >= 13000, $"{written} pairs");
        Assert.Equal(written, PairsTsv.Read(tsv).Count());
        Assert.All(PairsTsv.Read(tsv).Take(50), p => Assert.True(File.Exists(p.ImagePath), p.ImagePath));
    }

    [Fact]
    public void PreparedTrainingMixIsSmallAndOpaque()
    {
        var sets = new[] { PairSet.EmojiGoogle, PairSet.EmojiTwitter, PairSet.EmojiFluent3D, PairSet.OpenClipArt, PairSet.TuxPaintStamps, PairSet.GameIcons };
        var options = new DatasetOptions { PreparedImageSide = 128, Background = "white" };
        var paths = Timed("training mix prepared (128 px, on white; cached after the first run)",
            () => DatasetCatalog.ReadPairs(Data, options, sets).Select(p => p.ImagePath).ToList());
        output.WriteLine($"prepared: {paths.Count} images, {paths.Sum(p => new FileInfo(p).Length) / 1e6:F0} MB");
        foreach (var path in paths.Where((_, i) => i % 101 == 0))
        {
            using var bitmap = SKBitmap.Decode(path);
            Assert.True(Math.Max(bitmap.Width, bitmap.Height) <= 128, path);
            Assert.Equal(255, bitmap.GetPixel(0, 0).Alpha);
        }
    }
}
