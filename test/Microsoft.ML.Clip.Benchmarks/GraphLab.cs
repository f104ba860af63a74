using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace Microsoft.ML.Clip.Benchmarks;

/// <summary>Scratch tools for graph work: optimised-graph op counts and A/B timing of two ONNX files.</summary>
internal static class GraphLab
{
    public static void Run(string[] args)
    {
        switch (args[0])
        {
            case "dump":
            {
                var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(args[1]));
                Console.WriteLine($"opset {string.Join(",", model.OpsetImport.Select(o => o.Domain + ":" + o.Version))}; inputs {string.Join(",", model.Graph.Input.Select(i => i.Name))}; outputs {string.Join(",", model.Graph.Output.Select(i => i.Name))}");
                var inits = model.Graph.Initializer.ToDictionary(t => t.Name, t => string.Join("x", t.Dims));
                foreach (var n in model.Graph.Node)
                    Console.WriteLine($"{n.OpType} [{string.Join(", ", n.Input.Select(i => inits.TryGetValue(i, out var d) ? "@" + d : i))}] -> [{string.Join(", ", n.Output)}] {string.Join(" ", n.Attribute.Select(a => a.Name))}");
                break;
            }
            case "qdq":
                Int8ConvLab.Run(args[1..]);
                break;
            case "ops":
                foreach (var path in args.Skip(1))
                    Console.WriteLine($"{path}: {Format(OptimizedOps(path, 2))}");
                break;
            case "int8":
            {
                var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(args[1]));
                var n = Microsoft.ML.Clip.Export.DynamicInt8Quantization.Apply(model, new Microsoft.ML.Clip.Export.Int8QuantizationOptions { Convolutions = args.Length > 3 && args[3] == "conv" });
                CacheFiles.Write(args[2], Google.Protobuf.MessageExtensions.ToByteArray(model));
                Console.WriteLine($"quantized {n} layers -> {args[2]}");
                Console.WriteLine(Format(OptimizedOps(args[2], 2)));
                break;
            }
            case "resnet18":
            {
                using var encoder = Microsoft.ML.Clip.Models.FrozenImageEncoder.ResNet18(args.Length > 2 ? args[2] : null);
                CacheFiles.Write(args[1], encoder.GraphBytes);
                Console.WriteLine($"wrote {args[1]}");
                break;
            }
            case "resources":
            {
                var asm = System.Reflection.Assembly.LoadFrom(args[1]);
                foreach (var r in asm.GetManifestResourceNames()) Console.WriteLine($"resource {r} {asm.GetManifestResourceStream(r)!.Length}");
                if (args.Length > 3) { using var f = File.Create(args[3]); asm.GetManifestResourceStream(args[2])!.CopyTo(f); }
                break;
            }
            case "profile":
                Profile(args[1], int.Parse(args[2], CultureInfo.InvariantCulture), int.Parse(args[3], CultureInfo.InvariantCulture), int.Parse(args[4], CultureInfo.InvariantCulture));
                break;
            case "ab":
                Ab(args[1], args[2], int.Parse(args[3], CultureInfo.InvariantCulture), int.Parse(args[4], CultureInfo.InvariantCulture),
                    double.Parse(args[5], CultureInfo.InvariantCulture), int.Parse(args[6], CultureInfo.InvariantCulture));
                break;
        }
    }

    public static Dictionary<string, int> OptimizedOps(string path, int threads)
    {
        var optimized = Path.Combine(Path.GetTempPath(), $"opt-{Guid.NewGuid():N}.onnx");
        ModelProto model;
        try
        {
            using (var options = new SessionOptions { IntraOpNumThreads = threads, OptimizedModelFilePath = optimized })
            using (new InferenceSession(path, options)) { }
            model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(optimized));
        }
        finally
        {
            File.Delete(optimized);
        }
        return model.Graph.Node.GroupBy(n => (n.Domain is "" or "ai.onnx" ? "" : n.Domain + ".") + n.OpType).ToDictionary(g => g.Key, g => g.Count());
    }

    public static string Format(Dictionary<string, int> ops)
        => $"{ops.Values.Sum()} nodes: " + string.Join(", ", ops.OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key} {p.Value}"));

    private static void Ab(string a, string b, int batch, int rounds, double seconds, int threads)
    {
        using var oa = new SessionOptions { IntraOpNumThreads = threads };
        using var sa = new InferenceSession(a, oa);
        using var sb = new InferenceSession(b, oa);
        var input = Input(sa, batch);
        var ya = Once(sa, input);
        var yb = Once(sb, input);
        var maxAbs = ya.Zip(yb, (x, y) => Math.Abs(x - y)).Max();
        int d = ya.Length / batch;
        var cos = Enumerable.Range(0, batch).Select(r => Cosine(ya.AsSpan(r * d, d), yb.AsSpan(r * d, d))).ToArray();
        Console.WriteLine($"max abs diff of outputs: {maxAbs:E3}; cosine per row min {cos.Min():F5} mean {cos.Average():F5}");
        var ra = new List<double>();
        var rb = new List<double>();
        for (int round = 0; round < rounds; round++)
        {
            if (round % 2 == 0) { ra.Add(Rate(sa, input, batch, seconds)); rb.Add(Rate(sb, input, batch, seconds)); }
            else { rb.Add(Rate(sb, input, batch, seconds)); ra.Add(Rate(sa, input, batch, seconds)); }
            Console.WriteLine($"  round {round + 1}: A {ra[^1]:F2}/s B {rb[^1]:F2}/s ratio B/A {rb[^1] / ra[^1]:F3}  load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
        }
        var ratios = ra.Zip(rb, (x, y) => y / x).Order().ToArray();
        Console.WriteLine($"A median {Median(ra):F2}, B median {Median(rb):F2}, ratio B/A median {Median(ratios):F3} [{ratios[0]:F3}-{ratios[^1]:F3}]");
    }

    private static void Profile(string path, int batch, int runs, int threads)
    {
        string prefix = Path.Combine(Path.GetTempPath(), "ortprof-" + Guid.NewGuid().ToString("N"));
        using var options = new SessionOptions { IntraOpNumThreads = threads, EnableProfiling = true, ProfileOutputPathPrefix = prefix };
        using var s = new InferenceSession(path, options);
        var input = Input(s, batch);
        Once(s, input);
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < runs; i++) Once(s, input);
        var wall = clock.Elapsed.TotalMilliseconds;
        var file = s.EndProfiling();
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(file));
        var byOp = new Dictionary<string, (double Us, int Count)>();
        foreach (var e in doc.RootElement.EnumerateArray())
        {
            if (!e.TryGetProperty("cat", out var cat) || cat.GetString() != "Node") continue;
            if (!e.GetProperty("name").GetString()!.EndsWith("_kernel_time", StringComparison.Ordinal)) continue;
            var op = e.GetProperty("args").GetProperty("op_name").GetString()!;
            var dur = e.GetProperty("dur").GetDouble();
            byOp[op] = byOp.TryGetValue(op, out var v) ? (v.Us + dur, v.Count + 1) : (dur, 1);
        }
        File.Delete(file);
        double total = byOp.Values.Sum(v => v.Us);
        Console.WriteLine($"{path} batch {batch}: {runs} runs (after the first) in {wall:F0} ms = {runs * batch / wall * 1000:F2}/s; kernel time {total / 1000:F0} ms");
        foreach (var (op, v) in byOp.OrderByDescending(p => p.Value.Us))
            Console.WriteLine($"  {op,-28} {v.Us / 1000 / runs,9:F2} ms/run  {100 * v.Us / total,5:F1}%  ({v.Count / (runs + 1)} nodes)");
    }

    private static double Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Length; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
        return dot / Math.Sqrt(na * nb);
    }

    private static double Median(IEnumerable<double> v)
    {
        var s = v.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }

    private static OrtValue Input(InferenceSession s, int batch)
    {
        var meta = s.InputMetadata.First();
        var dims = meta.Value.Dimensions.Select((d, i) => i == 0 ? batch : d < 0 ? 16 : d).ToArray();
        var count = dims.Aggregate(1L, (x, y) => x * y);
        var random = new Random(1);
        if (meta.Value.ElementDataType == Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Int64)
        {
            var ids = new long[count];
            int len = dims[1];
            for (int r = 0; r < batch; r++)
            {
                int end = 4 + random.Next(Math.Max(1, len - 5));
                ids[r * len] = 49406;
                for (int j = 1; j < end; j++) ids[r * len + j] = random.Next(1, 49000);
                ids[r * len + end] = 49407;
            }
            return OrtValue.CreateTensorValueFromMemory(ids, dims.Select(d => (long)d).ToArray());
        }
        var x = new float[count];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(random.NextDouble() * 2 - 1);
        return OrtValue.CreateTensorValueFromMemory(x, dims.Select(d => (long)d).ToArray());
    }

    private static float[] Once(InferenceSession s, OrtValue input)
    {
        using var r = s.Run(new RunOptions(), [s.InputMetadata.Keys.First()], [input], [s.OutputMetadata.Keys.First()]);
        return r[0].GetTensorDataAsSpan<float>().ToArray();
    }

    private static double Rate(InferenceSession s, OrtValue input, int batch, double seconds)
    {
        var clock = Stopwatch.StartNew();
        int items = 0;
        do { Once(s, input); items += batch; } while (clock.Elapsed.TotalSeconds < seconds);
        return items / clock.Elapsed.TotalSeconds;
    }
}
