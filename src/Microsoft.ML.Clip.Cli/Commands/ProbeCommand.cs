using System.Globalization;
using ClipCli.Evaluation;
using Microsoft.ML;
using Microsoft.ML.Clip.Evaluation;
using Microsoft.ML.Clip.Models;

namespace ClipCli.Commands;

/// <summary><c>clip probe</c>: the CLIP paper's linear probe on CLIP (or ResNet-18) features of a labelled image set.</summary>
internal static class ProbeCommand
{
    public static Command Create()
    {
        var model = InferenceCommandSupport.ModelOption();
        model.Required = false; // --features resnet18 needs no CLIP model
        var train = new Option<string>("--train") { Description = "Training TSV: image path<TAB>label per line.", Required = true };
        var test = new Option<string>("--test") { Description = "Test TSV, same format.", Required = true };
        var features = new Option<string>("--features")
        {
            Description = "Features to probe: clip (needs --model) or resnet18 (the supervised ImageNet baseline).",
            DefaultValueFactory = _ => "clip",
        };
        features.AcceptOnlyFromAmong("clip", "resnet18");
        var validation = new Option<double>("--validation-fraction")
        {
            Description = "Share of each class held out to choose λ.",
            DefaultValueFactory = _ => ClipLinearProbeOptions.Defaults.ValidationFraction,
        };
        var resnetModels = new Option<string?>("--resnet18-models") { Description = "Folder with ResNetPrepOnnx/ and ResNet18Onnx/ (default: DnnImageModels beside the tool, else the restored NuGet package: `clip restore-models`)." };
        var l2Min = EvaluationCli.L2MinOption();
        var l2Max = EvaluationCli.L2MaxOption();
        var l2Steps = EvaluationCli.L2StepsOption();
        var seed = EvaluationCli.SeedOption();
        var gpu = InferenceCommandSupport.GpuOption();
        var skip = BadImageFiles.SkipOption();

        var command = new Command("probe", "Linear probe (L-BFGS logistic regression, λ swept on a validation split) on image features; prints the sweep and the test accuracy.")
        {
            model, train, test, features, validation, resnetModels, l2Min, l2Max, l2Steps, seed, gpu, skip,
        };
        command.SetAction(parse => CommandErrors.Guard(() =>
        {
            var grid = EvaluationCli.Grid(parse.GetValue(l2Min), parse.GetValue(l2Max), parse.GetValue(l2Steps));
            var kind = parse.GetValue(features)!;
            var modelFolder = parse.GetValue(model);
            if (kind == "clip" && string.IsNullOrEmpty(modelFolder))
                throw new ArgumentException("--model is required with --features clip.");
            var trainSet = LabeledImageSet.ReadTsv(parse.GetValue(train)!);
            var testSet = LabeledImageSet.ReadTsv(parse.GetValue(test)!);
            // A test label that no training row has is refused here, before the model is loaded and any image is embedded,
            // with or without --skip-bad-files: leaving unreadable images out only removes classes, so no embedding pass
            // could make it one. The check after the pass stays for a class whose every training image was left out.
            var skipBadFiles = parse.GetValue(skip);
            Labels(trainSet, testSet);

            var ml = new MLContext(parse.GetValue(seed));
            float[]?[] trainRows, testRows;
            if (kind == "clip")
            {
                using var clip = InferenceCommandSupport.Load(modelFolder!, parse.GetValue(gpu));
                trainRows = ImageFeatures.Clip(clip, trainSet.Paths, EvaluationCli.Info, skipBadFiles);
                testRows = ImageFeatures.Clip(clip, testSet.Paths, EvaluationCli.Info, skipBadFiles);
            }
            else
            {
                using var encoder = FrozenImageEncoder.ResNet18(parse.GetValue(resnetModels), gpuDeviceId: parse.GetValue(gpu), log: m => Console.Error.WriteLine(m));
                (trainRows, testRows) = ImageFeatures.ResNet18(encoder, trainSet.Paths, testSet.Paths, EvaluationCli.Info, skipBadFiles);
            }
            (trainSet, var trainFeatures) = EvaluationCli.Readable(trainSet, trainRows);
            (testSet, var testFeatures) = EvaluationCli.Readable(testSet, testRows);
            var (classes, trainLabels, testLabels) = Labels(trainSet, testSet);
            var runner = new ProbeRunner(ml, grid, parse.GetValue(validation), parse.GetValue(seed));
            var (probe, top1, top5) = runner.Run($"linear probe ({kind})", new LabeledFeatures(trainFeatures, trainLabels, classes), new LabeledFeatures(testFeatures, testLabels, classes));

            var ci = CultureInfo.InvariantCulture;
            Console.WriteLine($"# Linear probe on {kind} features: {classes.Length} classes, {trainSet.Paths.Count} train, {testSet.Paths.Count} test images");
            Console.WriteLine();
            Console.Write(ComparisonReport.SweepToMarkdown(probe.Sweep, probe.L2Regularization));
            Console.WriteLine();
            Console.WriteLine(string.Create(ci, $"chosen λ: {probe.L2Regularization:G3} (refitted on {probe.TrainingRowCount} rows)"));
            Console.WriteLine($"test accuracy top-1: {ComparisonReport.Percent(top1)}");
            if (top5 is { } t5)
                Console.WriteLine($"test accuracy top-5: {ComparisonReport.Percent(t5)}");
            return 0;
        }));
        return command;
    }

    /// <summary>The classes of the training set and every row's class index (an error names a test label that is none).</summary>
    private static (string[] Classes, int[] Train, int[] Test) Labels(LabeledImageSet trainSet, LabeledImageSet testSet)
    {
        var classes = trainSet.ClassNames();
        return (classes, trainSet.ClassIndices(classes), testSet.ClassIndices(classes));
    }
}
