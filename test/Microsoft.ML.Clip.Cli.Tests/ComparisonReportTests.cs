using ClipCli.Evaluation;
using Microsoft.ML.Clip.Evaluation;
using Microsoft.ML.Clip.TestUtilities;
using SkiaSharp;
using Xunit;

namespace Microsoft.ML.Clip.Cli.Tests;

/// <summary><c>clip compare</c>'s report and plot, compiled in from the tool's sources (see the project file).</summary>
public class ComparisonReportTests
{
    private static readonly DatasetComparison Sample = new()
    {
        Name = "emoji-animals",
        ClassCount = 10,
        TrainCount = 400,
        TestCount = 100,
        ZeroShotTop1 = 0.62,
        ZeroShotTop5 = 0.91,
        ClipProbe = new ProbeResult(0.875, 0.1f),
        ResNet18Probe = new ProbeResult(0.70, 10f),
        FewShot = [new FewShotPoint(1, [0.40, 0.50]), new FewShotPoint(2, [0.55, 0.55]), new FewShotPoint(4, [0.7, 0.72])],
    };

    [Fact]
    public void MarkdownTableHasOneRowPerDataSetAndOneColumnPerK()
    {
        var md = ComparisonReport.ToMarkdown([Sample, Sample with { Name = "mnist", FewShot = [], ResNet18Probe = null, ZeroShotTop5 = null }]);
        var lines = md.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        Assert.Contains("| 1-shot | 2-shot | 4-shot |", lines[0]);
        Assert.Equal(lines[0].Count(c => c == '|'), lines[1].Count(c => c == '|'));
        Assert.StartsWith("| emoji-animals | 10 | 400 | 100 | 62.0% | 91.0% | 87.5% (λ=0.1) | 70.0% (λ=10) | 45.0% ± 7.1 | 55.0% ± 0.0 | 71.0% ± 1.4 |", lines[2]);
        Assert.StartsWith("| mnist | 10 | 400 | 100 | 62.0% | – | 87.5% (λ=0.1) | – | – | – | – |", lines[3]);
    }

    [Fact]
    public void SweepTableMarksTheChosenValue()
    {
        var md = ComparisonReport.SweepToMarkdown([new(0.01f, 0.5), new(1f, 0.75)], 1f);
        Assert.Contains("| 1 | 75.0% | chosen |", md);
        Assert.Contains("| 0.01 | 50.0% |  |", md);
    }

    [Fact]
    public void PlotIsAPngOfTheAskedSizeWithTheCurveDrawn()
    {
        var path = Path.Combine(Fixtures.NewTempDir("plot"), "sub", "emoji-animals.png");
        ComparisonPlot.SavePng(Sample, path, 640, 480);
        Assert.True(new FileInfo(path).Length > 1000);
        using var bitmap = SKBitmap.Decode(path);
        Assert.Equal(640, bitmap.Width);
        Assert.Equal(480, bitmap.Height);
        // The few-shot curve's blue, the zero-shot purple and the probes' green and orange are all on the canvas.
        var colors = new HashSet<SKColor>();
        for (int y = 0; y < bitmap.Height; y++)
            for (int x = 0; x < bitmap.Width; x++)
                colors.Add(bitmap.GetPixel(x, y));
        foreach (var expected in new SKColor[] { new(0x1f, 0x77, 0xb4), new(0x94, 0x2f, 0x9e), new(0x2c, 0xa0, 0x2c), new(0xff, 0x7f, 0x0e) })
            Assert.Contains(expected, colors);
    }

    [Fact]
    public void PlotRejectsATinyCanvas()
        => Assert.Throws<ArgumentOutOfRangeException>(() => ComparisonPlot.SavePng(Sample, Path.Combine(Fixtures.NewTempDir("plot"), "x.png"), 50, 50));
}
