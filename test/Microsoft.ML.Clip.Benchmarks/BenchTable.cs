using System.Globalization;
using System.Text;
using Google.Protobuf;
using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.Export;
using Microsoft.ML.Clip.Graphs;
using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.TorchSharp.Export;
using Microsoft.ML.Clip.TorchSharp.Modeling;
using Microsoft.ML.Clip.TorchSharp.Modules;
using Microsoft.ML.Clip.TorchSharp.Training;
using Microsoft.ML.Clip.ZeroShot;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using static Onnx.TensorProto.Types;

namespace Microsoft.ML.Clip.Benchmarks;

/// <summary>
/// The table of issue 14's "Why": every figure measured in one run, each comparison in alternating rounds (medians and
/// ranges). A row is a function of the shared <see cref="Context"/> returning its table lines, so a new measurement is one
/// more entry in <see cref="Rows"/>. Usage (<c>build/bench-table.sh</c>):
/// <c>bench-table [--quick] [--rounds N] [--seconds S] [--rows name,name] [--images DIR] [--preset base]</c>.
/// </summary>
internal static class BenchTable
{
    /// <summary>A line of the table.</summary>
    internal sealed record Line(string Quantity, string Ours, string Reference, string Ratio, string Note);

    /// <summary>The rows, in table order: name (for --rows), function.</summary>
    internal static readonly (string Name, Func<Context, IEnumerable<Line>> Measure)[] Rows =
    [
        ("gemm", GemmRoofline),
        ("text77", TextTower77),
        ("text-prompt", TextTowerPromptLength),
        ("zeroshot", ZeroShotWeights),
        ("image8", c => ImageTower(c, 8)),
        ("image32", c => ImageTower(c, 32)),
        ("image-int8", c => ImageTowerInt8(c, 8)),
        ("preprocess1", c => Preprocess(c, 1)),
        ("preprocessN", c => Preprocess(c, Environment.ProcessorCount)),
    ];

    /// <summary>What the rows share: settings, the model folder, the measured roofline.</summary>
    internal sealed class Context
    {
        public int Rounds { get; init; } = 5;
        public double Seconds { get; init; } = 4;
        public bool Quick { get; init; }
        public string Preset { get; init; } = "base";
        public string? ImagesFolder { get; init; }
        public string CacheFolder { get; init; } = "";
        public ClipConfig Config => ClipModelPresets.Get(Preset);

        /// <summary>Sustained fp32 GEMM rate in GFLOP/s (set by the gemm row; null until then).</summary>
        public double? RooflineGflops { get; set; }

        public string? PythonProblem { get; set; }

        private string? _modelFolder;

        /// <summary>The preset with random weights, exported like <c>clip convert</c> does (cached between runs).</summary>
        public string ModelFolder => _modelFolder ??= ExportModel(this);

        public void Log(string message) => Console.WriteLine(message);
    }

    public static void Run(string[] args)
    {
        var options = Parse(args);
        var context = options.Context;
        Directory.CreateDirectory(context.CacheFolder);
        context.PythonProblem = PythonAnchor.Unavailable("numpy", "PIL", "torch", "torchvision");
        context.Log($"bench-table: {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture}, AVX-512 {PythonAnchor.CpuHasAvx512()}, " +
            $"{context.Rounds} rounds of >= {context.Seconds} s per side, preset {context.Preset}, load average {PreprocessThroughput.LoadAverage()}" +
            (context.PythonProblem is null ? (PythonAnchor.HasOpenBlas ? ", Python anchors with OpenBLAS" : ", Python anchors WITHOUT OpenBLAS (slow reference BLAS: anchors unfair)") : $", no Python anchors: {context.PythonProblem}"));
        var lines = new List<Line>();
        foreach (var (name, measure) in Rows)
        {
            if (options.Only is { } only && !only.Contains(name))
                continue;
            context.Log($"-- {name}");
            try
            {
                lines.AddRange(measure(context));
            }
            catch (Exception e) when (e is InvalidOperationException or IOException or OnnxRuntimeException)
            {
                lines.Add(new Line(name, "failed", "", "", e.Message.Split('\n')[0]));
                context.Log($"  {name} failed: {e}");
            }
        }
        Console.WriteLine();
        Console.WriteLine($"load average at the end: {PreprocessThroughput.LoadAverage()}; figures: median [min–max] over {context.Rounds} rounds; ratios are per-round (alternating), then the median.");
        Console.WriteLine(Format(lines));
    }

    // ---- rows -------------------------------------------------------------------------------------------------------

    /// <summary>Sustained fp32 GEMM: a 2048³ MatMul through ONNX Runtime (all cores) and through numpy + OpenBLAS.</summary>
    private static IEnumerable<Line> GemmRoofline(Context c)
    {
        const int n = 2048;
        double flop = 2.0 * n * n * n;
        var path = Path.Combine(c.CacheFolder, $"matmul{n}.onnx");
        if (!File.Exists(path))
            CacheFiles.Write(path, MatMulModel(n).ToByteArray());
        using var session = new InferenceSession(path);
        var a = new float[n * n];
        Fill(a, 1);
        using var input = OrtValue.CreateTensorValueFromMemory(a, [n, n]);
        double Once()
        {
            using var output = session.Run(new RunOptions(), ["a"], [input], ["c"]);
            return 1;
        }
        Once();
        string Gflops(Summary rate) => Invariant($"{rate.Median * flop / 1e9:F0} [{rate.Min * flop / 1e9:F0}–{rate.Max * flop / 1e9:F0}]");
        Summary ort;
        string reference = "n/a (" + c.PythonProblem + ")", ratio = "";
        double best;
        if (c.PythonProblem is null)
        {
            using var numpy = PythonAnchor.Start("gemm", Environment.ProcessorCount, n.ToString(CultureInfo.InvariantCulture), Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture));
            var ab = AbResult.Run(c.Rounds, "numpy products", () => numpy.Run(c.Seconds), "ORT MatMul products", () => Pass.Time(c.Seconds, Once), c.Log);
            ort = ab.RateB;
            best = Math.Max(ab.RateA.Median, ab.RateB.Median) * flop / 1e9;
            reference = Gflops(ab.RateA) + " (numpy + OpenBLAS)";
            ratio = ab.Ratio.Format("F2") + " × numpy";
        }
        else
        {
            ort = AbResult.Repeat(c.Rounds, () => Pass.Time(c.Seconds, Once), out _, c.Log, "ORT MatMul products");
            best = ort.Median * flop / 1e9;
        }
        c.RooflineGflops = best;
        yield return new Line($"sustained fp32 GEMM {n}³, GFLOP/s", Gflops(ort) + " (ORT MatMul)", reference, ratio,
            Invariant($"roofline = the better median: {best:F0} GFLOP/s → {c.Config.Name()} image tower ≤ {best * 1e9 / ImageFlops(c.Config):F1} images/s ({ImageFlops(c.Config) / 1e9:F2} GFLOP/image), text tower ≤ {best * 1e9 / TextFlops(c.Config, c.Config.ContextLength):F1} texts/s at {c.Config.ContextLength} tokens ({TextFlops(c.Config, c.Config.ContextLength) / 1e9:F2} GFLOP/text)"));
    }

    /// <summary>
    /// Text tower texts/s through <see cref="ClipModel.EmbedTexts"/> on ImageNet prompts, every row all 77 positions: the
    /// same graph loaded as <c>text_sequence: fixed</c> (<see cref="FixedLengthCopy"/>), as folders exported before the
    /// prompt-length-aware text tower run.
    /// </summary>
    private static IEnumerable<Line> TextTower77(Context c)
    {
        using var model = ClipModel.Load(FixedLengthCopy(c));
        var prompts = Prompts(64);
        model.EmbedTexts(prompts.Take(8).ToArray());
        var rate = AbResult.Repeat(c.Rounds, () => Pass.Time(c.Seconds, () => model.EmbedTexts(prompts).Length), out _, c.Log, "texts");
        yield return new Line($"text tower, texts/s at {c.Config.ContextLength} tokens (batch {model.BatchSize})", rate.Format(), RooflineText(c, c.Config.ContextLength), PercentOfRoofline(c, rate.Median, TextFlops(c.Config, c.Config.ContextLength)), "ImageNet prompts; every row runs all 77 positions (text_sequence: fixed)");
    }

    /// <summary>
    /// Text tower texts/s with rows cut to their text (<c>text_sequence: dynamic</c>, grouped by length) vs every row at 77
    /// tokens: the same graph and weights, alternating rounds.
    /// </summary>
    private static IEnumerable<Line> TextTowerPromptLength(Context c)
    {
        using var cut = ClipModel.Load(c.ModelFolder);
        using var full = ClipModel.Load(FixedLengthCopy(c));
        var prompts = Prompts(256);
        var lengths = prompts.Select(p => (double)ClipModel.UsedLength(cut.Tokenize([p]), 0)).ToArray();
        cut.EmbedTexts(prompts.Take(32).ToArray());
        full.EmbedTexts(prompts.Take(32).ToArray());
        var ab = AbResult.Run(c.Rounds, "77 tokens", () => Pass.Time(c.Seconds, () => full.EmbedTexts(prompts).Length),
            "cut to the text", () => Pass.Time(c.Seconds, () => cut.EmbedTexts(prompts).Length), c.Log);
        var tokens = Summary.Of(lengths);
        yield return new Line($"text tower at prompt length, texts/s (batch {cut.BatchSize} × {c.Config.ContextLength} ids)", ab.RateB.Format(),
            ab.RateA.Format() + $" (every row {c.Config.ContextLength} tokens)", ab.Ratio.Format("F2") + " ×",
            Invariant($"ImageNet prompts, median {tokens.Median:F0} tokens (max {tokens.Max:F0}); same graph and weights") +
            (PercentOfRoofline(c, ab.RateB.Median, TextFlops(c.Config, (int)Math.Round(tokens.Median))) is { Length: > 0 } share ? $"; {share} at the median length" : ""));
    }

    /// <summary>Image tower images/s: the model's image.onnx after <see cref="DynamicInt8Quantization"/> (<c>clip convert --int8</c>) vs the fp32 one.</summary>
    private static IEnumerable<Line> ImageTowerInt8(Context c, int batch)
    {
        int r = c.Config.ImageResolution;
        var fp32Path = Path.Combine(c.ModelFolder, "image.onnx");
        var int8Path = Path.Combine(c.ModelFolder, "image.int8.onnx");
        if (!File.Exists(int8Path))
        {
            var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(fp32Path));
            DynamicInt8Quantization.Apply(model);
            CacheFiles.Write(int8Path, model.ToByteArray());
        }
        var pixels = new float[batch * 3 * r * r];
        Fill(pixels, 3);
        using var fp32 = new InferenceSession(fp32Path);
        using var int8 = new InferenceSession(int8Path);
        var fp32Pass = BatchPass(fp32, pixels, batch, r);
        var int8Pass = BatchPass(int8, pixels, batch, r);
        var cosines = RowCosines(Outputs(fp32, pixels, batch, r), Outputs(int8, pixels, batch, r), batch);
        var ab = AbResult.Run(c.Rounds, "fp32", () => Pass.Time(c.Seconds, fp32Pass), "int8", () => Pass.Time(c.Seconds, int8Pass), c.Log);
        yield return new Line($"image tower int8 vs fp32, images/s, batch {batch}", ab.RateB.Format(), ab.RateA.Format() + " (fp32, same graph)", ab.Ratio.Format("F2") + " × fp32",
            Invariant($"cosine to fp32 min {cosines.Min():F4} on random pixels and random weights (real-weight quality: build/bench-graph.sh int8-* rows); raw ORT sessions"));
    }

    // The model folder again (copies of the graphs) with text_sequence: fixed, so every row runs the full context.
    private static string FixedLengthCopy(Context c)
    {
        var folder = c.ModelFolder + "-fixed";
        if (File.Exists(Path.Combine(folder, ClipModelInfo.FileName)))
            return folder;
        Directory.CreateDirectory(folder);
        foreach (var file in new[] { "image.onnx", "text.onnx" })
            File.Copy(Path.Combine(c.ModelFolder, file), Path.Combine(folder, file), overwrite: true);
        var info = ClipModelInfo.Load(Path.Combine(c.ModelFolder, ClipModelInfo.FileName));
        (info with { TextSequence = ClipModelInfo.FixedSequence }).Save(Path.Combine(folder, ClipModelInfo.FileName));
        return folder;
    }

    private static float[] Outputs(InferenceSession session, float[] pixels, int batch, int r)
    {
        using var input = OrtValue.CreateTensorValueFromMemory(pixels, [batch, 3, r, r]);
        using var output = session.Run(new RunOptions(), [session.InputMetadata.Keys.First()], [input], [session.OutputMetadata.Keys.First()]);
        return output[0].GetTensorDataAsSpan<float>().ToArray();
    }

    private static double[] RowCosines(float[] a, float[] b, int rows)
    {
        int d = a.Length / rows;
        return Enumerable.Range(0, rows).Select(i =>
        {
            double dot = 0, na = 0, nb = 0;
            for (int j = i * d; j < (i + 1) * d; j++) { dot += a[j] * b[j]; na += a[j] * a[j]; nb += b[j] * b[j]; }
            return dot / Math.Sqrt(na * nb);
        }).ToArray();
    }

    /// <summary>Zero-shot class weights: 80 templates x C classes, timed and extrapolated to 1000 classes.</summary>
    private static IEnumerable<Line> ZeroShotWeights(Context c)
    {
        int classes = c.Quick ? 1 : 4;
        using var model = ClipModel.Load(c.ModelFolder);
        var names = ClipPromptTemplates.ImageNetClasses.Take(classes).ToArray();
        var time = AbResult.Repeat(c.Rounds, () => Pass.Time(0, () => { _ = new ZeroShotClassifier(model, names); return 1; }), out var passes, c.Log, "weight sets");
        var seconds = Summary.Of(passes.Select(p => p.Seconds));
        yield return new Line($"zero-shot weights, 80 templates × {classes} classes, s", seconds.Format("F1"), "", "",
            Invariant($"→ 80 × 1000 classes ≈ {seconds.Median * 1000 / classes / 60:F0} min ({80 * classes / seconds.Median:F1} prompts/s)"));
    }

    /// <summary>Image tower images/s at one batch size: our image.onnx vs the torch.onnx export of the same architecture.</summary>
    private static IEnumerable<Line> ImageTower(Context c, int batch)
    {
        var config = c.Config;
        int r = config.ImageResolution;
        var pixels = new float[batch * 3 * r * r];
        Fill(pixels, 3);
        using var ours = new InferenceSession(Path.Combine(c.ModelFolder, "image.onnx"));
        var oursPass = BatchPass(ours, pixels, batch, r);
        oursPass();
        string? torchPath = TorchExport(c);
        if (torchPath is null)
        {
            var alone = AbResult.Repeat(c.Rounds, () => Pass.Time(c.Seconds, oursPass), out _, c.Log, "images (ours)");
            yield return new Line($"image tower, images/s, batch {batch}", alone.Format(), "n/a (no torch.onnx export: " + (c.PythonProblem ?? "export failed") + ")", PercentOfRoofline(c, alone.Median, ImageFlops(config)), "ORT raw session, all cores");
            yield break;
        }
        using var torch = new InferenceSession(torchPath);
        var torchPass = BatchPass(torch, pixels, batch, r);
        torchPass();
        var ab = AbResult.Run(c.Rounds, "torch.onnx graph", () => Pass.Time(c.Seconds, torchPass), "our graph", () => Pass.Time(c.Seconds, oursPass), c.Log);
        yield return new Line($"image tower, images/s, batch {batch}", ab.RateB.Format(), ab.RateA.Format() + " (torch.onnx export, same ORT)", ab.Ratio.Format("F3") + " × torch; " + PercentOfRoofline(c, ab.RateB.Median, ImageFlops(config)) + " (torch " + PercentOfRoofline(c, ab.RateA.Median, ImageFlops(config)) + ")", "raw ORT sessions, all cores, random weights");
    }

    /// <summary>Preprocessing 640x480 JPEGs to the model's tensor: ours vs Pillow + torchvision.</summary>
    private static IEnumerable<Line> Preprocess(Context c, int threads)
    {
        if (c.PythonProblem is not null)
        {
            yield return new Line($"preprocessing, images/s, {threads} thread(s)", "", "n/a", "", c.PythonProblem);
            yield break;
        }
        var folder = c.ImagesFolder ?? PreprocessThroughput.WriteJpegs(c.Quick ? 16 : 48);
        var ab = PreprocessThroughput.Compare(folder, c.Config.ImageResolution, threads, c.Rounds, c.Seconds, log: c.Log);
        yield return new Line($"preprocessing JPEG → tensor, images/s, {threads} thread(s)", ab.RateB.Format(), ab.RateA.Format() + " (Pillow 9.4 + torchvision)", ab.Ratio.Format("F2") + " ×",
            Invariant($"CPU ms/image {Summary.Of(ab.B.Select(p => p.CpuMsPerItem)).Median:F2} vs {Summary.Of(ab.A.Select(p => p.CpuMsPerItem)).Median:F2}; exact (bit-identical) path; {(c.ImagesFolder is null ? "synthetic 640x480 q90 4:2:0" : c.ImagesFolder)}"));
    }

    // ---- helpers ----------------------------------------------------------------------------------------------------

    /// <summary>Multiply-adds x 2 of the image tower (ViT): patch embedding, per layer 12 d² per token plus attention, projection.</summary>
    internal static double ImageFlops(ClipConfig config)
    {
        int p = config.VisionPatchSize ?? throw new InvalidOperationException("The roofline's FLOP count is written for ViT image towers.");
        double d = config.VisionWidth, patches = Math.Pow(config.ImageResolution / p, 2), tokens = patches + 1;
        double layers = config.VisionLayers.Sum();
        double macs = patches * 3 * p * p * d + layers * tokens * (12 * d * d + 2 * tokens * d) + d * config.EmbedDim;
        return 2 * macs;
    }

    /// <summary>Multiply-adds x 2 of the text tower over <paramref name="tokens"/> positions.</summary>
    internal static double TextFlops(ClipConfig config, int tokens)
    {
        double w = config.TransformerWidth;
        return 2 * (config.TransformerLayers * tokens * (12 * w * w + 2.0 * tokens * w) + w * config.EmbedDim);
    }

    private static string RooflineText(Context c, int tokens)
        => c.RooflineGflops is double g ? Invariant($"roofline {g * 1e9 / TextFlops(c.Config, tokens):F1}") : "roofline n/a (gemm row not run)";

    private static string PercentOfRoofline(Context c, double rate, double flopsPerItem)
        => c.RooflineGflops is double g ? Invariant($"{100 * rate * flopsPerItem / (g * 1e9):F0}% of roofline") : "";

    private static Func<double> BatchPass(InferenceSession session, float[] pixels, int batch, int r)
    {
        var input = OrtValue.CreateTensorValueFromMemory(pixels, [batch, 3, r, r]);
        var inputName = session.InputMetadata.Keys.First();
        var outputName = session.OutputMetadata.Keys.First();
        return () =>
        {
            using var output = session.Run(new RunOptions(), [inputName], [input], [outputName]);
            return batch;
        };
    }

    private static string[] Prompts(int count)
    {
        var templates = ClipPromptTemplates.ImageNet80;
        var classes = ClipPromptTemplates.ImageNetClasses;
        return Enumerable.Range(0, count).Select(i => ClipPromptTemplates.Fill(templates[i % templates.Count], classes[i * 7 % classes.Count])).ToArray();
    }

    private static ModelProto MatMulModel(int n)
    {
        var b = new float[n * n];
        Fill(b, 2);
        var builder = new OnnxGraphBuilder("matmul");
        var a = builder.Input("a", DataType.Float, n, n);
        var product = builder.MatMul(a, builder.Floats("b", b, n, n));
        builder.Output(product, "c", DataType.Float, n, n);
        return builder.Build("GEMM roofline probe", new Dictionary<string, string>());
    }

    private static string ExportModel(Context c)
    {
        // Re-exported whenever the exporter is another build (its stamp beside the folder).
        var folder = Path.Combine(c.CacheFolder, $"{c.Preset}-random-g2");
        var stamp = folder + ".exporter-build";
        if (File.Exists(Path.Combine(folder, "clip_model.json")) && CacheFiles.MadeByThisExporter(stamp))
            return folder;
        // Made by older code, or never: the folder (and the int8 and fixed-length copies made from it) is made again.
        foreach (var stale in new[] { folder, folder + "-fixed" })
            if (Directory.Exists(stale)) Directory.Delete(stale, recursive: true);
        c.Log($"  exporting a random {c.Preset} model to {folder} (once; cached)");
        var staging = folder + ".partial";
        if (Directory.Exists(staging))
            Directory.Delete(staging, recursive: true);
        global::TorchSharp.torch.random.manual_seed(1);
        using (var model = new ClipTorchModel(c.Config))
            TorchOnnxExport.Export(model, staging, $"random {c.Preset}");
        if (Directory.Exists(folder))
            Directory.Delete(folder, recursive: true);
        Directory.Move(staging, folder);
        CacheFiles.Stamp(stamp);
        return folder;
    }

    /// <summary>The torch.onnx export of a ViT image tower of the preset's shape (anchors.py export-vit), cached; null when unavailable.</summary>
    private static string? TorchExport(Context c)
    {
        if (c.PythonProblem is not null)
            return null;
        var path = Path.Combine(c.CacheFolder, $"{c.Preset}-torch-image.onnx");
        if (File.Exists(path))
            return path;
        c.Log($"  exporting the {c.Preset} image tower with torch.onnx to {path} (once; cached)");
        try
        {
            c.Log("  " + PythonAnchor.RunOnce("export-vit", Environment.ProcessorCount, c.Preset, path + ".partial"));
            File.Move(path + ".partial", path, overwrite: true);
            return path;
        }
        catch (InvalidOperationException e)
        {
            c.Log($"  torch.onnx export failed: {e.Message}");
            return null;
        }
    }

    private static string Format(List<Line> lines)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| quantity | ours | reference | ratio | note |");
        sb.AppendLine("| --- | --- | --- | --- | --- |");
        foreach (var l in lines)
            sb.AppendLine($"| {l.Quantity} | {l.Ours} | {l.Reference} | {l.Ratio} | {l.Note} |");
        return sb.ToString();
    }

    private static (Context Context, HashSet<string>? Only) Parse(string[] args)
    {
        bool quick = false;
        int? rounds = null;
        double? seconds = null;
        string? images = null, preset = null;
        HashSet<string>? only = null;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--quick": quick = true; break;
                case "--rounds": rounds = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--seconds": seconds = double.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--rows": only = [.. args[++i].Split(',')]; break;
                case "--images": images = args[++i]; break;
                case "--preset": preset = args[++i]; break;
                default: throw new ArgumentException($"Unknown argument '{args[i]}' (see BenchTable's summary).");
            }
        }
        if (only != null && only.FirstOrDefault(o => !Rows.Any(r => r.Name == o)) is { } unknown)
            throw new ArgumentException($"Unknown row '{unknown}'; rows: {string.Join(", ", Rows.Select(r => r.Name))}.");
        int n = Math.Max(rounds ?? AbResult.MinRounds, AbResult.MinRounds);
        var cache = Environment.GetEnvironmentVariable("CLIP_BENCH_CACHE") is { Length: > 0 } env
            ? env : Path.Combine(PythonAnchor.RepositoryRoot(), "data", "bench");
        return (new Context
        {
            Quick = quick,
            Rounds = n,
            Seconds = seconds ?? (quick ? 1.5 : 4),
            ImagesFolder = images,
            Preset = preset ?? "base",
            CacheFolder = cache,
        }, only);
    }

    private static void Fill(float[] values, int seed)
    {
        var random = new Random(seed);
        for (int i = 0; i < values.Length; i++)
            values[i] = (float)(random.NextDouble() * 2 - 1);
    }

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    private static string Name(this ClipConfig config) => config.VisionPatchSize is int p ? $"ViT (patch {p}, width {config.VisionWidth})" : "ResNet";
}
