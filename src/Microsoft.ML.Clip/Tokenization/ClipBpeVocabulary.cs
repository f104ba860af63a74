using System.IO.Compression;
using System.Reflection;
using System.Text;
using Microsoft.ML.Tokenizers;

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
    // The merge step: Microsoft.ML.Tokenizers' BPE over the same vocabulary and merges, byte-level,
    // with '</w>' as end-of-word suffix. It is called on one pre-token at a time with its own
    // pre-tokenizer and normalizer bypassed (its default pre-tokenizer would split "'s").
    private readonly BpeTokenizer _bpe;

    private ClipBpeVocabulary(string[] mergeLines)
    {
        var byteToChar = BytesToUnicode();
        var tokens = new List<string>(256 * 2 + mergeLines.Length + 2);
        foreach (var (_, c) in byteToChar) tokens.Add(c.ToString());
        foreach (var (_, c) in byteToChar) tokens.Add(c + EndOfWord);
        var merges = new string[mergeLines.Length];
        for (var i = 0; i < mergeLines.Length; i++)
        {
            var parts = mergeLines[i].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length != 2)
                throw new InvalidDataException($"Merge line {i + 1} of '{ResourceName}' is not two symbols: '{mergeLines[i]}'.");
            merges[i] = parts[0] + " " + parts[1];
            tokens.Add(parts[0] + parts[1]);
        }
        var bpeVocabulary = new Dictionary<string, int>(tokens.Count, StringComparer.Ordinal);
        for (var i = 0; i < tokens.Count; i++)
        {
            // The reference's dict(zip(vocab, range(len(vocab)))) keeps the last id of a repeated string.
            bpeVocabulary[tokens[i]] = i;
        }
        tokens.Add("<|startoftext|>");
        tokens.Add("<|endoftext|>");
        _tokens = tokens.ToArray();

        _bpe = BpeTokenizer.Create(new BpeOptions(bpeVocabulary)
        {
            Merges = merges,
            ByteLevel = true,
            EndOfWordSuffix = EndOfWord,
        });

        var charToByte = byteToChar.ToDictionary(p => p.Char, p => (byte)p.Byte);
        _tokenBytes = new byte[_tokens.Length][];
        for (var i = 0; i < _tokens.Length; i++)
        {
            // Decoding maps every character back through byte_decoder, '</w>' included (all printable ASCII).
            var token = _tokens[i];
            var bytes = new byte[token.Length];
            for (var k = 0; k < token.Length; k++) bytes[k] = charToByte[token[k]];
            _tokenBytes[i] = bytes;
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

    /// <summary>
    /// Byte-pair encodes one pre-token (its UTF-8 bytes, the last symbol carrying <c>&lt;/w&gt;</c>), as the
    /// reference's <c>bpe()</c> does.
    /// </summary>
    public int[] Merge(ReadOnlySpan<char> piece)
    {
        var ids = _bpe.EncodeToIds(piece, considerPreTokenization: false, considerNormalization: false);
        var result = new int[ids.Count];
        for (var i = 0; i < result.Length; i++) result[i] = ids[i];
        return result;
    }

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
