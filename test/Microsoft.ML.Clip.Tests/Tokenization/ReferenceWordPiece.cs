using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Microsoft.ML.Clip.Tests.Tokenization;

/// <summary>
/// An independent WordPiece tokenizer, written from the rules of BERT's reference (Hugging Face's BasicTokenizer +
/// WordpieceTokenizer) for checking the library's ids only; it shares no code with the tokenizer under test and uses no
/// tokenizer library. Special tokens typed in exact case are split off first and kept. Then: drop NUL, U+FFFD and C*
/// characters other than tab/LF/CR; white space becomes a space; CJK ideographs get spaces around them; split on spaces;
/// each word lower-cased (Python's rules for İ and final Σ) and stripped of accents (NFD, Mn dropped), then split at
/// every punctuation character (ASCII 33–47, 58–64, 91–96, 123–126, Unicode P*). Each word: more than 100 characters →
/// [UNK]; otherwise greedy longest prefix from the vocabulary, continuations prefixed "##"; any rest that matches
/// nothing makes the whole word one [UNK]. Rows: [CLS], at most max − 2 pieces, [SEP].
/// </summary>
internal sealed class ReferenceWordPiece
{
    private static readonly Regex Specials = new(@"(\[CLS\]|\[SEP\]|\[PAD\]|\[MASK\]|\[UNK\])", RegexOptions.CultureInvariant);
    private readonly Dictionary<string, int> _ids = new(StringComparer.Ordinal);

    public ReferenceWordPiece(byte[] vocabulary)
    {
        var id = 0;
        foreach (var line in Encoding.UTF8.GetString(vocabulary).Split('\n'))
            _ids.TryAdd(line.TrimEnd('\r'), id++);
    }

    public int Id(string piece) => _ids[piece];

    public int[] Encode(string text, int maxLength)
    {
        var pieces = new List<int>();
        foreach (var part in Specials.Split(text))
        {
            if (Specials.IsMatch(part) && part.Length > 2 && part[0] == '[' && _ids.TryGetValue(part, out var special))
            {
                pieces.Add(special);
                continue;
            }
            foreach (var word in Words(part))
                pieces.AddRange(Pieces(word));
        }
        var kept = pieces.Take(maxLength - 2);
        return [_ids["[CLS]"], .. kept, _ids["[SEP]"]];
    }

    private static IEnumerable<string> Words(string text)
    {
        var cleaned = new StringBuilder();
        foreach (var r in text.EnumerateRunes())
        {
            var category = Rune.GetUnicodeCategory(r);
            var whitespace = r.Value is ' ' or '\t' or '\n' or '\r' || category == UnicodeCategory.SpaceSeparator;
            var control = !whitespace && category is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.PrivateUse
                or UnicodeCategory.Surrogate or UnicodeCategory.OtherNotAssigned;
            if (r.Value == 0 || r.Value == 0xFFFD || control) continue;
            if (whitespace) cleaned.Append(' ');
            else if (Cjk(r.Value)) cleaned.Append(' ').Append(r).Append(' ');
            else cleaned.Append(r);
        }
        foreach (var token in cleaned.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var word = new StringBuilder();
            foreach (var c in PythonLower(token).Normalize(NormalizationForm.FormD))
                if (CharUnicodeInfo.GetUnicodeCategory(c) != UnicodeCategory.NonSpacingMark) word.Append(c);
            var current = new StringBuilder();
            foreach (var r in word.ToString().EnumerateRunes())
            {
                if (!Punctuation(r))
                {
                    current.Append(r);
                    continue;
                }
                if (current.Length > 0) yield return current.ToString();
                current.Clear();
                yield return r.ToString();
            }
            if (current.Length > 0) yield return current.ToString();
        }
    }

    private IEnumerable<int> Pieces(string word)
    {
        var chars = word.EnumerateRunes().Select(r => r.ToString()).ToArray();
        if (chars.Length > 100) return [_ids["[UNK]"]];
        var result = new List<int>();
        for (var start = 0; start < chars.Length;)
        {
            var found = false;
            for (var end = chars.Length; end > start; end--)
            {
                var candidate = (start == 0 ? "" : "##") + string.Concat(chars[start..end]);
                if (!_ids.TryGetValue(candidate, out var id)) continue;
                result.Add(id);
                start = end;
                found = true;
                break;
            }
            if (!found) return [_ids["[UNK]"]];
        }
        return result;
    }

    // str.lower() where it differs from a per-character lower-casing: İ → i + U+0307; Σ at a word's end → ς.
    private static string PythonLower(string token)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < token.Length; i++)
        {
            var c = token[i];
            if (c == 'İ') sb.Append("i\u0307");
            else if (c == 'Σ') sb.Append(i > 0 && char.IsLetter(token[i - 1]) && (i + 1 == token.Length || !char.IsLetter(token[i + 1])) ? 'ς' : 'σ');
            else sb.Append(char.ToLowerInvariant(c));
        }
        return sb.ToString();
    }

    private static bool Punctuation(Rune r) => r.Value is >= 33 and <= 47 or >= 58 and <= 64 or >= 91 and <= 96 or >= 123 and <= 126
        || Rune.GetUnicodeCategory(r) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation or UnicodeCategory.OpenPunctuation
            or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation or UnicodeCategory.FinalQuotePunctuation
            or UnicodeCategory.OtherPunctuation;

    private static bool Cjk(int cp) => cp is >= 0x4E00 and <= 0x9FFF or >= 0x3400 and <= 0x4DBF or >= 0x20000 and <= 0x2A6DF
        or >= 0x2A700 and <= 0x2B73F or >= 0x2B740 and <= 0x2B81F or >= 0x2B820 and <= 0x2CEAF or >= 0xF900 and <= 0xFAFF or >= 0x2F800 and <= 0x2FA1F;
}
