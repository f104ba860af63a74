using System.Text;

namespace Microsoft.ML.Clip.Tokenization;

/// <summary>
/// The few Python 3.11 string operations that Hugging Face's slow SentencePiece tokenizers apply before
/// SentencePiece, over code points and with Python's Unicode tables (<see cref="PythonUnicode"/>). The whole-string
/// <c>str.lower()</c> is <see cref="ClipTextNormalizer.Lower(string)"/>.
/// </summary>
internal static class PythonText
{
    /// <summary>Python's <c>string.punctuation</c>: the 32 ASCII punctuation characters.</summary>
    public const string AsciiPunctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

    private static readonly bool[] s_isAsciiPunctuation = CreatePunctuationTable();

    /// <summary><c>str.isspace()</c> for one UTF-16 unit (every Python white-space character is in the BMP).</summary>
    public static bool IsSpace(char c) => (PythonUnicode.Flags(c) & PythonUnicode.PySpace) != 0;

    /// <summary>
    /// Appends <c>chr(cp).lower()</c> for every code point of <paramref name="text"/>, one code point at a time
    /// (so <c>İ</c> → <c>i̇</c>, <c>Σ</c> → <c>σ</c> everywhere, never the final <c>ς</c>).
    /// </summary>
    public static void AppendLowerPerCharacter(ReadOnlySpan<char> text, StringBuilder output)
    {
        for (var i = 0; i < text.Length;)
        {
            var codePoint = ClipTextNormalizer.CodePointAt(text, i, out var units);
            if ((PythonUnicode.Flags(codePoint) & PythonUnicode.LowerChanges) != 0)
                output.Append(PythonUnicode.Lower(codePoint));
            else
                output.Append(text.Slice(i, units));
            i += units;
        }
    }

    /// <summary>
    /// big_vision's <c>canonicalize_text</c> as SigLIP's tokenizer calls it: delete <c>string.punctuation</c>,
    /// <c>re.sub(r"\s+", " ", text)</c> (Python's Unicode <c>\s</c> = <c>str.isspace</c>), <c>strip()</c>.
    /// </summary>
    public static string Canonicalize(ReadOnlySpan<char> text)
    {
        var builder = new StringBuilder(text.Length);
        var pendingSpace = false;
        foreach (var c in text)
        {
            if (c < 128 && s_isAsciiPunctuation[c])
                continue; // removed before the white-space pass, so "a - b" has a run of two spaces
            if (IsSpace(c))
            {
                pendingSpace = true;
                continue;
            }
            if (pendingSpace && builder.Length > 0)
                builder.Append(' '); // leading white space is stripped; inner runs become one space
            pendingSpace = false;
            builder.Append(c);
        }
        return builder.ToString(); // trailing white space is never written
    }

    /// <summary><c>str.lstrip()</c>.</summary>
    public static string TrimStart(string text)
    {
        var start = 0;
        while (start < text.Length && IsSpace(text[start]))
            start++;
        return start == 0 ? text : text[start..];
    }

    /// <summary><c>str.rstrip()</c>.</summary>
    public static string TrimEnd(string text)
    {
        var end = text.Length;
        while (end > 0 && IsSpace(text[end - 1]))
            end--;
        return end == text.Length ? text : text[..end];
    }

    private static bool[] CreatePunctuationTable()
    {
        var table = new bool[128];
        foreach (var c in AsciiPunctuation)
            table[c] = true;
        return table;
    }
}
