using Microsoft.ML.Data;
using Microsoft.ML.Clip.Datasets.OpenClipArt;
using Microsoft.ML.Clip.Datasets.TuxPaint;

namespace Microsoft.ML.Clip.Datasets.Tests;

public class OpenClipArtAndStampTests
{
    private static string ClipArtSvg(string title, params string[] keywords) => $"""
        <?xml version="1.0" encoding="UTF-8"?>
        <!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd" [
          <!ENTITY ns_svg "http://www.w3.org/2000/svg">
        ]>
        <svg xmlns="&ns_svg;" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:cc="http://web.resource.org/cc/"
             xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" width="10" height="10">
          <metadata><rdf:RDF><cc:Work rdf:about="">
            <dc:title>{title}</dc:title>
            <dc:subject><rdf:Bag>{string.Concat(keywords.Select(k => $"<rdf:li>{k}</rdf:li>"))}<rdf:li></rdf:li></rdf:Bag></dc:subject>
            <dc:creator><cc:Agent><dc:title>Some Author</dc:title></cc:Agent></dc:creator>
          </cc:Work></rdf:RDF></metadata>
          <rect width="10" height="10" fill="red"/>
        </svg>
        """;

    [Fact]
    public void ClipArtCaptionsComeFromTheSvgMetadata()
    {
        using var data = new TempFolder();
        var cone = data.Write("openclipart/png/food/desserts/cone.png", SyntheticData.Png());
        data.Write("openclipart/svg/food/desserts/cone.svg", ClipArtSvg("Ice Cream Cone", "dessert", "food", "ice", "menu"));
        var arrow = data.Write("openclipart/png/shapes/arrows/arrow12_1.png", SyntheticData.Png());
        data.Write("openclipart/svg/shapes/arrows/arrow12_1.svg", ClipArtSvg("Clipart by Nicu Buculei - arrow08_4", "shape"));
        // Left out: a generated series, an oversized image (header only: never decoded), a file that is no PNG.
        data.Write("openclipart/png/shapes/stars/star_63pt11step.png", SyntheticData.Png());
        data.Write("openclipart/png/people/huge.png", SyntheticData.PngHeaderOnly(20000, 30000));
        data.Write("openclipart/png/people/fake.png", "not a png at all, really not");

        var rows = OpenClipArtDataset.Read(data.Path, new DatasetOptions { MaxCaptionKeywords = 2 }).ToList();

        Assert.Equal([cone, arrow], rows.Select(r => r.ImagePath));
        Assert.Equal("Ice Cream Cone, dessert, food", rows[0].Caption);
        Assert.Equal(("food", "desserts"), (rows[0].Group, rows[0].Subgroup));
        Assert.Equal("dessert, food, ice, menu", rows[0].Keywords);
        // A boilerplate title gives way to the file name's words.
        Assert.Equal("arrow, shape", rows[1].Caption);
        Assert.All(rows, r => Assert.Equal(("openclipart", "clipart"), (r.Source, r.Style)));

        var capped = OpenClipArtDataset.Read(data.Path, new DatasetOptions { MaxImageSide = 100_000 }).Count();
        Assert.Equal(3, capped);
    }

    [Fact]
    public void SvgMetadataReadsTheWorkTitleNotTheAuthors()
    {
        using var data = new TempFolder();
        var path = data.Write("a.svg", ClipArtSvg("Lightbulb", "idea", "light"));
        var metadata = SvgMetadata.Read(path);
        Assert.Equal("Lightbulb", metadata.Title);
        Assert.Equal(["idea", "light"], metadata.Keywords);
        Assert.Same(SvgMetadata.Empty, SvgMetadata.Read(data.Write("b.svg", "<svg><unclosed></svg>")));
    }

    [Fact]
    public void TuxPaintStampsTakeTheEnglishLineAndRenderSvgOnlyStamps()
    {
        using var data = new TempFolder();
        var peahen = data.Write("tuxpaint-stamps/animals/birds/albino_peahen.png", SyntheticData.Png());
        data.Write("tuxpaint-stamps/animals/birds/albino_peahen.txt",
            "An albino peahen (a female peafowl).\nde.utf8=Eine albinotische Pfauenhenne.\nca@valencia.utf8=Un paó.\n");
        data.Write("tuxpaint-stamps/animals/birds/albino_peahen.dat", "noflip");
        data.Write("tuxpaint-stamps/symbols/coin.svg", SyntheticData.TwoColourSvg);
        data.Write("tuxpaint-stamps/symbols/coin.txt", "fr.utf8=Une pièce.\nA coin.\n");
        data.Write("tuxpaint-stamps/symbols/nocaption.png", SyntheticData.Png());

        var rows = new MLContext().Data.LoadTuxPaintStamps(data.Path, new DatasetOptions { SvgRenderSize = 32 })
            .GetColumn<string>("Caption").ToArray();
        Assert.Equal(["An albino peahen (a female peafowl).", "A coin."], rows);

        var pairs = TuxPaintStampDataset.Read(data.Path, new DatasetOptions { SvgRenderSize = 32 }).ToList();
        Assert.Equal(peahen, pairs[0].ImagePath);
        Assert.Equal(("animals", "birds", "stamp"), (pairs[0].Group, pairs[0].Subgroup, pairs[0].Style));
        Assert.Equal(Path.Combine(data.Path, "cache", "tuxpaint-32", "symbols", "coin.png"), pairs[1].ImagePath);
        using var bitmap = SyntheticData.Decode(File.ReadAllBytes(pairs[1].ImagePath));
        Assert.Equal((32, 32), (bitmap.Width, bitmap.Height));
    }
}
