using System.Globalization;
using System.Text;
using Microsoft.ML.Tokenizers;

namespace Microsoft.ML.Clip.Tokenization;

/// <summary>
/// The text half of BERT's basic tokenizer (Hugging Face's <c>BasicTokenizer</c>, which sentence-transformers models
/// such as all-MiniLM-L6-v2 were trained with), as a <see cref="Normalizer"/> for Microsoft.ML.Tokenizers'
/// <see cref="BertTokenizer"/>: drop NUL, U+FFFD and control/format characters (keeping tab, line feed and carriage
/// return), turn white space into spaces, put spaces around CJK ideographs, and for an uncased model lower-case
/// (Python's <c>str.lower()</c>) and strip accents (NFD, then drop non-spacing marks). The special tokens
/// (<c>[CLS]</c>, <c>[SEP]</c>, <c>[PAD]</c>, <c>[MASK]</c>, <c>[UNK]</c>, exact case) pass through untouched and
/// spaced out, as Hugging Face splits them off before its basic tokenizer runs.
/// </summary>
/// <remarks>
/// Why not the library's own <c>BertNormalizer</c> (Microsoft.ML.Tokenizers 2.0.1): it deletes <c>\t</c>, <c>\n</c>
/// and <c>\r</c> instead of turning them into spaces, so the words around them are glued together. Character classes
/// are .NET's (a newer Unicode version than Python 3.11's: only characters assigned since differ); lower-casing is
/// Python's, from this package's generated tables (<see cref="PythonUnicode"/>: <c>İ</c> → <c>i̇</c>, final sigma).
/// </remarks>
internal sealed class BertBasicNormalizer(bool lowercase) : Normalizer
{
    /// <summary>The special tokens a typed text may hold, recognised in exact case.</summary>
    internal static readonly string[] SpecialTokens = ["[CLS]", "[SEP]", "[PAD]", "[MASK]", "[UNK]"];

    /// <summary>Whether text is lower-cased and stripped of accents (an uncased model).</summary>
    public bool Lowercase { get; } = lowercase;

    /// <inheritdoc/>
    public override string Normalize(string original) => Normalize(original.AsSpan());

    /// <inheritdoc/>
    public override string Normalize(ReadOnlySpan<char> original)
    {
        var result = new StringBuilder(original.Length + 8);
        while (!original.IsEmpty)
        {
            var (at, length) = NextSpecialToken(original);
            NormalizePlain(original[..at], result);
            if (length == 0) break;
            result.Append(' ').Append(original.Slice(at, length)).Append(' ');
            original = original[(at + length)..];
        }
        return result.ToString();
    }

    /// <summary>The first special token in <paramref name="text"/>: its start and length; (text length, 0) when none.</summary>
    internal static (int At, int Length) NextSpecialToken(ReadOnlySpan<char> text)
    {
        var best = (At: text.Length, Length: 0);
        foreach (var token in SpecialTokens)
        {
            var at = text.IndexOf(token, StringComparison.Ordinal);
            if (at >= 0 && at < best.At) best = (at, token.Length);
        }
        return best;
    }

    private void NormalizePlain(ReadOnlySpan<char> text, StringBuilder output)
    {
        if (text.IsEmpty) return;
        var cleaned = new StringBuilder(text.Length);
        Span<char> utf16 = stackalloc char[2];   // one rune, without a string per character
        foreach (var rune in text.EnumerateRunes())
        {
            if (rune.Value is 0 or 0xFFFD || IsControl(rune)) continue;
            if (IsWhitespace(rune)) cleaned.Append(' ');
            else if (IsCjkIdeograph(rune.Value)) cleaned.Append(' ').Append(utf16[..rune.EncodeToUtf16(utf16)]).Append(' ');
            else cleaned.Append(utf16[..rune.EncodeToUtf16(utf16)]);
        }
        if (!Lowercase)
        {
            output.Append(cleaned);
            return;
        }
        var decomposed = PythonLower(cleaned.ToString()).Normalize(NormalizationForm.FormD);
        foreach (var c in decomposed)
            if (CharUnicodeInfo.GetUnicodeCategory(c) != UnicodeCategory.NonSpacingMark)
                output.Append(c);
    }

    /// <summary>Python's <c>str.lower()</c>: per code point from the generated tables, with the final-sigma rule.</summary>
    internal static string PythonLower(string text)
    {
        var output = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length;)
        {
            var rune = Rune.GetRuneAt(text, i);
            var width = rune.Utf16SequenceLength;
            if ((PythonUnicode.Flags(rune.Value) & PythonUnicode.LowerChanges) == 0) output.Append(text, i, width);
            else if (rune.Value == 0x03A3) output.Append(IsFinalSigma(text, i) ? '\u03C2' : '\u03C3');
            else output.Append(PythonUnicode.Lower(rune.Value));
            i += width;
        }
        return output.ToString();
    }

    // Python's final-sigma context: a cased letter before and none after, case-ignorable characters skipped both ways.
    private static bool IsFinalSigma(string text, int index)
    {
        var before = -1;
        for (var j = index; j > 0;)
        {
            var rune = Rune.GetRuneAt(text, char.IsLowSurrogate(text[j - 1]) && j >= 2 ? j - 2 : j - 1);
            j -= rune.Utf16SequenceLength;
            if ((PythonUnicode.Flags(rune.Value) & PythonUnicode.CaseIgnorable) == 0) { before = rune.Value; break; }
        }
        if (before < 0 || (PythonUnicode.Flags(before) & PythonUnicode.Cased) == 0) return false;
        for (var k = index + 1; k < text.Length;)
        {
            var rune = Rune.GetRuneAt(text, k);
            var flags = PythonUnicode.Flags(rune.Value);
            if ((flags & PythonUnicode.CaseIgnorable) == 0) return (flags & PythonUnicode.Cased) == 0;
            k += rune.Utf16SequenceLength;
        }
        return true;
    }

    /// <summary>BERT's <c>_is_whitespace</c>: space, tab, line feed, carriage return and the space separators (Zs).</summary>
    internal static bool IsWhitespace(Rune rune) =>
        rune.Value is ' ' or '\t' or '\n' or '\r' || Rune.GetUnicodeCategory(rune) == UnicodeCategory.SpaceSeparator;

    /// <summary>BERT's <c>_is_control</c>: the categories C* (control, format, private use, surrogate, unassigned) except tab, line feed and carriage return.</summary>
    internal static bool IsControl(Rune rune) => rune.Value is not ('\t' or '\n' or '\r') && Rune.GetUnicodeCategory(rune) is UnicodeCategory.Control
        or UnicodeCategory.Format or UnicodeCategory.PrivateUse or UnicodeCategory.Surrogate or UnicodeCategory.OtherNotAssigned;

    /// <summary>BERT's <c>_is_chinese_char</c>: the CJK Unified Ideographs blocks and their extensions and compatibility blocks.</summary>
    internal static bool IsCjkIdeograph(int codePoint) =>
        codePoint is >= 0x4E00 and <= 0x9FFF or >= 0x3400 and <= 0x4DBF or >= 0x20000 and <= 0x2A6DF or >= 0x2A700 and <= 0x2B73F
            or >= 0x2B740 and <= 0x2B81F or >= 0x2B820 and <= 0x2CEAF or >= 0xF900 and <= 0xFAFF or >= 0x2F800 and <= 0x2FA1F;
}
