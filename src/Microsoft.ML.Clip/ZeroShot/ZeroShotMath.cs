namespace Microsoft.ML.Clip.ZeroShot;

/// <summary>
/// The zero-shot arithmetic of the CLIP reference (prompt ensembling, cosine logits, softmax) and of SigLIP (the same
/// logits plus the learned bias, a sigmoid per class — what Hugging Face's zero-shot pipeline returns for SigLIP).
/// </summary>
internal static class ZeroShotMath
{
    /// <summary>
    /// Class weights from prompt embeddings in class-major order (row = class · templates + template):
    /// per class, L2-normalise each template embedding, average, L2-normalise again.
    /// </summary>
    /// <returns>W row-major [D, C]: column c is class c's unit embedding (the reference notebook's layout).</returns>
    public static float[] ClassWeights(IReadOnlyList<float[]> promptEmbeddings, int classCount, int templateCount)
    {
        if (classCount <= 0 || templateCount <= 0 || promptEmbeddings.Count != classCount * templateCount)
            throw new ArgumentException($"Expected {classCount} x {templateCount} prompt embeddings, got {promptEmbeddings.Count}.", nameof(promptEmbeddings));
        int d = promptEmbeddings[0].Length;
        var weights = new float[d * classCount];
        var mean = new double[d];
        for (int c = 0; c < classCount; c++)
        {
            Array.Clear(mean);
            for (int t = 0; t < templateCount; t++)
            {
                var e = promptEmbeddings[c * templateCount + t];
                if (e.Length != d)
                    throw new ArgumentException($"Prompt embedding {c * templateCount + t} has {e.Length} values, expected {d}.", nameof(promptEmbeddings));
                var norm = Norm(e);
                for (int i = 0; i < d; i++)
                    mean[i] += e[i] / norm;
            }
            double meanNorm = 0;
            for (int i = 0; i < d; i++)
            {
                mean[i] /= templateCount;
                meanNorm += mean[i] * mean[i];
            }
            meanNorm = Math.Sqrt(meanNorm);
            for (int i = 0; i < d; i++)
                weights[i * classCount + c] = (float)(mean[i] / meanNorm);
        }
        return weights;
    }

    /// <summary>
    /// softmax(scale · normalise(embedding) · W) for one embedding, or — with a <paramref name="bias"/> (a sigmoid model) —
    /// sigmoid(scale · normalise(embedding) · W + bias) per class; W row-major [D, C].
    /// </summary>
    public static float[] Probabilities(ReadOnlySpan<float> embedding, ReadOnlySpan<float> weights, int classCount, float scale, float? bias = null)
    {
        int d = embedding.Length;
        var norm = Norm(embedding);
        var logits = new double[classCount];
        for (int i = 0; i < d; i++)
        {
            double x = embedding[i] / norm;
            for (int c = 0; c < classCount; c++)
                logits[c] += x * weights[i * classCount + c];
        }
        if (bias is float b)
        {
            var sigmoid = new float[classCount];
            for (int c = 0; c < classCount; c++)
                sigmoid[c] = (float)(1 / (1 + Math.Exp(-(logits[c] * scale + b))));
            return sigmoid;
        }
        double max = double.NegativeInfinity;
        for (int c = 0; c < classCount; c++)
        {
            logits[c] *= scale;
            max = Math.Max(max, logits[c]);
        }
        double sum = 0;
        for (int c = 0; c < classCount; c++)
            sum += logits[c] = Math.Exp(logits[c] - max);
        var probs = new float[classCount];
        for (int c = 0; c < classCount; c++)
            probs[c] = (float)(logits[c] / sum);
        return probs;
    }

    /// <summary>Index of the largest value (the first one on ties; -1 when all are NaN or empty).</summary>
    public static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = -1;
        for (int i = 0; i < values.Length; i++)
            if (!float.IsNaN(values[i]) && (best < 0 || values[i] > values[best]))
                best = i;
        return best;
    }

    private static double Norm(ReadOnlySpan<float> v)
    {
        double s = 0;
        foreach (var x in v)
            s += (double)x * x;
        return Math.Sqrt(s);
    }
}
