using System.IO.Compression;
using System.Reflection;
using System.Text;

namespace Microsoft.ML.Clip.Tokenization;

/// <summary>
/// CLIP's vocabulary and BPE merges, read from <c>bpe_simple_vocab_16e6.txt.gz</c> as the reference does:
/// merges are lines 1..48894 of the file; the vocabulary is the 256 byte symbols (in
/// <c>bytes_to_unicode</c> order), the same 256 with <c>&lt;/w&gt;</c>, each merge joined, then
/// <c>&lt;|startoftext|&gt;</c> and <c>&lt;|endoftext|&gt;</c> (49408 tokens).
/// </summary>
internal sealed class ClipBpeVocabulary
{
    /// <summary>Logical name of the embedded merges file.</summary>
    public const string ResourceName = "Microsoft.ML.Clip.Tokenization.bpe_simple_vocab_16e6.txt.gz";

    /// <summary>Number of merges the reference reads (<c>49152 - 256 - 2</c>).</summary>
    public const int MergeCount = 49152 - 256 - 2;

    /// <summary>The end-of-word marker appended to a word's last symbol.</summary>
    public const string EndOfWord = "</w>";

    private readonly string[] _tokens;
    private readonly byte[][] _tokenBytes;
    private readonly int[] _byteSymbol = new int[256];
    private readonly int[] _byteSymbolEndOfWord = new int[256];
    // (left id, right id) → merge rank; rank r produces _mergeResult[r].
    private readonly Dictionary<long, int> _mergeRank;
    private readonly int[] _mergeResult;
    private readonly (int Left, int Right)[] _pairs;

    private ClipBpeVocabulary(string[] mergeLines)
    {
        var byteToChar = BytesToUnicode();
        var tokens = new List<string>(256 * 2 + mergeLines.Length + 2);
        foreach (var (_, c) in byteToChar) tokens.Add(c.ToString());
        foreach (var (_, c) in byteToChar) tokens.Add(c + EndOfWord);
        var pairs = new (string Left, string Right)[mergeLines.Length];
        for (var i = 0; i < mergeLines.Length; i++)
        {
            var parts = mergeLines[i].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length != 2)
                throw new InvalidDataException($"Merge line {i + 1} of '{ResourceName}' is not two symbols: '{mergeLines[i]}'.");
            pairs[i] = (parts[0], parts[1]);
            tokens.Add(parts[0] + parts[1]);
        }
        tokens.Add("<|startoftext|>");
        tokens.Add("<|endoftext|>");
        _tokens = tokens.ToArray();

        // As the reference's dict(zip(vocab, range(len(vocab)))): a repeated string keeps its last id.
        var ids = new Dictionary<string, int>(_tokens.Length, StringComparer.Ordinal);
        for (var i = 0; i < _tokens.Length; i++) ids[_tokens[i]] = i;

        foreach (var (b, c) in byteToChar)
        {
            _byteSymbol[b] = ids[c.ToString()];
            _byteSymbolEndOfWord[b] = ids[c + EndOfWord];
        }
        _mergeRank = new Dictionary<long, int>(pairs.Length);
        _mergeResult = new int[pairs.Length];
        _pairs = new (int, int)[pairs.Length];
        for (var rank = 0; rank < pairs.Length; rank++)
        {
            var (left, right) = pairs[rank];
            if (!ids.TryGetValue(left, out var l) || !ids.TryGetValue(right, out var r))
                throw new InvalidDataException($"Merge {rank} of '{ResourceName}' ('{left} {right}') uses an unknown symbol.");
            _mergeRank[Key(l, r)] = rank; // as the reference's dict(zip(merges, ...)), a repeated pair keeps its last rank
            _pairs[rank] = (l, r);
            _mergeResult[rank] = ids[left + right];
        }

        var charToByte = byteToChar.ToDictionary(p => p.Char, p => (byte)p.Byte);
        _tokenBytes = new byte[_tokens.Length][];
        for (var i = 0; i < _tokens.Length; i++)
        {
            // Decoding maps every character back through byte_decoder, '</w>' included (all printable ASCII).
            _tokenBytes[i] = _tokens[i].Select(ch => charToByte[ch]).ToArray();
        }
    }

    /// <summary>Number of tokens (49408).</summary>
    public int Count => _tokens.Length;

    /// <summary>Loads the embedded merges file.</summary>
    public static ClipBpeVocabulary LoadEmbedded()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"Embedded resource '{ResourceName}' is missing.");
        return Load(stream);
    }

    /// <summary>Loads a gzip-compressed merges file in the format of <c>bpe_simple_vocab_16e6.txt.gz</c>.</summary>
    public static ClipBpeVocabulary Load(Stream gzipStream)
    {
        using var gzip = new GZipStream(gzipStream, CompressionMode.Decompress);
        using var reader = new StreamReader(gzip, new UTF8Encoding(false, true));
        // The reference splits on '\n' and drops line 0 (the version header).
        var lines = reader.ReadToEnd().Split('\n');
        if (lines.Length < MergeCount + 1)
            throw new InvalidDataException($"'{ResourceName}' has {lines.Length} lines; at least {MergeCount + 1} are needed.");
        return new ClipBpeVocabulary(lines[1..(MergeCount + 1)]);
    }

    /// <summary>The token string of <paramref name="id"/> (byte symbols, as in the vocabulary).</summary>
    public string Token(int id) => _tokens[id];

    /// <summary>The bytes a token decodes to (its <c>&lt;/w&gt;</c> included, as in the reference).</summary>
    public byte[] TokenBytes(int id) => _tokenBytes[id];

    /// <summary>Byte-pair encodes one pre-token (UTF-8 bytes); the last symbol carries <c>&lt;/w&gt;</c>.</summary>
    public int[] Merge(ReadOnlySpan<byte> utf8)
    {
        if (utf8.IsEmpty)
            return [];
        var symbols = new int[utf8.Length];
        for (var i = 0; i < utf8.Length; i++) symbols[i] = _byteSymbol[utf8[i]];
        symbols[^1] = _byteSymbolEndOfWord[utf8[^1]];
        var count = symbols.Length;

        // The reference's loop: merge the lowest-ranked adjacent pair everywhere (left to right,
        // without overlaps), until no adjacent pair is a known merge.
        while (count > 1)
        {
            var best = int.MaxValue;
            for (var i = 0; i + 1 < count; i++)
            {
                if (_mergeRank.TryGetValue(Key(symbols[i], symbols[i + 1]), out var rank) && rank < best)
                    best = rank;
            }
            if (best == int.MaxValue)
                break;
            var (leftId, rightId) = _pairs[best];
            var merged = _mergeResult[best];
            var write = 0;
            for (var read = 0; read < count;)
            {
                if (read + 1 < count && symbols[read] == leftId && symbols[read + 1] == rightId)
                {
                    symbols[write++] = merged;
                    read += 2;
                }
                else
                {
                    symbols[write++] = symbols[read++];
                }
            }
            count = write;
        }
        return symbols.AsSpan(0, count).ToArray();
    }

    private static long Key(int left, int right) => ((long)left << 32) | (uint)right;

    /// <summary>GPT-2's byte ↔ printable character table, in the reference's order.</summary>
    internal static List<(int Byte, char Char)> BytesToUnicode()
    {
        var printable = new List<int>();
        for (var b = '!'; b <= '~'; b++) printable.Add(b);
        for (var b = '¡'; b <= '¬'; b++) printable.Add(b);
        for (var b = '®'; b <= 'ÿ'; b++) printable.Add(b);
        var result = printable.Select(b => (b, (char)b)).ToList();
        var next = 0;
        for (var b = 0; b < 256; b++)
        {
            if (!printable.Contains(b))
                result.Add((b, (char)(256 + next++)));
        }
        return result;
    }
}
