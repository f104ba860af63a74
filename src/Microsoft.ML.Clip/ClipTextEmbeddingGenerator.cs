using Microsoft.Extensions.AI;
using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.Tokenization;

namespace Microsoft.ML.Clip;

/// <summary>
/// <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> over a CLIP text encoder (Microsoft.Extensions.AI), so CLIP
/// text embeddings plug into vector stores and semantic search next to its image embeddings.
/// </summary>
/// <remarks>Texts are embedded in batches of the model's batch size; long texts are truncated.</remarks>
public sealed class ClipTextEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    private readonly ClipModel _model;
    private readonly bool _ownsModel;
    private readonly EmbeddingGeneratorMetadata _metadata;

    /// <summary>Creates the generator.</summary>
    /// <param name="model">The model.</param>
    /// <param name="normalize">L2-normalise the embeddings (default, as CLIP similarities use).</param>
    /// <param name="ownsModel">Dispose <paramref name="model"/> with the generator.</param>
    public ClipTextEmbeddingGenerator(ClipModel model, bool normalize = true, bool ownsModel = false)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        _ownsModel = ownsModel;
        Normalize = normalize;
        _metadata = new EmbeddingGeneratorMetadata("Microsoft.ML.Clip", new Uri(Path.GetFullPath(model.Folder)), model.Info.Source ?? Path.GetFileName(model.Folder), model.EmbeddingSize);
    }

    /// <summary>Whether the embeddings are L2-normalised.</summary>
    public bool Normalize { get; }

    /// <inheritdoc/>
    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        var texts = values.ToArray();
        var result = new GeneratedEmbeddings<Embedding<float>>(texts.Length);
        for (int start = 0; start < texts.Length; start += _model.BatchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var batch = texts.AsSpan(start, Math.Min(_model.BatchSize, texts.Length - start)).ToArray();
            foreach (var vector in _model.EmbedTexts(batch, ClipTruncation.Truncate))
            {
                if (Normalize)
                    ClipModel.Normalize(vector);
                result.Add(new Embedding<float>(vector) { ModelId = _metadata.DefaultModelId, CreatedAt = DateTimeOffset.UtcNow });
            }
        }
        return Task.FromResult(result);
    }

    /// <inheritdoc/>
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null)
            return null;
        if (serviceType == typeof(EmbeddingGeneratorMetadata))
            return _metadata;
        if (serviceType.IsInstanceOfType(this))
            return this;
        if (serviceType.IsInstanceOfType(_model))
            return _model;
        return null;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_ownsModel)
            _model.Dispose();
    }
}
