using Microsoft.ML.Data;

namespace Microsoft.ML.Clip.Evaluation;

/// <summary>
/// Metrics of the CLIP paper's evaluations: top-k accuracy from score vectors and image↔text retrieval recall@K
/// from embeddings or a similarity matrix.
/// </summary>
/// <remarks>
/// Ties are broken towards the lower index, as an argmax that takes the first maximum does: the rank of item y is
/// the number of items scoring strictly higher plus the number of lower-index items scoring the same, and y is in
/// the top k when its rank is below k. So top-1 equals the accuracy of <c>PredictedLabel</c>.
/// </remarks>
public static class ClipEvaluation
{
    /// <summary>
    /// 0-based rank of <paramref name="target"/> among <paramref name="scores"/> (see remarks on ties). A NaN target
    /// score (a skipped bad row) ranks last, <c>scores.Length</c>, so it never counts as a hit.
    /// </summary>
    public static int Rank(ReadOnlySpan<float> scores, int target)
    {
        if ((uint)target >= (uint)scores.Length)
            throw new ArgumentOutOfRangeException(nameof(target), target, $"Not an index of the {scores.Length} scores.");
        float s = scores[target];
        // Every comparison with NaN is false, which would rank a NaN score first.
        if (float.IsNaN(s))
            return scores.Length;
        int rank = 0;
        for (int j = 0; j < scores.Length; j++)
            if (scores[j] > s || (j < target && scores[j] == s))
                rank++;
        return rank;
    }

    /// <summary>Share of rows whose true class is among the <paramref name="k"/> highest scores.</summary>
    /// <param name="scores">One score vector per row (probabilities or logits).</param>
    /// <param name="labels">0-based true class of each row.</param>
    /// <param name="k">k ≥ 1 (top-1 is accuracy).</param>
    public static double TopKAccuracy(IReadOnlyList<float[]> scores, IReadOnlyList<int> labels, int k)
    {
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        if (scores.Count != labels.Count)
            throw new ArgumentException($"{scores.Count} score rows but {labels.Count} labels.", nameof(labels));
        if (scores.Count == 0)
            throw new ArgumentException("No rows to evaluate.", nameof(scores));
        int hits = 0;
        for (int i = 0; i < scores.Count; i++)
            if (Rank(scores[i], labels[i]) < k)
                hits++;
        return (double)hits / scores.Count;
    }

    /// <summary>
    /// Top-k accuracy of a scored data view: <paramref name="scoreColumnName"/> (a float vector, slot k−1 ↔ key k,
    /// as <c>MulticlassClassification.Evaluate</c> reads it) against the key <paramref name="labelColumnName"/>;
    /// rows with a missing label are skipped.
    /// </summary>
    public static double TopKAccuracy(IDataView scored, int k, string labelColumnName = "Label", string scoreColumnName = "Score")
    {
        var (scores, labels) = ReadScores(scored, labelColumnName, scoreColumnName);
        return TopKAccuracy(scores, labels, k);
    }

    /// <summary>Top-1 accuracy of a scored data view (see <see cref="TopKAccuracy(IDataView, int, string, string)"/>).</summary>
    public static double Accuracy(IDataView scored, string labelColumnName = "Label", string scoreColumnName = "Score")
        => TopKAccuracy(scored, 1, labelColumnName, scoreColumnName);

    /// <summary>Reads the score vectors and 0-based labels of a scored data view.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing or mistyped (parameter <c>inputSchema</c>).</exception>
    public static (float[][] Scores, int[] Labels) ReadScores(IDataView scored, string labelColumnName = "Label", string scoreColumnName = "Score")
    {
        var (scores, labels, _, _) = LabeledFeatures.ReadVectorsAndKeys(scored, scoreColumnName, labelColumnName);
        return (scores, labels);
    }

    /// <summary>
    /// Image↔text retrieval recall@K from L2-normalised embeddings (similarity = dot product). Text t describes image
    /// <paramref name="textToImage"/>[t] (null: text i describes image i, one caption per image).
    /// </summary>
    /// <param name="imageEmbeddings">One embedding per image.</param>
    /// <param name="textEmbeddings">One embedding per text, same length.</param>
    /// <param name="textToImage">The image of each text, or null for pairs.</param>
    /// <param name="ks">The K values; null: 1, 5, 10.</param>
    public static RetrievalResult Retrieval(IReadOnlyList<float[]> imageEmbeddings, IReadOnlyList<float[]> textEmbeddings,
        IReadOnlyList<int>? textToImage = null, IReadOnlyList<int>? ks = null)
    {
        ArgumentNullException.ThrowIfNull(imageEmbeddings);
        ArgumentNullException.ThrowIfNull(textEmbeddings);
        var similarity = new float[imageEmbeddings.Count][];
        for (int i = 0; i < imageEmbeddings.Count; i++)
        {
            similarity[i] = new float[textEmbeddings.Count];
            for (int t = 0; t < textEmbeddings.Count; t++)
            {
                if (textEmbeddings[t].Length != imageEmbeddings[i].Length)
                    throw new ArgumentException($"Text embedding {t} has {textEmbeddings[t].Length} values, image embedding {i} has {imageEmbeddings[i].Length}.", nameof(textEmbeddings));
                similarity[i][t] = Dot(imageEmbeddings[i], textEmbeddings[t]);
            }
        }
        return Retrieval(similarity, textToImage, ks);
    }

    /// <summary>
    /// Recall@K from a similarity matrix (<paramref name="similarity"/>[image][text]). Image→text: an image counts
    /// when any of its texts is in its top K; text→image: a text counts when its image is in its top K.
    /// </summary>
    public static RetrievalResult Retrieval(IReadOnlyList<float[]> similarity, IReadOnlyList<int>? textToImage = null, IReadOnlyList<int>? ks = null)
    {
        ArgumentNullException.ThrowIfNull(similarity);
        int images = similarity.Count;
        if (images == 0)
            throw new ArgumentException("No images.", nameof(similarity));
        int texts = similarity[0].Length;
        for (int i = 0; i < images; i++)
            if (similarity[i].Length != texts)
                throw new ArgumentException($"Row {i} of the similarity matrix has {similarity[i].Length} values, row 0 has {texts}.", nameof(similarity));
        var owner = textToImage?.ToArray() ?? Enumerable.Range(0, texts).ToArray();
        if (owner.Length != texts)
            throw new ArgumentException($"textToImage has {owner.Length} entries for {texts} texts.", nameof(textToImage));
        if (textToImage is null && texts != images)
            throw new ArgumentException($"Pairs need as many texts as images ({texts} vs {images}); pass textToImage otherwise.", nameof(textToImage));
        for (int t = 0; t < texts; t++)
            if ((uint)owner[t] >= (uint)images)
                throw new ArgumentException($"Text {t} points to image {owner[t]}, not an index of the {images} images.", nameof(textToImage));
        var kValues = (ks ?? [1, 5, 10]).ToArray();
        if (kValues.Any(k => k < 1))
            throw new ArgumentOutOfRangeException(nameof(ks), "Every K must be at least 1.");

        // Best (lowest) rank of a correct text for every image; rank of the correct image for every text.
        var imageRanks = new int[images];
        Array.Fill(imageRanks, int.MaxValue);
        for (int i = 0; i < images; i++)
            for (int t = 0; t < texts; t++)
                if (owner[t] == i)
                    imageRanks[i] = Math.Min(imageRanks[i], Rank(similarity[i], t));
        var column = new float[images];
        var textRanks = new int[texts];
        for (int t = 0; t < texts; t++)
        {
            for (int i = 0; i < images; i++)
                column[i] = similarity[i][t];
            textRanks[t] = Rank(column, owner[t]);
        }
        var i2t = kValues.ToDictionary(k => k, k => (double)imageRanks.Count(r => r < k) / images);
        var t2i = kValues.ToDictionary(k => k, k => (double)textRanks.Count(r => r < k) / texts);
        return new RetrievalResult(images, texts, i2t, t2i);
    }

    private static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++)
            sum += (double)a[i] * b[i];
        return (float)sum;
    }
}

/// <summary>Recall@K of image↔text retrieval.</summary>
/// <param name="ImageCount">Images searched.</param>
/// <param name="TextCount">Texts searched.</param>
/// <param name="ImageToText">K → share of images with a correct text in their top K.</param>
/// <param name="TextToImage">K → share of texts with their image in their top K.</param>
public sealed record RetrievalResult(int ImageCount, int TextCount, IReadOnlyDictionary<int, double> ImageToText, IReadOnlyDictionary<int, double> TextToImage)
{
    /// <summary>A markdown table: one row per direction, one column per K (percent).</summary>
    public string ToMarkdown()
    {
        var ks = ImageToText.Keys.Order().ToArray();
        var sb = new System.Text.StringBuilder();
        sb.Append("| direction |").AppendJoin("", ks.Select(k => $" R@{k} |")).AppendLine();
        sb.Append("|---|").AppendJoin("", ks.Select(_ => "---:|")).AppendLine();
        sb.Append("| image → text |").AppendJoin("", ks.Select(k => $" {Percent(ImageToText[k])} |")).AppendLine();
        sb.Append("| text → image |").AppendJoin("", ks.Select(k => $" {Percent(TextToImage[k])} |")).AppendLine();
        return sb.ToString();
    }

    private static string Percent(double value) => (100 * value).ToString("F1", System.Globalization.CultureInfo.InvariantCulture) + "%";
}
