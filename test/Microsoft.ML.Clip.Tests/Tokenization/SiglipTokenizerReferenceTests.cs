using Microsoft.ML.Clip.TestUtilities;
using Microsoft.ML.Clip.Tokenization;
using Xunit;
using Xunit.Abstractions;
using static Microsoft.ML.Clip.Tests.Tokenization.SiglipFixtureCases;

namespace Microsoft.ML.Clip.Tests.Tokenization;

/// <summary>
/// SigLIP's tokenizer against Hugging Face's <c>SiglipTokenizer</c> (test/fixtures/siglip-reference/tokenizer): every case's
/// pieces, 64-id row and attention length, the model inputs of <c>inputs/*.npy</c>, and other context lengths.
/// </summary>
public class SiglipTokenizerReferenceTests(ITestOutputHelper output)
{
    private static readonly Lazy<SiglipTokenizer> s_tokenizer = new(() => SiglipTokenizer.FromModelFile(UnigramModel));

    private static SiglipTokenizer Tokenizer => s_tokenizer.Value;

    [Fact]
    public void EveryCaseGivesTheReferencePiecesRowAndLength()
    {
        var failures = new List<string>();
        int matched = 0;
        var row = new long[SiglipTokenizer.DefaultContextLength];
        foreach (var c in SiglipCases)
        {
            var pieces = Tokenizer.Tokenize(c.Text).Select(t => t.Piece).ToArray();
            var length = Tokenizer.EncodeToContext(c.Text, row, ClipTruncation.Truncate, out var truncated);
            if (pieces.SequenceEqual(c.Tokens) && row.Select(v => (int)v).SequenceEqual(c.Ids) && length == c.Length && truncated == c.Truncated)
                matched++;
            else if (failures.Count < 20)
                failures.Add($"line {c.Line} {Show(c.Text)}: expected {Show(c.Tokens)} [{string.Join(",", c.Ids.Take(c.Length))}] (length {c.Length}), " +
                    $"got {Show(pieces)} [{string.Join(",", row.Take(length))}] (length {length})");
        }
        output.WriteLine($"SigLIP tokenizer cases matched: {matched} / {SiglipCases.Count}");
        Assert.Equal(301, SiglipCases.Count);
        Assert.True(matched == SiglipCases.Count, $"{SiglipCases.Count - matched} cases differ:\n" + string.Join("\n", failures));
    }

    [Fact]
    public void CaptionsAndPromptsGiveTheModelInputsOfTheFixture()
    {
        var cases = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Fixtures.Siglip("cases.json"))).RootElement;
        foreach (var (texts, idsFile, maskFile) in new[]
        {
            ("captions", "input_ids.npy", "attention_mask.npy"),
            ("zeroshot_prompts", "zeroshot_input_ids.npy", "zeroshot_attention_mask.npy"),
        })
        {
            var rows = cases.GetProperty(texts).EnumerateArray().Select(t => t.GetString()!).ToArray();
            var ids = Npy.ReadInt64(Fixtures.Siglip("inputs", idsFile));
            var mask = Npy.ReadInt64(Fixtures.Siglip("inputs", maskFile));
            Assert.Equal([rows.Length, 64], ids.Shape);
            for (int r = 0; r < rows.Length; r++)
            {
                var row = new long[64];
                var length = Tokenizer.EncodeToContext(rows[r], row, ClipTruncation.Truncate, out _);
                Assert.Equal(ids.Data.AsSpan(r * 64, 64).ToArray(), row);
                Assert.Equal(mask.Data.AsSpan(r * 64, 64).ToArray(), Enumerable.Range(0, 64).Select(i => i < length ? 1L : 0L).ToArray());
            }
        }
    }

    [Theory]
    [InlineData(8)]
    [InlineData(32)]
    [InlineData(100)]
    public void OtherContextLengthsKeepTheFirstIdsThenEos(int context)
    {
        // Derived from the 64-id reference rows: a row of N holds the first N - 1 ids and eos when the text does not fit,
        // else the ids and eos padded with the pad id (1). Cases cut at 64 are unknown past 63 ids, so N = 100 skips them.
        var checkedCases = 0;
        var row = new long[context];
        foreach (var c in SiglipCases)
        {
            if (c.Truncated && context > 64)
                continue;
            long[] expected = c.Length <= context
                ? [.. c.Ids.Take(c.Length).Select(i => (long)i), .. Enumerable.Repeat(1L, context - c.Length)]
                : [.. c.Ids.Take(context - 1).Select(i => (long)i), 1L];
            var truncated = Tokenizer.EncodeToContext(c.Text, row, ClipTruncation.Truncate);
            Assert.True(expected.SequenceEqual(row), $"line {c.Line} {Show(c.Text)} at context {context}: expected [{string.Join(",", expected)}], got [{string.Join(",", row)}]");
            Assert.Equal(c.Length > context, truncated);
            checkedCases++;
        }
        Assert.True(checkedCases >= 296);
    }

    [Fact]
    public void ThrowPolicyRefusesTextsThatDoNotFit()
    {
        var longCase = SiglipCases.First(c => c.Truncated);
        var error = Assert.Throws<ArgumentException>(() => Tokenizer.EncodeToContext(longCase.Text, new long[64], ClipTruncation.Throw));
        Assert.Contains("more than the context length 64", error.Message);
        Assert.False(Tokenizer.EncodeToContext("a photo of a cat", new long[64], ClipTruncation.Throw));
    }

    [Fact]
    public void SpecialTokenLiteralsAreTheirIdsAndEosIsNotDoubled()
    {
        var row = new long[6];
        Tokenizer.EncodeToContext("hi</s>", row, ClipTruncation.Truncate);
        var plain = new long[6];
        Tokenizer.EncodeToContext("hi", plain, ClipTruncation.Truncate);
        Assert.Equal(plain, row);
        Assert.Equal(1, Tokenizer.EndOfSequenceId);
        Assert.Equal(2, Tokenizer.UnknownId);
        Assert.Equal(1, Tokenizer.PaddingId);
    }

    [Fact]
    public void ModelsThatAreNotSiglipVocabulariesAreRefused()
    {
        // The BPE model: wrong algorithm; random bytes: not a model.
        Assert.Contains("unigram", Assert.Throws<InvalidDataException>(() => SiglipTokenizer.FromModelFile(BpeModel)).Message);
        Assert.Throws<InvalidDataException>(() => SiglipTokenizer.FromModelFile([0x0A, 0xFF, 0xFF, 0xFF, 0x0F]));
        Assert.Throws<InvalidDataException>(() => SiglipTokenizer.FromModelFile([]));
    }

    [Fact]
    public void EncoderIsThreadSafe()
    {
        var texts = SiglipCases.Select(c => c.Text).ToArray();
        var expected = texts.Select(t => { var r = new long[64]; Tokenizer.EncodeToContext(t, r, ClipTruncation.Truncate); return r; }).ToArray();
        Parallel.For(0, texts.Length * 4, i =>
        {
            var r = new long[64];
            Tokenizer.EncodeToContext(texts[i % texts.Length], r, ClipTruncation.Truncate);
            Assert.Equal(expected[i % texts.Length], r);
        });
    }
}
