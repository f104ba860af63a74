using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.Tests.Tokenization;
using Microsoft.ML.OnnxRuntime;
using Xunit;

namespace Microsoft.ML.Clip.Tests.Inference;

/// <summary>
/// <see cref="FrozenTextEncoder.Featurize(IReadOnlyList{string}, Span{float})"/> over a few hundred varied texts (every
/// length up to the encoder's maximum and past it, duplicates, empty strings) against its normal-form graph run directly:
/// one text at a time (what a text's features are), and in the calls the encoder has always made — shortest first (ties
/// in list order), 64 rows a call, each call cut after its longest text — bit for bit, so that a change in how the
/// batching is written cannot move a feature that a cache or a trained head already holds.
/// </summary>
public class FrozenTextEncoderBatchingTests
{
    private const int RowsPerCall = 64;

    [Theory]
    [InlineData("tiny", 400)]
    [InlineData("minilm", 80)]
    public void Featurize_gives_the_graph_run_directly_bit_for_bit_in_its_calls(string encoderName, int count)
    {
        using var encoder = encoderName == "minilm"
            ? FrozenTextEncoder.MiniLm(intraOpThreads: 1)
            : FrozenTextEncoder.FromFolder(WordPieceModels.TinyBertFolder("""{ "pooling": "mean", "normalize": true, "max_length": 24 }"""), intraOpThreads: 1);
        var texts = Texts(count, encoder.MaxLength, seed: 3);
        int f = encoder.FeatureSize, n = texts.Count;
        var reference = new ReferenceWordPiece(WordPieceModels.MiniLmVocabulary);
        var ids = texts.Select(t => reference.Encode(t, encoder.MaxLength)).ToArray();
        Assert.Equal(ids, texts.Select(encoder.Tokenize));
        Assert.Contains(ids, r => r.Length == 2);
        Assert.Contains(ids, r => r.Length == encoder.MaxLength);
        Assert.True(ids.Select(r => r.Length).Distinct().Count() >= Math.Min(encoder.MaxLength - 1, 20));

        var listed = encoder.Featurize(texts);
        var spanned = new float[n * f + 7];
        spanned.AsSpan(n * f).Fill(-3f);
        encoder.Featurize(texts, spanned);
        Assert.All(spanned.Skip(n * f), v => Assert.Equal(-3f, v));  // nothing written past the texts' rows
        Assert.Equal(listed.SelectMany(r => r), spanned.Take(n * f));

        using var session = new InferenceSession(encoder.GraphBytes, new SessionOptions { IntraOpNumThreads = 1 });

        // The calls: length-sorted (stable), RowsPerCall rows each, padded with [PAD] to the call's longest text.
        var expected = new float[n * f];
        var order = Enumerable.Range(0, n).OrderBy(i => ids[i].Length).ToArray();
        for (var start = 0; start < n; start += RowsPerCall)
        {
            var rows = order.Skip(start).Take(RowsPerCall).ToArray();
            var features = RunGraph(session, rows.Select(i => ids[i]).ToArray(), encoder.PaddingId, f);
            for (var j = 0; j < rows.Length; j++)
                features.AsSpan(j * f, f).CopyTo(expected.AsSpan(rows[j] * f, f));
        }
        for (var i = 0; i < n; i++)
            Assert.True(listed[i].AsSpan().SequenceEqual(expected.AsSpan(i * f, f)), $"text {i} ({ids[i].Length} ids) is not bit for bit its call's features");

        // One text at a time: the same features up to rounding (padding is masked out).
        var worst = 0f;
        for (var i = 0; i < n; i++)
            worst = Math.Max(worst, ModelFolders.MaxAbsDiff(RunGraph(session, [ids[i]], encoder.PaddingId, f), listed[i]));
        Assert.True(worst <= 2e-6f, $"max |diff| to one text at a time {worst}");
    }

    /// <summary>The normal-form graph on <paramref name="rows"/>, padded to the longest: [rows, F].</summary>
    private static float[] RunGraph(InferenceSession session, int[][] rows, int paddingId, int featureSize)
    {
        var length = rows.Max(r => r.Length);
        var input = new long[rows.Length * length];
        Array.Fill(input, paddingId);
        for (var j = 0; j < rows.Length; j++)
            for (var k = 0; k < rows[j].Length; k++)
                input[j * length + k] = rows[j][k];
        using var value = OrtValue.CreateTensorValueFromMemory(input, [rows.Length, length]);
        using var outputs = session.Run(new RunOptions(), ["input_ids"], [value], ["text_features"]);
        var features = outputs[0].GetTensorDataAsSpan<float>().ToArray();
        Assert.Equal(rows.Length * featureSize, features.Length);
        return features;
    }

    /// <summary>
    /// <paramref name="count"/> texts: mostly short captions, a tenth of any length up to past <paramref name="maxLength"/>
    /// tokens, with punctuation, accents, CJK, words of no piece, empty and blank strings, and every tenth text a repeat.
    /// </summary>
    internal static List<string> Texts(int count, int maxLength, int seed)
    {
        string[] words =
        [
            "a", "photo", "of", "the", "cat", "dog", "on", "red", "car", "grinning", "face", "with", "big", "eyes", "drawing",
            "number", "7", "2024", "T-shirt/top", "don't", "Crème", "brûlée", "naïve", "Zürich", "東京", "café,", "(small)",
            "supercalifragilisticexpialidocious", new string('x', 120), "emoji😀", "tab\tand\nnewline", "...", "UPPER",
        ];
        var random = new Random(seed);
        var texts = new List<string> { "", " ", "", "a", string.Join(' ', Enumerable.Repeat("grinning face", maxLength)) };
        while (texts.Count < count)
        {
            if (texts.Count % 10 == 0)
            {
                texts.Add(texts[random.Next(texts.Count)]);
                continue;
            }
            var wordCount = random.Next(10) == 0 ? random.Next(maxLength + 8) : random.Next(1, 16);
            texts.Add(string.Join(' ', Enumerable.Range(0, wordCount).Select(_ => words[random.Next(words.Length)])));
        }
        return texts;
    }
}
