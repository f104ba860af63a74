using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.ML.Clip.TestUtilities;
using Xunit;

namespace Microsoft.ML.Clip.Cli.Tests;

/// <summary><c>clip tokenize</c> against the reference tokenizer cases.</summary>
public class TokenizeCommandTests
{
    private sealed record Case(string Text, int[] Ids, int[] Tokens77, bool Overflow);

    private static readonly Lazy<List<Case>> s_cases = new(() =>
    {
        var options = new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
        return File.ReadAllLines(Fixtures.Reference("tokenizer", "tokenizer_cases.jsonl"))
            .Where(line => line.Length > 0)
            .Select(line => JsonSerializer.Deserialize<Case>(line, options)!)
            .ToList();
    });

    // Non-ASCII characters go through as raw UTF-8 (only what JSON requires is escaped).
    private static readonly JsonSerializerOptions RawUtf8 = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static string Input(IEnumerable<Case> cases) => string.Concat(cases.Select(c => JsonSerializer.Serialize(c.Text, RawUtf8) + "\n"));

    private static string Json(int[] ids) => "[" + string.Join(",", ids) + "]";

    [Fact]
    public void WritesRawIdsOfEveryReferenceCase()
    {
        var cases = s_cases.Value;
        var result = CliRunner.Run(Input(cases), "tokenize");
        Assert.Equal(0, result.ExitCode);
        Assert.Equal("", result.StdErr);
        var lines = result.StdOut.Split('\n')[..^1];
        Assert.Equal(cases.Select(c => Json(c.Ids)), lines);
    }

    [Fact]
    public void WritesTruncatedContextRows()
    {
        var cases = s_cases.Value.Where(c => c.Overflow).Concat(s_cases.Value.Take(20)).ToList();
        var result = CliRunner.Run(Input(cases), "tokenize", "--context", "77", "--truncate");
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(cases.Select(c => Json(c.Tokens77)), result.Lines);
    }

    [Fact]
    public void OverLongTextIsAnErrorNamingItsLineAndTheOtherLinesAreWritten()
    {
        var fitting = s_cases.Value.Where(c => !c.Overflow && c.Ids.Length > 0).Take(2).ToList();
        var overflowing = s_cases.Value.First(c => c.Overflow);
        var result = CliRunner.Run(Input([fitting[0], overflowing, fitting[1]]), "tokenize", "--context", "77");
        Assert.Equal(1, result.ExitCode);
        // One output line per input line (issue 13): null for the line that failed.
        Assert.Equal([Json(fitting[0].Tokens77), "null", Json(fitting[1].Tokens77)], result.Lines);
        Assert.Contains("line 2", result.StdErr);
        Assert.Contains($"has {overflowing.Ids.Length + 2} tokens", result.StdErr);
        Assert.Contains("--truncate", result.StdErr);
    }

    [Fact]
    public void LineThatIsNotAJsonStringIsAnError()
    {
        var result = CliRunner.Run("\"a dog\"\n42\nnot json\n\"a cat\"\n", "tokenize");
        Assert.Equal(1, result.ExitCode);
        Assert.Equal(4, result.Lines.Length);
        Assert.Equal(["null", "null"], result.Lines[1..3]);
        Assert.Contains("line 2", result.StdErr);
        Assert.Contains("line 3", result.StdErr);
        Assert.Contains("not a JSON string", result.StdErr);
    }

    [Fact]
    public void BadOptionsAreRejected()
    {
        var zero = CliRunner.Run("\"a dog\"\n", "tokenize", "--context", "0");
        Assert.NotEqual(0, zero.ExitCode);
        Assert.Contains("--context", zero.StdErr);
        var truncateAlone = CliRunner.Run("\"a dog\"\n", "tokenize", "--truncate");
        Assert.NotEqual(0, truncateAlone.ExitCode);
        Assert.Contains("--truncate", truncateAlone.StdErr);
    }

    [Fact]
    public void HelpDescribesTheOptions()
    {
        var result = CliRunner.Run(null, "tokenize", "--help");
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("--context", result.StdOut);
        Assert.Contains("--truncate", result.StdOut);
    }
}
