namespace Microsoft.ML.Clip.Datasets.Emoji;

/// <summary>The emoji image sets: four drawings of the same CLDR-named emoji.</summary>
public enum EmojiStyle
{
    /// <summary>Noto Color Emoji (npm <c>emoji-datasource-google</c>, 64 px PNG).</summary>
    Google,
    /// <summary>Twemoji (npm <c>emoji-datasource-twitter</c>, 64 px PNG).</summary>
    Twitter,
    /// <summary>Microsoft Fluent Emoji 3D (npm <c>@lobehub/fluent-emoji-3d</c>, WebP).</summary>
    Fluent3D,
    /// <summary>OpenMoji (npm <c>openmoji</c>, colour SVG rendered to PNG).</summary>
    OpenMoji,
}

/// <summary>Where each style lives under the data folder, and its <see cref="ImageCaptionPair.Style"/> name.</summary>
internal static class EmojiStyleLayout
{
    public static string StyleName(EmojiStyle style) => style switch
    {
        EmojiStyle.Google => "google",
        EmojiStyle.Twitter => "twitter",
        EmojiStyle.Fluent3D => "fluent-3d",
        EmojiStyle.OpenMoji => "openmoji",
        _ => throw new ArgumentOutOfRangeException(nameof(style), style, "Unknown emoji style."),
    };

    /// <summary>The image folder of <paramref name="style"/> relative to the data folder, and its file extension.</summary>
    public static (string Folder, string Extension) ImageFolder(EmojiStyle style) => style switch
    {
        EmojiStyle.Google => (Path.Combine("emoji-google", "img", "google", "64"), ".png"),
        EmojiStyle.Twitter => (Path.Combine("emoji-twitter", "img", "twitter", "64"), ".png"),
        EmojiStyle.Fluent3D => (Path.Combine("emoji-fluent-3d", "assets"), ".webp"),
        EmojiStyle.OpenMoji => (Path.Combine("openmoji", "color", "svg"), ".svg"),
        _ => throw new ArgumentOutOfRangeException(nameof(style), style, "Unknown emoji style."),
    };

    /// <summary>Code points as the sets name files differently (<c>1F600</c>, <c>0023-fe0f-20e3</c>, with or
    /// without the FE0F variation selector): lower case, FE0F dropped.</summary>
    public static string NormalizeHexcode(string hexcode)
    {
        var parts = hexcode.ToLowerInvariant().Split('-', StringSplitOptions.RemoveEmptyEntries).Where(p => p != "fe0f");
        return string.Join('-', parts);
    }
}
