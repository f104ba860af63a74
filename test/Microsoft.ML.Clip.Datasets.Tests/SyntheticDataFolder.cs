using System.IO.Compression;
using SkiaSharp;

namespace Microsoft.ML.Clip.Datasets.Tests;

/// <summary>
/// A data folder laid out as <c>build/fetch-data.sh</c> unpacks it (see the layout in <c>build/data/fetch.sh</c>), with a
/// few small drawings per source. Every source draws in its own colour (<see cref="Colours"/>), so a test can tell from
/// the pixels alone which source an image written by <c>clip-data prepare</c> came from.
/// </summary>
internal static class SyntheticDataFolder
{
    /// <summary>The colour of each source's drawings, by <see cref="ImageCaptionPair.Style"/>.</summary>
    public static IReadOnlyDictionary<string, SKColor> Colours { get; } = new Dictionary<string, SKColor>
    {
        ["google"] = new(230, 30, 30),
        ["twitter"] = new(30, 200, 30),
        ["fluent-3d"] = new(30, 30, 230),
        ["openmoji"] = new(230, 30, 230),
        ["clipart"] = new(230, 200, 30),
        ["stamp"] = new(30, 200, 230),
    };

    /// <summary>The emojibase subgroups of the 19 emoji (keys = messages), and how many emoji each has.</summary>
    public static IReadOnlyList<(string Name, int Count)> Subgroups { get; } =
        [("face smiling", 6), ("face affection", 6), ("animal mammal", 5), ("animal bird", 2)];

    /// <summary>Emoji count: the sum of the subgroup sizes.</summary>
    public static int EmojiCount => Subgroups.Sum(s => s.Count);

    /// <summary>Emoji <paramref name="i"/>'s CLDR-like name.</summary>
    public static string EmojiName(int i) => $"test emoji {i}";

    /// <summary>Which emoji each style draws: Noto all, Twemoji all but every fourth, Fluent 3D every other, OpenMoji all.</summary>
    public static bool Draws(string style, int i) => style switch
    {
        "google" or "openmoji" => true,
        "twitter" => i % 4 != 3,
        "fluent-3d" => i % 2 == 0,
        _ => throw new ArgumentOutOfRangeException(nameof(style)),
    };

    /// <summary>Records per MNIST / Fashion-MNIST split (labels cycle 0–9, so six of each).</summary>
    public const int DigitsPerSplit = 60;

    /// <summary>The grey level of every pixel of a digit image: the label and the split can be read back from it.</summary>
    public static byte DigitGrey(int label, bool test) => (byte)(label * 20 + (test ? 10 : 0));

    /// <summary>Writes the folder under <paramref name="root"/>: the quick fetch's sources (emojibase, OpenMoji,
    /// Fluent 3D, MNIST, Fashion-MNIST), and with <paramref name="full"/> also Noto, Twemoji, Open Clip Art and Tux
    /// Paint stamps.</summary>
    public static void Write(string root, bool full)
    {
        WriteEmojibase(root);
        for (var i = 0; i < EmojiCount; i++)
        {
            var hex = Hexcode(i);
            // Each set names files its own way: emoji-datasource and Fluent in lower case with FE0F, OpenMoji in upper
            // case (here without FE0F); the loader matches them on the normalised code points.
            if (full && Draws("google", i))
                WriteFile(root, $"emoji-google/img/google/64/{hex.ToLowerInvariant()}.png", EmojiPng("google"));
            if (full && Draws("twitter", i))
                WriteFile(root, $"emoji-twitter/img/twitter/64/{hex.ToLowerInvariant()}.png", EmojiPng("twitter"));
            if (Draws("fluent-3d", i))
                WriteFile(root, $"emoji-fluent-3d/assets/{hex.ToLowerInvariant()}.webp", Encode(Drawing(64, 64, Colours["fluent-3d"]), SKEncodedImageFormat.Webp));
            WriteFile(root, $"openmoji/color/svg/{hex.Replace("-FE0F", "")}.svg", OpenMojiSvg());
        }
        // A skin tone (a component) drawn by two styles: the loaders leave it out.
        if (full)
            WriteFile(root, "emoji-google/img/google/64/1f3fb.png", EmojiPng("google"));
        WriteFile(root, "openmoji/color/svg/1F3FB.svg", OpenMojiSvg());
        File.WriteAllText(Path.Combine(root, "emoji-fluent-3d", "package.json"), """{"name": "@lobehub/fluent-emoji-3d"}""");

        WriteDigits(Path.Combine(root, "mnist"), gzip: false);
        WriteDigits(Path.Combine(root, "fashion-mnist"), gzip: true);
        if (!full)
            return;

        var clipArt = Encode(Drawing(100, 80, Colours["clipart"]), SKEncodedImageFormat.Png);
        WriteFile(root, "openclipart/png/food/desserts/cone.png", clipArt);
        WriteFile(root, "openclipart/svg/food/desserts/cone.svg", ClipArtSvg("Ice Cream Cone", "dessert"));
        WriteFile(root, "openclipart/png/animals/cat.png", clipArt);
        WriteFile(root, "openclipart/svg/animals/cat.svg", ClipArtSvg("Cat", "pet"));
        WriteFile(root, "openclipart/png/shapes/stars/star_5pt.png", clipArt); // a generated series: left out

        WriteFile(root, "tuxpaint-stamps/animals/birds/peahen.png", Encode(Drawing(90, 120, Colours["stamp"]), SKEncodedImageFormat.Png));
        File.WriteAllText(Path.Combine(root, "tuxpaint-stamps/animals/birds/peahen.txt"), "A peahen.\nde.utf8=Eine Pfauenhenne.\n");
        WriteFile(root, "tuxpaint-stamps/symbols/coin.svg", System.Text.Encoding.UTF8.GetBytes(
            """<svg xmlns="http://www.w3.org/2000/svg" width="60" height="60"><rect x="10" y="10" width="40" height="40" fill="#1EC8E6"/></svg>"""));
        File.WriteAllText(Path.Combine(root, "tuxpaint-stamps/symbols/coin.txt"), "A coin.\n");
    }

    /// <summary>The emojibase hexcode of emoji <paramref name="i"/>; the first one carries FE0F as many real ones do.</summary>
    public static string Hexcode(int i) => i == 0 ? "263A-FE0F" : $"1F{0x600 + i:X3}";

    /// <summary>The subgroup of emoji <paramref name="i"/>.</summary>
    public static string SubgroupOf(int i)
    {
        foreach (var (name, count) in Subgroups)
        {
            if (i < count)
                return name;
            i -= count;
        }
        throw new ArgumentOutOfRangeException(nameof(i));
    }

    private static void WriteEmojibase(string root)
    {
        var entries = new List<string>
        {
            """{"label": "regional indicator A", "hexcode": "1F1E6", "type": 1, "version": 0}""",
            """{"label": "light skin tone", "hexcode": "1F3FB", "group": 2, "subgroup": 44, "order": 9000}""",
        };
        for (var i = 0; i < EmojiCount; i++)
        {
            var subgroup = Subgroups.Select(s => s.Name).ToList().IndexOf(SubgroupOf(i));
            entries.Add($$"""{"label": "{{EmojiName(i)}}", "hexcode": "{{Hexcode(i)}}", "tags": ["tag{{i}}", "test"], "group": {{(subgroup < 2 ? 0 : 3)}}, "subgroup": {{subgroup}}, "order": {{i + 1}}}""");
        }
        WriteFile(root, "emojibase-data/en/data.json", System.Text.Encoding.UTF8.GetBytes("[\n" + string.Join(",\n", entries) + "\n]"));
        var subgroups = Subgroups.Select((s, i) => $$"""{"key": "{{s.Name.Replace(' ', '-')}}", "message": "{{s.Name}}", "order": {{i}}}""")
            .Append("""{"key": "skin-tone", "message": "skin tone", "order": 44}""");
        WriteFile(root, "emojibase-data/en/messages.json", System.Text.Encoding.UTF8.GetBytes($$"""
            {"groups": [{"key": "smileys-emotion", "message": "smileys & emotion", "order": 0},
                        {"key": "component", "message": "components", "order": 2},
                        {"key": "animals-nature", "message": "animals & nature", "order": 3}],
             "subgroups": [{{string.Join(", ", subgroups)}}]}
            """));
    }

    private static byte[] EmojiPng(string style) => Encode(Drawing(64, 64, Colours[style]), SKEncodedImageFormat.Png);

    /// <summary>A 72-unit OpenMoji-like SVG: a filled square on a transparent background.</summary>
    private static byte[] OpenMojiSvg()
    {
        var c = Colours["openmoji"];
        return System.Text.Encoding.UTF8.GetBytes(
            $"""<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 72 72" width="72" height="72"><rect x="12" y="12" width="48" height="48" fill="#{c.Red:X2}{c.Green:X2}{c.Blue:X2}"/></svg>""");
    }

    private static byte[] ClipArtSvg(string title, string keyword) => System.Text.Encoding.UTF8.GetBytes($"""
        <svg xmlns="http://www.w3.org/2000/svg" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:cc="http://web.resource.org/cc/"
             xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" width="10" height="10">
          <metadata><rdf:RDF><cc:Work rdf:about=""><dc:title>{title}</dc:title>
            <dc:subject><rdf:Bag><rdf:li>{keyword}</rdf:li></rdf:Bag></dc:subject></cc:Work></rdf:RDF></metadata>
        </svg>
        """);

    /// <summary>A transparent image with a filled rectangle over its middle (an eighth of each side left clear).</summary>
    private static SKBitmap Drawing(int width, int height, SKColor colour)
    {
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        using var canvas = new SKCanvas(bitmap);
        canvas.Clear(SKColors.Transparent);
        using var paint = new SKPaint { Color = colour };
        canvas.DrawRect(width / 8f, height / 8f, width * 3 / 4f, height * 3 / 4f, paint);
        return bitmap;
    }

    private static byte[] Encode(SKBitmap bitmap, SKEncodedImageFormat format)
    {
        using (bitmap)
        using (var image = SKImage.FromBitmap(bitmap))
        using (var data = image.Encode(format, 100) ?? throw new InvalidOperationException($"Skia cannot encode {format}."))
            return data.ToArray();
    }

    /// <summary>MNIST's four IDX files: <see cref="DigitsPerSplit"/> records per split, labels cycling 0–9, every pixel
    /// <see cref="DigitGrey"/> except the first, which holds the record index (so no two images are alike).</summary>
    private static void WriteDigits(string folder, bool gzip)
    {
        Directory.CreateDirectory(folder);
        foreach (var (prefix, test) in new[] { ("train", false), ("t10k", true) })
        {
            var pixels = new byte[DigitsPerSplit * 28 * 28];
            var labels = new byte[DigitsPerSplit];
            for (var k = 0; k < DigitsPerSplit; k++)
            {
                labels[k] = (byte)(k % 10);
                pixels.AsSpan(k * 784, 784).Fill(DigitGrey(k % 10, test));
                pixels[k * 784] = (byte)k;
            }
            WriteIdx(Path.Combine(folder, $"{prefix}-images-idx3-ubyte"), SyntheticData.Idx([DigitsPerSplit, 28, 28], pixels), gzip);
            WriteIdx(Path.Combine(folder, $"{prefix}-labels-idx1-ubyte"), SyntheticData.Idx([DigitsPerSplit], labels), gzip);
        }
    }

    private static void WriteIdx(string path, byte[] bytes, bool gzip)
    {
        if (!gzip)
        {
            File.WriteAllBytes(path, bytes);
            return;
        }
        using var file = File.Create(path + ".gz");
        using var zip = new GZipStream(file, CompressionLevel.Fastest);
        zip.Write(bytes);
    }

    private static void WriteFile(string root, string relative, byte[] bytes)
    {
        var path = Path.Combine(root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
    }
}
