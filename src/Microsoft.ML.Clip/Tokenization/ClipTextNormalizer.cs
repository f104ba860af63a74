using System.Runtime.CompilerServices;
using System.Text;

namespace Microsoft.ML.Clip.Tokenization;

/// <summary>
/// The reference's text clean-up before pre-tokenising: ftfy's <c>fix_text</c> (<see cref="FtfyText"/>: all of it but the
/// mojibake repair), <c>html.unescape</c> twice, <c>strip()</c>, runs of <c>\s</c> to one space, <c>strip()</c>, then
/// <c>str.lower()</c> — each with Python's semantics (see <see cref="PythonUnicode"/> and <see cref="PythonHtml"/>).
/// </summary>
internal static class ClipTextNormalizer
{
    /// <summary>
    /// Writes the normalised, lower-cased text of <paramref name="text"/> into <paramref name="buffer"/>
    /// (grown as needed) and returns its length. Unpaired surrogates become U+FFFD, as a UTF-8 encoder
    /// would write them (Python would raise on them).
    /// </summary>
    public static int Normalize(string text, ref char[] buffer, ref char[] scratch)
    {
        text = FtfyText.Fix(text);
        if (text.Contains('&'))
            text = PythonHtml.Unescape(PythonHtml.Unescape(text));

        if (Ascii.IsValid(text))
            return NormalizeAscii(text, ref buffer);

        var cleanLength = CleanWhitespace(text, ref scratch);
        return Lower(scratch.AsSpan(0, cleanLength), ref buffer);
    }

    /// <summary>
    /// The whole clean-up for ASCII text in one pass: ASCII lower-casing needs no context, and the
    /// classes come from the same tables.
    /// </summary>
    private static int NormalizeAscii(string text, ref char[] output)
    {
        var start = 0;
        var end = text.Length;
        while (start < end && (PythonUnicode.Flags(text[start]) & PythonUnicode.PySpace) != 0)
            start++;
        while (end > start && (PythonUnicode.Flags(text[end - 1]) & PythonUnicode.PySpace) != 0)
            end--;
        EnsureCapacity(ref output, end - start);
        var written = 0;
        var inSpace = false;
        for (var i = start; i < end; i++)
        {
            var c = text[i];
            if ((PythonUnicode.Flags(c) & PythonUnicode.RegexSpace) != 0)
            {
                if (!inSpace)
                    output[written++] = ' ';
                inSpace = true;
            }
            else
            {
                inSpace = false;
                output[written++] = char.IsAsciiLetterUpper(c) ? (char)(c | 0x20) : c;
            }
        }
        return TrimPySpace(output, written);
    }

    /// <summary>
    /// <c>strip()</c>, <c>re.sub(r'\s+', ' ')</c>, <c>strip()</c> into <paramref name="output"/>; returns the length.
    /// </summary>
    private static int CleanWhitespace(string text, ref char[] output)
    {
        var span = text.AsSpan();
        var start = 0;
        var end = span.Length;
        while (start < end && IsFlag(span, start, PythonUnicode.PySpace, out var width))
            start += width;
        while (end > start && IsFlagBefore(span, end, PythonUnicode.PySpace, out var width))
            end -= width;

        EnsureCapacity(ref output, end - start);
        var written = 0;
        var inSpace = false;
        for (var i = start; i < end;)
        {
            var c = span[i];
            int codePoint;
            var width = 1;
            if (c < 0x80)
            {
                codePoint = c;
            }
            else
            {
                if (Rune.DecodeFromUtf16(span[i..end], out var rune, out width) != System.Buffers.OperationStatus.Done)
                    rune = Rune.ReplacementChar;
                codePoint = rune.Value;
            }

            if ((PythonUnicode.Flags(codePoint) & PythonUnicode.RegexSpace) != 0)
            {
                if (!inSpace)
                    output[written++] = ' ';
                inSpace = true;
            }
            else
            {
                inSpace = false;
                if (codePoint < 0x10000)
                {
                    output[written++] = (char)codePoint;
                }
                else
                {
                    new Rune(codePoint).EncodeToUtf16(output.AsSpan(written));
                    written += 2;
                }
            }
            i += width;
        }

        return TrimPySpace(output, written);
    }

    /// <summary>
    /// The second <c>strip()</c>, in place. Runs of \s became ' ', but a <c>str.isspace()</c> character that
    /// is not \s (U+001C..U+001F) may stand next to an edge space.
    /// </summary>
    private static int TrimPySpace(char[] output, int written)
    {
        var cleaned = output.AsSpan(0, written);
        var s = 0;
        var e = written;
        while (s < e && IsFlag(cleaned, s, PythonUnicode.PySpace, out var w))
            s += w;
        while (e > s && IsFlagBefore(cleaned, e, PythonUnicode.PySpace, out var w))
            e -= w;
        if (s > 0)
            cleaned[s..e].CopyTo(output);
        return e - s;
    }

    /// <summary>
    /// Python's <c>str.lower()</c> of the whole of <paramref name="text"/> (final sigma by context), as a new string:
    /// also Hugging Face's <c>Lowercase</c> normaliser (Rust's <c>to_lowercase</c>, the same rules), which the Gemma
    /// tokenizer of SigLIP 2 applies.
    /// </summary>
    internal static string Lower(string text)
    {
        var output = Array.Empty<char>();
        var length = Lower(text, ref output);
        return new string(output, 0, length);
    }

    /// <summary>Python's <c>str.lower()</c> of <paramref name="text"/> into <paramref name="output"/>.</summary>
    private static int Lower(ReadOnlySpan<char> text, ref char[] output)
    {
        // A lower-cased code point is at most three UTF-16 units longer (İ → i + U+0307 is the worst case).
        EnsureCapacity(ref output, text.Length * 3);
        var written = 0;
        for (var i = 0; i < text.Length;)
        {
            var codePoint = CodePointAt(text, i, out var width);
            if ((PythonUnicode.Flags(codePoint) & PythonUnicode.LowerChanges) == 0)
            {
                text.Slice(i, width).CopyTo(output.AsSpan(written));
                written += width;
            }
            else if (codePoint == 0x03A3)
            {
                output[written++] = IsFinalSigma(text, i) ? '\u03C2' : '\u03C3';
            }
            else
            {
                var lower = PythonUnicode.Lower(codePoint);
                lower.CopyTo(output.AsSpan(written));
                written += lower.Length;
            }
            i += width;
        }
        return written;
    }

    /// <summary>
    /// Python's final-sigma context: a cased letter before (skipping case-ignorable characters) and
    /// no cased letter after (skipping case-ignorable characters).
    /// </summary>
    private static bool IsFinalSigma(ReadOnlySpan<char> text, int index)
    {
        var j = index;
        var before = 0;
        while (j > 0)
        {
            before = CodePointBefore(text, j, out var width);
            j -= width;
            if ((PythonUnicode.Flags(before) & PythonUnicode.CaseIgnorable) == 0)
                goto FoundBefore;
        }
        return false;
    FoundBefore:
        if ((PythonUnicode.Flags(before) & PythonUnicode.Cased) == 0)
            return false;
        for (var k = index + 1; k < text.Length;)
        {
            var after = CodePointAt(text, k, out var width);
            var flags = PythonUnicode.Flags(after);
            if ((flags & PythonUnicode.CaseIgnorable) == 0)
                return (flags & PythonUnicode.Cased) == 0;
            k += width;
        }
        return true;
    }

    private static bool IsFlag(ReadOnlySpan<char> text, int index, byte flag, out int width)
        => (PythonUnicode.Flags(CodePointAt(text, index, out width)) & flag) != 0;

    private static bool IsFlagBefore(ReadOnlySpan<char> text, int end, byte flag, out int width)
        => (PythonUnicode.Flags(CodePointBefore(text, end, out width)) & flag) != 0;

    /// <summary>The code point at <paramref name="index"/>; an unpaired surrogate reads as U+FFFD.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int CodePointAt(ReadOnlySpan<char> text, int index, out int width)
    {
        var c = text[index];
        if (!char.IsSurrogate(c))
        {
            width = 1;
            return c;
        }
        if (char.IsHighSurrogate(c) && index + 1 < text.Length && char.IsLowSurrogate(text[index + 1]))
        {
            width = 2;
            return char.ConvertToUtf32(c, text[index + 1]);
        }
        width = 1;
        return 0xFFFD;
    }

    private static int CodePointBefore(ReadOnlySpan<char> text, int end, out int width)
    {
        var c = text[end - 1];
        if (char.IsLowSurrogate(c) && end >= 2 && char.IsHighSurrogate(text[end - 2]))
        {
            width = 2;
            return char.ConvertToUtf32(text[end - 2], c);
        }
        width = 1;
        return char.IsSurrogate(c) ? 0xFFFD : c;
    }

    internal static void EnsureCapacity<T>(ref T[] buffer, int length)
    {
        if (buffer.Length < length)
            buffer = new T[Math.Max(length, buffer.Length * 2)];
    }
}
