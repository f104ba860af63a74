using System.Text.Json;
using Microsoft.ML.Clip.Tokenization;
using Microsoft.ML.Clip.TorchSharp.Export;

namespace ClipCli.Commands;

/// <summary>
/// <c>clip embed-text --model … [--normalize]</c>: reads one JSON string per line on stdin and writes one
/// JSON float array per line (the text embedding; over-long texts are truncated with the end token last).
/// </summary>
internal static class EmbedTextCommand
{
    private const int BatchSize = 64;

    public static Command Create()
    {
        var model = EmbeddingOutput.ModelOption();
        var normalize = new Option<bool>("--normalize") { Description = "L2-normalise each embedding (default: raw encode_text features)." };
        var activation = EmbeddingOutput.ActivationOption();
        var command = new Command("embed-text", "Embed texts: one JSON string per stdin line → one JSON float array per stdout line.") { model, normalize, activation };
        command.SetAction(parse => EmbeddingOutput.Guard(() =>
        {
            using var folder = ClipModelFolder.Open(parse.GetValue(model)!, EmbeddingOutput.ParseActivation(parse.GetValue(activation)!));
            using var encoder = new OnnxEncoder(Path.Combine(folder.Path, folder.Info.TextModelFile), ClipOnnxExporter.TextInputName, ClipOnnxExporter.TextOutputName);
            var contextLength = folder.Info.Tokenizer.ContextLength;
            var batch = new List<string>();
            var lineNumber = 0;
            void Flush()
            {
                if (batch.Count == 0) return;
                var ids = ClipTokenizer.Default.EncodeBatch(batch, contextLength, ClipTruncation.Truncate);
                foreach (var row in encoder.Run(ids, [batch.Count, contextLength]))
                    EmbeddingOutput.WriteLine(Console.Out, row, parse.GetValue(normalize));
                batch.Clear();
            }
            for (string? line; (line = Console.In.ReadLine()) != null;)
            {
                lineNumber++;
                if (string.IsNullOrWhiteSpace(line)) continue;
                string? text;
                try
                {
                    text = JsonSerializer.Deserialize<string>(line);
                }
                catch (JsonException e)
                {
                    throw new InvalidDataException($"stdin line {lineNumber} is not a JSON string: {e.Message}", e);
                }
                batch.Add(text ?? throw new InvalidDataException($"stdin line {lineNumber} is null, expected a JSON string."));
                if (batch.Count == BatchSize) Flush();
            }
            Flush();
            return 0;
        }));
        return command;
    }
}
