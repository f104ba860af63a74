using System.Text;
using Microsoft.ML.Clip.Tokenization;
using Xunit;
using Xunit.Abstractions;
using static Microsoft.ML.Clip.Tests.Tokenization.SiglipFixtureCases;

namespace Microsoft.ML.Clip.Tests.Tokenization;

/// <summary>
/// The SentencePiece encoders on their own: raw <c>sp.encode</c> of the fixture's BPE byte-fallback model (301 cases),
/// and the expectations of SentencePiece 0.1.97's own model-level unit tests (bpe_model_test.cc, unigram_model_test.cc:
/// EncodeTest, EncodeAmbiguousTest, EncodeWithUnusedTest), replayed with the same tiny vocabularies built as .model bytes.
/// </summary>
public class SentencePieceEncoderTests(ITestOutputHelper output)
{
    private const int Normal = (int)SentencePieceType.Normal, Unused = (int)SentencePieceType.Unused, UserDefined = (int)SentencePieceType.UserDefined;

    [Fact]
    public void BpeByteFallbackGivesTheReferenceIdsAndPieces()
    {
        var encoder = new SentencePieceBpeEncoder(SentencePieceModelFile.Read(BpeModel));
        var failures = new List<string>();
        int matched = 0;
        var pieces = new List<SentencePieceToken>();
        foreach (var c in BpeCases)
        {
            pieces.Clear();
            encoder.Encode(c.Text, pieces);
            if (pieces.Select(p => p.Id).SequenceEqual(c.Ids) && pieces.Select(p => p.Piece).SequenceEqual(c.Pieces))
                matched++;
            else if (failures.Count < 20)
                failures.Add($"line {c.Line} {Show(c.Text)}: expected [{string.Join(",", c.Ids)}] {Show(c.Pieces)}, got [{string.Join(",", pieces.Select(p => p.Id))}] {Show(pieces.Select(p => p.Piece))}");
        }
        output.WriteLine($"Raw BPE byte-fallback cases matched: {matched} / {BpeCases.Count}");
        Assert.Equal(301, BpeCases.Count);
        Assert.True(matched == BpeCases.Count, $"{BpeCases.Count - matched} cases differ:\n" + string.Join("\n", failures));
    }

    [Fact]
    public void ModelFileReadsTheFixtureSettings()
    {
        var unigram = SentencePieceModelFile.Read(UnigramModel);
        Assert.Equal(SentencePieceAlgorithm.Unigram, unigram.Algorithm);
        Assert.Equal(1000, unigram.Pieces.Count);
        Assert.Equal("nmt_nfkc", unigram.NormalizerName);
        Assert.True(unigram.AddDummyPrefix);
        Assert.Equal((2, -1, 1, 0), (unigram.UnknownId, unigram.BeginningOfSentenceId, unigram.EndOfSentenceId, unigram.PaddingId));
        var bpe = SentencePieceModelFile.Read(BpeModel);
        Assert.Equal(SentencePieceAlgorithm.Bpe, bpe.Algorithm);
        Assert.True(bpe.ByteFallback);
        Assert.Equal((3, 2, 1, 0), (bpe.UnknownId, bpe.BeginningOfSentenceId, bpe.EndOfSentenceId, bpe.PaddingId));
    }

    // The algorithm as its number (the enum is internal): 2 = BPE, 1 = unigram.
    [Theory]
    [InlineData(2)]
    [InlineData(1)]
    public void EncodeTestOfSentencePiece(int algorithmNumber)
    {
        var algorithm = (SentencePieceAlgorithm)algorithmNumber;
        var model = Model(algorithm, ("ab", 0.0f, Normal), ("cd", -0.1f, Normal), ("abc", -0.2f, Normal), ("a", -0.3f, Normal),
            ("b", -0.4f, Normal), ("c", -0.5f, Normal), ("ABC", -0.5f, UserDefined), ("abcdabcd", -0.5f, UserDefined),
            ("q", -0.5f, UserDefined), ("r", -0.5f, UserDefined), ("qr", -0.5f, Normal));
        Expect(algorithm, model, new()
        {
            ["abc"] = "abc", ["AB"] = "A B", ["abcd"] = "ab cd", ["abcc"] = "abc c", ["xabcabaabcdd"] = "x abc ab a ab cd d",
            ["xyz東京"] = "x y z 東 京", ["ABC"] = "ABC", ["abABCcd"] = "ab ABC cd", ["ababcdabcdcd"] = "ab abcdabcd cd", ["abqrcd"] = "ab q r cd",
        });
    }

    [Theory]
    [InlineData(2)]
    [InlineData(1)]
    public void EncodeWithUnusedTestOfSentencePiece(int algorithmNumber)
    {
        var algorithm = (SentencePieceAlgorithm)algorithmNumber;
        var pieces = new (string, float, int)[] { ("abcd", 10f, Normal), ("abc", 5f, Normal), ("ab", 2f, Normal), ("cd", 1f, Normal), ("a", 0f, Normal), ("b", 0f, Normal), ("c", 0f, Normal), ("d", 0f, Normal) };
        Expect(algorithm, Model(algorithm, pieces), new() { ["abcd"] = "abcd" });
        pieces[0].Item3 = Unused;
        Expect(algorithm, Model(algorithm, pieces), new() { ["abcd"] = "abc d" });
        pieces[2].Item3 = Unused;
        Expect(algorithm, Model(algorithm, pieces), new() { ["abcd"] = "abc d" });
        pieces[1].Item3 = Unused;
        pieces[2].Item3 = Normal;
        Expect(algorithm, Model(algorithm, pieces), new() { ["abcd"] = algorithm == SentencePieceAlgorithm.Bpe ? "ab c d" : "ab cd" });
    }

    [Fact]
    public void BpeMergesTheLeftmostOfEqualPairsFirst()
    {
        // EncodeAmbiguousTest: Microsoft.ML.Tokenizers' BPE gives "a aa" for "aaa" (rightmost first), SentencePiece "aa a".
        var model = Model(SentencePieceAlgorithm.Bpe, ("aa", -0.1f, Normal), ("bb", -0.2f, Normal), ("ab", -0.3f, Normal), ("a", -0.4f, Normal), ("b", -0.5f, Normal));
        Expect(SentencePieceAlgorithm.Bpe, model, new() { ["aaa"] = "aa a", ["aabb"] = "aa bb", ["aaabbb"] = "aa a bb b", ["aaaba"] = "aa ab a" });
    }

    [Fact]
    public void UnigramMergesARunOfUnknownCharactersIntoOnePiece()
    {
        var encoder = new SentencePieceUnigramEncoder(SentencePieceModelFile.Read(UnigramModel), addDummyPrefix: false);
        var pieces = new List<SentencePieceToken>();
        encoder.Encode("日本語", pieces);
        Assert.Equal([("日本語", 2)], pieces.Select(p => (p.Piece, p.Id)));
    }

    [Fact]
    public void DamagedModelFilesAreRefused()
    {
        var bytes = BpeModel;
        Assert.Throws<InvalidDataException>(() => SentencePieceModelFile.Read(bytes.AsSpan(0, bytes.Length / 2).ToArray()));
        Assert.Throws<InvalidDataException>(() => SentencePieceModelFile.Read("{\"not\": \"a model\"}"u8.ToArray()));
    }

    private static void Expect(SentencePieceAlgorithm algorithm, SentencePieceModelFile model, Dictionary<string, string> cases)
    {
        ISentencePieceEncoder encoder = algorithm == SentencePieceAlgorithm.Bpe
            ? new SentencePieceBpeEncoder(model) { ReportRawSegmentation = true }
            : new SentencePieceUnigramEncoder(model) { ReportRawSegmentation = true };
        foreach (var (text, want) in cases)
        {
            var pieces = new List<SentencePieceToken>();
            encoder.Encode(text, pieces);
            Assert.True(want == string.Join(" ", pieces.Select(p => p.Piece)), $"{algorithm} {text}: expected \"{want}\", got \"{string.Join(" ", pieces.Select(p => p.Piece))}\"");
        }
    }

    /// <summary>
    /// A .model file like the SentencePiece tests' MakeBaseModelProto (&lt;unk&gt; 0, &lt;s&gt; 1, &lt;/s&gt; 2, then the given
    /// pieces) with an identity normaliser (no rules, no dummy prefix, spaces kept), so the encoders see the text as it is.
    /// </summary>
    internal static SentencePieceModelFile Model(SentencePieceAlgorithm algorithm, params (string Piece, float Score, int Type)[] pieces)
    {
        var all = new List<(string, float, int)> { ("<unk>", 0f, (int)SentencePieceType.Unknown), ("<s>", 0f, (int)SentencePieceType.Control), ("</s>", 0f, (int)SentencePieceType.Control) };
        all.AddRange(pieces);
        using var file = new MemoryStream();
        foreach (var (piece, score, type) in all)
        {
            var entry = new MemoryStream();
            WriteBytes(entry, 1, Encoding.UTF8.GetBytes(piece));
            WriteTag(entry, 2, 5);
            entry.Write(BitConverter.GetBytes(score));
            WriteTag(entry, 3, 0);
            WriteVarint(entry, (ulong)type);
            WriteBytes(file, 1, entry.ToArray());
        }
        var trainer = new MemoryStream();
        WriteTag(trainer, 3, 0); WriteVarint(trainer, (ulong)algorithm);
        WriteTag(trainer, 40, 0); WriteVarint(trainer, 0); // unk_id
        WriteTag(trainer, 41, 0); WriteVarint(trainer, 1); // bos_id
        WriteTag(trainer, 42, 0); WriteVarint(trainer, 2); // eos_id
        WriteBytes(file, 2, trainer.ToArray());
        var normalizer = new MemoryStream();
        WriteBytes(normalizer, 1, "identity"u8.ToArray());
        WriteTag(normalizer, 3, 0); WriteVarint(normalizer, 0); // add_dummy_prefix
        WriteTag(normalizer, 4, 0); WriteVarint(normalizer, 0); // remove_extra_whitespaces
        WriteTag(normalizer, 5, 0); WriteVarint(normalizer, 0); // escape_whitespaces
        WriteBytes(file, 3, normalizer.ToArray());
        return SentencePieceModelFile.Read(file.ToArray());
    }

    private static void WriteTag(Stream s, int field, int wire) => WriteVarint(s, (ulong)((field << 3) | wire));

    private static void WriteBytes(Stream s, int field, byte[] bytes)
    {
        WriteTag(s, field, 2);
        WriteVarint(s, (ulong)bytes.Length);
        s.Write(bytes);
    }

    private static void WriteVarint(Stream s, ulong value)
    {
        for (; value >= 0x80; value >>= 7)
            s.WriteByte((byte)(value | 0x80));
        s.WriteByte((byte)value);
    }
}
