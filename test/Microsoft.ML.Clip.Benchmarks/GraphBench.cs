using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.ZeroShot;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace Microsoft.ML.Clip.Benchmarks;

/// <summary>
/// The exported graphs against their references, for issue 14 items 1–3: the prompt-length-aware text tower (texts/s and
/// zero-shot class weights, rows cut to their text vs the full 77-token context), the image tower (our image.onnx vs
/// PyTorch's torch.onnx export of the same weights under the same ONNX Runtime session options, and our graph at several
/// batch sizes), ONNX Runtime's optimised-graph node counts, and int8 vs fp32 (speed and cosine). Every comparison
/// alternates its two sides over rounds (<see cref="AbResult"/>) and prints medians and ranges. A row is one function of
/// <see cref="Context"/> returning table lines (the shape of the bench table's rows). Usage (<c>build/bench-graph.sh</c>):
/// <c>graph-bench [--rows a,b] [--rounds N] [--seconds S] [--classes C] [--eval DIR] [--trained MODEL_DIR] [--batch-graph X.onnx]</c>.
/// </summary>
/// <remarks>
/// The model is OpenAI's ViT-B/32 shape with random weights, made by <c>build/bench/torch_clip.py</c> (Debian's
/// python3-torch) as an OpenAI-named <c>.pt</c> plus torch.onnx exports of its two towers, and converted here by
/// <see cref="ClipModelConverter"/>; everything is cached in <c>data/bench-graph</c> (about 2 GB).
/// </remarks>
internal static class GraphBench
{
    /// <summary>A line of the table (the bench table's row shape).</summary>
    internal sealed record Line(string Quantity, string Ours, string Reference, string Ratio, string Note);

    /// <summary>The rows, in table order: name (for --rows), function.</summary>
    internal static readonly (string Name, Func<Context, IEnumerable<Line>> Measure)[] Rows =
    [
        ("nodes", OptimizedNodeCounts),
        ("text-prompt", TextPromptLength),
        ("zeroshot", ZeroShotWeights),
        ("text-batch", TextBatchSizes),
        ("image8", c => ImageTower(c, 8)),
        ("image32", c => ImageTower(c, 32)),
        ("batch", ImageBatchSizes),
        ("roofline", Roofline),
        ("int8-vit", Int8Rows.VitB32),
        ("int8-resnet18", Int8Rows.ResNet18),
        ("int8-minilm", Int8Rows.MiniLM),
        ("int8-trained", Int8Rows.Trained),
        ("int8-static-resnet18", Int8Rows.StaticResNet18),
        ("int8-static-trained", Int8Rows.StaticTrained),
    ];

    /// <summary>Settings and the cached models.</summary>
    internal sealed class Context
    {
        public int Rounds { get; init; } = 5;
        public double Seconds { get; init; } = 4;
        public int Classes { get; init; } = 8;

        /// <summary>The main job's evaluation sets (<c>eval/&lt;set&gt;/{train,test}.tsv</c>, <c>templates.txt</c>).</summary>
        public string EvalFolder { get; init; } = "";

        /// <summary>A trained model folder (the main job's <c>model-scratch/</c> or <c>model-lit/</c>) for the int8-trained row.</summary>
        public string? TrainedFolder { get; init; }

        /// <summary>The image graph of the batch row (default: ours; e.g. an older export, to compare).</summary>
        public string? BatchGraph { get; init; }
        public string CacheFolder { get; init; } = "";

        /// <summary>The random ViT-B/32: the .pt, its torch.onnx exports and our conversion (made once, cached).</summary>
        public string ModelFolder => _model ??= PrepareModel(this);
        private string? _model;

        /// <summary>Our export of <see cref="ModelFolder"/>'s checkpoint.</summary>
        public string OursFolder => Path.Combine(ModelFolder, "ours");

        /// <summary>The same folder with <c>text_sequence: fixed</c>: every text runs all 77 positions, as before the
        /// prompt-length-aware tower (same graph and weights, so the comparison isolates the cut).</summary>
        public string FixedFolder => _fixed ??= FixedCopy(this);
        private string? _fixed;

        public void Log(string message) => Console.WriteLine(message);
    }

    public static void Run(string[] args)
    {
        var (context, only) = Parse(args);
        context.Log($"graph-bench: {Environment.ProcessorCount} cores, {context.Rounds} rounds of >= {context.Seconds} s per side, load average {LoadAverage()}");
        var lines = new List<Line>();
        foreach (var (name, measure) in Rows)
        {
            if (only is not null && !only.Contains(name))
                continue;
            context.Log($"-- {name}");
            // A row that throws is reported as failed and the run goes on: the table of the other rows still prints, and
            // each row's lines print as soon as it ends, so a crash late in a long run loses nothing measured before it.
            List<Line> rowLines;
            try
            {
                rowLines = measure(context).ToList();
            }
            catch (Exception e)
            {
                context.Log($"  row {name} failed: {e}");
                rowLines = [new Line(name, "failed", "", "", $"{e.GetType().Name}: {e.Message}")];
                Environment.ExitCode = 1; // the table prints, but a script still sees the failure
            }
            foreach (var l in rowLines)
                context.Log($"  | {l.Quantity} | {l.Ours} | {l.Reference} | {l.Ratio} | {l.Note} |");
            lines.AddRange(rowLines);
        }
        Console.WriteLine();
        Console.WriteLine($"load average at the end: {LoadAverage()}; figures: median [min–max] over {context.Rounds} rounds; ratios are per round (alternating), then the median.");
        Console.WriteLine(Format(lines));
    }

    // ---- rows -------------------------------------------------------------------------------------------------------

    /// <summary>ONNX Runtime's optimised graphs (what a session runs): node counts of ours vs torch.onnx's, per tower.</summary>
    internal static IEnumerable<Line> OptimizedNodeCounts(Context c)
    {
        foreach (var tower in new[] { "image", "text" })
        {
            var ours = OptimizedGraph.OpCounts(Path.Combine(c.OursFolder, $"{tower}.onnx"));
            var torch = OptimizedGraph.OpCounts(Path.Combine(c.ModelFolder, $"torch.{tower}.onnx"));
            yield return new Line($"{tower} tower, ONNX Runtime's optimised graph", OptimizedGraph.Describe(ours), OptimizedGraph.Describe(torch) + " (torch.onnx)", "",
                $"Transpose {ours.GetValueOrDefault("Transpose")} vs {torch.GetValueOrDefault("Transpose")}");
        }
    }

    /// <summary>Texts/s through <see cref="ClipModel.EmbedTexts"/> on ImageNet prompts: rows cut to their text vs all 77 positions.</summary>
    internal static IEnumerable<Line> TextPromptLength(Context c)
    {
        using var dynamicModel = ClipModel.Load(c.OursFolder);
        using var fixedModel = ClipModel.Load(c.FixedFolder);
        var prompts = Prompts(256);
        var lengths = prompts.Select(p => ClipModel.UsedLength(dynamicModel.Tokenize([p]), 0)).ToArray();
        dynamicModel.EmbedTexts(prompts.Take(32).ToArray());
        fixedModel.EmbedTexts(prompts.Take(32).ToArray());
        var ab = AbResult.Run(c.Rounds, "77 tokens", () => Pass.Time(c.Seconds, () => fixedModel.EmbedTexts(prompts).Length),
            "cut to the text", () => Pass.Time(c.Seconds, () => dynamicModel.EmbedTexts(prompts).Length), c.Log);
        yield return new Line($"text tower, texts/s (batch {dynamicModel.BatchSize}, ImageNet prompts)", ab.RateB.Format(), ab.RateA.Format() + " (every row 77 tokens)", ab.Ratio.Format("F2") + " ×",
            Invariant($"prompt tokens: median {Summary.Of(lengths.Select(l => (double)l)).Median:F0}, max {lengths.Max()}; same graph and weights; CPU-time ratio {ab.CpuRatio.Format("F2")}"));
    }

    /// <summary>
    /// Texts/s of rows cut to their text: calls of 32 × 77 ids (many short prompts per call, the library's rule) vs calls
    /// of 32 rows, in alternating rounds.
    /// </summary>
    internal static IEnumerable<Line> TextBatchSizes(Context c)
    {
        var prompts = Prompts(1024);
        using var byIds = ClipModel.Load(c.OursFolder);
        using var byRows = ClipModel.Load(c.OursFolder);
        byRows.TextCallsByIds = false;
        byIds.EmbedTexts(prompts.Take(64).ToArray());
        byRows.EmbedTexts(prompts.Take(64).ToArray());
        var ab = AbResult.Run(c.Rounds, "32 rows a call", () => Pass.Time(c.Seconds, () => byRows.EmbedTexts(prompts).Length),
            "32 × 77 ids a call", () => Pass.Time(c.Seconds, () => byIds.EmbedTexts(prompts).Length), c.Log);
        yield return new Line("text tower (rows cut), texts/s, calls of 32 × 77 ids vs 32 rows", ab.RateB.Format(), ab.RateA.Format() + " (32 rows a call)", ab.Ratio.Format("F3") + " ×",
            $"CPU-time ratio {ab.CpuRatio.Format("F3")}; 1024 ImageNet prompts, batch 32");
    }

    /// <summary>Zero-shot class weights, 80 templates × <see cref="Context.Classes"/> classes spread over ImageNet's 1000: cut vs 77.</summary>
    internal static IEnumerable<Line> ZeroShotWeights(Context c)
    {
        using var dynamicModel = ClipModel.Load(c.OursFolder);
        using var fixedModel = ClipModel.Load(c.FixedFolder);
        var all = ClipPromptTemplates.ImageNetClasses;
        var classes = Enumerable.Range(0, c.Classes).Select(i => all[i * all.Count / c.Classes]).ToArray();
        float[]? fixedWeights = null, dynamicWeights = null;
        var ab = AbResult.Run(c.Rounds,
            "77 tokens", () => Pass.Time(0, () => { fixedWeights = ZeroShotClassifier.ComputeClassWeights(fixedModel, classes, ClipPromptTemplates.ImageNet80, null); return classes.Length; }),
            "cut to the text", () => Pass.Time(0, () => { dynamicWeights = ZeroShotClassifier.ComputeClassWeights(dynamicModel, classes, ClipPromptTemplates.ImageNet80, null); return classes.Length; }),
            c.Log);
        var maxAbs = fixedWeights!.Zip(dynamicWeights!, (a, b) => Math.Abs(a - b)).Max();
        double minutesFixed = 1000 / ab.RateA.Median / 60, minutesCut = 1000 / ab.RateB.Median / 60;
        yield return new Line($"zero-shot weights, 80 templates × {classes.Length} classes, classes/s", ab.RateB.Format("F2"), ab.RateA.Format("F2") + " (77 tokens)", ab.Ratio.Format("F2") + " ×",
            Invariant($"→ 1000 classes ≈ {minutesCut:F1} min vs {minutesFixed:F1} min; weights max abs diff {maxAbs:E1}; CPU-time ratio {ab.CpuRatio.Format("F2")}"));
    }

    /// <summary>Image tower images/s at <paramref name="batch"/>: our image.onnx vs torch.onnx's export of the same weights, raw sessions.</summary>
    internal static IEnumerable<Line> ImageTower(Context c, int batch)
    {
        var pixels = RandomPixels(batch, 224, 3);
        using var ours = new InferenceSession(Path.Combine(c.OursFolder, "image.onnx"));
        using var torch = new InferenceSession(Path.Combine(c.ModelFolder, "torch.image.onnx"));
        var oursPass = BatchPass(ours, pixels, batch, 224, out var oursOutput);
        var torchPass = BatchPass(torch, pixels, batch, 224, out var torchOutput);
        var maxAbs = oursOutput.Zip(torchOutput, (a, b) => Math.Abs(a - b)).Max();
        var ab = AbResult.Run(c.Rounds, "torch.onnx graph", () => Pass.Time(c.Seconds, torchPass), "our graph", () => Pass.Time(c.Seconds, oursPass), c.Log);
        yield return new Line($"image tower, images/s, batch {batch}", ab.RateB.Format(), ab.RateA.Format() + " (torch.onnx export, same weights and session options)", ab.Ratio.Format("F3") + " × torch",
            Invariant($"raw ORT sessions, default threads; outputs max abs diff {maxAbs:E1}; CPU-time ratio {ab.CpuRatio.Format("F3")}; roofline: images/s × {ImageGflopsExecuted:F2} GFLOP executed vs a GEMM's rate"));
    }

    /// <summary>Our image graph at batch 8, 16, 32 and 64, each against batch 8 in alternating rounds: the default's evidence.</summary>
    internal static IEnumerable<Line> ImageBatchSizes(Context c)
    {
        using var session = new InferenceSession(c.BatchGraph ?? Path.Combine(c.OursFolder, "image.onnx"));
        var basePass = BatchPass(session, RandomPixels(8, 224, 3), 8, 224, out _);
        foreach (var batch in new[] { 16, 32, 64 })
        {
            var pass = BatchPass(session, RandomPixels(batch, 224, 3), batch, 224, out _);
            var ab = AbResult.Run(c.Rounds, "batch 8", () => Pass.Time(c.Seconds, basePass), $"batch {batch}", () => Pass.Time(c.Seconds, pass), c.Log);
            yield return new Line($"image tower, images/s, batch {batch} vs 8", ab.RateB.Format(), ab.RateA.Format() + " (batch 8)", ab.Ratio.Format("F3") + " ×",
                $"{c.BatchGraph ?? "our graph"}, raw ORT session; CPU-time ratio {ab.CpuRatio.Format("F3")}");
        }
    }

    /// <summary>
    /// Our image graph's share of the GEMM roofline: each round times a 2048³ float MatMul through ONNX Runtime (the
    /// sustained GEMM rate; the issue's 312 GFLOP/s on a quiet machine) and the image tower at batch 8 and 32, back to back,
    /// and takes images/s × GFLOP executed per image / GEMM GFLOP/s — a per-round ratio, so a busy machine slows both sides alike.
    /// </summary>
    internal static IEnumerable<Line> Roofline(Context c)
    {
        const int n = 2048;
        var gemmPath = Path.Combine(c.CacheFolder, $"matmul{n}.onnx");
        if (!File.Exists(gemmPath))
        {
            var g = new Graphs.OnnxGraphBuilder("matmul");
            var a = g.Input("a", TensorProto.Types.DataType.Float, n, n);
            g.Output(g.MatMul(a, g.Floats("b", RandomMatrix(n, 1), n, n)), "c", TensorProto.Types.DataType.Float, n, n);
            CacheFiles.Write(gemmPath, Google.Protobuf.MessageExtensions.ToByteArray(g.Build("GEMM roofline probe", new Dictionary<string, string>())));
        }
        using var gemm = new InferenceSession(gemmPath);
        using var gemmInput = OrtValue.CreateTensorValueFromMemory(RandomMatrix(n, 2), [n, n]);
        double GemmPass() { using var r = gemm.Run(new RunOptions(), ["a"], [gemmInput], ["c"]); return 1; }
        GemmPass();
        using var image = new InferenceSession(Path.Combine(c.OursFolder, "image.onnx"));
        foreach (var batch in new[] { 8, 32 })
        {
            var pass = BatchPass(image, RandomPixels(batch, 224, 3), batch, 224, out _);
            var ab = AbResult.Run(c.Rounds, "GEMM 2048³", () => Pass.Time(c.Seconds, GemmPass), $"image batch {batch}", () => Pass.Time(c.Seconds, pass), c.Log);
            double gemmFlop = 2.0 * n * n * n / 1e9;
            var shares = ab.A.Zip(ab.B, (g, i) => i.PerSecond * ImageGflopsExecuted / (g.PerSecond * gemmFlop)).ToArray();
            yield return new Line($"image tower share of the GEMM roofline, batch {batch}", Invariant($"{Summary.Of(ab.B.Select(p => p.PerSecond)).Format()} images/s"),
                Invariant($"GEMM {Summary.Of(ab.A.Select(p => p.PerSecond * gemmFlop)).Format("F0")} GFLOP/s → roofline {Summary.Of(ab.A.Select(p => p.PerSecond * gemmFlop / ImageGflopsExecuted)).Format()} images/s"),
                Summary.Of(shares.Select(x => 100 * x)).Format("F0") + " %",
                Invariant($"per round: images/s × {ImageGflopsExecuted:F2} GFLOP executed (of {ImageGflops:F2}: the last block skips the patch tokens) / GEMM rate; ORT MatMul 2048³, default threads"));
        }
    }

    // ---- helpers ----------------------------------------------------------------------------------------------------

    /// <summary>GFLOP of one ViT-B/32 image (2 × multiply-adds: patch embedding, 12 blocks of 12·d² per token plus attention, projection).</summary>
    internal const double ImageGflops = 2 * (49.0 * 3072 * 768 + 12 * 50 * (12.0 * 768 * 768 + 2 * 50 * 768) + 768 * 512) / 1e9;

    /// <summary>
    /// GFLOP our image graph executes per image: <see cref="ImageGflops"/> less the last block's work for the 49 patch
    /// tokens, which it skips (their queries, output projection and MLP, 10·d², and their attention rows) — the roofline share
    /// counts the work done, not work saved.
    /// </summary>
    internal const double ImageGflopsExecuted = ImageGflops - 2 * 49 * (10.0 * 768 * 768 + 2 * 50 * 768) / 1e9;

    internal static Func<double> BatchPass(InferenceSession session, float[] pixels, int batch, int r, out float[] firstOutput)
    {
        var input = OrtValue.CreateTensorValueFromMemory(pixels, [batch, 3, r, r]);
        var inputName = session.InputMetadata.Keys.First();
        var outputName = session.OutputMetadata.Keys.First();
        using (var output = session.Run(new RunOptions(), [inputName], [input], [outputName]))
            firstOutput = output[0].GetTensorDataAsSpan<float>().ToArray();
        return () =>
        {
            using var output = session.Run(new RunOptions(), [inputName], [input], [outputName]);
            return batch;
        };
    }

    // An n × n matrix of values in [-2, 2). (RandomPixels(1, n / 2, …) holds 3n²/4 values, fewer than n²: the roofline
    // row's first version sliced it to n² and threw.)
    private static float[] RandomMatrix(int n, int seed)
    {
        var random = new Random(seed);
        var values = new float[n * n];
        for (int i = 0; i < values.Length; i++)
            values[i] = (float)(random.NextDouble() * 4 - 2);
        return values;
    }

    internal static float[] RandomPixels(int batch, int r, int seed)
    {
        var random = new Random(seed);
        var values = new float[batch * 3 * r * r];
        for (int i = 0; i < values.Length; i++)
            values[i] = (float)(random.NextDouble() * 4 - 2);
        return values;
    }

    private static string[] Prompts(int count)
    {
        var templates = ClipPromptTemplates.ImageNet80;
        var classes = ClipPromptTemplates.ImageNetClasses;
        return Enumerable.Range(0, count).Select(i => ClipPromptTemplates.Fill(templates[i % templates.Count], classes[i * 7 % classes.Count])).ToArray();
    }

    private static string PrepareModel(Context c)
    {
        var folder = Path.Combine(c.CacheFolder, "vit-b32");
        if (!File.Exists(Path.Combine(folder, "torch.text.onnx")))
        {
            c.Log($"  making the random ViT-B/32 (.pt + torch.onnx exports) in {folder} with build/bench/torch_clip.py (once; cached)");
            var script = Path.Combine(RepositoryRoot(), "build", "bench", "torch_clip.py");
            var start = new ProcessStartInfo("/usr/bin/python3", [script, "vit-b32", folder]) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var process = Process.Start(start)!;
            var stderr = process.StandardError.ReadToEndAsync();
            c.Log("  " + process.StandardOutput.ReadToEnd().Trim());
            process.WaitForExit();
            if (process.ExitCode != 0)
                throw new InvalidOperationException($"torch_clip.py failed ({process.ExitCode}): {stderr.Result}");
        }
        // Our export is redone whenever the exporter's assembly is another build (a cached graph of older code would be
        // timed as if it were the current one); the copies made from it (fixed text length, int8) go with it.
        var ours = Path.Combine(folder, "ours");
        var stamp = Path.Combine(folder, "ours.exporter-build");
        if (!File.Exists(Path.Combine(ours, ClipModelInfo.FileName)) || !CacheFiles.MadeByThisExporter(stamp))
        {
            c.Log($"  converting {folder}/model.pt with ClipModelConverter (this build of the exporter)");
            foreach (var stale in new[] { ours, Path.Combine(folder, "ours-fixed"), Path.Combine(folder, "ours-int8") })
                if (Directory.Exists(stale)) Directory.Delete(stale, recursive: true);
            ClipModelConverter.ConvertToOnnx(Path.Combine(folder, "model.pt"), ours);
            CacheFiles.Stamp(stamp);
        }
        return folder;
    }

    // The same folder (copies of the graphs) with text_sequence: fixed.
    private static string FixedCopy(Context c)
    {
        var folder = Path.Combine(c.ModelFolder, "ours-fixed");
        Directory.CreateDirectory(folder);
        foreach (var file in new[] { "image.onnx", "text.onnx" })
        {
            var target = Path.Combine(folder, file);
            if (!File.Exists(target))
                CacheFiles.Copy(Path.Combine(c.OursFolder, file), target);
        }
        var info = ClipModelInfo.Load(Path.Combine(c.OursFolder, ClipModelInfo.FileName));
        (info with { TextSequence = ClipModelInfo.FixedSequence }).Save(Path.Combine(folder, ClipModelInfo.FileName));
        return folder;
    }

    // The repository above the working directory (so a copy of the binaries can run from elsewhere), else above the binaries.
    internal static string RepositoryRoot()
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir != null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Microsoft.ML.Clip.sln")))
                    return dir.FullName;
        throw new InvalidOperationException("Cannot find the repository root (Microsoft.ML.Clip.sln) above the working directory or the benchmark's folder.");
    }

    internal static string LoadAverage()
        => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    private static string Format(List<Line> lines)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| quantity | ours | reference | ratio | note |");
        sb.AppendLine("| --- | --- | --- | --- | --- |");
        foreach (var l in lines)
            sb.AppendLine($"| {l.Quantity} | {l.Ours} | {l.Reference} | {l.Ratio} | {l.Note} |");
        return sb.ToString();
    }

    private static (Context, HashSet<string>?) Parse(string[] args)
    {
        int rounds = AbResult.MinRounds, classes = 8;
        double seconds = 4;
        HashSet<string>? only = null;
        string? eval = null, trained = null, batchGraph = null;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--rounds": rounds = Math.Max(AbResult.MinRounds, int.Parse(args[++i], CultureInfo.InvariantCulture)); break;
                case "--seconds": seconds = double.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--classes": classes = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--rows": only = [.. args[++i].Split(',')]; break;
                case "--eval": eval = args[++i]; break;
                case "--trained": trained = args[++i]; break;
                case "--batch-graph": batchGraph = args[++i]; break;
                default: throw new ArgumentException($"Unknown argument '{args[i]}' (see GraphBench's summary).");
            }
        }
        if (only?.FirstOrDefault(o => !Rows.Any(r => r.Name == o)) is { } unknown)
            throw new ArgumentException($"Unknown row '{unknown}'; rows: {string.Join(", ", Rows.Select(r => r.Name))}.");
        var cache = Environment.GetEnvironmentVariable("CLIP_BENCH_GRAPH_CACHE") is { Length: > 0 } env ? env : Path.Combine(RepositoryRoot(), "data", "bench-graph");
        eval ??= Path.Combine(RepositoryRoot(), "out", "main", "data", "eval");
        return (new Context { Rounds = rounds, Seconds = seconds, Classes = classes, CacheFolder = cache, EvalFolder = eval, TrainedFolder = trained, BatchGraph = batchGraph }, only);
    }

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}

/// <summary>ONNX Runtime's optimised form of a graph (<see cref="SessionOptions.OptimizedModelFilePath"/>), as node counts per operator.</summary>
internal static class OptimizedGraph
{
    /// <summary>Operator → node count of the graph ONNX Runtime's CPU session runs for <paramref name="path"/> (all optimisations).</summary>
    public static Dictionary<string, int> OpCounts(string path)
    {
        var optimized = Path.Combine(Path.GetTempPath(), $"optimized-{Guid.NewGuid():N}.onnx");
        try
        {
            using (var options = new SessionOptions { OptimizedModelFilePath = optimized })
            using (new InferenceSession(path, options)) { }
            var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(optimized));
            return model.Graph.Node.GroupBy(n => (n.Domain is "" or "ai.onnx" ? "" : n.Domain + ".") + n.OpType).ToDictionary(g => g.Key, g => g.Count());
        }
        finally
        {
            File.Delete(optimized);
        }
    }

    /// <summary>"N nodes (Op count, …)", most frequent first.</summary>
    public static string Describe(Dictionary<string, int> ops)
        => $"{ops.Values.Sum()} nodes (" + string.Join(", ", ops.OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key} {p.Value}")) + ")";
}
