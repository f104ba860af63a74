using Microsoft.ML.Clip.Evaluation;
using Xunit;

namespace Microsoft.ML.Clip.Tests.Evaluation;

public class ClipEvaluationTests
{
    [Fact]
    public void TopKByHand()
    {
        // 7 classes. Row 0: true class 6 ranks 1st; row 1: true 0 ranks 5th; row 2: true 3 ranks 6th;
        // row 3: true 2 ties with class 1 for 2nd place (lower index first: rank 3rd).
        float[][] scores =
        [
            [0.1f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.9f],
            [0.3f, 0.9f, 0.8f, 0.7f, 0.6f, 0.1f, 0.0f],
            [0.9f, 0.8f, 0.7f, 0.2f, 0.6f, 0.5f, 0.1f],
            [0.1f, 0.5f, 0.5f, 0.9f, 0.0f, 0.0f, 0.0f],
        ];
        int[] labels = [6, 0, 3, 2];
        Assert.Equal([0, 4, 5, 2], Enumerable.Range(0, 4).Select(i => ClipEvaluation.Rank(scores[i], labels[i])));
        Assert.Equal(0.25, ClipEvaluation.TopKAccuracy(scores, labels, 1));
        Assert.Equal(0.50, ClipEvaluation.TopKAccuracy(scores, labels, 3));
        Assert.Equal(0.75, ClipEvaluation.TopKAccuracy(scores, labels, 5));
        Assert.Equal(1.00, ClipEvaluation.TopKAccuracy(scores, labels, 6));
        Assert.Throws<ArgumentOutOfRangeException>(() => ClipEvaluation.TopKAccuracy(scores, labels, 0));
        Assert.Throws<ArgumentException>(() => ClipEvaluation.TopKAccuracy(scores, [1], 1));
    }

    [Fact]
    public void TopKOfADataViewMatchesMLNetEvaluate()
    {
        var ml = new MLContext(0);
        var train = SyntheticFeatures.Blobs(7, 8, 10, 1.2f, 1f, 31);
        var test = SyntheticFeatures.Blobs(7, 8, 10, 1.2f, 1f, 32);
        var model = ml.MulticlassClassification.Trainers.ClipLinearProbe(new ClipLinearProbeOptions { L2Regularization = 1 }).Fit(train);
        var scored = model.Transform(test.ToDataView(ml));
        var metrics = ml.MulticlassClassification.Evaluate(scored, topKPredictionCount: 5);
        Assert.Equal(metrics.MicroAccuracy, ClipEvaluation.Accuracy(scored), 9);
        Assert.Equal(metrics.TopKAccuracy, ClipEvaluation.TopKAccuracy(scored, 5), 9);
        Assert.True(metrics.TopKAccuracy > metrics.MicroAccuracy); // the noisy blobs make top-5 matter
    }

    [Fact]
    public void RecallAtKOnAHandMadeSimilarityMatrix()
    {
        // sim[image][text]; text i belongs to image i.
        float[][] sim =
        [
            [0.9f, 0.1f, 0.2f, 0.0f],  // image 0: its text ranks 1st
            [0.8f, 0.3f, 0.1f, 0.5f],  // image 1: text 1 ranks 3rd (after 0 and 3)
            [0.1f, 0.2f, 0.7f, 0.1f],  // image 2: 1st
            [0.9f, 0.8f, 0.7f, 0.6f],  // image 3: 4th
        ];
        // Columns (text → image): text 0: image 0 (0.9) ties image 3 (0.9), lower index first: 1st;
        // text 1: column 0.1, 0.3, 0.2, 0.8 → image 1 2nd;
        // text 2: image 2 (0.7) ties image 3 (0.7): 1st; text 3: image 3 (0.6) > 0.5 → 1st.
        var r = ClipEvaluation.Retrieval(sim, ks: [1, 2, 3]);
        Assert.Equal(0.50, r.ImageToText[1]);
        Assert.Equal(0.50, r.ImageToText[2]);
        Assert.Equal(0.75, r.ImageToText[3]);
        Assert.Equal(0.75, r.TextToImage[1]);
        Assert.Equal(1.00, r.TextToImage[2]);
        Assert.Contains("| image → text | 50.0% | 50.0% | 75.0% |", r.ToMarkdown());
    }

    [Fact]
    public void SeveralCaptionsPerImage()
    {
        // 2 images, 4 texts: texts 0, 1 → image 0; texts 2, 3 → image 1.
        float[][] sim =
        [
            [0.1f, 0.5f, 0.9f, 0.2f],  // image 0: best own text (1) ranks 2nd
            [0.3f, 0.2f, 0.1f, 0.8f],  // image 1: text 3 ranks 1st
        ];
        var r = ClipEvaluation.Retrieval(sim, textToImage: [0, 0, 1, 1], ks: [1, 2]);
        Assert.Equal(0.5, r.ImageToText[1]);
        Assert.Equal(1.0, r.ImageToText[2]);
        // text 0: image 1 (0.3) beats image 0 (0.1): wrong at 1; text 1: right; text 2: wrong; text 3: right.
        Assert.Equal(0.5, r.TextToImage[1]);
        Assert.Equal(1.0, r.TextToImage[2]);
        Assert.Throws<ArgumentException>(() => ClipEvaluation.Retrieval(sim, textToImage: [0, 0, 1, 2]));
        Assert.Throws<ArgumentException>(() => ClipEvaluation.Retrieval(sim)); // 2 images, 4 texts, no mapping
    }

    [Fact]
    public void RetrievalFromEmbeddingsUsesTheDotProduct()
    {
        float[][] images = [[1, 0], [0, 1], [0.6f, 0.8f]];
        float[][] texts = [[0.8f, 0.6f], [0, 1], [1, 0]];
        // sim = [[.8, 0, 1], [.6, 1, 0], [.96, .8, .6]]: image 0 → text 2 first (wrong), image 1 → text 1, image 2 → text 0 first (wrong).
        var r = ClipEvaluation.Retrieval(images, texts, ks: [1]);
        Assert.Equal(1 / 3.0, r.ImageToText[1], 9);
        Assert.Throws<ArgumentException>(() => ClipEvaluation.Retrieval(images, [[1, 0, 0], [0, 1, 0], [0, 0, 1]]));
    }
}
