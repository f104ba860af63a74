using System.Text.Json;
using Microsoft.ML.Clip.TestUtilities;
using Microsoft.ML.Clip.Tokenization;
using Xunit;
using Xunit.Abstractions;

namespace Microsoft.ML.Clip.Tests.Tokenization;

/// <summary>The tokenizer against the outputs of openai/CLIP's own code (test/fixtures/clip-reference).</summary>
public class ClipTokenizerReferenceTests(ITestOutputHelper output)
{
    internal sealed record Case(string Text, int[] Ids, int[] Tokens77, bool Overflow, string Category, string Decoded);

    private static readonly Lazy<IReadOnlyList<Case>> s_cases = new(ReadCases);

    internal static IReadOnlyList<Case> Cases => s_cases.Value;

    [Fact]
    public void EveryReferenceCaseGivesTheReferenceIds()
    {
        var tokenizer = ClipTokenizer.Default;
        var failures = new List<string>();
        var matched = 0;
        foreach (var c in Cases)
        {
            var ids = tokenizer.Encode(c.Text);
            var row = tokenizer.EncodeToContext(c.Text, 77, ClipTruncation.Truncate);
            if (ids.SequenceEqual(c.Ids) && row.SequenceEqual(c.Tokens77))
                matched++;
            else if (failures.Count < 20)
                failures.Add($"{JsonSerializer.Serialize(c.Text)} [{c.Category}]: expected [{string.Join(",", c.Ids)}], got [{string.Join(",", ids)}]");
        }
        output.WriteLine($"Reference tokenizer cases matched: {matched} / {Cases.Count}");
        Assert.Equal(1552, Cases.Count);
        Assert.True(matched == Cases.Count, $"{Cases.Count - matched} cases differ:\n" + string.Join("\n", failures));
    }

    [Fact]
    public void OverflowFlagsMatchTheThrowPolicy()
    {
        var tokenizer = ClipTokenizer.Default;
        var overflowing = Cases.Where(c => c.Overflow).ToList();
        Assert.Equal(15, overflowing.Count);
        foreach (var c in Cases)
        {
            if (c.Overflow)
                Assert.Throws<ArgumentException>(() => tokenizer.EncodeToContext(c.Text));
            else
                Assert.Equal(c.Tokens77, tokenizer.EncodeToContext(c.Text));
        }
    }

    [Fact]
    public void DecodeGivesTheReferenceText()
    {
        var tokenizer = ClipTokenizer.Default;
        foreach (var c in Cases)
        {
            // The reference writes special tokens out; this Decode drops them (its documented contract).
            var expected = c.Decoded.Replace("<|startoftext|>", "").Replace("<|endoftext|>", "");
            Assert.Equal(expected, tokenizer.Decode(c.Ids));
        }
    }

    [Fact]
    public void EncodeBatchOfTheCaptionsEqualsReferenceTokensNpy()
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Fixtures.Reference("cases", "cases.json")));
        var captions = json.RootElement.GetProperty("captions").EnumerateArray().Select(e => e.GetString()!).ToList();
        var expected = Npy.ReadInt64(Fixtures.Reference("cases", "tokens.npy"));
        Assert.Equal(new[] { captions.Count, 77 }, expected.Shape);

        var actual = ClipTokenizer.Default.EncodeBatch(captions, 77, ClipTruncation.Truncate);
        Assert.Equal(expected.Data, actual);
        // The last caption is the one that overflows: the reference (truncate=False) would raise on it.
        Assert.Throws<ArgumentException>(() => ClipTokenizer.Default.EncodeBatch(captions));
    }

    private static IReadOnlyList<Case> ReadCases()
    {
        var options = new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
        return File.ReadAllLines(Fixtures.Reference("tokenizer", "tokenizer_cases.jsonl"))
            .Where(line => line.Length > 0)
            .Select(line => JsonSerializer.Deserialize<Case>(line, options)!)
            .ToList();
    }
}
