using System.Text.Json;
using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.Tokenization;

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
        var model = InferenceCommandSupport.ModelOption();
        var normalize = new Option<bool>("--normalize") { Description = "L2-normalise each embedding (default: raw encode_text features)." };
        var activation = InferenceCommandSupport.ActivationOption();
        var command = new Command("embed-text", "Embed texts: one JSON string per stdin line → one JSON float array per stdout line.") { model, normalize, activation };
        command.SetAction(parse => CommandErrors.Guard(() =>
        {
            using var clip = InferenceCommandSupport.Load(parse.GetValue(model)!, gpu: null, InferenceCommandSupport.ParseActivation(parse.GetValue(activation)!));
            var batch = new List<string>();
            var lineNumber = 0;
            void Flush()
            {
                if (batch.Count == 0) return;
                foreach (var row in clip.EmbedTexts(batch, ClipTruncation.Truncate))
                {
                    if (parse.GetValue(normalize))
                        ClipModel.Normalize(row);
                    InferenceCommandSupport.WriteJsonArrayLine(Console.Out, row);
                }
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
