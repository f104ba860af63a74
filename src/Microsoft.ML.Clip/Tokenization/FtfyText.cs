using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Microsoft.ML.Clip.Tokenization;

/// <summary>
/// What ftfy's <c>fix_text</c> (6.3, default settings) does to a text, which the reference tokenizer runs before
/// anything else — except its mojibake repair (<c>fix_encoding</c> and its byte-level sub-steps), a heuristic that
/// re-decodes text it judges to be UTF-8 read as a legacy code page. Implemented: the text is cut after each line feed;
/// each piece is fixed until a whole pass changes nothing, a pass being: HTML entities (ftfy's own rule: only
/// <c>&amp;…;</c> forms, off from the first piece holding a <c>&lt;</c>), C1 controls read as Windows-1252, Latin
/// ligatures, full- and half-width forms, curly quotes, line breaks, unpaired surrogates, terminal escapes, control
/// characters, then NFC.
/// </summary>
/// <remarks>
/// The HTML and width tables derive from Python's data (<c>ftfy-tables.json</c>, written by
/// <c>build/generate-tokenizer-tables.py</c>); the small fixed tables are written out below.
/// </remarks>
internal static partial class FtfyText
{
    private const string ResourceName = "Microsoft.ML.Clip.Tokenization.ftfy-tables.json";

    // ftfy's entity pattern: '&', an optional '#', 1..24 ASCII letters or digits, and a required ';'.
    private const int MaxEntityName = 24;

    private static readonly Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> s_capsEntities;
    private static readonly Dictionary<int, string> s_width;

    // U+0080..U+009F read as Windows-1252; the five bytes it leaves undefined stay as they are.
    private static readonly string s_c1 =
        "\u20AC\u0081\u201A\u0192\u201E\u2026\u2020\u2021\u02C6\u2030\u0160\u2039\u0152\u008D\u017D\u008F" +
        "\u0090\u2018\u2019\u201C\u201D\u2022\u2013\u2014\u02DC\u2122\u0161\u203A\u0153\u009D\u017E\u0178";

    private static readonly Dictionary<int, string> s_ligatures = new()
    {
        [0x0132] = "IJ", [0x0133] = "ij", [0x0149] = "\u02BCn",
        [0x01F1] = "DZ", [0x01F2] = "Dz", [0x01F3] = "dz",
        [0x01C4] = "D\u017D", [0x01C5] = "D\u017E", [0x01C6] = "d\u017E",
        [0x01C7] = "LJ", [0x01C8] = "Lj", [0x01C9] = "lj",
        [0x01CA] = "NJ", [0x01CB] = "Nj", [0x01CC] = "nj",
        [0xFB00] = "ff", [0xFB01] = "fi", [0xFB02] = "fl", [0xFB03] = "ffi", [0xFB04] = "ffl", [0xFB05] = "\u017Ft", [0xFB06] = "st",
    };

    static FtfyText()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"Embedded resource '{ResourceName}' is missing.");
        using var document = JsonDocument.Parse(stream);
        var caps = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in document.RootElement.GetProperty("capsEntities").EnumerateObject())
            caps[p.Name] = p.Value.GetString()!;
        s_capsEntities = caps.GetAlternateLookup<ReadOnlySpan<char>>();
        s_width = [];
        foreach (var p in document.RootElement.GetProperty("width").EnumerateObject())
            s_width[Convert.ToInt32(p.Name, 16)] = p.Value.GetString()!;
    }

    /// <summary>The text as ftfy's <c>fix_text</c> leaves it (less the mojibake repair); the same instance when nothing changes.</summary>
    public static string Fix(string text)
    {
        if (IsPlain(text))
            return text;
        StringBuilder? fixedText = null;
        var unescapeHtml = true;
        for (var start = 0; start < text.Length;)
        {
            var newline = text.IndexOf('\n', start);
            var end = newline < 0 ? text.Length : newline + 1;
            var piece = text[start..end];
            // A '<' means the text may be HTML source: from here on its entities are left alone.
            if (piece.Contains('<'))
                unescapeHtml = false;
            var result = FixPiece(piece, unescapeHtml);
            if (fixedText is null && result != piece)
                fixedText = new StringBuilder(text.Length).Append(text, 0, start);
            fixedText?.Append(result);
            start = end;
        }
        return fixedText?.ToString() ?? text;
    }

    // ASCII without '&', CR or control characters: no step can change it (NFC leaves ASCII alone).
    private static bool IsPlain(string text)
    {
        foreach (var c in text)
        {
            if (c >= 0x7F || c == '&' || (c < 0x20 && c is not ('\t' or '\n' or '\f')))
                return false;
        }
        return true;
    }

    private static string FixPiece(string text, bool unescapeHtml)
    {
        while (true)
        {
            var before = text;
            if (unescapeHtml && text.Contains('&'))
                text = UnescapeHtml(text);
            text = MapCharacters(text);
            text = FixLineBreaks(text);
            if (text.Contains('\u001B'))
                text = TerminalEscape().Replace(text, "");
            text = RemoveControlCharacters(text);
            text = Nfc(text);
            if (text == before)
                return text;
        }
    }

    private static string UnescapeHtml(string text)
    {
        var builder = new StringBuilder(text.Length);
        var copied = 0;
        for (var amp = text.IndexOf('&'); amp >= 0; amp = amp + 1 < text.Length ? text.IndexOf('&', amp + 1) : -1)
        {
            if (amp < copied)
                continue;
            var p = amp + 1;
            var numeric = p < text.Length && text[p] == '#';
            if (numeric)
                p++;
            var nameEnd = p;
            while (nameEnd < text.Length && char.IsAsciiLetterOrDigit(text[nameEnd]))
                nameEnd++;
            if (nameEnd == p || nameEnd - p > MaxEntityName || nameEnd >= text.Length || text[nameEnd] != ';')
                continue;
            var match = text.AsSpan(amp, nameEnd + 1 - amp);
            string? replacement = null;
            if (!numeric)
            {
                if (PythonHtml.TryGetNamed(match[1..], out var value) || s_capsEntities.TryGetValue(match[1..], out value))
                    replacement = value;
            }
            else
            {
                // Python's html.unescape decides the value; a result still holding ';' (&#59;, or a reference Python
                // reads only in part) is kept as written.
                var decoded = PythonHtml.Unescape(match.ToString());
                if (!decoded.Contains(';'))
                    replacement = decoded;
            }
            if (replacement is null)
                continue;
            builder.Append(text, copied, amp - copied).Append(replacement);
            copied = nameEnd + 1;
        }
        return copied == 0 ? text : builder.Append(text, copied, text.Length - copied).ToString();
    }

    // C1 controls, ligatures, width forms, then curly quotes: per-code-point maps applied one after the other, so each
    // sees what the previous one wrote (U+0092 → ’ → ').
    private static string MapCharacters(string text)
    {
        var first = text.AsSpan().IndexOfAny(s_mappedUnits);
        if (first < 0)
            return text;
        StringBuilder? builder = null;
        for (var i = first; i < text.Length;)
        {
            var codePoint = ClipTextNormalizer.CodePointAt(text, i, out var width);
            var mapped = Map(codePoint, text[i]);
            if (mapped is not null && builder is null)
                builder = new StringBuilder(text.Length).Append(text, 0, i);
            if (builder is not null)
            {
                if (mapped is null) builder.Append(text, i, width);
                else builder.Append(mapped);
            }
            i += width;
        }
        return builder?.ToString() ?? text;
    }

    // Every UTF-16 unit some map may change: C1 controls, the ligatures, the width forms, the curly quotes, surrogates
    // (an unpaired one becomes U+FFFD). Most non-ASCII text holds none of them and is passed over at vector speed.
    private static readonly System.Buffers.SearchValues<char> s_mappedUnits = System.Buffers.SearchValues.Create(
        string.Concat(Enumerable.Range(0x80, 0x20).Concat(s_ligatures.Keys).Append(0x02BC).Concat(Enumerable.Range(0x2018, 8))
            .Append(0x3000).Concat(Enumerable.Range(0xFF01, 0xFFEF - 0xFF01 + 1)).Concat(Enumerable.Range(0xD800, 0x800)).Select(c => (char)c)));

    // The replacement of one code point, or null when every map leaves it alone.
    private static string? Map(int codePoint, char unit)
    {
        // An unpaired surrogate becomes U+FFFD (fix_surrogates; CodePointAt already reads it so). It must go before NFC:
        // string.Normalize throws on invalid UTF-16.
        if (codePoint == 0xFFFD && char.IsSurrogate(unit))
            return "\uFFFD";
        string? text = codePoint is >= 0x80 and <= 0x9F && s_c1[codePoint - 0x80] != codePoint ? s_c1[codePoint - 0x80].ToString() : null;
        text = Then(text, codePoint, static cp => s_ligatures.GetValueOrDefault(cp));
        text = Then(text, codePoint, static cp => s_width.GetValueOrDefault(cp));
        return Then(text, codePoint, QuoteOf);
    }

    // Applies a map to the text so far (to the original code point while nothing has changed it); the maps' outputs
    // are all in the BMP, so mapping UTF-16 units is mapping code points.
    private static string? Then(string? text, int codePoint, Func<int, string?> map)
    {
        if (text is null)
            return map(codePoint);
        StringBuilder? builder = null;
        for (var i = 0; i < text.Length; i++)
        {
            var mapped = map(text[i]);
            if (mapped is not null && builder is null)
                builder = new StringBuilder().Append(text, 0, i);
            if (builder is not null)
            {
                if (mapped is null) builder.Append(text[i]);
                else builder.Append(mapped);
            }
        }
        return builder?.ToString() ?? text;
    }

    private static string? QuoteOf(int c) => c switch
    {
        >= 0x201C and <= 0x201F => "\"",
        0x02BC or (>= 0x2018 and <= 0x201B) => "'",
        _ => null,
    };

    // ftfy also lists U+0085 here, but its C1 step (MapCharacters, earlier in the pass) has already made it '…'.
    private static string FixLineBreaks(string text)
    {
        if (text.IndexOfAny(['\r', '\u2028', '\u2029']) < 0)
            return text;
        return text.Replace("\r\n", "\n").Replace('\r', '\n').Replace('\u2028', '\n').Replace('\u2029', '\n');
    }

    private static string RemoveControlCharacters(string text)
    {
        var index = text.AsSpan().IndexOfAny(s_controlCharacters);
        if (index < 0)
            return text;
        var builder = new StringBuilder(text.Length).Append(text, 0, index);
        for (var i = index; i < text.Length; i++)
        {
            if (!s_controlCharacters.Contains(text[i]))
                builder.Append(text[i]);
        }
        return builder.ToString();
    }

    private static readonly System.Buffers.SearchValues<char> s_controlCharacters = System.Buffers.SearchValues.Create(
        "\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u000B\u000E\u000F\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017" +
        "\u0018\u0019\u001A\u001B\u001C\u001D\u001E\u001F\u007F\u206A\u206B\u206C\u206D\u206E\u206F\uFEFF\uFFF9\uFFFA\uFFFB\uFFFC");

    private static string Nfc(string text)
    {
        // Below U+0300 nothing composes or decomposes under NFC (no combining marks, no singletons, no jamo).
        if (!text.AsSpan().ContainsAnyExceptInRange('\u0000', '\u02FF'))
            return text;
        try
        {
            return text.Normalize(NormalizationForm.FormC);
        }
        catch (PlatformNotSupportedException)
        {
            return text; // globalization-invariant mode without normalization data
        }
    }

    // ESC '[', Unicode decimal digits or ';', then one ASCII letter: colours and cursor moves.
    [GeneratedRegex(@"\x1B\[[\d;]*[A-Za-z]", RegexOptions.CultureInvariant)]
    private static partial Regex TerminalEscape();
}
