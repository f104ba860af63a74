namespace Microsoft.ML.Clip.Tokenization;

/// <summary>
/// The text normalisation that SentencePiece applies inside <c>encode</c> before segmenting, over UTF-8 bytes:
/// the model's compiled rules (longest match first; for <c>nmt_nfkc</c> NFKC plus a few extra mappings, e.g. tabs and
/// line breaks to a space), removal of leading, trailing and repeated spaces, spaces escaped as <c>▁</c>, and the
/// optional dummy-prefix <c>▁</c>.
/// </summary>
/// <remarks>
/// Microsoft.ML.Tokenizers applies the same rules inside its SentencePiece models but does not expose them as a
/// byte-level step of their own (its public <c>SentencePieceNormalizer.Normalize</c> only handles whitespace), so the
/// unigram encoder here, which must segment exactly what SentencePiece segments, normalises by itself.
/// Trailing-space removal works on the escaped text, so a literal <c>▁</c> at the end goes too, as in SentencePiece.
/// </remarks>
internal sealed class SentencePieceTextNormalizer
{
    private static readonly byte[] s_escapedSpace = "▁"u8.ToArray();
    private static readonly byte[] s_space = " "u8.ToArray();
    private static readonly byte[] s_replacementCharacter = "\uFFFD"u8.ToArray();

    private readonly PrecompiledCharsMap? _rules;
    private readonly Dictionary<byte, byte[][]> _userDefinedByFirstByte; // each list longest first
    private readonly bool _addDummyPrefix;
    private readonly bool _removeExtraWhitespaces;
    private readonly bool _escapeWhitespaces;
    private readonly bool _treatWhitespaceAsSuffix;

    public SentencePieceTextNormalizer(SentencePieceModelFile model, bool? addDummyPrefix = null)
    {
        _rules = model.PrecompiledCharsMap.Length > 0 ? new PrecompiledCharsMap(model.PrecompiledCharsMap) : null;
        _addDummyPrefix = addDummyPrefix ?? model.AddDummyPrefix;
        _removeExtraWhitespaces = model.RemoveExtraWhitespaces;
        _escapeWhitespaces = model.EscapeWhitespaces;
        _treatWhitespaceAsSuffix = model.TreatWhitespaceAsSuffix;
        // SentencePiece copies user-defined symbols through unnormalised (its PrefixMatcher runs before the rules).
        _userDefinedByFirstByte = model.Pieces
            .Where(p => p.Type == SentencePieceType.UserDefined && p.Piece.Length > 0)
            .Select(p => System.Text.Encoding.UTF8.GetBytes(p.Piece))
            .GroupBy(b => b[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(b => b.Length).ToArray());
    }

    /// <summary>Normalises UTF-8 <paramref name="input"/> and appends the result to <paramref name="output"/>.</summary>
    public void Normalize(ReadOnlySpan<byte> input, List<byte> output)
    {
        output.Clear();
        if (input.IsEmpty)
            return;

        if (_removeExtraWhitespaces)
        {
            while (!input.IsEmpty)
            {
                var consumed = NormalizePrefix(input, out var replacement);
                if (!replacement.SequenceEqual(" "u8))
                    break;
                input = input[consumed..];
            }
            if (input.IsEmpty)
                return;
        }

        var space = _escapeWhitespaces ? s_escapedSpace : s_space;
        if (_addDummyPrefix && !_treatWhitespaceAsSuffix)
            output.AddRange(space);

        var previousEndsWithSpace = _removeExtraWhitespaces;
        while (!input.IsEmpty)
        {
            var consumed = NormalizePrefix(input, out var replacement);
            if (previousEndsWithSpace)
                replacement = replacement.TrimStart((byte)' ');
            if (!replacement.IsEmpty)
            {
                foreach (var b in replacement)
                {
                    if (b == (byte)' ' && _escapeWhitespaces)
                        output.AddRange(s_escapedSpace);
                    else
                        output.Add(b);
                }
                previousEndsWithSpace = replacement[^1] == (byte)' ';
            }
            input = input[consumed..];
            if (!_removeExtraWhitespaces)
                previousEndsWithSpace = false;
        }

        if (_removeExtraWhitespaces)
        {
            while (output.Count >= space.Length && EndsWith(output, space))
                output.RemoveRange(output.Count - space.Length, space.Length);
        }

        if (_addDummyPrefix && _treatWhitespaceAsSuffix)
            output.AddRange(space);
    }

    /// <summary>How many bytes of <paramref name="input"/> the next step consumes, and what it writes.</summary>
    private int NormalizePrefix(ReadOnlySpan<byte> input, out ReadOnlySpan<byte> replacement)
    {
        if (_userDefinedByFirstByte.Count > 0 && _userDefinedByFirstByte.TryGetValue(input[0], out var symbols))
        {
            foreach (var symbol in symbols)
            {
                if (input.StartsWith(symbol))
                {
                    replacement = input[..symbol.Length];
                    return symbol.Length;
                }
            }
        }

        if (_rules is not null)
        {
            var matched = _rules.LongestMatch(input, out replacement);
            if (matched > 0)
                return matched;
        }

        var length = Utf8.ValidCharLength(input);
        if (length == 0)
        {
            // Malformed UTF-8: one byte becomes U+FFFD, as SentencePiece does.
            replacement = s_replacementCharacter;
            return 1;
        }
        replacement = input[..length];
        return length;
    }

    private static bool EndsWith(List<byte> list, byte[] suffix)
    {
        for (var i = 0; i < suffix.Length; i++)
        {
            if (list[list.Count - suffix.Length + i] != suffix[i])
                return false;
        }
        return true;
    }
}

/// <summary>UTF-8 helpers shared by the SentencePiece pieces.</summary>
internal static class Utf8
{
    /// <summary>SentencePiece's <c>OneCharLen</c>: the length a lead byte announces (1 for stray bytes).</summary>
    public static int LeadByteLength(byte lead) => lead < 0x80 ? 1 : lead < 0xC0 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;

    /// <summary>The length of the well-formed UTF-8 character at the start of <paramref name="input"/>, or 0.</summary>
    public static int ValidCharLength(ReadOnlySpan<byte> input)
    {
        var status = System.Text.Rune.DecodeFromUtf8(input, out _, out var consumed);
        return status == System.Buffers.OperationStatus.Done ? consumed : 0;
    }
}
