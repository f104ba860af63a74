using Microsoft.ML.Clip.Tokenization;
using Xunit;
using static Microsoft.ML.Clip.Tests.Tokenization.SiglipFixtureCases;

namespace Microsoft.ML.Clip.Tests.Tokenization;

/// <summary>
/// SigLIP 2's Gemma tokenizer over the fixture's BPE byte-fallback model. No reference rows exist for its wrapper rules, so
/// these check what can be checked: raw <c>sp.encode</c> between added tokens, and the documented rules around it.
/// </summary>
public class GemmaTokenizerTests
{
    private static readonly Lazy<SentencePieceModelFile> s_model = new(() => SentencePieceModelFile.Read(BpeModel));

    [Fact]
    public void WithoutLowerCasingAndEosItIsRawSentencePieceOutsideAddedTokens()
    {
        var raw = new GemmaTokenizer(s_model.Value, lowerCase: false, addEndOfSentence: false);
        var literals = s_model.Value.Pieces.Where(p => p.Type is SentencePieceType.Control or SentencePieceType.Unknown or SentencePieceType.UserDefined).Select(p => p.Piece).ToArray();
        int plain = 0;
        foreach (var c in BpeCases)
        {
            if (literals.Any(l => c.Text.Contains(l, StringComparison.Ordinal)))
            {
                // An added token's text is its id, not BPE pieces of its characters.
                Assert.NotEqual(c.Ids, raw.Encode(c.Text));
                continue;
            }
            Assert.True(c.Ids.SequenceEqual(raw.Encode(c.Text)), $"line {c.Line} {Show(c.Text)}");
            plain++;
        }
        Assert.Equal(298, plain);
    }

    [Fact]
    public void RowsAreLowerCasedIdsThenEosThenPadding()
    {
        var gemma = GemmaTokenizer.FromModelFile(BpeModel);
        var raw = new GemmaTokenizer(s_model.Value, lowerCase: false, addEndOfSentence: false);
        Assert.Equal((1, 0), (gemma.EndOfSentenceId, gemma.PaddingId));
        var row = new long[64];
        Assert.False(gemma.EncodeToContext("A Photo of a CAT", row, ClipTruncation.Truncate));
        var ids = raw.Encode("a photo of a cat");
        Assert.Equal([.. ids.Select(i => (long)i), 1L, .. Enumerable.Repeat(0L, 64 - ids.Count - 1)], row);

        // Whole-string lower-casing: a final capital sigma becomes ς (Python's str.lower()).
        Assert.Equal(raw.Encode("οδος"[..3] + "ς"), gemma.Encode("ΟΔΟΣ"));

        // An eos literal stays one id and eos is still appended (a template post-processor).
        gemma.EncodeToContext("hi<eos>", row, ClipTruncation.Truncate);
        var hi = raw.Encode("hi");
        Assert.Equal([.. hi.Select(i => (long)i), 1L, 1L, 0L], row.Take(hi.Count + 3));
    }

    [Fact]
    public void LongTextsKeepTheirFirstIdsThenEos()
    {
        var gemma = GemmaTokenizer.FromModelFile(BpeModel);
        var text = string.Join(" ", Enumerable.Repeat("the quick brown fox", 40));
        var ids = gemma.Encode(text.ToLowerInvariant());
        var row = new long[16];
        Assert.True(gemma.EncodeToContext(text, row, ClipTruncation.Truncate));
        Assert.Equal([.. ids.Take(15).Select(i => (long)i), 1L], row);
        Assert.Throws<ArgumentException>(() => gemma.EncodeToContext(text, row, ClipTruncation.Throw));
    }

    [Fact]
    public void UnigramModelsAreRefused()
        => Assert.Contains("BPE", Assert.Throws<InvalidDataException>(() => GemmaTokenizer.FromModelFile(UnigramModel)).Message);
}
