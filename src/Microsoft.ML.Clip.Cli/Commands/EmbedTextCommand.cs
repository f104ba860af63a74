using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.Tokenization;

namespace ClipCli.Commands;

/// <summary>
/// <c>clip embed-text --model … [--normalize]</c>: reads one JSON string per line on stdin and writes one
/// JSON float array per line (the text embedding; over-long texts are truncated with the end token last). Output line N
/// belongs to input line N: a bad line (<see cref="JsonLinesInput"/>) gives <c>null</c>, is reported on stderr with its
/// number, and makes the exit code 1 once every line is done.
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
        var command = new Command("embed-text",
            "Embed texts: one JSON string per stdin line → one JSON float array per stdout line. A bad line (empty, not a JSON string, invalid UTF-8, " +
            "a lone surrogate) gives null and is reported on stderr with its line number; the other lines are still embedded, and the exit code is 1.")
        { model, normalize, activation, batchSize };
        command.SetAction(parse => CommandErrors.Guard(() =>
        {
            using var clip = InferenceCommandSupport.Load(parse.GetValue(model)!, gpu: null, InferenceCommandSupport.ParseActivation(parse.GetValue(activation)!),
                parse.GetValue(batchSize));
            // Input lines in order; a bad line keeps its place as a null text, so output line N answers input line N.
            var batch = new List<string?>();
            var failed = false;
            void Flush()
            {
                if (batch.Count == 0) return;
                var texts = batch.OfType<string>().ToList();
                var rows = texts.Count == 0 ? [] : clip.EmbedTexts(texts, ClipTruncation.Truncate);
                var next = 0;
                foreach (var text in batch)
                {
                    if (text is null)
                    {
                        Console.Out.WriteLine("null");
                        continue;
                    }
                    var row = rows[next++];
                    if (parse.GetValue(normalize))
                        ClipModel.Normalize(row);
                    InferenceCommandSupport.WriteJsonArrayLine(Console.Out, row);
                }
                batch.Clear();
            }
            foreach (var (_, text) in JsonLinesInput.Read(Console.OpenStandardInput(), Console.Error, "clip embed-text"))
            {
                failed |= text is null;
                batch.Add(text);
                if (batch.Count == clip.BatchSize * BatchesPerFlush) Flush();
            }
            Flush();
            return failed ? 1 : 0;
        }));
        return command;
    }
}
