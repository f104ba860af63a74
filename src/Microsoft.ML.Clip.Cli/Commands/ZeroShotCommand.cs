using System.Text.Json;
using ClipCli.IO;
using Microsoft.ML.Clip.ZeroShot;

namespace ClipCli.Commands;

/// <summary>
/// <c>clip zeroshot --model M (--classes a,b,c | --classes-file F) [--templates-file T] [--scale S] (FILES… | --pixels x.npy)</c>:
/// zero-shot classification, one JSON line per image <c>{"file" or "index", "label", "scores": […]}</c>: softmax
/// probabilities for a CLIP model, per-class sigmoid probabilities with the model's own scale and bias for a SigLIP model.
/// </summary>
internal static class ZeroShotCommand
{
    public static Command Create()
    {
        var model = InferenceCommandSupport.ModelOption();
        var classes = new Option<string?>("--classes") { Description = "Comma-separated class names." };
        var classesFile = new Option<string?>("--classes-file") { Description = "File with one class name per line." };
        var templatesFile = new Option<string?>("--templates-file")
        {
            Description = "Prompt templates with {} for the class: one per line, or a JSON array. Default: the 80 ImageNet templates.",
        };
        var templates7 = new Option<bool>("--imagenet-7") { Description = "Use the 7-template ImageNet subset instead of the 80 templates." };
        var scale = new Option<float?>("--scale") { Description = "Logit scale of a softmax (CLIP) model (default 100, as the reference); refused for a sigmoid (SigLIP) model, which uses its own scale and bias." };
        var modelScale = new Option<bool>("--model-scale") { Description = "Use the model's learned logit scale exp(logit_scale) (what a sigmoid model always does)." };
        var pixels = new Option<string?>("--pixels") { Description = "float32 .npy of preprocessed images [N, 3, R, R] instead of files." };
        var gpu = InferenceCommandSupport.GpuOption();
        var activation = InferenceCommandSupport.ActivationOption();
        var files = new Argument<string[]>("files") { Description = "Image files.", Arity = ArgumentArity.ZeroOrMore };
        var command = new Command("zeroshot", "Zero-shot classification of images → one JSON line {file|index, label, scores} per image.")
        {
            model, classes, classesFile, templatesFile, templates7, scale, modelScale, pixels, gpu, activation, files,
        };
        command.SetAction(parse => CommandErrors.Guard(() =>
        {
            var names = ReadClasses(parse.GetValue(classes), parse.GetValue(classesFile));
            var prompts = parse.GetValue(templatesFile) is { } t ? ReadTemplates(t)
                : parse.GetValue(templates7) ? ClipPromptTemplates.ImageNet7 : ClipPromptTemplates.ImageNet80;
            var inputFiles = parse.GetValue(files) ?? [];
            var pixelFile = parse.GetValue(pixels);
            if ((inputFiles.Length > 0) == (pixelFile != null))
                throw new ArgumentException("Give either image FILES or --pixels x.npy (exactly one of them).");

            using var clip = InferenceCommandSupport.Load(parse.GetValue(model)!, parse.GetValue(gpu), InferenceCommandSupport.ParseActivation(parse.GetValue(activation)!));
            // A sigmoid (SigLIP) model always uses its own scale and bias (trained together): --scale is refused for it,
            // --model-scale is what it does anyway. Its scores are per-class sigmoid probabilities, not a softmax.
            var explicitScale = parse.GetValue(scale);
            if (clip.LogitBias is not null && explicitScale is not null)
                throw new ArgumentException($"--scale does not apply: {ZeroShotClassifier.SigmoidScaleMessage}");
            float? s = clip.LogitBias is not null ? null : parse.GetValue(modelScale) ? clip.LogitScale : explicitScale;
            var classifier = new ZeroShotClassifier(clip, names, prompts, s);
            float[][] embeddings;
            if (pixelFile != null)
            {
                if (!File.Exists(pixelFile))
                    throw new FileNotFoundException($"--pixels file '{pixelFile}' does not exist.", pixelFile);
                var array = Npy.ReadFloat32(pixelFile);
                var r = clip.Resolution;
                if (array.Shape is not [var n, 3, var h, var w] || h != r || w != r)
                    throw new InvalidDataException($"--pixels '{pixelFile}' has shape [{string.Join(", ", array.Shape)}]; this model needs [N, 3, {r}, {r}].");
                embeddings = clip.EmbedImages(array.Data, n);
            }
            else
            {
                embeddings = clip.EmbedImageFiles(inputFiles);
            }
            for (int i = 0; i < embeddings.Length; i++)
            {
                var label = classifier.Classify(embeddings[i], out var probabilities);
                InferenceCommandSupport.WriteJsonLine(Console.Out, w =>
                {
                    if (pixelFile != null)
                        w.WriteNumber("index", i);
                    else
                        w.WriteString("file", inputFiles[i]);
                    w.WriteString("label", label);
                    InferenceCommandSupport.WriteArray(w, "scores", probabilities);
                });
            }
            return 0;
        }));
        return command;
    }

    private static string[] ReadClasses(string? list, string? file)
    {
        if ((list is null) == (file is null))
            throw new ArgumentException("Give the class names with exactly one of --classes a,b,c or --classes-file F.");
        string[] names = list != null
            ? list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            : ReadLines(file!, "--classes-file");
        if (names.Length < 2)
            throw new ArgumentException($"Zero-shot classification needs at least 2 class names, got {names.Length}.");
        return names;
    }

    private static string[] ReadTemplates(string file)
    {
        var text = ReadAllText(file, "--templates-file");
        string[] templates;
        if (text.TrimStart().StartsWith('['))
        {
            try { templates = JsonSerializer.Deserialize<string[]>(text) ?? []; }
            catch (JsonException e) { throw new InvalidDataException($"--templates-file '{file}' is not a JSON array of strings: {e.Message}", e); }
        }
        else
        {
            templates = ReadLines(file, "--templates-file");
        }
        var bad = templates.FirstOrDefault(t => !t.Contains("{}", StringComparison.Ordinal));
        if (templates.Length == 0 || bad != null)
            throw new InvalidDataException($"--templates-file '{file}': every template needs '{{}}' for the class name{(bad is null ? " (the file is empty)" : $"; '{bad}' has none")}.");
        return templates;
    }

    private static string[] ReadLines(string file, string option)
        => ReadAllText(file, option).Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();

    private static string ReadAllText(string file, string option)
        => File.Exists(file) ? File.ReadAllText(file) : throw new FileNotFoundException($"{option} '{file}' does not exist.", file);
}
