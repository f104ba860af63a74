using System.Reflection;
using System.Text;
using System.Text.Json;

namespace Microsoft.ML.Clip.Tokenization;

/// <summary>
/// Python 3.11's <c>html.unescape</c>: named references from the full HTML5 table (some also without
/// <c>;</c>, with the longest known prefix taken), decimal and hexadecimal references with Python's
/// replacements for invalid code points. The tables come from Python (<c>build/generate-tokenizer-tables.py</c>).
/// </summary>
internal static class PythonHtml
{
    private const string ResourceName = "Microsoft.ML.Clip.Tokenization.python-html.json";

    // Python matches &(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?): a name is 1..32 code points.
    private const int MaxNameCodePoints = 32;

    private static readonly Dictionary<string, string> s_entities;
    private static readonly Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> s_entityLookup;
    private static readonly Dictionary<int, string> s_invalidCharrefs;
    private static readonly HashSet<int> s_invalidCodepoints;

    static PythonHtml()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"Embedded resource '{ResourceName}' is missing.");
        using var document = JsonDocument.Parse(stream);
        var root = document.RootElement;
        s_entities = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in root.GetProperty("entities").EnumerateObject())
            s_entities[p.Name] = p.Value.GetString()!;
        s_entityLookup = s_entities.GetAlternateLookup<ReadOnlySpan<char>>();
        s_invalidCharrefs = new Dictionary<int, string>();
        foreach (var p in root.GetProperty("invalidCharrefs").EnumerateObject())
            s_invalidCharrefs[int.Parse(p.Name)] = p.Value.GetString()!;
        s_invalidCodepoints = [.. root.GetProperty("invalidCodepoints").EnumerateArray().Select(e => e.GetInt32())];
    }

    /// <summary>The value of the html5 named reference <paramref name="name"/> (without '&amp;', with any ';'), exactly as listed.</summary>
    public static bool TryGetNamed(ReadOnlySpan<char> name, out string value) => s_entityLookup.TryGetValue(name, out value!);

    /// <summary>Number of named references in the table (2231 in Python 3.11).</summary>
    public static int EntityCount => s_entities.Count;

    /// <summary>Python's <c>html.unescape(text)</c>.</summary>
    public static string Unescape(string text)
    {
        var amp = text.IndexOf('&');
        if (amp < 0)
            return text;
        var builder = new StringBuilder(text.Length);
        var copied = 0;
        while (amp >= 0)
        {
            if (TryReplace(text, amp, out var end, out var replacement))
            {
                builder.Append(text, copied, amp - copied).Append(replacement);
                copied = end;
                amp = end < text.Length ? text.IndexOf('&', end) : -1;
            }
            else
            {
                amp = amp + 1 < text.Length ? text.IndexOf('&', amp + 1) : -1;
            }
        }
        return builder.Append(text, copied, text.Length - copied).ToString();
    }

    /// <summary>Tries the reference pattern at the '&amp;' at <paramref name="amp"/>.</summary>
    private static bool TryReplace(string text, int amp, out int end, out string replacement)
    {
        var p = amp + 1;
        if (p < text.Length && text[p] == '#')
        {
            // Only the two numeric alternatives can match after '#': a name cannot contain '#'.
            if (p + 1 < text.Length && char.IsAsciiDigit(text[p + 1]))
                return Numeric(text, p + 1, hex: false, out end, out replacement);
            if (p + 2 < text.Length && (text[p + 1] | 0x20) == 'x' && char.IsAsciiHexDigit(text[p + 2]))
                return Numeric(text, p + 2, hex: true, out end, out replacement);
            end = 0;
            replacement = "";
            return false;
        }

        var nameEnd = p;
        for (var codePoints = 0; codePoints < MaxNameCodePoints && nameEnd < text.Length && IsNameChar(text[nameEnd]); codePoints++)
            nameEnd += char.IsHighSurrogate(text[nameEnd]) && nameEnd + 1 < text.Length && char.IsLowSurrogate(text[nameEnd + 1]) ? 2 : 1;
        if (nameEnd == p)
        {
            end = 0;
            replacement = "";
            return false;
        }
        end = nameEnd < text.Length && text[nameEnd] == ';' ? nameEnd + 1 : nameEnd;
        var group = text.AsSpan(p, end - p);
        if (s_entityLookup.TryGetValue(group, out var value))
        {
            replacement = value;
            return true;
        }
        // The longest known prefix of at least two characters (entity names are ASCII, so counting
        // UTF-16 units here gives the same prefixes as Python's code points).
        for (var length = group.Length - 1; length > 1; length--)
        {
            if (s_entityLookup.TryGetValue(group[..length], out value))
            {
                replacement = string.Concat(value, group[length..]);
                return true;
            }
        }
        replacement = string.Concat("&", group);
        return true;
    }

    private static bool IsNameChar(char c) => c is not ('\t' or '\n' or '\f' or ' ' or '<' or '&' or '#' or ';');

    private static bool Numeric(string text, int start, bool hex, out int end, out string replacement)
    {
        // Saturate: every value above 0x10FFFF gets the same replacement.
        long value = 0;
        end = start;
        while (end < text.Length && (hex ? char.IsAsciiHexDigit(text[end]) : char.IsAsciiDigit(text[end])))
        {
            if (value <= 0x10FFFF)
                value = value * (hex ? 16 : 10) + HexValue(text[end]);
            end++;
        }
        if (end < text.Length && text[end] == ';')
            end++;
        replacement = CodePointReplacement(value);
        return true;
    }

    private static int HexValue(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;

    private static string CodePointReplacement(long value)
    {
        if (value <= int.MaxValue && s_invalidCharrefs.TryGetValue((int)value, out var fixedUp))
            return fixedUp;
        if (value is >= 0xD800 and <= 0xDFFF || value > 0x10FFFF)
            return "\uFFFD";
        if (s_invalidCodepoints.Contains((int)value))
            return "";
        return char.ConvertFromUtf32((int)value);
    }
}
