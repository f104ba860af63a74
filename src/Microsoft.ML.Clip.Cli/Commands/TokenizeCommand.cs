using System.Text;
using System.Text.Json;
using Microsoft.ML.Clip.Tokenization;

namespace ClipCli.Commands;

/// <summary>
/// <c>clip tokenize [--model M] [--context N] [--truncate]</c>: one JSON string per line on standard input, one JSON
/// array of token ids per line on standard output. Without <c>--model</c>, CLIP's BPE (raw ids, or context rows with
/// <c>--context</c>); with it, the model's own tokenizer (CLIP's BPE, SigLIP's or SigLIP 2's SentencePiece), always as the
/// rows its text encoder takes: the model's context length unless <c>--context</c> gives another, cut as the model's text
/// path cuts (the count goes to standard error).
/// </summary>
internal static class TokenizeCommand
{
    public static Command Create()
    {
        var context = new Option<int?>("--context")
        {
            Description = "Write context rows of this length (start token, ids, end token, zero padding) instead of raw BPE ids. CLIP uses 77.",
        };
        var truncate = new Option<bool>("--truncate")
        {
            Description = "Cut texts longer than the context (the last id is then the end token) instead of reporting them as errors.",
        };
        var model = new Option<string?>("--model", "-m")
        {
            Description = "Tokenize with this model's own tokenizer (an exported ONNX folder, a Hugging Face CLIP or SigLIP folder, or a checkpoint) " +
                "into the rows its text encoder takes: its context length unless --context gives another; texts that do not fit are cut, as the model's text path cuts them.",
        };
        var command = new Command("tokenize",
            "Tokenize texts with CLIP's BPE tokenizer, or a model's own with --model: reads one JSON string per line from standard input, " +
            "writes one JSON array of ids per line. A line that fails (not a JSON string, empty, invalid UTF-8, a lone surrogate, too long) " +
            "writes null and is reported on standard error with its line number; the other lines are still processed, and the exit code is 1.")
        {
            model,
            context,
            truncate,
        };
        command.SetAction(parseResult => parseResult.GetValue(model) is { } modelPath
            ? RunWithModel(modelPath, parseResult.GetValue(context), Console.OpenStandardInput(), Console.OpenStandardOutput(), Console.Error)
            : Run(parseResult.GetValue(context), parseResult.GetValue(truncate), Console.OpenStandardInput(), Console.OpenStandardOutput(), Console.Error));
        return command;
    }

    // The model's tokenizer, as its text encoder's rows; over-long texts cut (--truncate changes nothing here).
    private static int RunWithModel(string model, int? contextLength, Stream input, Stream stdout, TextWriter error)
    {
        if (contextLength is < 2)
        {
            error.WriteLine($"clip tokenize: --context must be at least 2 with --model, got {contextLength}.");
            return 1;
        }
        ClipTokenizerSpec spec;
        ContextEncoder encode;
        try
        {
            spec = ClipTokenizerSpec.ForModel(model, ClipTruncation.Truncate);
            encode = spec.CreateEncoder();
        }
        catch (Exception e) when (e is IOException or InvalidDataException or NotSupportedException or UnauthorizedAccessException or ArgumentException)
        {
            error.WriteLine($"error: {e.Message}");
            return 1;
        }
        var row = new long[contextLength ?? spec.ContextLength];
        using var output = new StreamWriter(stdout, new UTF8Encoding(false), 1 << 16) { NewLine = "\n" };
        var line = new StringBuilder();
        int lineNumber = 0, truncated = 0;
        var failed = false;
        // One output line per input line: null for a line that fails (JsonLinesInput reports its problem).
        foreach (var (number, text) in JsonLinesInput.Read(input, error, "clip tokenize"))
        {
            lineNumber = number;
            if (text is null)
            {
                output.WriteLine("null");
                failed = true;
                continue;
            }
            if (encode(text, row, ClipTruncation.Truncate))
                truncated++;
            line.Clear().Append('[').AppendJoin(',', row).Append(']');
            output.WriteLine(line);
        }
        if (truncated > 0)
            error.WriteLine($"note: {truncated} of {lineNumber} texts were longer than {row.Length} tokens and were truncated.");
        return failed ? 1 : 0;
    }

    private static int Run(int? contextLength, bool truncate, Stream input, Stream stdout, TextWriter error)
    {
        if (contextLength is < 1)
        {
            error.WriteLine($"clip tokenize: --context must be at least 1, got {contextLength}.");
            return 1;
        }
        if (truncate && contextLength is null)
        {
            error.WriteLine("clip tokenize: --truncate needs --context (raw ids are never cut).");
            return 1;
        }

        var tokenizer = ClipTokenizer.Default;
        using var output = new StreamWriter(stdout, new UTF8Encoding(false), 1 << 16) { NewLine = "\n" };
        var line = new StringBuilder();
        var failed = false;
        // One output line per input line: null for a line that fails (JsonLinesInput reports its problem).
        foreach (var (lineNumber, text) in JsonLinesInput.Read(input, error, "clip tokenize"))
        {
            if (text is null)
            {
                output.WriteLine("null");
                failed = true;
                continue;
            }

            IReadOnlyList<int> ids = tokenizer.Encode(text);
            if (contextLength is int n)
            {
                if (ids.Count + 2 > n && !truncate)
                {
                    error.WriteLine($"clip tokenize: line {lineNumber}: text {Shorten(JsonSerializer.Serialize(text))} has {ids.Count + 2} tokens " +
                        $"with the start and end tokens, more than the context length {n}; pass --truncate to cut it.");
                    output.WriteLine("null");
                    failed = true;
                    continue;
                }
                ids = tokenizer.EncodeToContext(text, n, ClipTruncation.Truncate);
            }

            line.Clear().Append('[');
            for (var i = 0; i < ids.Count; i++)
            {
                if (i > 0) line.Append(',');
                line.Append(ids[i]);
            }
            output.WriteLine(line.Append(']'));
        }
        return failed ? 1 : 0;
    }

    private static string Shorten(string line) => line.Length <= 80 ? line : string.Concat(line.AsSpan(0, 79), "…");
}
