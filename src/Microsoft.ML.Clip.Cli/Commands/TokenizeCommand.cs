using System.Text;
using System.Text.Json;
using Microsoft.ML.Clip.Tokenization;

namespace ClipCli.Commands;

/// <summary>
/// <c>clip tokenize [--context N] [--truncate]</c>: one JSON string per line on standard input, one JSON
/// array of token ids per line on standard output.
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
        var command = new Command("tokenize",
            "Tokenize texts with CLIP's BPE tokenizer: reads one JSON string per line from standard input, " +
            "writes one JSON array of ids per line. A line that fails is reported on standard error with its " +
            "line number and writes no output line; the other lines are still processed, and the exit code is 1.")
        {
            context,
            truncate,
        };
        command.SetAction(parseResult => Run(parseResult.GetValue(context), parseResult.GetValue(truncate), Console.In, Console.OpenStandardOutput(), Console.Error));
        return command;
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
