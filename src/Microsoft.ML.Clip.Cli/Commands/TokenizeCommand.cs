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
            "writes one JSON array of ids per line. A line that fails is reported on standard error with its " +
            "line number and writes no output line; the other lines are still processed, and the exit code is 1.")
        {
            model,
            context,
            truncate,
        };
        command.SetAction(parseResult => parseResult.GetValue(model) is { } modelPath
            ? RunWithModel(modelPath, parseResult.GetValue(context), Console.In, Console.OpenStandardOutput(), Console.Error)
            : Run(parseResult.GetValue(context), parseResult.GetValue(truncate), Console.In, Console.OpenStandardOutput(), Console.Error));
        return command;
    }

    // The model's tokenizer, as its text encoder's rows; over-long texts cut (--truncate changes nothing here).
    private static int RunWithModel(string model, int? contextLength, TextReader input, Stream stdout, TextWriter error)
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
        string? raw;
        while ((raw = input.ReadLine()) != null)
        {
            lineNumber++;
            if (!TryReadJsonString(raw, out var text))
            {
                error.WriteLine($"clip tokenize: line {lineNumber}: not a JSON string: {Shorten(raw)}");
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

    private static int Run(int? contextLength, bool truncate, TextReader input, Stream stdout, TextWriter error)
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
        var lineNumber = 0;
        string? raw;
        while ((raw = input.ReadLine()) != null)
        {
            lineNumber++;
            if (!TryReadJsonString(raw, out var text))
            {
                error.WriteLine($"clip tokenize: line {lineNumber}: not a JSON string: {Shorten(raw)}");
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

    private static bool TryReadJsonString(string line, out string text)
    {
        text = "";
        try
        {
            using var document = JsonDocument.Parse(line);
            if (document.RootElement.ValueKind != JsonValueKind.String)
                return false;
            text = document.RootElement.GetString()!;
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static string Shorten(string line) => line.Length <= 80 ? line : string.Concat(line.AsSpan(0, 79), "…");
}
