using System.Text;
using Microsoft.ML.Clip.Tsv;

namespace Microsoft.ML.Clip.Datasets.Tests;

/// <summary>
/// The one rule of the repository's image TSVs (<c>src/Shared/ImageTextTsv.cs</c>). The same source is compiled into
/// the <c>clip</c> tool, whose commands are checked against it in <c>Microsoft.ML.Clip.Cli.Tests/TsvRuleTests</c>.
/// </summary>
public class ImageTextTsvTests
{
    [Fact]
    public void HeaderCommentsBlankLinesAndLineEndsAreSkippedAndFieldsTrimmed()
    {
        using var folder = new TempFolder();
        var a = folder.Write("a.png", SyntheticData.Png());
        var b = folder.Write("b.png", SyntheticData.Png());
        // A byte order mark, a comment before the header, CRLF, a white-space line, padded fields.
        var text = "\uFEFF# made by hand\r\nImage_Path\tLabel\r\n\r\n  \t \r\na.png\tcat\r\n#b.png\tcomment, not a row\n b.png \t a dog \n";
        var tsv = folder.Write("set.tsv", Encoding.UTF8.GetPreamble().Concat(Encoding.UTF8.GetBytes(text[1..])).ToArray());

        var rows = ImageTextTsv.Read(tsv, "label");

        Assert.Equal([new ImageTextRow(a, "cat", 5), new ImageTextRow(b, "a dog", 7)], rows);
    }

    [Theory]
    [InlineData("image")]
    [InlineData("PATH")]
    [InlineData("file")]
    [InlineData("imagepath")]
    public void OnlyTheFirstContentLineCanBeAHeader(string header)
    {
        using var folder = new TempFolder();
        var image = folder.Write("x.png", SyntheticData.Png());
        Assert.Equal([image], ImageTextTsv.Read(folder.Write("h.tsv", $"{header}\tcaption\nx.png\tan x\n"), "caption").Select(r => r.ImagePath));
        // Later on, a header-like line is a row like any other: here its image does not exist.
        var late = folder.Write("late.tsv", $"x.png\tan x\n{header}\tcaption\n");
        var e = Assert.Throws<FileNotFoundException>(() => ImageTextTsv.Read(late, "caption"));
        Assert.Contains($"'{late}' line 2", e.Message);
    }

    [Fact]
    public void RelativePathsAreRelativeToTheTsvFolderNotTheWorkingFolder()
    {
        using var folder = new TempFolder();
        var up = folder.Write("images/up.png", SyntheticData.Png());
        var beside = folder.Write("sets/one/beside.png", SyntheticData.Png());
        var absolute = folder.Write("elsewhere/abs.png", SyntheticData.Png());
        var tsv = folder.Write("sets/one/data.tsv", $"../../images/up.png\tup\n./beside.png\tbeside\n{absolute}\tabsolute\n");
        var before = Directory.GetCurrentDirectory();

        var rows = ImageTextTsv.Read(Path.GetRelativePath(before, tsv), "caption");

        Assert.Equal([up, beside, absolute], rows.Select(r => r.ImagePath));
        Assert.All(rows, r => Assert.True(Path.IsPathFullyQualified(r.ImagePath)));
    }

    [Theory]
    [InlineData("only-one-field.png", "1 field")]
    [InlineData("x.png\tcaption\textra", "3 fields")]
    [InlineData("x.png\tcaption\t", "3 fields")]
    [InlineData("  \tcaption", "the image path is empty")]
    [InlineData("x.png\t  ", "the caption is empty")]
    public void AMalformedLineIsNamedWithFileAndLine(string badLine, string problem)
    {
        using var folder = new TempFolder();
        folder.Write("x.png", SyntheticData.Png());
        var tsv = folder.Write("bad.tsv", $"image\tcaption\nx.png\tfine\n\n{badLine}\n");

        var e = Assert.Throws<InvalidDataException>(() => ImageTextTsv.Read(tsv, "caption"));

        Assert.StartsWith($"TSV file '{tsv}' line 4:", e.Message);
        Assert.Contains(problem, e.Message);
    }

    [Fact]
    public void MissingTsvOrImageIsNamed()
    {
        using var folder = new TempFolder();
        var tsv = Path.Combine(folder.Path, "none.tsv");
        Assert.Equal(tsv, Assert.Throws<FileNotFoundException>(() => ImageTextTsv.Read(tsv, "label")).FileName);

        var withMissing = folder.Write("m.tsv", "image\tlabel\nsub/gone.png\tcat\n");
        var e = Assert.Throws<FileNotFoundException>(() => ImageTextTsv.Read(withMissing, "label"));
        Assert.Equal(Path.Combine(folder.Path, "sub", "gone.png"), e.FileName);
        Assert.Contains($"'{withMissing}' line 2: image 'sub/gone.png' not found", e.Message);
        Assert.Empty(ImageTextTsv.Read(folder.Write("empty.tsv", "image\tlabel\n# nothing\n"), "label"));
    }

    [Fact]
    public void WrittenFilesReadBackToTheSamePathsAndCleanedTexts()
    {
        using var folder = new TempFolder();
        var images = new[]
        {
            folder.Write("img/#hash.png", SyntheticData.Png()),     // would read as a comment without "./"
            folder.Write("img/ leading.png", SyntheticData.Png()),  // would lose its space to the trim
            folder.Write("img/in side.png", SyntheticData.Png()),
            folder.Write("other/ü.png", SyntheticData.Png()),
        };
        var tsv = Path.Combine(folder.Path, "img", "set.tsv");

        var count = ImageTextTsv.Write(tsv, "label", images.Select((p, i) => (p, $" label\t{i}\r\nend ")));

        Assert.Equal(4, count);
        Assert.Equal(["image\tlabel", "./#hash.png\tlabel 0  end", "./ leading.png\tlabel 1  end", "in side.png\tlabel 2  end", "../other/ü.png\tlabel 3  end"],
            File.ReadAllLines(tsv));
        Assert.Equal(images, ImageTextTsv.Read(tsv, "label").Select(r => r.ImagePath));
        Assert.False(File.ReadAllBytes(tsv).AsSpan().StartsWith(Encoding.UTF8.GetPreamble()), "no byte order mark");
    }

    [Fact]
    public void WhatALineCannotHoldIsRefusedWhenWriting()
    {
        using var folder = new TempFolder();
        var tsv = Path.Combine(folder.Path, "w.tsv");
        var tab = Assert.Throws<ArgumentException>(() => ImageTextTsv.Write(tsv, "caption", [(Path.Combine(folder.Path, "a\tb.png"), "x")]));
        Assert.Contains("Row 1", tab.Message);
        Assert.Throws<ArgumentException>(() => ImageTextTsv.Write(tsv, "caption", [(Path.Combine(folder.Path, "trailing .png "), "x")]));
        var empty = Assert.Throws<ArgumentException>(() => ImageTextTsv.Write(tsv, "caption", [(Path.Combine(folder.Path, "a.png"), "ok"), (Path.Combine(folder.Path, "b.png"), " \t ")]));
        Assert.Contains("Row 2: the caption of image", empty.Message);
        Assert.Throws<ArgumentException>(() => ImageTextTsv.Write(tsv, "caption", [("", "x")]));
        // Refused half-way: neither a truncated TSV nor its temporary file is left.
        Assert.Empty(Directory.GetFiles(folder.Path));
    }
}
