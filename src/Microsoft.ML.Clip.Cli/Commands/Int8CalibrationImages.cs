using Microsoft.ML.Clip.Tsv;

namespace ClipCli.Commands;

/// <summary>
/// The images of <c>clip convert --int8-calibration</c>: a folder (its image files, sub-folders included) or an image TSV
/// (<c>image&lt;TAB&gt;label</c> or <c>image&lt;TAB&gt;caption</c>, the repository's TSV rule; the second field is not
/// used). A large set is thinned to <see cref="MaxImages"/> evenly spaced images: ranges settle long before that, and
/// each image is a run of the float image tower.
/// </summary>
internal static class Int8CalibrationImages
{
    /// <summary>The option's name, as messages say it.</summary>
    public const string OptionName = "--int8-calibration";

    /// <summary>At most this many images are used.</summary>
    public const int MaxImages = 256;

    private static readonly HashSet<string> ImageExtensions = new(StringComparer.OrdinalIgnoreCase) { ".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp" };

    /// <summary>The calibration images named by <paramref name="source"/>, full paths, at most <see cref="MaxImages"/>.</summary>
    /// <exception cref="FileNotFoundException">Neither a folder nor a file, or an image the TSV lists is missing.</exception>
    /// <exception cref="InvalidDataException">A folder without images, a TSV without rows or with a malformed line.</exception>
    public static IReadOnlyList<string> Read(string source)
    {
        string[] images;
        if (Directory.Exists(source))
        {
            images = [.. Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories).Where(f => ImageExtensions.Contains(Path.GetExtension(f)))
                .Select(Path.GetFullPath).Order(StringComparer.Ordinal)];
            if (images.Length == 0)
                throw new InvalidDataException($"{OptionName}: folder '{source}' holds no images ({string.Join(", ", ImageExtensions.Order(StringComparer.Ordinal))}).");
        }
        else if (File.Exists(source))
        {
            if (ImageExtensions.Contains(Path.GetExtension(source)))
                throw new InvalidDataException($"{OptionName}: '{source}' is one image; give a folder of images or a TSV listing them.");
            images = [.. ImageTextTsv.Read(source, "label").Select(r => r.ImagePath)];
            if (images.Length == 0)
                throw new InvalidDataException($"{OptionName}: TSV file '{source}' lists no images.");
        }
        else
        {
            throw new FileNotFoundException($"{OptionName}: '{source}' is neither a folder nor a file.", source);
        }
        return images.Length <= MaxImages ? images : [.. Enumerable.Range(0, MaxImages).Select(i => images[(int)((long)i * images.Length / MaxImages)])];
    }
}
