using Microsoft.ML.Clip.Tokenization;
using Xunit;

namespace Microsoft.ML.Clip.Tests.Tokenization;

public class ClipTokenizerTests
{
    private static readonly ClipTokenizer Tokenizer = ClipTokenizer.Default;

    /// <summary>
    /// Inputs the fixtures do not cover. Expected ids come from a Python 3.11 re-statement of the
    /// reference SimpleTokenizer (html.unescape twice, strip, regex \s+ → ' ', strip, lower, the
    /// reference pattern with the regex module, BPE over lines 1..48894 of the merges file), without ftfy; on each
    /// of them ftfy changes nothing or only what the two html.unescape calls would (cases where it does more are
    /// in <see cref="FtfyTextTests"/>).
    /// </summary>
    public static TheoryData<string, int[]> PythonReferenceCases => new()
    {
        // Letters and digits outside the BMP: one letter run, one token per digit; Deseret lower-cases.
        { "𝐀𝐁𝐂 𝟏𝟐", [15889, 222, 15889, 223, 15889, 480, 6874, 253, 493, 6874, 253, 494] },
        { "𠀀𠀁𠀂", [172, 254, 222, 222, 172, 254, 222, 223, 172, 254, 222, 480] },
        { "𐐀𐐨 DESERET", [172, 238, 238, 101, 172, 238, 238, 357, 27195, 10048] },
        // Special tokens inside text, in any case; inside a punctuation run they are plain text.
        { "a<|endoftext|>b", [320, 49407, 321] },
        { "!<|endoftext|>", [0, 27, 347, 40786, 4160, 91, 285] },
        { "<|ENDOFTEXT|> x <|StartOfText|>", [49407, 343, 49406] },
        // U+017F (long s) matches 's' under IGNORECASE: one piece, but not the special token itself.
        { "<|\u017Ftartoftext|>", [27, 91, 129, 123, 2002, 6659, 18169, 91, 285] },
        { "it'\u017F", [585, 6, 129, 379] },
        // U+0345 matches neither [\p{L}] nor [^\s\p{L}\p{N}] under IGNORECASE: findall skips it.
        { "x\u0345y", [343, 344] },
        // HTML references: double escaping, names without ';', numeric, Python's invalid-code-point rules.
        { "&amp;amp;", [261] },
        { "&ampx", [261, 343] },
        { "&#x1F600;", [7334] },
        { "&#128512;", [7334] },
        { "&#0;", [39802] },
        { "&#x80;", [6309] },
        { "&#xD800;", [39802] },
        { "&#1;a", [320] },
        { "&#99999999999;", [39802] },
        { "&notit;", [126, 361, 585, 282] },
        { "&Eacute", [4166] },
        { "&eacute;t&eacute;", [3459, 39694] },
        { "&lt;|endoftext|&gt;", [49407] },
        { "&amp;lt;|startoftext|&amp;gt;", [49406] },
        { "a\u2003\u2009b\u3000c", [320, 321, 322] },
        { "\u00A0a\u00A0", [320] },
        // str.lower(): final sigma (case-ignorable characters skipped on both sides) and İ → i + U+0307.
        { "ΟΔΟΣ ΣΑΣ", [138, 123, 138, 112, 138, 123, 139, 480, 139, 225, 138, 109, 139, 480] },
        { "Σ", [139, 481] },
        { "AΣ.", [64, 139, 480, 269] },
        { "AΣ'B", [64, 139, 481, 262, 321] },
        { "İstanbul", [328, 16384, 11231] },
    };

    [Theory]
    [MemberData(nameof(PythonReferenceCases))]
    public void EdgeCasesMatchThePythonReference(string text, int[] expected)
        => Assert.Equal(expected, Tokenizer.Encode(text));

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("\t\n \f\v\r")]
    [InlineData("\u3000\u2003")]
    public void EmptyAndWhitespaceOnlyTextGiveStartAndEnd(string text)
    {
        Assert.Empty(Tokenizer.Encode(text));
        var row = Tokenizer.EncodeToContext(text);
        Assert.Equal(77, row.Length);
        Assert.Equal(ClipTokenizer.StartOfTextId, row[0]);
        Assert.Equal(ClipTokenizer.EndOfTextId, row[1]);
        Assert.All(row[2..], id => Assert.Equal(0, id));
    }

    [Fact]
    public void RowIsStartIdsEndThenZeros()
    {
        var ids = Tokenizer.Encode("a photo of a dog.");
        Assert.Equal(6, ids.Count);
        var row = Tokenizer.EncodeToContext("a photo of a dog.", 10);
        Assert.Equal([ClipTokenizer.StartOfTextId, .. ids, ClipTokenizer.EndOfTextId, 0, 0], row);
    }

    [Fact]
    public void OverLongTextThrowsNamingTheTextAndItsTokenCount()
    {
        var text = string.Join(" ", Enumerable.Repeat("dog", 100));
        Assert.Equal(100, Tokenizer.Encode(text).Count);
        var ex = Assert.Throws<ArgumentException>(() => Tokenizer.EncodeToContext(text));
        Assert.Equal("text", ex.ParamName);
        Assert.Contains("dog dog dog", ex.Message);
        Assert.Contains("102 tokens", ex.Message);
        Assert.Contains("context length 77", ex.Message);
        // The text is shortened in the message.
        Assert.DoesNotContain(text, ex.Message);
        Assert.Contains("…", ex.Message);

        var batch = Assert.Throws<ArgumentException>(() => Tokenizer.EncodeBatch(["a dog", text]));
        Assert.Equal("texts[1]", batch.ParamName);
        Assert.Throws<ArgumentException>(() => Tokenizer.EncodeToContext(text, new long[77]));
    }

    [Fact]
    public void OverLongTextIsCutWithEndTokenLast()
    {
        var text = string.Join(" ", Enumerable.Repeat("dog", 100));
        var ids = Tokenizer.Encode(text);
        var row = Tokenizer.EncodeToContext(text, 77, ClipTruncation.Truncate);
        Assert.Equal(ClipTokenizer.StartOfTextId, row[0]);
        Assert.Equal(ids.Take(75), row[1..76]);
        Assert.Equal(ClipTokenizer.EndOfTextId, row[76]);

        var destination = new long[77];
        Assert.True(Tokenizer.EncodeToContext(text, destination, ClipTruncation.Truncate));
        Assert.Equal(row.Select(i => (long)i), destination);
    }

    [Fact]
    public void TextOfExactlyTheContextFitsAndOneMoreDoesNot()
    {
        var fits = string.Join(" ", Enumerable.Repeat("dog", 75));
        var row = Tokenizer.EncodeToContext(fits);
        Assert.Equal(ClipTokenizer.EndOfTextId, row[76]);
        Assert.False(Tokenizer.EncodeToContext(fits, new long[77]));
        Assert.Throws<ArgumentException>(() => Tokenizer.EncodeToContext(fits + " dog"));
    }

    [Fact]
    public void SpanOverloadPadsAndOverwritesTheDestination()
    {
        var destination = Enumerable.Repeat(-1L, 8).ToArray();
        Assert.False(Tokenizer.EncodeToContext("a cat", destination));
        Assert.Equal(Tokenizer.EncodeToContext("a cat", 8).Select(i => (long)i), destination);
        Assert.Throws<ArgumentOutOfRangeException>(() => Tokenizer.EncodeToContext("a cat", Span<long>.Empty));
    }

    [Fact]
    public void NullTextIsRejected()
    {
        Assert.Throws<ArgumentNullException>(() => Tokenizer.Encode(null!));
        Assert.Throws<ArgumentNullException>(() => Tokenizer.EncodeToContext(null!));
        Assert.Throws<ArgumentNullException>(() => Tokenizer.EncodeToContext(null!, new long[77]));
        Assert.Throws<ArgumentNullException>(() => Tokenizer.EncodeBatch(null!));
        Assert.Throws<ArgumentNullException>(() => Tokenizer.EncodeBatchInt32(null!));
        var ex = Assert.Throws<ArgumentNullException>(() => Tokenizer.EncodeBatch(["a", null!]));
        Assert.Contains("texts[1]", ex.Message);
        Assert.Throws<ArgumentNullException>(() => Tokenizer.Decode(null!));
    }

    [Fact]
    public void ContextLengthBelowOneIsRejected()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Tokenizer.EncodeToContext("a", 0));
        Assert.Equal("contextLength", ex.ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => Tokenizer.EncodeBatch(["a"], -1));
    }

    [Fact]
    public void BatchIsRowMajorWithOneRowPerText()
    {
        string[] texts = ["a diagram", "a dog", "", "Two bananas on a white background, isn't it?"];
        var batch = Tokenizer.EncodeBatch(texts, 16);
        var batch32 = Tokenizer.EncodeBatchInt32(texts, 16);
        Assert.Equal(texts.Length * 16, batch.Length);
        Assert.Equal(batch, batch32.Select(i => (long)i));
        for (var i = 0; i < texts.Length; i++)
            Assert.Equal(Tokenizer.EncodeToContext(texts[i], 16), batch32.AsSpan(i * 16, 16).ToArray());
        Assert.Empty(Tokenizer.EncodeBatch([]));
    }

    [Theory]
    [InlineData("a photo of a dog.", "a photo of a dog . ")]
    [InlineData("Café au lait, 42 €", "café au lait , 4 2 € ")]
    [InlineData("狗的照片", "狗的照片 ")]
    public void DecodeRoundTrips(string text, string decoded)
    {
        var row = Tokenizer.EncodeToContext(text);
        Assert.Equal(decoded, Tokenizer.Decode(row));
        Assert.Equal(Tokenizer.Encode(text), Tokenizer.Encode(Tokenizer.Decode(row)));
    }

    [Fact]
    public void DecodeDropsSpecialTokensAndPaddingButKeepsIdZeroBeforeTheEnd()
    {
        // Id 0 is '!' (no end-of-word): kept before the end token, padding after it.
        Assert.Equal("!", Tokenizer.Decode([ClipTokenizer.StartOfTextId, 0, ClipTokenizer.EndOfTextId, 0, 0]));
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Tokenizer.Decode([49408]));
        Assert.Contains("49408", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Tokenizer.Decode([-1]));
    }

    [Fact]
    public void VeryLongTextIsEncodedWhole()
    {
        // Grows every per-thread buffer far past its usual size.
        var text = string.Concat(Enumerable.Repeat("A dog\u00A0", 40_000));
        var ids = Tokenizer.Encode(text);
        Assert.Equal(80_000, ids.Count);
        Assert.Equal(Tokenizer.Encode("a dog"), ids.Take(2));
        var ex = Assert.Throws<ArgumentException>(() => Tokenizer.EncodeToContext(text));
        Assert.Contains("80002 tokens", ex.Message);
        Assert.Equal(ids.Take(75), Tokenizer.EncodeToContext(text, 77, ClipTruncation.Truncate)[1..76]);
        Assert.Equal([320, 1929], Tokenizer.Encode("a dog"));
    }

    [Fact]
    public void VocabularyHasTheReferenceSize()
    {
        Assert.Equal(49408, Tokenizer.VocabularySize);
        Assert.Equal(2231, PythonHtml.EntityCount);
    }

    [Fact]
    public void ConcurrentAndColdCacheEncodingGiveTheSameIds()
    {
        var texts = ClipTokenizerReferenceTests.Cases.Select(c => c.Text).ToArray();
        var expected = texts.Select(t => Tokenizer.Encode(t).ToArray()).ToArray();
        var fresh = ClipTokenizer.CreateFromEmbeddedVocabulary();
        var results = new int[texts.Length][];
        Parallel.For(0, texts.Length * 4, new ParallelOptions { MaxDegreeOfParallelism = 4 },
            k => results[k % texts.Length] = fresh.Encode(texts[k % texts.Length]).ToArray());
        for (var i = 0; i < texts.Length; i++)
            Assert.Equal(expected[i], results[i]);
    }
}
