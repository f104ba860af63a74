using System.Text.Json;

namespace Microsoft.ML.Clip.ZeroShot;

/// <summary>
/// Prompt templates and class names of the CLIP paper's ImageNet prompt engineering (openai/CLIP, MIT),
/// shipped as an embedded resource. <c>{}</c> in a template stands for the class name.
/// </summary>
public static class ClipPromptTemplates
{
    private const string ResourceName = "Microsoft.ML.Clip.ZeroShot.imagenet_prompts.json";
    private static readonly Lazy<Prompts> Data = new(Read);

    /// <summary>The 80 ImageNet templates ("a bad photo of a {}.", …): the default prompt ensemble.</summary>
    public static IReadOnlyList<string> ImageNet80 => Data.Value.ImageNetTemplates;

    /// <summary>The 7-template subset found by forward selection, in selection order.</summary>
    public static IReadOnlyList<string> ImageNet7 => Data.Value.ImageNetTemplates7;

    /// <summary>The 1000 hand-tuned ImageNet class names, in class-index order.</summary>
    public static IReadOnlyList<string> ImageNetClasses => Data.Value.ImageNetClasses;

    /// <summary>The single template <c>"a photo of a {}."</c>.</summary>
    public static IReadOnlyList<string> Single { get; } = ["a photo of a {}."];

    /// <summary>Fills <paramref name="template"/> with <paramref name="className"/> (every <c>{}</c> is replaced).</summary>
    public static string Fill(string template, string className) => template.Replace("{}", className, StringComparison.Ordinal);

    private sealed record Prompts(string[] ImageNetClasses, string[] ImageNetTemplates, string[] ImageNetTemplates7);

    private static Prompts Read()
    {
        using var stream = typeof(ClipPromptTemplates).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"Embedded resource '{ResourceName}' is missing.");
        using var doc = JsonDocument.Parse(stream);
        string[] List(string name) => doc.RootElement.GetProperty(name).EnumerateArray().Select(e => e.GetString()!).ToArray();
        return new Prompts(List("imagenet_classes"), List("imagenet_templates"), List("imagenet_templates_7"));
    }
}
