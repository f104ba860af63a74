using Microsoft.ML.Clip.TorchSharp.Checkpoints;
using Microsoft.ML.Clip.TorchSharp.Modeling;

namespace ClipCli.Commands;

/// <summary>
/// <c>clip convert &lt;checkpoint&gt; &lt;out-dir&gt; [--format onnx|safetensors] [--fp16]</c>: turns a checkpoint into an
/// ONNX model folder (image.onnx, text.onnx, clip_model.json) or into safetensors (Hugging Face format for
/// ViT models; OpenAI names + clip_config.json for ResNet models, which Hugging Face cannot hold).
/// </summary>
internal static class ConvertCommand
{
    public static Command Create()
    {
        var checkpoint = new Argument<string>("checkpoint") { Description = "A .pt checkpoint, a .safetensors file (config beside it) or a Hugging Face folder." };
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
        command.SetAction(parse => InferenceCommandSupport.Guard(() =>
        {
            var source = parse.GetValue(checkpoint)!;
            var target = parse.GetValue(outDir)!;
            var act = InferenceCommandSupport.ParseActivation(parse.GetValue(activation)!);
            if (parse.GetValue(format) == "safetensors")
            {
                if (parse.GetValue(fp16))
                    throw new ArgumentException("--fp16 applies to --format onnx only.");
                using var weights = ClipWeights.Load(source, act);
                if (weights.Config.IsVisionTransformer)
                {
                    HuggingFaceClip.Save(target, weights.Config, weights.StateDict);
                    Console.WriteLine($"wrote Hugging Face CLIPModel safetensors to {target}");
                }
                else
                {
                    ClipSafetensors.Save(target, weights.Config, weights.StateDict);
                    Console.Error.WriteLine("note: Hugging Face has no ModifiedResNet CLIP; wrote safetensors with OpenAI key names and clip_config.json instead.");
                    Console.WriteLine($"wrote OpenAI-named safetensors to {target}");
                }
                return 0;
            }
            var (info, rounded) = ClipModelFolder.Convert(source, target, act, parse.GetValue(fp16));
            Console.WriteLine($"wrote {info.ImageModelFile}, {info.TextModelFile} and clip_model.json to {target} ({info.VisionKind}, embed {info.EmbedDim}, resolution {info.ImageResolution})");
            if (rounded)
                Console.Error.WriteLine("note: the checkpoint's weights are not all float16; --fp16 rounded them (embeddings move by about 1e-3 relative).");
            return 0;
        }));
        return command;
    }
}
