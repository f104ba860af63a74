using System.Text.RegularExpressions;
using Microsoft.ML.Clip.Datasets.TuxPaint;

namespace Microsoft.ML.Clip.Datasets;

/// <summary>
/// Several captions for one training image, built from a pair's metadata, for a trainer that draws one caption per image
/// each epoch (<c>clip train --one-caption-per-image</c>). A caption appears once per unit of its weight, so the rows of a
/// captions file carry the weights. The variants and weights are the ones a study on a validation split of the main job's
/// training sources chose (docs/results.md):
/// <list type="bullet">
/// <item><c>name</c> (weight 2): the emoji's CLDR name, the clip art's title, the stamp's description without its leading
/// article and final full stop ("old Chinese sailing ship"), the icon's name as words ("horse head");</item>
/// <item><c>prompt</c> (1): the name in a sentence, <c>an emoji of {name}.</c>, <c>an icon of {name}.</c> (Game Icons) or
/// <c>a drawing of {name}.</c>;</item>
/// <item><c>category</c> (1): the emoji's subgroup ("smiling", "animal mammal": what OpenMoji-by-subgroup asks for) or the
/// clip art's / stamp's last folder ("birds", "vehicles"); none for icons, which have no folders;</item>
/// <item><c>caption</c> (1): the pair's own caption (name and a few keywords) as the single-caption pairs file has it.</item>
/// </list>
/// </summary>
internal static class CaptionVariants
{
    /// <summary>The variants with their weights (rows per caption), in the order they are written.</summary>
    public static IReadOnlyList<(string Variant, int Weight)> Weights { get; } = [("name", 2), ("prompt", 1), ("category", 1), ("caption", 1)];

    /// <summary>The captions of <paramref name="pair"/>, each repeated as often as its variant's weight (empty ones left out).</summary>
    public static IEnumerable<string> For(ImageCaptionPair pair)
    {
        ArgumentNullException.ThrowIfNull(pair);
        foreach (var (variant, weight) in Weights)
        {
            var text = Variant(pair, variant);
            if (text.Length == 0) continue;
            for (var i = 0; i < weight; i++) yield return text;
        }
    }

    /// <summary>One variant of <paramref name="pair"/>'s caption: <c>name</c>, <c>prompt</c>, <c>category</c> or <c>caption</c> ("" when its metadata lacks it).</summary>
    public static string Variant(ImageCaptionPair pair, string variant)
    {
        ArgumentNullException.ThrowIfNull(pair);
        var name = pair.Source == TuxPaintStampDataset.SourceName ? StampNoun(pair.Name) : Captions.Clean(pair.Name);
        var kind = pair.Source switch
        {
            Emoji.EmojiDataset.SourceName => "an emoji of",
            Icons.GameIconsDataset.SourceName => "an icon of",
            _ => "a drawing of",
        };
        return variant switch
        {
            "name" => name,
            "prompt" => name.Length == 0 ? "" : $"{kind} {name}.",
            "category" => Category(pair),
            "caption" => Captions.Clean(pair.Caption),
            _ => throw new ArgumentOutOfRangeException(nameof(variant), variant, $"Unknown caption variant (known: {string.Join(", ", Weights.Select(w => w.Variant))})."),
        };
    }

    // Emoji: the subgroup; drawings: the last folder below the top one, else the top one; icons: none (no folders).
    private static string Category(ImageCaptionPair pair)
    {
        if (pair.Source == Emoji.EmojiDataset.SourceName) return Readable(pair.Subgroup);
        if (pair.Source == Icons.GameIconsDataset.SourceName) return "";
        var folder = pair.Subgroup.Length > 0 ? pair.Subgroup.Split('/')[^1] : pair.Group;
        return Readable(folder);
    }

    /// <summary>A folder or subgroup key as words: hyphens, slashes and underscores become spaces.</summary>
    internal static string Readable(string label) => Captions.Clean(label.Replace('-', ' ').Replace('/', ' '));

    /// <summary>"An old Chinese sailing ship." → "old Chinese sailing ship": prompts bring their own article.</summary>
    internal static string StampNoun(string description) =>
        Regex.Replace(Captions.Clean(description).TrimEnd('.').Trim(), @"^(a|an|the)\s+", "", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
}
