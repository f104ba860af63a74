using System.Globalization;
using SkiaSharp;

namespace ClipCli.Evaluation;

/// <summary>
/// The CLIP paper's few-shot figure for one data set, as a PNG: test accuracy against labelled examples per class
/// (log₂ axis), the few-shot curve with ±1 std bars, zero-shot CLIP as a horizontal line (it uses no examples),
/// and the full-data linear probes as horizontal references.
/// </summary>
/// <remarks>
/// Drawn with SkiaSharp 2.88 directly: ScottPlot 5.1 needs SkiaSharp 3.119, which conflicts with the 2.88 that
/// ML.NET's ImageAnalytics is built against. Text needs a TrueType font; without one (SkiaSharp's dependency-free
/// Linux build finds none by itself) the lines are drawn without labels.
/// </remarks>
internal static class ComparisonPlot
{
    /// <summary>Default width in pixels.</summary>
    public const int DefaultWidth = 800;

    /// <summary>Default height in pixels.</summary>
    public const int DefaultHeight = 560;

    private static readonly string[] FontFiles =
    [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/TTF/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
        "/System/Library/Fonts/Supplemental/Arial.ttf",
        @"C:\Windows\Fonts\arial.ttf",
    ];

    private static readonly Lazy<SKTypeface> Font = new(() =>
        FontFiles.Where(File.Exists).Select(SKTypeface.FromFile).FirstOrDefault(t => t is not null) ?? SKTypeface.Default);

    private static readonly SKColor FewShotColor = new(0x1f, 0x77, 0xb4);
    private static readonly SKColor ZeroShotColor = new(0x94, 0x2f, 0x9e);
    private static readonly SKColor ClipProbeColor = new(0x2c, 0xa0, 0x2c);
    private static readonly SKColor ResNetColor = new(0xff, 0x7f, 0x0e);

    /// <summary>Writes the figure of <paramref name="result"/> to <paramref name="path"/> (PNG).</summary>
    public static void SavePng(DatasetComparison result, string path, int width = DefaultWidth, int height = DefaultHeight)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (width < 200 || height < 150)
            throw new ArgumentOutOfRangeException(nameof(width), $"The plot needs at least 200 x 150 pixels, got {width} x {height}.");
        using var surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul))
            ?? throw new InvalidOperationException("SkiaSharp could not create a drawing surface.");
        Draw(surface.Canvas, result, width, height);
        using var image = surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null)
            Directory.CreateDirectory(dir);
        using var file = File.Create(path);
        data.SaveTo(file);
    }

    private static void Draw(SKCanvas canvas, DatasetComparison r, int width, int height)
    {
        canvas.Clear(SKColors.White);
        var values = new List<double>();
        values.AddRange(r.FewShot.SelectMany(p => new[] { p.Mean - p.StandardDeviation, p.Mean + p.StandardDeviation }));
        if (r.ZeroShotTop1 is { } z) values.Add(z);
        if (r.ClipProbe is { } c) values.Add(c.Accuracy);
        if (r.ResNet18Probe is { } n) values.Add(n.Accuracy);
        double yMin = values.Count == 0 ? 0 : Math.Max(0, Math.Floor((values.Min() - 0.02) * 10) / 10);
        double yMax = values.Count == 0 ? 1 : Math.Min(1, Math.Ceiling((values.Max() + 0.02) * 10) / 10);
        if (yMax - yMin < 0.1)
            (yMin, yMax) = (Math.Max(0, yMax - 0.1), Math.Max(0.1, yMax));

        // x: 0 labelled examples (zero-shot) at 0, then k at 1 + log2 k.
        int maxShots = r.FewShot.Count == 0 ? 16 : Math.Max(16, r.FewShot.Max(p => p.Shots));
        double xMax = 1 + Math.Log2(maxShots);
        float left = 70, right = width - 20, top = 45, bottom = height - 55;
        float X(double v) => left + (float)(v / xMax) * (right - left);
        float Y(double acc) => bottom - (float)((acc - yMin) / (yMax - yMin)) * (bottom - top);

        using var text = new SKPaint { Color = SKColors.Black, IsAntialias = true, TextSize = 14, Typeface = Font.Value };
        using var grid = new SKPaint { Color = new SKColor(0xdd, 0xdd, 0xdd), StrokeWidth = 1, IsAntialias = true };
        using var axis = new SKPaint { Color = SKColors.Black, StrokeWidth = 1.5f, IsAntialias = true, Style = SKPaintStyle.Stroke };

        for (double y = yMin; y <= yMax + 1e-9; y += 0.1)
        {
            canvas.DrawLine(left, Y(y), right, Y(y), grid);
            var label = (100 * y).ToString("F0", CultureInfo.InvariantCulture);
            canvas.DrawText(label, left - 8 - text.MeasureText(label), Y(y) + 5, text);
        }
        var ticks = new List<int> { 0 };
        for (int k = 1; k <= maxShots; k *= 2)
            ticks.Add(k);
        foreach (var k in ticks)
        {
            float x = X(k == 0 ? 0 : 1 + Math.Log2(k));
            canvas.DrawLine(x, top, x, bottom, grid);
            var label = k.ToString(CultureInfo.InvariantCulture);
            canvas.DrawText(label, x - text.MeasureText(label) / 2, bottom + 20, text);
        }
        canvas.DrawRect(left, top, right - left, bottom - top, axis);
        const string xTitle = "labelled training examples per class";
        canvas.DrawText(xTitle, (left + right - text.MeasureText(xTitle)) / 2, height - 15, text);
        canvas.Save();
        canvas.RotateDegrees(-90);
        const string yTitle = "accuracy (%)";
        canvas.DrawText(yTitle, -(top + bottom + text.MeasureText(yTitle)) / 2, 22, text);
        canvas.Restore();
        using (var title = new SKPaint { Color = SKColors.Black, IsAntialias = true, TextSize = 18, Typeface = Font.Value, FakeBoldText = true })
            canvas.DrawText(r.Name, (width - title.MeasureText(r.Name)) / 2, 28, title);

        var legend = new List<(string Label, SKColor Color, float[]? Dash)>();
        if (r.ResNet18Probe is { } resnet)
        {
            HorizontalLine(canvas, X(0), X(xMax), Y(resnet.Accuracy), ResNetColor, [3, 4]);
            legend.Add(($"linear probe ResNet-18, all data ({ComparisonReport.Percent(resnet.Accuracy)})", ResNetColor, [3, 4]));
        }
        if (r.ClipProbe is { } clip)
        {
            HorizontalLine(canvas, X(0), X(xMax), Y(clip.Accuracy), ClipProbeColor, [3, 4]);
            legend.Add(($"linear probe CLIP, all data ({ComparisonReport.Percent(clip.Accuracy)})", ClipProbeColor, [3, 4]));
        }
        if (r.ZeroShotTop1 is { } zero)
        {
            HorizontalLine(canvas, X(0), X(xMax), Y(zero), ZeroShotColor, [10, 6]);
            using var dot = new SKPaint { Color = ZeroShotColor, IsAntialias = true };
            canvas.DrawCircle(X(0), Y(zero), 6, dot);
            legend.Add(($"zero-shot CLIP ({ComparisonReport.Percent(zero)})", ZeroShotColor, [10, 6]));
        }
        if (r.FewShot.Count > 0)
        {
            using var line = new SKPaint { Color = FewShotColor, StrokeWidth = 2.5f, IsAntialias = true, Style = SKPaintStyle.Stroke };
            using var fill = new SKPaint { Color = FewShotColor, IsAntialias = true };
            using var path = new SKPath();
            foreach (var p in r.FewShot.OrderBy(p => p.Shots))
            {
                float x = X(1 + Math.Log2(p.Shots)), y = Y(p.Mean);
                if (path.IsEmpty) path.MoveTo(x, y); else path.LineTo(x, y);
                float lo = Y(p.Mean - p.StandardDeviation), hi = Y(p.Mean + p.StandardDeviation);
                canvas.DrawLine(x, lo, x, hi, line);
                canvas.DrawLine(x - 5, lo, x + 5, lo, line);
                canvas.DrawLine(x - 5, hi, x + 5, hi, line);
                canvas.DrawCircle(x, y, 4.5f, fill);
            }
            canvas.DrawPath(path, line);
            legend.Add(("few-shot linear probe CLIP (mean ± std)", FewShotColor, null));
        }

        float ly = bottom - 12 - 20 * (legend.Count - 1);
        foreach (var (label, color, dash) in legend)
        {
            HorizontalLine(canvas, right - 330, right - 295, ly - 5, color, dash);
            canvas.DrawText(label, right - 288, ly, text);
            ly += 20;
        }
    }

    private static void HorizontalLine(SKCanvas canvas, float x0, float x1, float y, SKColor color, float[]? dash)
    {
        using var effect = dash is null ? null : SKPathEffect.CreateDash(dash, 0);
        using var paint = new SKPaint { Color = color, StrokeWidth = 2.5f, IsAntialias = true, Style = SKPaintStyle.Stroke, PathEffect = effect };
        canvas.DrawLine(x0, y, x1, y, paint);
    }
}
