using Microsoft.ML.Clip.Evaluation;

namespace ClipCli.Evaluation;

/// <summary>Options shared by <c>probe</c>, <c>compare</c> and <c>eval-retrieval</c> (model, GPU and error handling: <see cref="Commands.InferenceCommandSupport"/>).</summary>
internal static class EvaluationCli
{
    public static Option<double> L2MinOption() => new("--l2-min")
    {
        Description = "Smallest λ of the sweep.",
        DefaultValueFactory = _ => ClipLinearProbeOptions.Defaults.SweepMin,
    };

    public static Option<double> L2MaxOption() => new("--l2-max")
    {
        Description = "Largest λ of the sweep.",
        DefaultValueFactory = _ => ClipLinearProbeOptions.Defaults.SweepMax,
    };

    public static Option<int> L2StepsOption() => new("--l2-steps")
    {
        Description = "Number of log-spaced λ values of the sweep.",
        DefaultValueFactory = _ => ClipLinearProbeOptions.Defaults.SweepSteps,
    };

    public static Option<int> SeedOption() => new("--seed")
    {
        Description = "Seed of the validation split and the few-shot draws.",
        DefaultValueFactory = _ => 0,
    };

    /// <summary>
    /// <paramref name="set"/> without the rows whose <paramref name="features"/> are null (images left out by
    /// <c>--skip-bad-files</c> in the embedding pass, already listed on stderr), and the features of the rows kept; an error
    /// when none is left.
    /// </summary>
    public static (LabeledImageSet Set, float[][] Features) Readable(LabeledImageSet set, IReadOnlyList<float[]?> features)
    {
        if (features.Count != set.Paths.Count)
            throw new ArgumentException($"{set.Source}: {features.Count} features for {set.Paths.Count} images.", nameof(features));
        var keep = Enumerable.Range(0, features.Count).Where(i => features[i] is not null).ToArray();
        if (keep.Length == 0 && set.Paths.Count > 0)
            throw new InvalidDataException($"{set.Source}: none of its {set.Paths.Count} images could be read.");
        var kept = keep.Select(i => features[i]!).ToArray();
        return (keep.Length == set.Paths.Count ? set : set.Subset(keep, set.Source), kept);
    }

    /// <summary>Progress goes to stderr, so stdout holds only the result.</summary>
    public static void Info(string message) => Console.Error.WriteLine(message);

    /// <summary>Parses a comma-separated list of positive integers (the option named for errors).</summary>
    public static int[] ParseInts(string text, string option)
    {
        var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var values = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], System.Globalization.CultureInfo.InvariantCulture, out values[i]) || values[i] < 1)
                throw new ArgumentException($"{option}: '{parts[i]}' is not a positive integer.");
        if (values.Length == 0)
            throw new ArgumentException($"{option}: no values given.");
        return values;
    }

    /// <summary>The λ grid from the sweep options, checked.</summary>
    public static float[] Grid(double min, double max, int steps)
    {
        if (!(min > 0) || !(max >= min) || steps < 1)
            throw new ArgumentException($"--l2-min/--l2-max/--l2-steps: need 0 < min <= max and steps >= 1, got {min}, {max}, {steps}.");
        return L2Sweep.LogSpace(min, max, steps);
    }
}
