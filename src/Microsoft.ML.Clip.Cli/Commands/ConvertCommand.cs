using Microsoft.ML.Clip.Checkpoints;

namespace ClipCli.Commands;

/// <summary>
/// <c>clip convert &lt;checkpoint&gt; &lt;out-dir&gt; [--format onnx|safetensors] [--fp16]</c>: turns a checkpoint into an
/// ONNX model folder (image.onnx, text.onnx, clip_model.json) or into safetensors (Hugging Face format for
/// ViT models; OpenAI names + clip_config.json for ResNet models, which Hugging Face cannot hold), through
/// <see cref="ClipModelConverter"/>: no libtorch is loaded.
/// </summary>
internal static class ConvertCommand
{
    public static Command Create()
    {
        var checkpoint = new Argument<string>("checkpoint") { Description = "A .pt checkpoint, a .safetensors file (config beside it), a Hugging Face CLIP or SigLIP folder or a model.clipmodel written by `clip train`." };
        var outDir = new Argument<string>("out-dir") { Description = "The folder to write (created when missing)." };
        var format = new Option<string>("--format")
        {
            Description = "onnx (default): image.onnx + text.onnx + clip_model.json; safetensors: Hugging Face CLIPModel folder (OpenAI-named for ResNet models).",
            DefaultValueFactory = _ => "onnx",
        };
        format.AcceptOnlyFromAmong("onnx", "safetensors");
        var activation = InferenceCommandSupport.ActivationOption();
        var fp16 = new Option<bool>("--fp16")
        {
            Description = "ONNX only: store the weight matrices as float16, cast to float32 in the graph (about half the size; exact for float16 checkpoints such as OpenAI's, rounded otherwise).",
        };

        var command = new Command("convert", "Convert a CLIP checkpoint to ONNX or safetensors.") { checkpoint, outDir, format, activation, fp16 };
        command.SetAction(parse => CommandErrors.Guard(() =>
        {
            var source = parse.GetValue(checkpoint)!;
            var target = parse.GetValue(outDir)!;
            var act = InferenceCommandSupport.ParseActivation(parse.GetValue(activation)!);
            // The converter's notes (float16 rounding, OpenAI names for a ResNet) go to stderr.
            var options = new ClipConversionOptions { Activation = act, WeightsAsFloat16 = parse.GetValue(fp16), Log = note => Console.Error.WriteLine($"note: {note}") };
            if (parse.GetValue(format) == "safetensors")
            {
                if (options.WeightsAsFloat16)
                    throw new ArgumentException("--fp16 applies to --format onnx only.");
                var layout = ClipModelConverter.ConvertToSafetensors(source, target, options);
                Console.WriteLine(layout == ClipSafetensorsLayout.HuggingFace
                    ? $"wrote Hugging Face CLIPModel safetensors to {target}"
                    : $"wrote OpenAI-named safetensors to {target}");
                return 0;
            }
            var info = ClipModelConverter.ConvertToOnnx(source, target, options);
            Console.WriteLine($"wrote {info.ImageModelFile}, {info.TextModelFile} and clip_model.json to {target} ({info.VisionKind}, embed {info.EmbedDim}, resolution {info.ImageResolution})");
            return 0;
        }));
        return command;
    }
}
