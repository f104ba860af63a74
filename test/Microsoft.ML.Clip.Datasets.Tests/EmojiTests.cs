using Microsoft.ML.Clip.Datasets.Emoji;
using Microsoft.ML.Data;

namespace Microsoft.ML.Clip.Datasets.Tests;

public class EmojiTests
{
    // A cut-down emojibase: a smiley, a keycap (hexcode with FE0F), a skin-tone component and a regional indicator
    // (no group); the last two must be left out.
    private const string DataJson = """
        [
          {"label": "regional indicator A", "hexcode": "1F1E6", "emoji": "x", "type": 1, "version": 0},
          {"label": "grinning face", "hexcode": "1F600", "tags": ["face", "grin", "happy", "smile"], "group": 0, "subgroup": 0, "order": 1},
          {"label": "keycap: #", "hexcode": "0023-FE0F-20E3", "tags": ["keycap"], "group": 8, "subgroup": 93, "order": 2},
          {"label": "light skin tone", "hexcode": "1F3FB", "group": 2, "subgroup": 44, "order": 3},
          {"label": "dog face", "hexcode": "1F436", "tags": ["dog", "face", "pet"], "group": 3, "subgroup": 48, "order": 4}
        ]
        """;

    private const string MessagesJson = """
        {"groups": [
           {"key": "smileys-emotion", "message": "smileys & emotion", "order": 0},
           {"key": "component", "message": "components", "order": 2},
           {"key": "animals-nature", "message": "animals & nature", "order": 3},
           {"key": "symbols", "message": "symbols", "order": 8}],
         "subgroups": [
           {"key": "face-smiling", "message": "face smiling", "order": 0},
           {"key": "skin-tone", "message": "skin tone", "order": 44},
           {"key": "animal-mammal", "message": "animal mammal", "order": 48},
           {"key": "keycap", "message": "keycap", "order": 93}]}
        """;

    private static void WriteEmojibase(TempFolder data)
    {
        data.Write("emojibase-data/en/data.json", DataJson);
        data.Write("emojibase-data/en/messages.json", MessagesJson);
    }

    [Fact]
    public void EmojiDatasourceLayoutGivesCaptionedPairs()
    {
        using var data = new TempFolder();
        WriteEmojibase(data);
        // emoji-datasource names files in lower case with FE0F; the dog has no image in this style.
        var smiley = data.Write("emoji-google/img/google/64/1f600.png", SyntheticData.Png());
        var keycap = data.Write("emoji-google/img/google/64/0023-fe0f-20e3.png", SyntheticData.Png());
        data.Write("emoji-google/img/google/64/1f3fb.png", SyntheticData.Png());

        var rows = EmojiDataset.Read(data.Path, EmojiStyle.Google, new DatasetOptions { MaxCaptionKeywords = 2 }).ToList();

        Assert.Equal([smiley, keycap], rows.Select(r => r.ImagePath));
        Assert.Equal(["grinning face, grin, happy", "keycap: #"], rows.Select(r => r.Caption));
        Assert.Equal(["grinning face", "keycap: #"], rows.Select(r => r.Name));
        Assert.Equal(["face smiling", "keycap"], rows.Select(r => r.Subgroup));
        Assert.Equal(["smileys & emotion", "symbols"], rows.Select(r => r.Group));
        Assert.Equal("face, grin, happy, smile", rows[0].Keywords);
        Assert.All(rows, r => Assert.Equal(("emoji", "google"), (r.Source, r.Style)));
    }

    [Fact]
    public void LoadEmojiDataViewHasThePairSchemaAndNameOnlyCaptions()
    {
        using var data = new TempFolder();
        WriteEmojibase(data);
        data.Write("emoji-twitter/img/twitter/64/1f436.png", SyntheticData.Png());
        var view = new MLContext().Data.LoadEmoji(data.Path, EmojiStyle.Twitter, new DatasetOptions { MaxCaptionKeywords = 0 });

        Assert.Equal(["ImagePath", "Caption", "Source", "Style", "Name", "Group", "Subgroup", "Keywords", "Id"],
            view.Schema.Select(c => c.Name));
        Assert.All(view.Schema, c => Assert.Equal(TextDataViewType.Instance, c.Type));
        Assert.Equal(["dog face"], view.GetColumn<string>("Caption").ToArray());
        Assert.Equal(["animal mammal"], view.GetColumn<string>("Subgroup").ToArray());
    }

    [Fact]
    public void OpenMojiSvgIsRenderedOnceAndCached()
    {
        using var data = new TempFolder();
        WriteEmojibase(data);
        // OpenMoji names files in upper case.
        data.Write("openmoji/color/svg/1F436.svg", SyntheticData.TwoColourSvg);
        var options = new DatasetOptions { SvgRenderSize = 64 };

        var row = Assert.Single(EmojiDataset.Read(data.Path, EmojiStyle.OpenMoji, options));
        Assert.Equal(Path.Combine(data.Path, "cache", "openmoji-64", "1F436.png"), row.ImagePath);
        using (var bitmap = SyntheticData.Decode(File.ReadAllBytes(row.ImagePath)))
        {
            Assert.Equal((64, 64), (bitmap.Width, bitmap.Height));
            // 100×50 fitted into 64×64: a 64×32 band in the middle, red left, blue right, transparent above.
            Assert.Equal((byte)0, bitmap.GetPixel(32, 2).Alpha);
            var left = bitmap.GetPixel(10, 32);
            var right = bitmap.GetPixel(54, 32);
            Assert.Equal((255, 0, 0, 255), ((int)left.Red, (int)left.Green, (int)left.Blue, (int)left.Alpha));
            Assert.Equal((0, 0, 255, 255), ((int)right.Red, (int)right.Green, (int)right.Blue, (int)right.Alpha));
        }

        // The cache is trusted on the next read: a marker written into it survives.
        File.WriteAllBytes(row.ImagePath, SyntheticData.Png(2, 2));
        var again = Assert.Single(EmojiDataset.Read(data.Path, EmojiStyle.OpenMoji, options));
        Assert.Equal(SyntheticData.Png(2, 2), File.ReadAllBytes(again.ImagePath));
    }

    [Fact]
    public void MissingStyleFolderAndBadJsonAreNamed()
    {
        using var data = new TempFolder();
        WriteEmojibase(data);
        var missing = Assert.Throws<DirectoryNotFoundException>(() => EmojiDataset.Read(data.Path, EmojiStyle.Fluent3D));
        Assert.Contains(Path.Combine("emoji-fluent-3d", "assets"), missing.Message);

        var bad = data.Write("emojibase-data/en/data.json", "{ not json");
        var e = Assert.Throws<InvalidDataException>(() => EmojiDataset.Read(data.Path, EmojiStyle.Google));
        Assert.Contains(bad, e.Message);
    }

    [Fact]
    public void BrokenSvgNamesTheFile()
    {
        using var data = new TempFolder();
        var svg = data.Write("broken.svg", "this is not an SVG <<<");
        var e = Assert.Throws<InvalidDataException>(() => Images.SvgRasterizer.Render(svg, 64));
        Assert.Contains(svg, e.Message);
    }
}
