using Microsoft.ML.Clip.TestUtilities;
using Microsoft.ML.Clip.TorchSharp.Training;

namespace Microsoft.ML.Clip.TorchSharp.Tests.Training;

/// <summary>Starting a run from a model this package saved: what carries over (bias, projection) and what is refused.</summary>
public class InitialModelTests
{
    private static float[] Values(ClipTrainingSession session, string name) => session.Model.state_dict()[name].data<float>().ToArray();

    private static float[] Values(ClipTrainerTransformer model, string name) => model.Model.state_dict()[name].data<float>().ToArray();

    [Fact]
    public void Fine_tuning_a_sigmoid_loss_model_starts_from_its_learned_bias()
    {
        var ml = new MLContext(seed: 1);
        var options = ShapesDataset.FastOptions(batchSize: 4);
        options.Loss = ClipLossKind.Sigmoid;
        options.LearningRate = 0.05; // large enough to move the bias visibly off its initial −10 in two steps
        using var trained = ml.Transforms.ClipTrainer("Image", "Caption", options).Fit(ml.Data.LoadFromEnumerable(ShapesDataset.Generate(8, 5)));
        var bias = trained.LogitBias!.Value;
        Assert.NotEqual(-10f, bias);
        var path = Path.Combine(Fixtures.NewTempDir("init-bias"), "model.clipmodel");
        trained.Save(path);

        var again = ShapesDataset.FastOptions(batchSize: 4);
        again.Loss = ClipLossKind.Sigmoid;
        again.InitialCheckpoint = path;
        using var session = ClipTrainingSession.Create(again, null);
        Assert.Equal(bias, session.Bias!.item<float>());
        Assert.Equal(Values(trained, "logit_scale"), Values(session, "logit_scale"));
    }

    [Fact]
    public void A_locked_image_model_keeps_its_projection_only_on_the_same_encoder_and_needs_an_encoder()
    {
        var dir = Fixtures.NewTempDir("init-lit");
        var encoder = LockedImageTuningTests.WriteConvEncoder(dir);
        var other = LockedImageTuningTests.WriteConvEncoder(dir, seed: 4, name: "other.onnx");
        var ml = new MLContext(seed: 1);
        var options = ShapesDataset.FastOptions(batchSize: 4);
        options.ImageEncoder = encoder;
        options.FeatureCacheDirectory = Path.Combine(dir, "cache");
        using var trained = ml.Transforms.ClipTrainer("Image", "Caption", options).Fit(ml.Data.LoadFromEnumerable(ShapesDataset.Generate(8, 5)));
        var path = Path.Combine(dir, "lit.clipmodel");
        trained.Save(path);

        ClipTrainingSession StartFrom(string? encoderPath)
        {
            var again = ShapesDataset.FastOptions(batchSize: 4);
            again.ImageEncoder = encoderPath;
            again.InitialCheckpoint = path;
            return ClipTrainingSession.Create(again, null);
        }

        // Same encoder: the trained head is where fine-tuning starts.
        using (var session = StartFrom(encoder))
        {
            Assert.Equal(Values(trained, "visual.proj"), Values(session, "visual.proj"));
            Assert.Equal(Values(trained, "text_projection"), Values(session, "text_projection"));
        }

        // Another encoder with the same feature size: its features mean something else, so only the text side is kept.
        using (var session = StartFrom(other))
        {
            Assert.NotEqual(Values(trained, "visual.proj"), Values(session, "visual.proj"));
            Assert.Equal(Values(trained, "text_projection"), Values(session, "text_projection"));
        }

        // No encoder: the saved image tower is a bare projection of features nobody computes.
        var e = Assert.Throws<InvalidOperationException>(() => StartFrom(null));
        Assert.Contains(path, e.Message);
        Assert.Contains("encoder.onnx", e.Message);
    }
}
