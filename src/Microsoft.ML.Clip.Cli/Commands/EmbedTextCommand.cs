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
    // Lines read before embedding: several batches, so that the model can group texts of similar length (a call holds
    // --batch × 77 ids, i.e. many short texts).
    private const int BatchesPerFlush = 32;

    public static Command Create()
    {
        var model = InferenceCommandSupport.ModelOption();
        var normalize = new Option<bool>("--normalize") { Description = "L2-normalise each embedding (default: raw encode_text features)." };
        var activation = InferenceCommandSupport.ActivationOption();
        var batchSize = InferenceCommandSupport.BatchOption();
        var command = new Command("embed-text", "Embed texts: one JSON string per stdin line → one JSON float array per stdout line.") { model, normalize, activation, batchSize };
        command.SetAction(parse => CommandErrors.Guard(() =>
        {
            using var clip = InferenceCommandSupport.Load(parse.GetValue(model)!, gpu: null, InferenceCommandSupport.ParseActivation(parse.GetValue(activation)!),
                parse.GetValue(batchSize));
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
                if (batch.Count == clip.BatchSize * BatchesPerFlush) Flush();
            }
            Flush();
            return 0;
        }));
        return command;
    }
}
