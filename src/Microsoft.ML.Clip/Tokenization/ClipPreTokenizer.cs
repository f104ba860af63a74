namespace Microsoft.ML.Clip.Tokenization;

/// <summary>
/// The reference's pre-tokenising pattern, written out over code points:
/// <c>&lt;\|startoftext\|&gt;|&lt;\|endoftext\|&gt;|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+</c>
/// (regex module, IGNORECASE), applied like <c>regex.findall</c>: at each position the first
/// alternative that matches wins; where none matches, the position is skipped. Working on code points
/// keeps letters and digits outside the BMP whole (a .NET <c>Regex</c> sees their UTF-16 halves).
/// </summary>
internal static class ClipPreTokenizer
{
    private static readonly string[] s_specials = ["<|startoftext|>", "<|endoftext|>"];
    private static readonly string[] s_contractions = ["s", "t", "re", "ve", "m", "ll", "d"];

    /// <summary>
    /// Length of the pre-token that starts at <paramref name="start"/>, or 0 when no alternative
    /// matches there (the caller skips one code point).
    /// </summary>
    public static int MatchAt(ReadOnlySpan<char> text, int start, out int skip)
    {
        var c = text[start];
        if (c == '<')
        {
            foreach (var special in s_specials)
            {
                if (StartsWithIgnoreCase(text[start..], special))
                {
                    skip = 0;
                    return special.Length;
                }
            }
        }
        else if (c == '\'')
        {
            foreach (var suffix in s_contractions)
            {
                if (StartsWithIgnoreCase(text[(start + 1)..], suffix))
                {
                    skip = 0;
                    return 1 + suffix.Length;
                }
            }
        }

        var codePoint = ClipTextNormalizer.CodePointAt(text, start, out var width);
        var flags = PythonUnicode.Flags(codePoint);
        skip = 0;
        if ((flags & PythonUnicode.Letter) != 0)
            return width + RunLength(text, start + width, PythonUnicode.Letter);
        if ((flags & PythonUnicode.Number) != 0)
            return width;
        if ((flags & PythonUnicode.Other) != 0)
            return width + RunLength(text, start + width, PythonUnicode.Other);
        skip = width;
        return 0;
    }

    private static int RunLength(ReadOnlySpan<char> text, int start, byte flag)
    {
        var i = start;
        while (i < text.Length)
        {
            var codePoint = ClipTextNormalizer.CodePointAt(text, i, out var width);
            if ((PythonUnicode.Flags(codePoint) & flag) == 0)
                break;
            i += width;
        }
        return i - start;
    }

    /// <summary>
    /// Case-insensitive literal match as the regex module does it (simple case folding): besides ASCII
    /// case, U+017F LATIN SMALL LETTER LONG S matches 's'. It is the only character that survives
    /// lower-casing and matches a letter of the pattern (build/generate-tokenizer-tables.py checks this).
    /// </summary>
    private static bool StartsWithIgnoreCase(ReadOnlySpan<char> text, string literal)
    {
        if (text.Length < literal.Length)
            return false;
        for (var i = 0; i < literal.Length; i++)
        {
            var actual = text[i];
            var expected = literal[i];
            if (actual == expected)
                continue;
            if (char.IsAsciiLetterLower(expected) && (actual == (char)(expected - 32) || (expected == 's' && actual == '\u017F')))
                continue;
            return false;
        }
        return true;
    }
}
