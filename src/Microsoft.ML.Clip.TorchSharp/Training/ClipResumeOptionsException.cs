namespace Microsoft.ML.Clip.TorchSharp.Training;

/// <summary>
/// A resumed run's options differ from those of the run its checkpoint came from
/// (<see cref="ClipTrainingCheckpoint.CheckResumeOptions"/>). Callers see an <see cref="InvalidOperationException"/> whose message
/// names each option by its <see cref="ClipTrainerOptions"/> member; a front end with options of its own (<c>clip train</c>'s
/// <c>--learning-rate</c>) recognises it by its type and words it with <see cref="MessageNaming"/>, never by parsing the message.
/// </summary>
// friend: used by clip-train (TrainCommand names its command-line options)
internal sealed class ClipResumeOptionsException : InvalidOperationException
{
    public ClipResumeOptionsException(string checkpointPath, IReadOnlyList<Difference> differences)
        : base(Describe(checkpointPath, differences, option => option))
    {
        CheckpointPath = checkpointPath;
        Differences = differences;
    }

    /// <summary>One option that differs: its <see cref="ClipTrainerOptions"/> member, this run's value and the checkpoint's run's.</summary>
    public sealed record Difference(string Option, string Value, string CheckpointValue);

    /// <summary>The checkpoint the run was to resume from.</summary>
    public string CheckpointPath { get; }

    /// <summary>The options that differ, in the order the message lists them.</summary>
    public IReadOnlyList<Difference> Differences { get; }

    /// <summary>The message, each option (a <see cref="ClipTrainerOptions"/> member name) named by <paramref name="optionName"/>.</summary>
    public string MessageNaming(Func<string, string> optionName) => Describe(CheckpointPath, Differences, optionName);

    private static string Describe(string checkpointPath, IReadOnlyList<Difference> differences, Func<string, string> optionName)
        => $"{checkpointPath} was written by a run with other options; resuming continues that run, so they must be the same: " +
           $"{string.Join("; ", differences.Select(d => $"{optionName(d.Option)} {d.Value} (the checkpoint's run: {d.CheckpointValue})"))}. " +
           $"To train on from it with new options, start a new run from its model ({optionName(nameof(ClipTrainerOptions.InitialCheckpoint))}).";
}
