using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.TestUtilities;
using Microsoft.ML.Clip.TorchSharp.Training;

namespace Microsoft.ML.Clip.TorchSharp.Tests.Training;

/// <summary>
/// The caption cache of locked-text training on the real MiniLM: the encoding pass tokenizes each distinct caption once
/// (the token count that orders the pass is the one that is run) and stores, bit for bit, what the public
/// <see cref="FrozenTextEncoder.Featurize(IReadOnlyList{string})"/> gives for the captions in the pass's order; the epochs'
/// look-ups tokenize nothing, and a caption the pass did not see is tokenized once however often a batch holds it.
/// </summary>
public class LockedTextFeaturesTests
{
    private sealed class Row
    {
        public string Caption = "";
    }

    [Fact]
    public void The_encoding_pass_tokenizes_each_distinct_caption_once_and_stores_what_Featurize_gives()
    {
        using var encoder = FrozenTextEncoder.MiniLm(intraOpThreads: 1);
        // 70 distinct captions (more than one 64-text call) of 5 to 17 words and an empty one, each on one to three rows.
        var distinct = Enumerable.Range(0, 70).Select(i => $"a photo of {i} {string.Join(' ', Enumerable.Repeat("red", i % 13))} things").Append("").ToList();
        var rows = distinct.SelectMany((c, i) => Enumerable.Repeat(c, 1 + i % 3)).OrderBy(c => c.Length % 7).ToList();
        var data = new MLContext(seed: 1).Data.LoadFromEnumerable(rows.Select(c => new Row { Caption = c }));
        using var features = new LockedTextFeatures(encoder, Fixtures.NewTempDir("locked-text-features"));

        var before = encoder.TextsTokenized;
        var (hits, encoded, _) = features.EncodeAll(data, data.Schema["Caption"], CancellationToken.None);
        Assert.Equal((rows.Count - distinct.Count, (long)distinct.Count), (hits, encoded));
        Assert.Equal(distinct.Count, encoder.TextsTokenized - before);

        // The pass's order: shortest first, then by key.
        var order = distinct.OrderBy(c => encoder.Tokenize(c).Length).ThenBy(FeatureCache.Key, StringComparer.Ordinal).ToList();
        var expected = encoder.Featurize(order);
        for (var i = 0; i < order.Count; i++)
            Assert.True(expected[i].AsSpan().SequenceEqual(features.Cache.Peek(FeatureCache.Key(order[i]))), $"caption '{order[i]}'");

        before = encoder.TextsTokenized;
        using (features.Featurize(rows.Take(30).ToList())) { }
        Assert.Equal(0, encoder.TextsTokenized - before);
        using (var batch = features.Featurize(["an unseen caption", distinct[3], "an unseen caption"]))
        {
            Assert.Equal(1, encoder.TextsTokenized - before);
            var values = batch.data<float>().ToArray();
            var f = encoder.FeatureSize;
            Assert.True(values.AsSpan(0, f).SequenceEqual(values.AsSpan(2 * f, f)));
            Assert.True(values.AsSpan(f, f).SequenceEqual(features.Cache.Peek(FeatureCache.Key(distinct[3]))));
        }
    }
}
