using System.Text.Json;

namespace ClipCli.Commands;

/// <summary>Writes embeddings as one JSON float array per line, optionally L2-normalised.</summary>
internal static class EmbeddingOutput
{
    public static void WriteLine(TextWriter writer, float[] embedding, bool normalize)
    {
        if (normalize)
        {
            var norm = MathF.Sqrt(embedding.Sum(v => v * v));
            if (norm > 0)
                embedding = embedding.Select(v => v / norm).ToArray();
        }
        writer.WriteLine(JsonSerializer.Serialize(embedding));
    }

    /// <summary>The option <c>--model</c> shared by the embed commands.</summary>
    public static Option<string> ModelOption() => new("--model", "-m")
    {
        Description = "An exported ONNX folder (clip_model.json), an OpenAI/open_clip .pt checkpoint, a Hugging Face folder or a .safetensors file with its config beside it.",
        Required = true,
    };

    /// <summary>The option <c>--activation</c>: what a .pt checkpoint's MLPs use (its weights cannot tell).</summary>
    public static Option<string> ActivationOption() => new("--activation")
    {
        Description = "MLP activation of a .pt checkpoint: quick_gelu (OpenAI) or gelu (most open_clip models).",
        DefaultValueFactory = _ => "quick_gelu",
    };

    public static Microsoft.ML.Clip.TorchSharp.Modeling.ClipActivation ParseActivation(string value) => value switch
    {
        "quick_gelu" => Microsoft.ML.Clip.TorchSharp.Modeling.ClipActivation.QuickGelu,
        "gelu" => Microsoft.ML.Clip.TorchSharp.Modeling.ClipActivation.Gelu,
        _ => throw new ArgumentException($"--activation must be quick_gelu or gelu, got '{value}'."),
    };

    /// <summary>Runs <paramref name="body"/>; known errors go to stderr with exit code 1 (no stack trace).</summary>
    public static int Guard(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException or NotSupportedException or UnauthorizedAccessException
                                   or Microsoft.ML.OnnxRuntime.OnnxRuntimeException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }
}
