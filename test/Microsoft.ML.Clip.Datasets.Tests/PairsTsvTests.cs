using Microsoft.ML.Data;
using Microsoft.ML.Clip.Datasets.Emoji;

namespace Microsoft.ML.Clip.Datasets.Tests;

public class PairsTsvTests
{
    [Fact]
    public void WrittenPairsReadBackWithRelativePaths()
    {
        using var folder = new TempFolder();
        var a = folder.Write("images/a.png", SyntheticData.Png());
        var b = folder.Write("other/b c.png", SyntheticData.Png());
        var pairs = new[]
        {
            new ImageCaptionPair { ImagePath = a, Caption = "a red\tsquare" },
            new ImageCaptionPair { ImagePath = b, Caption = "line\nbreak" },
        };
        var ml = new MLContext();
        var tsv = Path.Combine(folder.Path, "out", "pairs.tsv");

        Assert.Equal(2, PairsTsv.Write(tsv, ml.Data.LoadFromEnumerable(pairs)));

        var lines = File.ReadAllLines(tsv);
        Assert.Equal(["image\tcaption", "../images/a.png\ta red square", "../other/b c.png\tline break"], lines);
        Assert.Equal([(a, "a red square"), (b, "line break")], PairsTsv.Read(tsv).ToArray());
    }

    [Fact]
    public void MissingOrNonTextColumnIsNamed()
    {
        using var folder = new TempFolder();
        var view = new MLContext().Data.LoadFromEnumerable(new[] { new { Path = "x", Number = 1f } });
        var missing = Assert.Throws<ArgumentOutOfRangeException>(() => PairsTsv.Write(Path.Combine(folder.Path, "p.tsv"), view));
        Assert.Contains("Could not find input column 'ImagePath'", missing.Message);
        var wrongType = Assert.Throws<ArgumentOutOfRangeException>(() =>
            PairsTsv.Write(Path.Combine(folder.Path, "p.tsv"), view, imageColumnName: "Path", captionColumnName: "Number"));
        Assert.Contains("'Number'", wrongType.Message);
    }

    [Fact]
    public void MalformedTsvNamesFileAndLine()
    {
        using var folder = new TempFolder();
        folder.Write("x.png", SyntheticData.Png());
        // The header is optional: a file without it reads the same.
        var noHeader = folder.Write("a.tsv", "x.png\tcaption\n");
        Assert.Equal([(Path.Combine(folder.Path, "x.png"), "caption")], PairsTsv.Read(noHeader));
        var badLine = folder.Write("b.tsv", "image\tcaption\nx.png\tok\nno-tab-here\n");
        var e = Assert.Throws<InvalidDataException>(() => PairsTsv.Read(badLine));
        Assert.Contains($"'{badLine}' line 3", e.Message);
    }

    [Fact]
    public void AnEmptyCaptionIsRefusedWhenWriting()
    {
        using var folder = new TempFolder();
        var image = folder.Write("a.png", SyntheticData.Png());
        var e = Assert.Throws<ArgumentException>(() =>
            PairsTsv.Write(Path.Combine(folder.Path, "p.tsv"), [new ImageCaptionPair { ImagePath = image, Caption = " _\t " }]));
        Assert.Contains(image, e.Message);
    }

    [Fact]
    public void CombinedPairSetsAppendInOrderWithPerSetLimit()
    {
        using var data = new TempFolder();
        data.Write("emojibase-data/en/data.json",
            """[{"label":"a","hexcode":"1F600","group":0,"subgroup":0},{"label":"b","hexcode":"1F601","group":0,"subgroup":0},{"label":"c","hexcode":"1F602","group":0,"subgroup":0}]""");
        data.Write("emojibase-data/en/messages.json",
            """{"groups":[{"key":"g","message":"g","order":0}],"subgroups":[{"key":"s","message":"s","order":0}]}""");
        foreach (var hex in new[] { "1f600", "1f601", "1f602" })
        {
            data.Write($"emoji-google/img/google/64/{hex}.png", SyntheticData.Png());
            data.Write($"emoji-twitter/img/twitter/64/{hex}.png", SyntheticData.Png());
        }
        var view = new MLContext().Data.LoadImageCaptionPairs(data.Path, new DatasetOptions { MaxItems = 2, Seed = 3 },
            PairSet.EmojiTwitter, PairSet.EmojiGoogle);
        var styles = view.GetColumn<string>("Style").ToArray();
        Assert.Equal(["twitter", "twitter", "google", "google"], styles);
        // The same seed picks the same emoji in both styles.
        var ids = view.GetColumn<string>("Id").ToArray();
        Assert.Equal(ids[..2], ids[2..]);
        Assert.Throws<ArgumentException>(() => DatasetCatalog.ReadPairs(data.Path, null));
    }
}
