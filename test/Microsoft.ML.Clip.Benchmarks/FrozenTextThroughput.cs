using System.Globalization;
using System.Text.Json;
using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.TestUtilities;
using Microsoft.ML.Clip.TorchSharp.Training;

namespace Microsoft.ML.Clip.Benchmarks;

/// <summary>
/// Frozen text encoder throughput, texts/s, on one ONNX Runtime thread over the first texts of the tokenizer corpus
/// (<c>tokenizer_cases.jsonl</c>: captions and prompts, a few long texts): the public
/// <see cref="FrozenTextEncoder.Featurize(IReadOnlyList{string}, Span{float})"/>, and the trainer's caption cache pass
/// (<see cref="LockedTextFeatures.EncodeAll"/>, an empty cache each pass: keys, tokenization, encoding, the file). One
/// warm-up pass, then <c>passes</c> timed ones per path (each repeated for at least <c>seconds</c>), printed one per line. It measures one build: compare two by
/// running each build's process in turn, alternating which goes first, at least 5 rounds.
/// Usage: <c>frozen-text [encoder=minilm|folder] [texts=384] [passes=2] [seconds=0]</c>.
/// </summary>
internal static class FrozenTextThroughput
{
    private sealed class Row
    {
        public string Caption = "";
    }

    public static void Run(string[] args)
    {
        var name = args.Length > 0 ? args[0] : FrozenTextEncoder.MiniLmName;
        var count = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 384;
        var passes = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 2;
        var seconds = args.Length > 3 ? double.Parse(args[3], CultureInfo.InvariantCulture) : 0;
        using var encoder = name == FrozenTextEncoder.MiniLmName ? FrozenTextEncoder.MiniLm(intraOpThreads: 1) : FrozenTextEncoder.FromFolder(name, intraOpThreads: 1);
        var corpus = File.ReadLines(Fixtures.Reference("tokenizer", "tokenizer_cases.jsonl"))
            .Where(line => line.Length > 0)
            .Select(line => JsonDocument.Parse(line).RootElement.GetProperty("text").GetString()!)
            .Distinct(StringComparer.Ordinal)
            .ToArray();
        var texts = corpus.Take(count).ToArray();
        var features = new float[texts.Length * encoder.FeatureSize];
        var ml = new MLContext(seed: 1);
        var data = ml.Data.Cache(ml.Data.LoadFromEnumerable(texts.Select(t => new Row { Caption = t }).ToArray()));
        var column = data.Schema[nameof(Row.Caption)];
        var root = Fixtures.NewTempDir("frozen-text-throughput");

        double Featurize() { encoder.Featurize(texts, features); return texts.Length; }
        double EncodeAll()
        {
            var cache = Path.Combine(root, Guid.NewGuid().ToString("N"));
            using (var locked = new LockedTextFeatures(encoder, cache)) locked.EncodeAll(data, column, CancellationToken.None);
            Directory.Delete(cache, recursive: true);
            return texts.Length;
        }

        Featurize();
        EncodeAll();
        for (var p = 0; p < passes; p++)
        {
            var featurize = Pass.Time(seconds, Featurize);
            var encodeAll = Pass.Time(seconds, EncodeAll);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{encoder.Name} {texts.Length} texts: featurize {featurize.PerSecond:F1} /s ({featurize.CpuMsPerItem:F3} CPU ms/text), encode-all {encodeAll.PerSecond:F1} /s ({encodeAll.CpuMsPerItem:F3} CPU ms/text)"));
        }
        Directory.Delete(root, recursive: true);
    }
}
