using System.Text.Json;
using Microsoft.ML.Clip.Models;

namespace ClipCli.Commands;

/// <summary>Shared pieces of the ONNX inference commands (<c>embed-image FILES…</c>, <c>zeroshot</c>).</summary>
internal static class InferenceCommandSupport
{
    /// <summary>The <c>--model</c> option: an exported model folder.</summary>
    public static Option<string> ModelFolderOption() => new("--model", "-m")
    {
        Description = "Model folder with clip_model.json and the image/text encoder ONNX files.",
        Required = true,
    };

    /// <summary>The <c>--gpu</c> option: CUDA device (falls back to the CPU with a message on stderr).</summary>
    public static Option<int?> GpuOption() => new("--gpu") { Description = "CUDA device id; the CPU is used when CUDA is not available." };

    /// <summary>Loads the model, logging to stderr.</summary>
    public static ClipModel Load(string folder, int? gpu)
        => ClipModel.Load(folder, new ClipModelOptions { GpuDeviceId = gpu, FallbackToCpu = true, Log = m => Console.Error.WriteLine(m) });

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

    /// <summary>Writes <paramref name="values"/> as a JSON number array property.</summary>
    public static void WriteArray(Utf8JsonWriter writer, string name, ReadOnlySpan<float> values)
    {
        writer.WriteStartArray(name);
        foreach (var v in values)
        {
            if (float.IsFinite(v))
                writer.WriteNumberValue(v);
            else
                writer.WriteNullValue();
        }
        writer.WriteEndArray();
    }

    /// <summary>Runs <paramref name="body"/>; input errors go to stderr with exit code 1 and no stack trace.</summary>
    public static int Guard(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException or NotSupportedException
                                   or UnauthorizedAccessException or InvalidOperationException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }
}
