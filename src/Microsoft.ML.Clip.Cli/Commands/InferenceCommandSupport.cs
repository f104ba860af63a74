using System.Text.Json;
using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.Models;

namespace ClipCli.Commands;

/// <summary>
/// Shared pieces of the commands that load a CLIP model: the <c>--model</c>, <c>--activation</c> and <c>--gpu</c>
/// options, loading, JSON-lines output and error handling.
/// </summary>
internal static class InferenceCommandSupport
{
    /// <summary>The <c>--model</c> option: an exported ONNX folder or a checkpoint (converted on the fly).</summary>
    public static Option<string> ModelOption() => new("--model", "-m")
    {
        Description = "An exported ONNX folder (clip_model.json), an OpenAI/open_clip .pt checkpoint, a Hugging Face CLIP or SigLIP folder (google/siglip-*, siglip2-* FixRes), a .safetensors file with its config beside it, or a model.clipmodel from `clip train` (checkpoints are converted on the fly, without libtorch).",
        Required = true,
    };

    /// <summary>The option <c>--activation</c>: what a .pt checkpoint's MLPs use (its weights cannot tell).</summary>
    public static Option<string> ActivationOption() => new("--activation")
    {
        Description = "MLP activation of a .pt checkpoint: quick_gelu (OpenAI) or gelu (most open_clip models).",
        DefaultValueFactory = _ => "quick_gelu",
    };

    /// <summary>Parses the value of <see cref="ActivationOption"/>.</summary>
    public static ClipActivation ParseActivation(string value) => value switch
    {
        "quick_gelu" => ClipActivation.QuickGelu,
        "gelu" => ClipActivation.Gelu,
        _ => throw new ArgumentException($"--activation must be quick_gelu or gelu, got '{value}'."),
    };

    /// <summary>The <c>--gpu</c> option: CUDA device (falls back to the CPU with a message on stderr).</summary>
    public static Option<int?> GpuOption() => new("--gpu") { Description = "CUDA device id, with a clip built with ONNX Runtime's CUDA package (-p:ClipOnnxRuntime=Gpu; the packaged tool is CPU-only); the CPU is used when CUDA is not available." };

    /// <summary>The <c>--batch</c> option: images or texts per ONNX Runtime call (<see cref="ClipModelOptions.BatchSize"/>).</summary>
    public static Option<int> BatchOption() => new("--batch")
    {
        Description = $"Images or texts per ONNX Runtime call (default {ClipModelOptions.Defaults.BatchSize}).",
        DefaultValueFactory = _ => ClipModelOptions.Defaults.BatchSize,   // range: CommandLineRules, with every numeric option
    };

    /// <summary>
    /// Loads <paramref name="model"/> (an ONNX folder, or a checkpoint converted by <see cref="ClipModelFolder.Open"/>),
    /// logging to stderr. <see cref="ClipModel"/> reads both encoders into memory, so a temporary conversion
    /// folder is deleted as soon as the model is loaded.
    /// </summary>
    public static ClipModel Load(string model, int? gpu, ClipActivation activation = ClipActivation.QuickGelu, int batchSize = ClipModelOptions.Defaults.BatchSize)
    {
        using var folder = ClipModelFolder.Open(model, activation);
        return ClipModel.Load(folder.Path, new ClipModelOptions { GpuDeviceId = gpu, FallbackToCpu = true, BatchSize = batchSize, Log = m => Console.Error.WriteLine(m) });
    }

    /// <summary>Writes one JSON object per line.</summary>
    public static void WriteJsonLine(TextWriter output, Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            write(writer);
            writer.WriteEndObject();
        }
        output.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
    }

    /// <summary>Writes <paramref name="values"/> as one JSON number array per line (non-finite values as null).</summary>
    public static void WriteJsonArrayLine(TextWriter output, ReadOnlySpan<float> values)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            WriteValues(writer, values);
        }
        output.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
    }

    /// <summary>Writes <paramref name="values"/> as a JSON number array property.</summary>
    public static void WriteArray(Utf8JsonWriter writer, string name, ReadOnlySpan<float> values)
    {
        writer.WriteStartArray(name);
        WriteValues(writer, values);
    }

    // Ends the array opened by the caller.
    private static void WriteValues(Utf8JsonWriter writer, ReadOnlySpan<float> values)
    {
        foreach (var v in values)
        {
            if (float.IsFinite(v))
                writer.WriteNumberValue(v);
            else
                writer.WriteNullValue();
        }
        writer.WriteEndArray();
    }
}
