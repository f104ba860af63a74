using System.Globalization;
using Microsoft.ML.Clip.Datasets.Icons;
using Microsoft.ML.Data;
using SkiaSharp;

namespace Microsoft.ML.Clip.Datasets.Tests;

/// <summary>
/// The Game Icons loader on <c>Fixtures/game-icons/icons.json</c>, a tiny Iconify JSON file: <c>square</c> (a 256-unit
/// square in the middle of the set's 512 × 512 box), <c>wide-box</c> (its own 32 × 16 box at left −8 holding a 16-unit
/// square), <c>t-shirt</c>, <c>3d-glasses</c>, and what is left out: a hidden icon, <c>abstract-001</c> and an alias.
/// </summary>
public class GameIconsTests
{
    private static readonly string Fixture = Path.Combine(AppContext.BaseDirectory, "Fixtures", "game-icons", "icons.json");

    /// <summary>A data folder holding the fixture as <c>game-icons/icons.json</c>.</summary>
    private static TempFolder DataWithFixture()
    {
        var data = new TempFolder();
        data.Write("game-icons/icons.json", File.ReadAllBytes(Fixture));
        return data;
    }

    [Fact]
    public void IconsBecomeRowsByNameWithoutHiddenAbstractOrAliases()
    {
        using var data = DataWithFixture();

        var rows = GameIconsDataset.Read(data.Path, new DatasetOptions { SvgRenderSize = 64 }).ToList();

        Assert.Equal(["3d-glasses", "square", "t-shirt", "wide-box"], rows.Select(r => r.Id));
        Assert.Equal(["3d glasses", "square", "t-shirt", "wide box"], rows.Select(r => r.Name));
        Assert.Equal(rows.Select(r => r.Name), rows.Select(r => r.Caption));
        Assert.All(rows, r => Assert.Equal(("game-icons", "icon", "", "", ""), (r.Source, r.Style, r.Group, r.Subgroup, r.Keywords)));
        Assert.Equal(rows.Select(r => Path.Combine(data.Path, "cache", "game-icons-64", r.Id + ".png")), rows.Select(r => r.ImagePath));

        // The SVG documents in the cache, exactly: the set's box, or the icon's own; currentColor made black.
        var svgFolder = Path.Combine(data.Path, "cache", "game-icons-svg");
        Assert.Equal(
            """<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512" width="512" height="512"><path fill="#000000" d="M128 128h256v256H128z"/></svg>""",
            File.ReadAllText(Path.Combine(svgFolder, "square.svg")));
        Assert.Equal(
            """<svg xmlns="http://www.w3.org/2000/svg" viewBox="-8 0 32 16" width="32" height="16"><path fill="#000000" d="M0 0h16v16H0z"/></svg>""",
            File.ReadAllText(Path.Combine(svgFolder, "wide-box.svg")));
        Assert.Equal(["3d-glasses.svg", "square.svg", "t-shirt.svg", "wide-box.svg"],
            Directory.GetFiles(svgFolder).Select(Path.GetFileName).Order(StringComparer.Ordinal));

        // square: 128–384 of 512 units is 16–48 of 64 pixels, black; the rest transparent.
        using (var square = SyntheticData.Decode(File.ReadAllBytes(rows[1].ImagePath)))
        {
            Assert.Equal((64, 64), (square.Width, square.Height));
            foreach (var (x, y) in new[] { (32, 32), (17, 17), (46, 46) })
                AssertBlack(square, x, y);
            foreach (var (x, y) in new[] { (2, 2), (10, 32), (32, 54), (61, 61) })
                Assert.Equal(0, square.GetPixel(x, y).Alpha);
        }
        // wide-box: the 32 × 16 box fits the width (2 px per unit) and is centred vertically (rows 16–48); the square
        // sits at units 0–16 of the box's −8…24, i.e. columns 16–48. Left and right of it, inside the box: transparent.
        using (var wide = SyntheticData.Decode(File.ReadAllBytes(rows[3].ImagePath)))
        {
            Assert.Equal((64, 64), (wide.Width, wide.Height));
            foreach (var (x, y) in new[] { (32, 32), (18, 18), (46, 46) })
                AssertBlack(wide, x, y);
            foreach (var (x, y) in new[] { (8, 32), (56, 32), (32, 8), (32, 56) })
                Assert.Equal(0, wide.GetPixel(x, y).Alpha);
        }
    }

    private static void AssertBlack(SKBitmap bitmap, int x, int y)
    {
        var pixel = bitmap.GetPixel(x, y);
        Assert.True(pixel.Alpha == 255 && pixel.Red == 0 && pixel.Green == 0 && pixel.Blue == 0, $"pixel ({x}, {y}) is {pixel}, not black");
    }

    [Fact]
    public void OptionsSubsampleAndPrepareAsForTheOtherSets()
    {
        using var data = DataWithFixture();
        var all = GameIconsDataset.Read(data.Path).Select(r => r.Id).ToList();
        var some = GameIconsDataset.Read(data.Path, new DatasetOptions { MaxItems = 2, Seed = 3 }).Select(r => r.Id).ToList();
        Assert.Equal(2, some.Count);
        Assert.Equal(all.Where(some.Contains), some); // a subsample keeps the set's order
        Assert.Equal(some, GameIconsDataset.Read(data.Path, new DatasetOptions { MaxItems = 2, Seed = 3 }).Select(r => r.Id));

        var cache = Path.Combine(data.Path, "elsewhere");
        var prepared = GameIconsDataset.Read(data.Path, new DatasetOptions { PreparedImageSide = 32, Background = "white", CacheDirectory = cache })
            .Single(r => r.Id == "square");
        Assert.Equal(Path.Combine(cache, "prepared-32-ffffffff", "game-icons", "square.png"), prepared.ImagePath);
        using var bitmap = SyntheticData.Decode(File.ReadAllBytes(prepared.ImagePath));
        Assert.Equal((32, 32), (bitmap.Width, bitmap.Height));
        Assert.Equal(SKColors.White, bitmap.GetPixel(1, 1));
        AssertBlack(bitmap, 16, 16);

        // Through the catalog: the IDataView and the pair-set mix.
        var captions = new MLContext().Data.LoadGameIcons(data.Path, new DatasetOptions { SvgRenderSize = 32 }).GetColumn<string>("Caption").ToArray();
        Assert.Equal(["3d glasses", "square", "t-shirt", "wide box"], captions);
        Assert.Equal(4, DatasetCatalog.ReadPairs(data.Path, new DatasetOptions { SvgRenderSize = 32 }, PairSet.GameIcons).Count());
    }

    [Theory]
    [InlineData("t-shirt", "t-shirt")]
    [InlineData("x-ray", "x-ray")]
    [InlineData("3d-glasses", "3d glasses")]
    [InlineData("converse-shoe", "converse shoe")]
    [InlineData("horse-head", "horse head")]
    [InlineData("trousers", "trousers")]
    [InlineData("card-2-clubs", "card-2-clubs")]
    [InlineData("inverted-dice-1", "inverted dice-1")]
    [InlineData("a-b-c-long-name", "a-b-c-long name")]
    public void NamesBecomeWordsKeepingHyphensNextToSingleCharacters(string name, string words) =>
        Assert.Equal(words, GameIconsDataset.NameAsWords(name));

    [Fact]
    public void SvgDocumentWritesNumbersInvariantly()
    {
        var culture = CultureInfo.CurrentCulture;
        try
        {
            CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo("de-DE");
            Assert.Equal(
                """<svg xmlns="http://www.w3.org/2000/svg" viewBox="-0.5 1.25 24.5 16" width="24.5" height="16"><g fill="#000000" stroke="#000000"/></svg>""",
                GameIconsDataset.SvgDocument("""<g fill="currentColor" stroke="currentColor"/>""", -0.5, 1.25, 24.5, 16));
        }
        finally
        {
            CultureInfo.CurrentCulture = culture;
        }
    }

    [Fact]
    public void MissingOrBrokenFilesAreNamed()
    {
        using var empty = new TempFolder();
        var folder = Path.Combine(empty.Path, "game-icons");
        var noFolder = Assert.Throws<DirectoryNotFoundException>(() => GameIconsDataset.Read(empty.Path));
        Assert.Contains($"'{folder}'", noFolder.Message);

        Directory.CreateDirectory(folder);
        var file = Path.Combine(folder, "icons.json");
        var noFile = Assert.Throws<FileNotFoundException>(() => GameIconsDataset.Read(empty.Path));
        Assert.Contains($"'{file}'", noFile.Message);

        File.WriteAllText(file, """{"prefix": "game-icons", "icons": {"a": {"body": "<path/>"}""");
        var malformed = Assert.Throws<InvalidDataException>(() => GameIconsDataset.Read(empty.Path));
        Assert.Contains($"'{file}'", malformed.Message);

        File.WriteAllText(file, """{"prefix": "game-icons", "icons": ["a"]}""");
        Assert.Contains($"'{file}'", Assert.Throws<InvalidDataException>(() => GameIconsDataset.Read(empty.Path)).Message);

        File.WriteAllText(file, """{"prefix": "game-icons", "icons": {"fine": {"body": "<path/>"}, "no-body": {"width": 24}}, "width": 512, "height": 512}""");
        var noBody = Assert.Throws<InvalidDataException>(() => GameIconsDataset.Read(empty.Path));
        Assert.Contains($"'{file}'", noBody.Message);
        Assert.Contains("'no-body'", noBody.Message);

        File.WriteAllText(file, """{"prefix": "game-icons", "icons": {"bad-width": {"body": "<path/>", "width": "wide"}}}""");
        var badWidth = Assert.Throws<InvalidDataException>(() => GameIconsDataset.Read(empty.Path));
        Assert.Contains("'bad-width'", badWidth.Message);

        // Names become file names in the cache: anything but Iconify's lower-case letters, digits and hyphens is refused.
        File.WriteAllText(file, """{"prefix": "game-icons", "icons": {"../escape": {"body": "<path/>"}}}""");
        Assert.Contains("'../escape'", Assert.Throws<InvalidDataException>(() => GameIconsDataset.Read(empty.Path)).Message);
    }

    [Fact]
    public void CaptionVariantsOfAnIconAreItsNameAndAnIconPrompt()
    {
        var pair = new ImageCaptionPair { ImagePath = "/x/t-shirt.png", Caption = "t-shirt", Source = "game-icons", Style = "icon", Name = "t-shirt", Id = "t-shirt" };
        Assert.Equal("t-shirt", CaptionVariants.Variant(pair, "name"));
        Assert.Equal("an icon of t-shirt.", CaptionVariants.Variant(pair, "prompt"));
        Assert.Equal("", CaptionVariants.Variant(pair, "category"));
        Assert.Equal("t-shirt", CaptionVariants.Variant(pair, "caption"));
        // Weights name 2, prompt 1, category 1 (empty: left out), caption 1.
        Assert.Equal(["t-shirt", "t-shirt", "an icon of t-shirt.", "t-shirt"], CaptionVariants.For(pair));

        // The other sources keep their prompts.
        Assert.Equal("a drawing of coin.", CaptionVariants.Variant(new ImageCaptionPair { Source = "tuxpaint", Name = "A coin." }, "prompt"));
        Assert.Equal("an emoji of cat.", CaptionVariants.Variant(new ImageCaptionPair { Source = "emoji", Name = "cat" }, "prompt"));
    }
}
