using System.CommandLine.Parsing;
using System.Globalization;

namespace ClipCli.Commands;

/// <summary>
/// The checks every command line of the tools (<c>clip</c> and <c>clip-train</c>, which links this file) gets after
/// System.CommandLine has parsed it and before the command runs: a word that looks like an option never falls into a file
/// argument (an unknown or misspelt option is an error; <c>--</c> ends the options, for a file whose name starts with
/// <c>-</c>), and numeric options are range-checked with the option's own name in the message. The ranges live in one
/// table, by option name, so a new command's options get theirs by name.
/// </summary>
internal static class CommandLineRules
{
    private static readonly Dictionary<string, (Func<double, bool> Ok, string Expected)> Ranges = new(StringComparer.Ordinal)
    {
        // clip
        ["--gpu"] = (v => v >= 0, "a CUDA device id (0 or more)"),
        ["--context"] = (v => v >= 1 && v <= Microsoft.ML.Clip.Models.ClipModelInfo.MaxContextLength, $"a context length in 1..{Microsoft.ML.Clip.Models.ClipModelInfo.MaxContextLength}"),
        ["--scale"] = (v => v > 0 && double.IsFinite(v), "a finite number > 0"),
        ["--batch"] = (v => v >= 1, "at least 1"),
        ["--seeds"] = (v => v >= 1, "at least 1"),
        ["--l2-min"] = (v => v > 0 && double.IsFinite(v), "a finite number > 0"),
        ["--l2-max"] = (v => v > 0 && double.IsFinite(v), "a finite number > 0"),
        ["--l2-steps"] = (v => v >= 1, "at least 1"),
        ["--few-shot-l2"] = (v => v >= 0 && double.IsFinite(v), "a finite number >= 0"),
        ["--test-fraction"] = (v => v > 0 && v < 1, "a fraction between 0 and 1 (exclusive)"),
        ["--validation-fraction"] = (v => v > 0 && v < 1, "a fraction between 0 and 1 (exclusive)"),
        // clip-train
        ["--epochs"] = (v => v >= 1, "at least 1"),
        ["--batch-size"] = (v => v >= 2, "at least 2 (contrastive pairs)"),
        ["--chunk-size"] = (v => v >= 0, "0 (no gradient caching) or more"),
        ["--learning-rate"] = (v => v > 0 && double.IsFinite(v), "a finite number > 0"),
        ["--warmup-steps"] = (v => v >= 0, "0 or more"),
        ["--checkpoint-every-steps"] = (v => v >= 0, "0 (at the end only) or more"),
        ["--random-resized-crop-min-scale"] = (v => v >= 0 && v <= 1, "in [0, 1] (0: off)"),
        ["--image-variant-probability"] = (v => v >= 0 && v <= 1, "in [0, 1] (0: off)"),
        ["--weight-decay"] = (v => v >= 0 && double.IsFinite(v), "a finite number >= 0"),
        ["--embedding-size"] = (v => v >= 1 && v <= 65536, "in 1..65536"),
        ["--image-encoder-resolution"] = (v => v >= 32 && v <= 8192, "a side in 32..8192 pixels"),
    };

    /// <summary>The problems of <paramref name="result"/>'s command line (none when System.CommandLine found errors of its own).</summary>
    public static List<string> Check(ParseResult result)
    {
        var problems = new List<string>();
        if (result.Errors.Count > 0) return problems;
        var command = result.CommandResult;
        var afterDoubleDash = TokensAfterDoubleDash(result);
        foreach (var child in command.Children)
        {
            switch (child)
            {
                case ArgumentResult argument:
                    foreach (var token in argument.Tokens)
                    {
                        if (LooksLikeOption(token.Value) && !afterDoubleDash.Contains(token))
                            problems.Add($"unknown option '{token.Value}' for `{CommandPath(command)}` (see --help; a file whose name starts with '-' goes after `--`).");
                    }
                    break;
                case OptionResult option when !option.Implicit && Ranges.TryGetValue(option.Option.Name, out var range):
                    foreach (var token in option.Tokens)
                    {
                        if (!double.TryParse(token.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var value)) continue; // System.CommandLine reports it
                        if (!range.Ok(value))
                            problems.Add($"{option.Option.Name} must be {range.Expected}, got {token.Value}.");
                    }
                    break;
            }
        }
        return problems;
    }

    /// <summary>Parses, checks and runs <paramref name="args"/> with <paramref name="root"/>; problems go to stderr with exit code 1.</summary>
    public static int Invoke(RootCommand root, string[] args)
    {
        var result = root.Parse(args);
        var problems = Check(result);
        if (problems.Count == 0) return result.Invoke();
        foreach (var problem in problems) Console.Error.WriteLine($"error: {problem}");
        return 1;
    }

    // "-" alone is a common name for standard input; a negative number is a value.
    private static bool LooksLikeOption(string token)
        => token.Length > 1 && token[0] == '-' && !double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out _);

    private static HashSet<Token> TokensAfterDoubleDash(ParseResult result)
    {
        var after = new HashSet<Token>(ReferenceEqualityComparer.Instance);
        var seen = false;
        foreach (var token in result.Tokens)
        {
            if (token.Type == TokenType.DoubleDash) seen = true;
            else if (seen) after.Add(token);
        }
        return after;
    }

    private static string CommandPath(CommandResult command)
    {
        var names = new List<string>();
        for (SymbolResult? r = command; r is CommandResult c; r = c.Parent)
            names.Insert(0, c.Command is RootCommand ? RootCommand.ExecutableName : c.Command.Name);
        return string.Join(' ', names);
    }
}
