using ClipCli.IO;
using Microsoft.ML.Clip.Models;

namespace ClipCli.Commands;

/// <summary>
/// <c>clip embed-image --model … (FILES… | --pixels x.npy) [--normalize]</c>: embeds image files (one JSON
/// line <c>{"file": …, "embedding": […]}</c> each, see <see cref="EmbedImageFilesCommand"/>) or already
/// preprocessed images (float32 NCHW <c>.npy</c>, N×3×R×R: one JSON float array per image).
/// </summary>
internal static class EmbedImageCommand
{
    public static Command Create()
    {
        var model = InferenceCommandSupport.ModelOption();
        var pixels = new Option<string>("--pixels") { Description = "float32 .npy of preprocessed images, shape [N, 3, R, R] (instead of FILES)." };
        var skip = BadImageFiles.SkipOption();
        var gpu = InferenceCommandSupport.GpuOption();
        var files = new Argument<string[]>("files") { Description = "Image files (PNG, JPEG, …).", Arity = ArgumentArity.ZeroOrMore };
        var normalize = new Option<bool>("--normalize") { Description = "L2-normalise each embedding (default: raw encode_image features)." };
        var activation = InferenceCommandSupport.ActivationOption();
        var batchSize = InferenceCommandSupport.BatchOption();
        var command = new Command("embed-image", "Embed image files → one JSON line {file, embedding} per file; or preprocessed images (--pixels x.npy) → one JSON float array per image.")
        {
            model, pixels, normalize, activation, skip, gpu, batchSize, files,
        };
        command.SetAction(parse => CommandErrors.Guard(() =>
        {
            var pixelPath = parse.GetValue(pixels);
            var fileList = parse.GetValue(files) ?? [];
            if ((pixelPath is null) == (fileList.Length == 0))
                throw new ArgumentException("Give either image FILES or --pixels x.npy (not both).");
            if (pixelPath is not null && !File.Exists(pixelPath))
                throw new FileNotFoundException($"--pixels file '{pixelPath}' does not exist.", pixelPath);
            var array = pixelPath is null ? null : Npy.ReadFloat32(pixelPath);
            using var clip = InferenceCommandSupport.Load(parse.GetValue(model)!, parse.GetValue(gpu),
                InferenceCommandSupport.ParseActivation(parse.GetValue(activation)!), parse.GetValue(batchSize));
            if (array is null)
                return EmbedImageFilesCommand.Run(clip, fileList, parse.GetValue(normalize), parse.GetValue(skip), Console.Out);
            var r = clip.Resolution;
            if (array.Shape is not [_, 3, var h, var w] || h != r || w != r)
                throw new InvalidDataException($"--pixels '{pixelPath}' has shape [{string.Join(", ", array.Shape)}]; this model needs [N, 3, {r}, {r}].");
            foreach (var row in clip.EmbedImages(array.Data, array.Shape[0]))
            {
                if (parse.GetValue(normalize))
                    ClipModel.Normalize(row);
                InferenceCommandSupport.WriteJsonArrayLine(Console.Out, row);
            }
            return 0;
        }));
        return command;
    }
}
