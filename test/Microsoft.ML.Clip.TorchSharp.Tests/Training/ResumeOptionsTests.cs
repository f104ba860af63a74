using System.Text.Json.Nodes;
using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.TorchSharp.Training;
using Xunit;

namespace Microsoft.ML.Clip.TorchSharp.Tests.Training;

/// <summary>
/// <see cref="ClipTrainingCheckpoint.CheckResumeOptions"/>: a resume with other options is refused with a
/// <see cref="ClipResumeOptionsException"/>, which <c>clip train</c> recognises by its type (not its wording) and words with
/// its own option names.
/// </summary>
public class ResumeOptionsTests
{
    [Fact]
    public void Other_options_are_refused_with_a_typed_error_whose_message_names_each_option_and_both_values()
    {
        // A folder named like an option: a front end that rewrote option names in the message would rewrite the path too.
        var path = Path.Combine(Path.GetTempPath(), "LearningRate", "checkpoint.clipckpt"); // named like an option that differs
        var header = new ClipPackageHeader(JsonNode.Parse("""{"learning_rate": 0.0005, "epochs": 1, "seed": 42}""")!.AsObject(), path);
        using var checkpoint = new ClipTrainingCheckpoint.Loaded(path, header, []);
        var options = new ClipTrainerOptions { LearningRate = 0.01, Epochs = 2, Seed = 42 };

        // Before: a plain InvalidOperationException, which clip train recognised by the words "with other options".
        var error = Assert.Throws<ClipResumeOptionsException>(() => ClipTrainingCheckpoint.CheckResumeOptions(checkpoint, options));
        Assert.IsAssignableFrom<InvalidOperationException>(error);
        Assert.Equal(path, error.CheckpointPath);
        Assert.Equal([new("LearningRate", "0.01", "0.0005"), new("Epochs", "2", "1")], error.Differences);
        // The message as it always was.
        Assert.Equal($"{path} was written by a run with other options; resuming continues that run, so they must be the same: " +
            "LearningRate 0.01 (the checkpoint's run: 0.0005); Epochs 2 (the checkpoint's run: 1). " +
            "To train on from it with new options, start a new run from its model (InitialCheckpoint).", error.Message);
        Assert.Equal($"{path} was written by a run with other options; resuming continues that run, so they must be the same: " +
            "--LearningRate 0.01 (the checkpoint's run: 0.0005); --Epochs 2 (the checkpoint's run: 1). " +
            "To train on from it with new options, start a new run from its model (--InitialCheckpoint).", error.MessageNaming(o => "--" + o));

        // The same options: no error.
        ClipTrainingCheckpoint.CheckResumeOptions(checkpoint, new ClipTrainerOptions { LearningRate = 0.0005, Epochs = 1, Seed = 42 });
    }
}
