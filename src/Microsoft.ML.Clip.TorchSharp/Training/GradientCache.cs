using Microsoft.ML.Clip.TorchSharp.Modeling;
using Microsoft.ML.Clip.TorchSharp.Modules;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Clip.TorchSharp.Training;

/// <summary>
/// Computes the gradients of one contrastive step, either plainly (the whole batch through the towers with a graph)
/// or by gradient caching (GradCache, Gao et al. 2021): embed the batch in chunks without a graph, take the loss over
/// the full batch with respect to those cached embeddings (and the temperature and bias), then run each chunk again
/// with a graph and back-propagate its slice of the cached embedding gradients. The loss couples every pair of the
/// batch, but the towers act per example, so the chained gradients equal the plain ones while only one chunk's
/// activations are alive at a time. (A BatchNorm tower in training mode sees chunk statistics instead, and is not exact.)
/// </summary>
internal static class GradientCache
{
    /// <summary>Accumulates the gradients of the batch's loss into the parameters and returns the loss.</summary>
    /// <param name="model">The model (gradients of frozen towers are not computed).</param>
    /// <param name="images">Images [B, 3, R, R].</param>
    /// <param name="tokens">Token ids [B, L].</param>
    /// <param name="kind">The loss.</param>
    /// <param name="bias">The sigmoid loss's bias, else null.</param>
    /// <param name="chunkSize">Rows per chunk; at least B means the plain step.</param>
    /// <param name="trainImage">Whether the image tower has trainable parameters.</param>
    /// <param name="trainText">Whether the text tower has trainable parameters.</param>
    public static float Backward(ClipTorchModel model, Tensor images, Tensor tokens, ClipLossKind kind, Parameter? bias, int chunkSize,
        bool trainImage, bool trainText)
    {
        var batch = images.shape[0];
        using var scope = NewDisposeScope();
        if (chunkSize <= 0 || chunkSize >= batch)
        {
            var imageFeatures = Encode(model.EncodeImage, images, trainImage);
            var textFeatures = Encode(model.EncodeText, tokens, trainText);
            var loss = ContrastiveLoss.Compute(kind, imageFeatures, textFeatures, model.LogitScale, bias);
            var value = loss.item<float>();
            if (float.IsFinite(value)) loss.backward();
            return value;
        }

        // 1. Embeddings of the whole batch, chunk by chunk, without a graph.
        Tensor cachedImage, cachedText;
        using (no_grad())
        {
            cachedImage = cat(Chunks(images, chunkSize).Select(c => model.EncodeImage(c)).ToList(), 0);
            cachedText = cat(Chunks(tokens, chunkSize).Select(c => model.EncodeText(c)).ToList(), 0);
        }

        // 2. The full-batch loss w.r.t. the cached embeddings; this also accumulates the temperature's (and bias's) gradient.
        var imageLeaf = cachedImage.detach().requires_grad_(trainImage);
        var textLeaf = cachedText.detach().requires_grad_(trainText);
        var cachedLoss = ContrastiveLoss.Compute(kind, imageLeaf, textLeaf, model.LogitScale, bias);
        var lossValue = cachedLoss.item<float>();
        if (!float.IsFinite(lossValue)) return lossValue;
        cachedLoss.backward();

        // 3. Each chunk again with a graph, back-propagating its slice of the cached gradients into the towers.
        if (trainImage) Replay(model.EncodeImage, images, imageLeaf.grad!, chunkSize);
        if (trainText) Replay(model.EncodeText, tokens, textLeaf.grad!, chunkSize);
        return lossValue;
    }

    private static Tensor Encode(Func<Tensor, Tensor> encode, Tensor input, bool trainable)
    {
        if (trainable) return encode(input);
        using var _ = no_grad(); // a locked tower: no graph, no stored activations
        return encode(input);
    }

    private static void Replay(Func<Tensor, Tensor> encode, Tensor input, Tensor cachedGradient, int chunkSize)
    {
        var start = 0L;
        foreach (var chunk in Chunks(input, chunkSize))
        {
            using var chunkScope = NewDisposeScope();
            var length = chunk.shape[0];
            var features = encode(chunk);
            features.backward([cachedGradient.narrow(0, start, length)]);
            start += length;
        }
    }

    private static IEnumerable<Tensor> Chunks(Tensor input, int chunkSize)
    {
        var rows = input.shape[0];
        for (var start = 0L; start < rows; start += chunkSize)
            yield return input.narrow(0, start, Math.Min(chunkSize, rows - start));
    }
}
