using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;

namespace Microsoft.ML.Clip.Tokenization;

/// <summary>
/// The character classes and lower-casing of Python 3.11 and the <c>regex</c> module, as the reference
/// tokenizer sees them. .NET's own Unicode data is of another Unicode version and lower-cases one UTF-16
/// unit at a time (no <c>İ</c> → <c>i̇</c>, no final sigma), so the tables are generated from Python
/// (<c>build/generate-tokenizer-tables.py</c>) and embedded.
/// </summary>
internal static class PythonUnicode
{
    /// <summary>Matches <c>[\p{L}]</c> (regex module, IGNORECASE).</summary>
    public const byte Letter = 1;
    /// <summary>Matches <c>[\p{N}]</c> (regex module, IGNORECASE).</summary>
    public const byte Number = 2;
    /// <summary>Matches <c>[^\s\p{L}\p{N}]</c> (regex module, IGNORECASE).</summary>
    public const byte Other = 4;
    /// <summary>Matches <c>\s</c> (regex module), as <c>whitespace_clean</c> uses it.</summary>
    public const byte RegexSpace = 8;
    /// <summary><c>str.isspace()</c>, as <c>str.strip()</c> uses it.</summary>
    public const byte PySpace = 16;
    /// <summary>Unicode <c>Cased</c>, for the final-sigma rule of <c>str.lower()</c>.</summary>
    public const byte Cased = 32;
    /// <summary>Unicode <c>Case_Ignorable</c>, for the final-sigma rule of <c>str.lower()</c>.</summary>
    public const byte CaseIgnorable = 64;
    /// <summary><c>str.lower()</c> changes the character.</summary>
    public const byte LowerChanges = 128;

    private const string ResourceName = "Microsoft.ML.Clip.Tokenization.python-unicode.txt";

    // Two-level table: block index per 256 code points, then the (shared) blocks of 256 flag bytes.
    private static readonly ushort[] s_blockIndex;
    private static readonly byte[] s_blocks;
    private static readonly byte[] s_ascii = new byte[128];
    private static readonly Dictionary<int, string> s_lower = new();

    static PythonUnicode()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"Embedded resource '{ResourceName}' is missing.");
        using var reader = new StreamReader(stream, Encoding.ASCII);
        var flags = new byte[0x110000];
        string? line;
        while ((line = reader.ReadLine()) != null)
        {
            if (line.StartsWith("runs ", StringComparison.Ordinal))
                ReadRuns(line.AsSpan(5), flags);
            else if (line.StartsWith("lower ", StringComparison.Ordinal))
                ReadLower(line.AsSpan(6));
        }

        var blockIds = new Dictionary<string, ushort>();
        var blocks = new List<byte>();
        s_blockIndex = new ushort[0x1100];
        for (var b = 0; b < 0x1100; b++)
        {
            var block = flags.AsSpan(b << 8, 256);
            var key = Convert.ToBase64String(block);
            if (!blockIds.TryGetValue(key, out var id))
            {
                id = checked((ushort)blockIds.Count);
                blockIds.Add(key, id);
                blocks.AddRange(block.ToArray());
            }
            s_blockIndex[b] = id;
        }
        s_blocks = blocks.ToArray();
        Array.Copy(flags, s_ascii, 128);
    }

    /// <summary>The flags of one code point.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte Flags(int codePoint)
        => codePoint < 128 ? s_ascii[codePoint] : s_blocks[(s_blockIndex[codePoint >> 8] << 8) | (codePoint & 0xFF)];

    /// <summary>Python's <c>chr(codePoint).lower()</c> for a code point whose flags hold <see cref="LowerChanges"/>.</summary>
    public static string Lower(int codePoint) => s_lower[codePoint];

    private static void ReadRuns(ReadOnlySpan<char> text, byte[] flags)
    {
        // "start:flags start:flags ..." in hex; each run lasts until the next start.
        var starts = new List<(int Start, byte Flags)>();
        foreach (var range in text.Split(' '))
        {
            var item = text[range];
            var colon = item.IndexOf(':');
            starts.Add((Convert.ToInt32(item[..colon].ToString(), 16), Convert.ToByte(item[(colon + 1)..].ToString(), 16)));
        }
        for (var i = 0; i < starts.Count; i++)
        {
            var end = i + 1 < starts.Count ? starts[i + 1].Start : flags.Length;
            flags.AsSpan(starts[i].Start, end - starts[i].Start).Fill(starts[i].Flags);
        }
    }

    private static void ReadLower(ReadOnlySpan<char> text)
    {
        // "cp:lower1,lower2 ..." in hex.
        var builder = new StringBuilder();
        foreach (var range in text.Split(' '))
        {
            var item = text[range];
            var colon = item.IndexOf(':');
            var codePoint = Convert.ToInt32(item[..colon].ToString(), 16);
            builder.Clear();
            var targets = item[(colon + 1)..];
            foreach (var t in targets.Split(','))
                builder.Append(char.ConvertFromUtf32(Convert.ToInt32(targets[t].ToString(), 16)));
            s_lower[codePoint] = builder.ToString();
        }
    }
}
