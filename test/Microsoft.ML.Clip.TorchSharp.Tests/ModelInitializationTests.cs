using Microsoft.ML.Clip.TorchSharp.Modeling;
using Microsoft.ML.Clip.TorchSharp.Modules;
using Microsoft.ML.Clip.TorchSharp.Tests.Training;
using static TorchSharp.torch;

namespace Microsoft.ML.Clip.TorchSharp.Tests;

/// <summary>
/// A model built with a generator owes its initial weights to that generator alone: what the process-wide default
/// generator holds (another thread's seed, another test's draws) must not leak in. Training relies on it for
/// reproducible runs and for resuming to the same weights.
/// </summary>
public class ModelInitializationTests
{
    [Theory]
    [InlineData("vit")]
    [InlineData("rn")]
    [InlineData("features")]
    public void The_generator_alone_decides_every_initial_weight(string tower)
    {
        var config = tower switch
        {
            "vit" => ShapesDataset.SmallConfig,
            "rn" => ShapesDataset.SmallConfig with { VisionPatchSize = null, VisionLayers = [1, 1, 1, 1], VisionWidth = 16, ImageResolution = 64 },
            _ => ShapesDataset.SmallConfig.WithImageFeatures(24, 32),
        };
        var first = Build(config, generatorSeed: 5, defaultSeed: 1);
        var again = Build(config, generatorSeed: 5, defaultSeed: 2);
        var other = Build(config, generatorSeed: 6, defaultSeed: 1);

        var drawn = 0;
        foreach (var (name, values) in first)
        {
            Assert.True(values.SequenceEqual(again[name]), $"{name} depends on the default generator");
            // Constant tensors (norms, zeroed biases, the temperature) are the same under any seed; all others must move.
            if (values.Distinct().Count() > 1)
            {
                drawn++;
                Assert.False(values.SequenceEqual(other[name]), $"{name} does not come from the generator");
            }
        }
        Assert.True(drawn > 5, $"only {drawn} random tensors");
    }

    private static Dictionary<string, float[]> Build(ClipConfig config, ulong generatorSeed, int defaultSeed)
    {
        random.manual_seed(defaultSeed);
        using var generator = new Generator(generatorSeed);
        using var model = new ClipTorchModel(config, generator);
        return model.state_dict().Where(kv => kv.Value.dtype == ScalarType.Float32)
            .ToDictionary(kv => kv.Key, kv => kv.Value.data<float>().ToArray());
    }
}
