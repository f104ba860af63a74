using System.Text;
using System.Text.Json;
using ClipCli.Evaluation;
using Microsoft.ML;
using Microsoft.ML.Clip.Evaluation;
using Microsoft.ML.Clip.IO;
using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.ZeroShot;

namespace ClipCli.Commands;

/// <summary>
/// <c>clip compare</c>: the CLIP paper's comparison on each data set — zero-shot CLIP, a linear probe on CLIP
/// features, a linear probe on ResNet-18 features (with <c>--resnet18</c>) and the few-shot curve; writes <c>report.md</c>,
/// <c>results.json</c> and one PNG per set. Every data set is read and checked (its files, and that every test label is a
/// class of its training rows) before the model is loaded; the report is
/// rewritten (whole) after each finished set, so a set that fails later leaves the results of the finished ones.
/// </summary>
internal static class CompareCommand
{
    public static Command Create()
    {
        var model = InferenceCommandSupport.ModelOption();
        var data = new Option<string[]>("--data")
        {
            Description = "A data set (repeatable): a folder with train.tsv and test.tsv, a folder of class sub-folders, or 'train.tsv,test.tsv'.",
            Required = true,
            AllowMultipleArgumentsPerToken = false,
        };
        var output = new Option<string>("--out", "-o") { Description = "Folder for report.md and the plots.", DefaultValueFactory = _ => "clip-compare" };
        var shots = new Option<string>("--shots") { Description = "Comma-separated k (examples per class) of the few-shot curve.", DefaultValueFactory = _ => "1,2,4,8,16" };
        var seeds = new Option<int>("--seeds") { Description = "Few-shot draws per k.", DefaultValueFactory = _ => ClipFewShotOptions.Defaults.Seeds };
        var fewShotL2 = new Option<float>("--few-shot-l2") { Description = "Fixed λ of the few-shot probes (too few rows to sweep).", DefaultValueFactory = _ => ClipFewShotOptions.Defaults.L2Regularization };
        var resnet = new Option<bool>("--resnet18") { Description = "Also probe ResNet-18 (supervised ImageNet) features, the paper's baseline (off unless given)." };
        var resnetModels = new Option<string?>("--resnet18-models") { Description = "Folder with ResNetPrepOnnx/ and ResNet18Onnx/ (default: DnnImageModels beside the tool, else the restored NuGet package: `clip restore-models`)." };
        var templates = new Option<string>("--templates") { Description = "Zero-shot prompts: imagenet80 (the paper's ensemble) or single ('a photo of a {}.'); a templates.txt beside a set's data overrides it for that set.", DefaultValueFactory = _ => "imagenet80" };
        templates.AcceptOnlyFromAmong("imagenet80", "single");
        var testFraction = new Option<double>("--test-fraction") { Description = "Share of each class used as test set for class-folder data.", DefaultValueFactory = _ => 0.3 };
        var validation = new Option<double>("--validation-fraction") { Description = "Share of each class held out to choose λ.", DefaultValueFactory = _ => ClipLinearProbeOptions.Defaults.ValidationFraction };
        var l2Min = EvaluationCli.L2MinOption();
        var l2Max = EvaluationCli.L2MaxOption();
        var l2Steps = EvaluationCli.L2StepsOption();
        var seed = EvaluationCli.SeedOption();
        var gpu = InferenceCommandSupport.GpuOption();
        var skip = BadImageFiles.SkipOption();

        var command = new Command("compare", "Zero-shot CLIP vs linear probes (CLIP, ResNet-18 with --resnet18) vs few-shot, per data set; prints a markdown table, writes report.md and plots.")
        {
            model, data, output, shots, seeds, fewShotL2, resnet, resnetModels, templates, testFraction, validation, l2Min, l2Max, l2Steps, seed, gpu, skip,
        };
        command.SetAction(parse => CommandErrors.Guard(() =>
        {
            var grid = EvaluationCli.Grid(parse.GetValue(l2Min), parse.GetValue(l2Max), parse.GetValue(l2Steps));
            var kValues = EvaluationCli.ParseInts(parse.GetValue(shots)!, "--shots");
            int seedValue = parse.GetValue(seed);
            // Every set is read (its TSVs or folders, and that every image exists) before the model is loaded. With
            // --skip-bad-files an image that does not decode is left out in the set's one embedding pass (each image is
            // decoded once; the ResNet-18 baseline then reads only the images kept).
            var sets = parse.GetValue(data)!.Select(spec => ComparisonDataSource.Resolve(spec, parse.GetValue(testFraction), seedValue)).ToArray();
            // A test label that no training row has is refused here, for every set, before any image is embedded (as probe
            // does): leaving bad images out (--skip-bad-files) only removes classes, so no embedding pass could make it one.
            // The check after each set's pass stays for the class whose every training image was left out.
            foreach (var (_, trainSet, testSet, _) in sets)
                testSet.ClassIndices(trainSet.ClassNames());
            var skipBadFiles = parse.GetValue(skip);
            var outDir = Path.GetFullPath(parse.GetValue(output)!);
            Directory.CreateDirectory(outDir);
            var promptTemplates = parse.GetValue(templates) == "single" ? ClipPromptTemplates.Single : ClipPromptTemplates.ImageNet80;

            var ml = new MLContext(seedValue);
            var runner = new ProbeRunner(ml, grid, parse.GetValue(validation), seedValue);
            var results = new List<DatasetComparison>();
            var details = new StringBuilder();
            using var clip = InferenceCommandSupport.Load(parse.GetValue(model)!, parse.GetValue(gpu));
            // The baseline network is built once for all sets.
            using var resNet18 = parse.GetValue(resnet) ? FrozenImageEncoder.ResNet18(parse.GetValue(resnetModels), gpuDeviceId: parse.GetValue(gpu), log: m => Console.Error.WriteLine(m)) : null;
            // The report of the sets finished so far, rewritten whole after each one.
            void WriteReport()
            {
                var table = ComparisonReport.ToMarkdown(results);
                var report = new StringBuilder()
                    .AppendLine("# CLIP: zero-shot vs linear probe vs few-shot").AppendLine()
                    .AppendLine($"Model: `{clip.Folder}` ({clip.Info.Source ?? clip.Info.VisionKind}, D={clip.EmbeddingSize}). Zero-shot prompts: {promptTemplates.Count} templates unless a set has its own. "
                        + $"Linear probe: L-BFGS logistic regression, λ from {grid.Length} log-spaced values on a {parse.GetValue(validation):P0} validation split, refitted on all training rows. "
                        + $"Few-shot: k examples per class, {parse.GetValue(seeds)} draws, fixed λ = {parse.GetValue(fewShotL2)}; mean ± std over draws.").AppendLine()
                    .Append(table).AppendLine()
                    .Append(details);
                AtomicFile.Write(Path.Combine(outDir, "report.md"), s => s.Write(Encoding.UTF8.GetBytes(report.ToString())));
                // The numbers as data, for `clip summarize` (several models side by side).
                AtomicFile.Write(Path.Combine(outDir, ResultsFileName), s => JsonSerializer.Serialize(s, results, JsonOptions));
            }
            foreach (var (name, trainSet, testSet, ownTemplates) in sets)
            {
                try
                {
                    CompareSet(name, trainSet, testSet, ownTemplates);
                }
                catch (Exception e) when (results.Count > 0 && e is IOException or InvalidDataException or ArgumentException or UnauthorizedAccessException)
                {
                    throw new InvalidDataException($"data set '{name}': {e.Message} (the results of the {results.Count} finished data set(s) are in {Path.Combine(outDir, "report.md")})", e);
                }
                WriteReport();
            }

            Console.Write(ComparisonReport.ToMarkdown(results));
            EvaluationCli.Info($"Wrote {Path.Combine(outDir, "report.md")} and {results.Count} plot(s).");
            return 0;

            void CompareSet(string name, LabeledImageSet trainSet, LabeledImageSet testSet, IReadOnlyList<string>? ownTemplates)
            {
                EvaluationCli.Info($"== {name}: {trainSet.Paths.Count} train, {testSet.Paths.Count} test images");
                var trainRows = ImageFeatures.Clip(clip, trainSet.Paths, EvaluationCli.Info, skipBadFiles);
                var testRows = ImageFeatures.Clip(clip, testSet.Paths, EvaluationCli.Info, skipBadFiles);
                (trainSet, var trainFeatures) = EvaluationCli.Readable(trainSet, trainRows);
                (testSet, var testFeatures) = EvaluationCli.Readable(testSet, testRows);
                var classes = trainSet.ClassNames();
                var trainLabels = trainSet.ClassIndices(classes);
                var testLabels = testSet.ClassIndices(classes);
                var trainClip = new LabeledFeatures(trainFeatures, trainLabels, classes);
                var testClip = new LabeledFeatures(testFeatures, testLabels, classes);

                // Zero-shot: class names as prompts read them (folder names often use '_' for spaces).
                var setTemplates = ownTemplates ?? promptTemplates;
                var zeroShot = new ZeroShotClassifier(clip, classes.Select(c => c.Replace('_', ' ')).ToArray(), setTemplates);
                var zsScores = testClip.Features.Select(f => zeroShot.Probabilities(f)).ToArray();
                var zsTop1 = ClipEvaluation.TopKAccuracy(zsScores, testLabels, 1);
                double? zsTop5 = classes.Length > 5 ? ClipEvaluation.TopKAccuracy(zsScores, testLabels, 5) : null;

                var (clipProbe, clipTop1, _) = runner.Run($"{name}: linear probe CLIP", trainClip, testClip);
                details.AppendLine($"## {name}").AppendLine()
                    .AppendLine($"![{name}]({PlotFileName(name)})").AppendLine()
                    .AppendLine(ownTemplates is null ? $"Zero-shot prompts: {setTemplates.Count} templates." : $"Zero-shot prompts ({ComparisonDataSource.TemplatesFileName}): {string.Join(", ", setTemplates.Select(t => $"`{t}`"))}.").AppendLine()
                    .AppendLine("Linear probe on CLIP features, λ sweep:").AppendLine()
                    .Append(ComparisonReport.SweepToMarkdown(clipProbe.Sweep, clipProbe.L2Regularization)).AppendLine();

                ProbeResult? resnetResult = null;
                if (resNet18 is not null)
                {
                    var (trainResNet, testResNet) = ImageFeatures.ResNet18(resNet18, trainSet.Paths, testSet.Paths, EvaluationCli.Info);
                    var trainRes = new LabeledFeatures(EvaluationCli.Readable(trainSet, trainResNet).Features, trainLabels, classes);
                    var testRes = new LabeledFeatures(EvaluationCli.Readable(testSet, testResNet).Features, testLabels, classes);
                    var (resProbe, resTop1, _) = runner.Run($"{name}: linear probe ResNet-18", trainRes, testRes);
                    resnetResult = new ProbeResult(resTop1, resProbe.L2Regularization);
                    details.AppendLine("Linear probe on ResNet-18 features, λ sweep:").AppendLine()
                        .Append(ComparisonReport.SweepToMarkdown(resProbe.Sweep, resProbe.L2Regularization)).AppendLine();
                }

                var fewShot = ClipFewShot.Evaluate(ml.MulticlassClassification.Trainers, trainClip, testClip, new ClipFewShotOptions
                {
                    Shots = kValues,
                    Seeds = parse.GetValue(seeds),
                    Seed = seedValue,
                    L2Regularization = parse.GetValue(fewShotL2),
                    Log = EvaluationCli.Info,
                });
                var result = new DatasetComparison
                {
                    Name = name,
                    ClassCount = classes.Length,
                    TrainCount = trainClip.Count,
                    TestCount = testClip.Count,
                    ZeroShotTop1 = zsTop1,
                    ZeroShotTop5 = zsTop5,
                    ClipProbe = new ProbeResult(clipTop1, clipProbe.L2Regularization),
                    ResNet18Probe = resnetResult,
                    FewShot = fewShot,
                };
                results.Add(result);
                ComparisonPlot.SavePng(result, Path.Combine(outDir, PlotFileName(name)));
            }
        }));
        return command;
    }

    /// <summary>The results as JSON in the out folder (a list of <see cref="DatasetComparison"/>).</summary>
    public const string ResultsFileName = "results.json";

    internal static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    private static string PlotFileName(string name)
        => new string(name.Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_').ToArray()) + ".png";
}
