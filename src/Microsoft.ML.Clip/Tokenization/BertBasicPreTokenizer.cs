using System.Globalization;
using System.Text;
using Microsoft.ML.Tokenizers;

namespace Microsoft.ML.Clip.Tokenization;

/// <summary>
/// The splitting half of BERT's basic tokenizer over <see cref="BertBasicNormalizer"/>'s output: words are separated
/// by spaces, and every punctuation character — ASCII 33–47, 58–64, 91–96, 123–126 and the Unicode categories P* — is
/// a word of its own; any other character (letters, digits, symbols such as <c>©</c> or an emoji) stays in its word,
/// where WordPiece usually makes it <c>[UNK]</c>. A special token (<c>[CLS]</c>, …, exact case) is one word.
/// </summary>
/// <remarks>
/// Why not the library's own pre-tokenizer (<c>\w+|[\p{P}]</c> in Microsoft.ML.Tokenizers 2.0.1): it drops every
/// character that is neither a word character nor punctuation — ASCII <c>$ + &lt; = &gt; ^ ` | ~</c>, which BERT splits
/// off as punctuation (<c>&lt;3</c>, <c>a+</c>, <c>$100</c> in emoji keywords), and symbols such as <c>©</c> or emoji,
/// which BERT keeps — and splits at format characters such as U+200B, which BERT deletes.
/// </remarks>
internal sealed class BertBasicPreTokenizer : PreTokenizer
{
    /// <summary>The shared instance (stateless).</summary>
    public static BertBasicPreTokenizer Instance { get; } = new();

    /// <inheritdoc/>
    public override IEnumerable<(int Offset, int Length)> PreTokenize(string text) => Split((text ?? "").AsSpan());

    /// <inheritdoc/>
    public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text) => Split(text);

    private static List<(int Offset, int Length)> Split(ReadOnlySpan<char> text)
    {
        var words = new List<(int, int)>();
        var wordStart = -1;
        void EndWord(int end)
        {
            if (wordStart < 0) return;
            words.Add((wordStart, end - wordStart));
            wordStart = -1;
        }
        for (var i = 0; i < text.Length;)
        {
            var special = text[i] == '[' ? SpecialTokenAt(text[i..]) : 0;
            if (special > 0)
            {
                EndWord(i);
                words.Add((i, special));
                i += special;
                continue;
            }
            Rune.DecodeFromUtf16(text[i..], out var rune, out var width);
            if (rune.Value == ' ') EndWord(i);
            else if (IsPunctuation(rune))
            {
                EndWord(i);
                words.Add((i, width));
            }
            else if (wordStart < 0) wordStart = i;
            i += width;
        }
        EndWord(text.Length);
        return words;
    }

    // The length of the special token that starts text, or 0.
    private static int SpecialTokenAt(ReadOnlySpan<char> text)
    {
        foreach (var token in BertBasicNormalizer.SpecialTokens)
            if (text.StartsWith(token, StringComparison.Ordinal)) return token.Length;
        return 0;
    }

    /// <summary>BERT's <c>_is_punctuation</c>: the ASCII non-alphanumeric printable characters and the Unicode categories P*.</summary>
    internal static bool IsPunctuation(Rune rune) =>
        rune.Value is >= 33 and <= 47 or >= 58 and <= 64 or >= 91 and <= 96 or >= 123 and <= 126
        || Rune.GetUnicodeCategory(rune) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
            or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
            or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;
}
