using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Microsoft.ML.Clip.TestUtilities;
using Microsoft.ML.Clip.Tokenization;

namespace Microsoft.ML.Clip.Benchmarks;

/// <summary>
/// Tokenizer throughput on one thread over the reference corpus (the 1552 texts of
/// <c>tokenizer_cases.jsonl</c>). Each operation is one text, so strings/s = 1e9 / (ns per op).
/// Run: <c>dotnet run -c Release --project test/Microsoft.ML.Clip.Benchmarks -- --filter '*TokenizerBenchmarks*'</c>.
/// </summary>
[ShortRunJob]
[MemoryDiagnoser]
[MinColumn, MedianColumn]
public class TokenizerBenchmarks
{
    private const int CorpusSize = 1552;

    private string[] _texts = [];
    private long[] _row = new long[ClipTokenizer.DefaultContextLength];
    private ClipTokenizer _tokenizer = null!;
    private ClipTokenizer _cold = null!;

    [GlobalSetup]
    public void Setup()
    {
        _texts = File.ReadAllLines(Fixtures.Reference("tokenizer", "tokenizer_cases.jsonl"))
            .Where(line => line.Length > 0)
            .Select(line => JsonDocument.Parse(line).RootElement.GetProperty("text").GetString()!)
            .ToArray();
        if (_texts.Length != CorpusSize)
            throw new InvalidOperationException($"Expected {CorpusSize} texts, read {_texts.Length}.");
        _tokenizer = ClipTokenizer.Default;
        foreach (var text in _texts)
            _tokenizer.EncodeToContext(text, ClipTokenizer.DefaultContextLength, ClipTruncation.Truncate);
    }

    /// <summary>Warm cache: a new int[77] row per text.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = CorpusSize)]
    public int EncodeToContextWarm()
    {
        var sum = 0;
        foreach (var text in _texts)
            sum += _tokenizer.EncodeToContext(text, ClipTokenizer.DefaultContextLength, ClipTruncation.Truncate)[1];
        return sum;
    }

    /// <summary>Warm cache, writing into one reused int64 row (no allocation per text).</summary>
    [Benchmark(OperationsPerInvoke = CorpusSize)]
    public long EncodeToContextSpanWarm()
    {
        long sum = 0;
        foreach (var text in _texts)
        {
            _tokenizer.EncodeToContext(text, _row, ClipTruncation.Truncate);
            sum += _row[1];
        }
        return sum;
    }

    [IterationSetup(Target = nameof(EncodeToContextCold))]
    public void NewTokenizer() => _cold = ClipTokenizer.CreateFromEmbeddedVocabulary();

    /// <summary>
    /// Cold cache: one pass over the corpus with a new tokenizer (its caches empty; loading the
    /// vocabulary is not measured). Later texts still reuse the pieces of earlier ones.
    /// </summary>
    [Benchmark(OperationsPerInvoke = CorpusSize)]
    public int EncodeToContextCold()
    {
        var sum = 0;
        foreach (var text in _texts)
            sum += _cold.EncodeToContext(text, ClipTokenizer.DefaultContextLength, ClipTruncation.Truncate)[1];
        return sum;
    }
}
