using System.Text;
using System.Text.Json;

namespace ClipCli.Commands;

/// <summary>One input line of a JSON-lines command: its 1-based number and its text, or null when the line is bad (already reported).</summary>
internal readonly record struct JsonLine(int Number, string? Text);

/// <summary>
/// Standard input of the JSON-lines commands (<c>tokenize</c>, <c>embed-text</c>): one JSON string per line, read as bytes
/// so that nothing is guessed. Every line gives one <see cref="JsonLine"/>, so the command writes one output line per input
/// line: for a bad line, <c>null</c>, with the line's number and the problem on standard error — an empty line, a line that
/// is not a JSON string, invalid UTF-8, or a string with a lone surrogate (<c>"\ud800"</c>), which is no Unicode text. A
/// UTF-8 byte order mark at the start of the input is skipped; lines end with <c>\n</c> or <c>\r\n</c>.
/// </summary>
internal static class JsonLinesInput
{
    private static ReadOnlySpan<byte> Utf8ByteOrderMark => [0xEF, 0xBB, 0xBF];

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The lines of <paramref name="input"/>; problems go to <paramref name="error"/> as "<paramref name="tool"/>: line N: …".</summary>
    public static IEnumerable<JsonLine> Read(Stream input, TextWriter error, string tool)
    {
        var number = 0;
        foreach (var bytes in Lines(input))
        {
            number++;
            var line = bytes;
            if (number == 1 && line.AsSpan().StartsWith(Utf8ByteOrderMark)) line = line[3..];
            var text = Parse(line, out var problem);
            if (problem is not null) error.WriteLine($"{tool}: line {number}: {problem}");
            yield return new JsonLine(number, text);
        }
    }

    /// <summary>The JSON string on one line, or null with the problem.</summary>
    private static string? Parse(byte[] line, out string? problem)
    {
        problem = null;
        if (line.AsSpan().Trim(" \t"u8).IsEmpty)
        {
            problem = "empty line; expected a JSON string such as \"a photo of a cat\".";
            return null;
        }
        string raw;
        try
        {
            raw = StrictUtf8.GetString(line);
        }
        catch (DecoderFallbackException e)
        {
            problem = $"not valid UTF-8 (byte 0x{e.BytesUnknown?.FirstOrDefault():X2} at offset {e.Index}); the input must be UTF-8 text.";
            return null;
        }
        try
        {
            using var document = JsonDocument.Parse(raw);
            if (document.RootElement.ValueKind != JsonValueKind.String)
            {
                problem = $"not a JSON string but {Kind(document.RootElement.ValueKind)}: {Shorten(raw)}";
                return null;
            }
            var text = document.RootElement.GetString()!;
            if (LoneSurrogate(text) is int at)
            {
                problem = $"the string has a lone surrogate (\\u{(int)text[at]:x4} at character {at}), which is not Unicode text.";
                return null;
            }
            return text;
        }
        catch (JsonException)
        {
            problem = $"not a JSON string: {Shorten(raw)}";
            return null;
        }
        catch (InvalidOperationException)
        {
            // System.Text.Json refuses to unescape "\ud800" without its pair.
            problem = "the string has a lone surrogate escape (\\uD800-\\uDFFF without its pair), which is not Unicode text.";
            return null;
        }
    }

    private static int? LoneSurrogate(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) i++;
            else if (char.IsSurrogate(text[i])) return i;
        }
        return null;
    }

    private static string Kind(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Null => "null",
        JsonValueKind.Number => "a number",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => kind.ToString(),
    };

    private static string Shorten(string line) => line.Length <= 80 ? line : string.Concat(line.AsSpan(0, 79), "…");

    // Raw lines split at '\n' (a '\r' before it dropped); a last line without '\n' counts when it is not empty.
    private static IEnumerable<byte[]> Lines(Stream input)
    {
        var buffer = new byte[1 << 16];
        var line = new MemoryStream();
        int read;
        while ((read = input.Read(buffer, 0, buffer.Length)) > 0)
        {
            var start = 0;
            for (var i = 0; i < read; i++)
            {
                if (buffer[i] != (byte)'\n') continue;
                line.Write(buffer, start, i - start);
                yield return TakeLine(line);
                start = i + 1;
            }
            line.Write(buffer, start, read - start);
        }
        if (line.Length > 0) yield return TakeLine(line);
    }

    private static byte[] TakeLine(MemoryStream line)
    {
        var bytes = line.ToArray();
        line.SetLength(0);
        return bytes.Length > 0 && bytes[^1] == (byte)'\r' ? bytes[..^1] : bytes;
    }
}
