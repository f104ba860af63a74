using Microsoft.ML.Clip.Checkpoints;

namespace ClipCli.Commands;

/// <summary>
/// <c>clip convert &lt;checkpoint&gt; &lt;out-dir&gt; [--format onnx|safetensors] [--fp16] [--int8 [--int8-calibration &lt;folder|tsv&gt;]]</c>: turns a checkpoint into an
/// ONNX model folder (image.onnx, text.onnx, clip_model.json) or into safetensors (Hugging Face format for
/// ViT models; OpenAI names + clip_config.json for ResNet models, which Hugging Face cannot hold), through
/// <see cref="ClipModelConverter"/>: no libtorch is loaded.
/// </summary>
internal static class ConvertCommand
{
    public static Command Create()
    {
        var checkpoint = new Argument<string>("checkpoint") { Description = "A .pt checkpoint, a .safetensors file (config beside it), a Hugging Face CLIP or SigLIP folder or a model.clipmodel written by `clip train`." };
        var outDir = new Argument<string>("out-dir")
        {
            Description = "The folder to write: created when missing; a folder holding a model is replaced whole (with --force). " +
                "It is built beside it and swapped in complete, so a reader sees the old model or the new one, never a mix.",
        };
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

        var int8 = new Option<bool>("--int8")
        {
            Description = "ONNX only: quantize the weights of the linear layers to int8 per output channel, activations per call (dynamic quantization; ONNX Runtime's int8 kernels, which use AVX-512 VNNI / AMX where the CPU has them; convolutions stay float unless --int8-calibration is given).",
        };
        var calibration = new Option<string>(Int8CalibrationImages.OptionName)
        {
            Description = "With --int8: a folder of images, or an image TSV (image<TAB>label or caption), that stands for what the model will see " +
                $"(a few dozen to a few hundred; at most {Int8CalibrationImages.MaxImages} are used, evenly spaced). The image tower's convolutions are then " +
                "quantized too (static int8: activation ranges measured on these images), which ONNX Runtime runs as fused int8 convolutions.",
            HelpName = "folder|tsv",
        };
        var force = OutputFolderOptions.ForceOption();
        var command = new Command("convert", "Convert a CLIP checkpoint to ONNX or safetensors.") { checkpoint, outDir, format, activation, fp16, int8, calibration, force };
        command.SetAction(parse => CommandErrors.Guard(() =>
        {
            var source = parse.GetValue(checkpoint)!;
            var target = parse.GetValue(outDir)!;
            var calibrationSource = parse.GetValue(calibration);
            if (calibrationSource is not null && !parse.GetValue(int8))
                throw new ArgumentException($"{Int8CalibrationImages.OptionName} applies with --int8 only.");
            var safetensors = parse.GetValue(format) == "safetensors";
            if (safetensors && (parse.GetValue(fp16) || parse.GetValue(int8)))
                throw new ArgumentException($"{(parse.GetValue(fp16) ? "--fp16" : "--int8")} applies to --format onnx only.");
            var act = InferenceCommandSupport.ParseActivation(parse.GetValue(activation)!);
            // Read before the output folder is locked or anything is converted: a bad set is refused at once.
            var calibrationImages = calibrationSource is null ? null : Int8CalibrationImages.Read(calibrationSource);
            // One writer at a time, refused at once; a model already there is replaced only when asked to.
            using var locked = OutputFolderOptions.Lock(target, parse.GetValue(force));
            // The converter's notes (float16 rounding, OpenAI names for a ResNet) go to stderr.
            var options = new ClipConversionOptions
            {
                Activation = act, WeightsAsFloat16 = parse.GetValue(fp16), WeightsAsInt8 = parse.GetValue(int8), Int8CalibrationImages = calibrationImages, Log = note => Console.Error.WriteLine($"note: {note}"),
            };
            if (safetensors)
            {
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
