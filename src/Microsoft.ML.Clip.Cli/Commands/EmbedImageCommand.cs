using Microsoft.ML.Clip.IO;
using Microsoft.ML.Clip.TorchSharp.Export;

namespace ClipCli.Commands;

/// <summary>
/// <c>clip embed-image --model … --pixels x.npy [--normalize]</c>: embeds already preprocessed images
/// (float32 NCHW <c>.npy</c>, N×3×R×R) and writes one JSON float array per image.
/// </summary>
internal static class EmbedImageCommand
{
    private const int BatchSize = 32;

    public static Command Create()
    {
        var model = EmbeddingOutput.ModelOption();
        var pixels = new Option<string>("--pixels") { Description = "float32 .npy of preprocessed images, shape [N, 3, R, R].", Required = true };
        var normalize = new Option<bool>("--normalize") { Description = "L2-normalise each embedding (default: raw encode_image features)." };
        var activation = EmbeddingOutput.ActivationOption();
        var command = new Command("embed-image", "Embed preprocessed images (.npy) → one JSON float array per image.") { model, pixels, normalize, activation };
        command.SetAction(parse => EmbeddingOutput.Guard(() =>
        {
            var pixelPath = parse.GetValue(pixels)!;
            if (!File.Exists(pixelPath))
                throw new FileNotFoundException($"--pixels file '{pixelPath}' does not exist.", pixelPath);
            var array = Npy.ReadFloat32(pixelPath);
            using var folder = ClipModelFolder.Open(parse.GetValue(model)!, EmbeddingOutput.ParseActivation(parse.GetValue(activation)!));
            var r = folder.Info.ImageResolution;
            if (array.Shape is not [_, 3, var h, var w] || h != r || w != r)
                throw new InvalidDataException($"--pixels '{pixelPath}' has shape [{string.Join(", ", array.Shape)}]; this model needs [N, 3, {r}, {r}].");
            using var encoder = new OnnxEncoder(Path.Combine(folder.Path, folder.Info.ImageModelFile), ClipOnnxExporter.ImageInputName, ClipOnnxExporter.ImageOutputName);
            var n = array.Shape[0];
            var per = 3 * r * r;
            for (var start = 0; start < n; start += BatchSize)
            {
                var count = Math.Min(BatchSize, n - start);
                var chunk = array.Data.AsSpan(start * per, count * per).ToArray();
                foreach (var row in encoder.Run(chunk, [count, 3, r, r]))
                    EmbeddingOutput.WriteLine(Console.Out, row, parse.GetValue(normalize));
            }
            return 0;
        }));
        return command;
    }
}
