using System.Text.Json;
using Microsoft.ML.Clip.TestUtilities;

namespace Microsoft.ML.Clip.Tests.Tokenization;

/// <summary>The tokenizer cases of test/fixtures/siglip-reference/tokenizer, read as its README describes them.</summary>
internal static class SiglipFixtureCases
{
    /// <summary>One line of <c>tokenizer_cases.jsonl</c>: Hugging Face's <c>SiglipTokenizer</c> pieces and 64-id row.</summary>
    public sealed record SiglipCase(int Line, string Text, string Category, string[] Tokens, int[] Ids, int Length, bool Truncated);

    /// <summary>One line of <c>bpe_cases.jsonl</c>: raw <c>sp.encode</c> of the BPE byte-fallback model.</summary>
    public sealed record BpeCase(int Line, string Text, int[] Ids, string[] Pieces);

    private static readonly Lazy<List<SiglipCase>> s_siglip = new(() => ReadJsonLines("tokenizer_cases.jsonl", (line, e) => new SiglipCase(
        line, e.GetProperty("text").GetString()!, e.GetProperty("category").GetString()!,
        e.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()!).ToArray(),
        e.GetProperty("ids").EnumerateArray().Select(t => t.GetInt32()).ToArray(),
        e.GetProperty("length").GetInt32(), e.GetProperty("truncated").GetBoolean())));

    private static readonly Lazy<List<BpeCase>> s_bpe = new(() => ReadJsonLines("bpe_cases.jsonl", (line, e) => new BpeCase(
        line, e.GetProperty("text").GetString()!,
        e.GetProperty("ids").EnumerateArray().Select(t => t.GetInt32()).ToArray(),
        e.GetProperty("pieces").EnumerateArray().Select(t => t.GetString()!).ToArray())));

    public static IReadOnlyList<SiglipCase> SiglipCases => s_siglip.Value;

    public static IReadOnlyList<BpeCase> BpeCases => s_bpe.Value;

    /// <summary>The bytes of the SigLIP model's <c>spiece.model</c> (unigram).</summary>
    public static byte[] UnigramModel => File.ReadAllBytes(Fixtures.Siglip("model", "spiece.model"));

    /// <summary>The bytes of the SentencePiece BPE model with byte fallback (the Gemma tokenizer's family).</summary>
    public static byte[] BpeModel => File.ReadAllBytes(Fixtures.Siglip("tokenizer", "bpe_byte_fallback.model"));

    /// <summary>Texts in JSON for failure messages (escapes every control character).</summary>
    public static string Show(object value) => JsonSerializer.Serialize(value);

    private static List<T> ReadJsonLines<T>(string file, Func<int, JsonElement, T> read)
    {
        var result = new List<T>();
        // Split on '\n' only: the README guarantees every other line break inside the strings is escaped.
        var lines = File.ReadAllText(Fixtures.Siglip("tokenizer", file)).Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].Length == 0)
                continue;
            using var doc = JsonDocument.Parse(lines[i]);
            result.Add(read(i + 1, doc.RootElement.Clone()));
        }
        return result;
    }
}
