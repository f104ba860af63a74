using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.TorchSharp.Checkpoints;

namespace Microsoft.ML.Clip.TorchSharp.Training;

/// <summary>
/// Named CLIP architectures to train from scratch, kept as data as open_clip keeps its model configs: each preset is a
/// <c>clip_config.json</c> (the format beside OpenAI-named safetensors, see <see cref="ClipConfigJson"/>) embedded in
/// this assembly from <c>Training/Presets/NAME.json</c>. The path of such a file works wherever a name does.
/// </summary>
/// <remarks>
/// The presets (all ViT, QuickGELU, context 77, CLIP's vocabulary): <c>tiny</c>, for tests and small data (64 px,
/// patch 8, width 128 with 2 heads and 4 blocks per tower, 64-dimensional embeddings); <c>small</c>, open_clip's
/// ViT-S/32 shape (224 px, patch 32, width 384 with 6 heads and 12 blocks per tower, 384-dimensional embeddings);
/// <c>base</c>, OpenAI's ViT-B/32 (224 px, patch 32, vision width 768 and 12 blocks; text width 512, 8 heads,
/// 12 blocks; 512-dimensional embeddings), also found as <c>ViT-B-32</c> or <c>ViT-B/32</c>.
/// </remarks>
public static class ClipModelPresets
{
    private const string ResourcePrefix = "Microsoft.ML.Clip.TorchSharp.Presets.";
    private const string ResourceSuffix = ".json";

    // The names open_clip and OpenAI give the base preset.
    private static readonly Dictionary<string, string> Aliases = new(StringComparer.OrdinalIgnoreCase)
    {
        ["vit-b-32"] = "base",
        ["vit-b/32"] = "base",
    };

    /// <summary>The preset names <see cref="Get"/> accepts, in ordinal order.</summary>
    public static IReadOnlyList<string> Names { get; } = typeof(ClipModelPresets).Assembly.GetManifestResourceNames()
        .Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal) && n.EndsWith(ResourceSuffix, StringComparison.Ordinal))
        .Select(n => n[ResourcePrefix.Length..^ResourceSuffix.Length])
        .Order(StringComparer.Ordinal)
        .ToArray();

    /// <summary>
    /// The preset called <paramref name="nameOrPath"/> (case-insensitive; see <see cref="Names"/>), or the
    /// <c>clip_config.json</c> file at that path. Each call returns a new config.
    /// </summary>
    /// <exception cref="ArgumentException">Neither a preset nor a path (the message lists the presets).</exception>
    /// <exception cref="FileNotFoundException">A path (it has a folder or ends in <c>.json</c>) that does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a valid config (the message names the file and the field).</exception>
    public static ClipConfig Get(string nameOrPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(nameOrPath);
        var name = Aliases.GetValueOrDefault(nameOrPath, nameOrPath);
        if (Names.FirstOrDefault(n => string.Equals(n, name, StringComparison.OrdinalIgnoreCase)) is { } preset)
        {
            using var stream = typeof(ClipModelPresets).Assembly.GetManifestResourceStream(ResourcePrefix + preset + ResourceSuffix)!;
            using var reader = new StreamReader(stream);
            return ClipConfigJson.Parse(reader.ReadToEnd(), $"preset '{preset}'");
        }
        if (File.Exists(nameOrPath) || LooksLikePath(nameOrPath))
            return File.Exists(nameOrPath)
                ? ClipConfigJson.Load(nameOrPath)
                : throw new FileNotFoundException($"The model config file '{nameOrPath}' does not exist.", nameOrPath);
        throw new ArgumentException(
            $"Unknown model preset '{nameOrPath}'; expected one of: {string.Join(", ", Names)}, or the path of a {ClipConfigJson.FileName} file.", nameof(nameOrPath));
    }

    private static bool LooksLikePath(string value) =>
        value.EndsWith(".json", StringComparison.OrdinalIgnoreCase)
        || value.Contains(Path.DirectorySeparatorChar) || value.Contains(Path.AltDirectorySeparatorChar);
}
