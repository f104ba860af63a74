using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.Tokenization;

namespace Microsoft.ML.Clip.ZeroShot;

/// <summary>
/// Zero-shot classification outside ML.NET pipelines (used by the CLI and the bulk APIs): class weights from
/// prompt ensembles, then probabilities for batches of image embeddings.
/// </summary>
public sealed class ZeroShotClassifier
{
    /// <summary>Creates a classifier for <paramref name="classNames"/> with <paramref name="templates"/> (null: the 80 ImageNet templates).</summary>
    /// <param name="model">The model whose text encoder embeds the prompts.</param>
    /// <param name="classNames">The classes, in output order.</param>
    /// <param name="templates">Prompt templates with <c>{}</c> for the class name.</param>
    /// <param name="scale">Logit scale of a softmax (CLIP) model; null: 100, as the reference. A sigmoid (SigLIP) model always
    /// uses its own learned scale and bias, which were trained together: giving a scale for one is an error.</param>
    /// <exception cref="ArgumentException">No class names, or a <paramref name="scale"/> for a sigmoid model.</exception>
    public ZeroShotClassifier(ClipModel model, IReadOnlyList<string> classNames, IReadOnlyList<string>? templates = null, float? scale = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(classNames);
        if (classNames.Count < 1)
            throw new ArgumentException("At least one class name is needed.", nameof(classNames));
        if (model.LogitBias is not null && scale is not null)
            throw new ArgumentException(SigmoidScaleMessage, nameof(scale));
        ClassNames = [.. classNames];
        Templates = [.. templates ?? ClipPromptTemplates.ImageNet80];
        Bias = model.LogitBias;
        Scale = Bias is null ? scale ?? 100f : model.LogitScale;
        EmbeddingSize = model.EmbeddingSize;
        Weights = ComputeClassWeights(model, ClassNames, Templates, null);
    }

    /// <summary>The class names.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>The templates.</summary>
    public IReadOnlyList<string> Templates { get; }

    /// <summary>The logit scale.</summary>
    public float Scale { get; }

    /// <summary>The learned bias of a sigmoid (SigLIP) model, added to every scaled cosine; null for a softmax (CLIP) model.</summary>
    public float? Bias { get; }

    /// <summary>Embedding size D.</summary>
    public int EmbeddingSize { get; }

    /// <summary>Class weights W [D, C] row-major.</summary>
    public float[] Weights { get; }

    /// <summary>
    /// For one image embedding (raw or normalised): softmax(scale · cosine(embedding, class)) over the classes, or for a
    /// sigmoid model sigmoid(scale · cosine + bias) per class (independent probabilities, which need not sum to 1).
    /// </summary>
    public float[] Probabilities(ReadOnlySpan<float> imageEmbedding)
    {
        if (imageEmbedding.Length != EmbeddingSize)
            throw new ArgumentException($"Expected an embedding of {EmbeddingSize} values, got {imageEmbedding.Length}.", nameof(imageEmbedding));
        return ZeroShotMath.Probabilities(imageEmbedding, Weights, ClassNames.Count, Scale, Bias);
    }

    /// <summary>Why a scale is refused for a sigmoid model (one message for the API and the command line).</summary>
    internal const string SigmoidScaleMessage =
        "This is a sigmoid (SigLIP) model: zero-shot uses its own learned logit scale and bias, which were trained together, so another scale does not apply.";

    /// <summary>The most probable class name for one image embedding, with all probabilities.</summary>
    public string Classify(ReadOnlySpan<float> imageEmbedding, out float[] probabilities)
    {
        probabilities = Probabilities(imageEmbedding);
        var best = ZeroShotMath.ArgMax(probabilities);
        return best < 0 ? "" : ClassNames[best];
    }

    /// <summary>Prompt-ensemble class weights, as the reference computes them.</summary>
    internal static float[] ComputeClassWeights(ClipModel model, IReadOnlyList<string> classes, IReadOnlyList<string> templates, Action<string>? log)
    {
        var prompts = new List<string>(classes.Count * templates.Count);
        foreach (var name in classes)
            foreach (var template in templates)
                prompts.Add(ClipPromptTemplates.Fill(template, name));
        log?.Invoke($"Embedding {prompts.Count} prompts ({classes.Count} classes x {templates.Count} templates).");
        var embeddings = model.EmbedTexts(prompts, ClipTruncation.Truncate);
        return ZeroShotMath.ClassWeights(embeddings, classes.Count, templates.Count);
    }
}
