using Microsoft.ML.Clip.TestUtilities;
using Microsoft.ML.Clip.TorchSharp.Checkpoints;
using Microsoft.ML.Clip.TorchSharp.Modeling;
using Microsoft.ML.Clip.TorchSharp.Training;

namespace Microsoft.ML.Clip.TorchSharp.Tests.Training;

/// <summary>The presets are embedded clip_config.json files: the same architectures they were as C# values, found by name or path.</summary>
public class ClipModelPresetsTests
{
    // The presets as they were written in C# before they became data.
    private static readonly Dictionary<string, ClipConfig> InCode = new()
    {
        ["tiny"] = new() { EmbedDim = 64, ImageResolution = 64, VisionLayers = [4], VisionWidth = 128, VisionPatchSize = 8, TransformerWidth = 128, TransformerHeads = 2, TransformerLayers = 4 },
        ["small"] = new() { EmbedDim = 384, ImageResolution = 224, VisionLayers = [12], VisionWidth = 384, VisionPatchSize = 32, TransformerWidth = 384, TransformerHeads = 6, TransformerLayers = 12 },
        ["base"] = new() { EmbedDim = 512, ImageResolution = 224, VisionLayers = [12], VisionWidth = 768, VisionPatchSize = 32, TransformerWidth = 512, TransformerHeads = 8, TransformerLayers = 12 },
    };

    // Records compare arrays by reference: the layer counts are compared apart.
    private static void AssertSame(ClipConfig expected, ClipConfig actual)
    {
        Assert.Equal(expected.VisionLayers, actual.VisionLayers);
        Assert.Equal(expected, actual with { VisionLayers = expected.VisionLayers });
    }

    [Fact]
    public void Each_preset_equals_the_values_it_had_in_code()
    {
        Assert.Equal(InCode.Keys.Order(StringComparer.Ordinal), ClipModelPresets.Names);
        foreach (var (name, config) in InCode)
        {
            AssertSame(config, ClipModelPresets.Get(name));
            AssertSame(config, ClipModelPresets.Get(name.ToUpperInvariant()));
        }
        AssertSame(InCode["base"], ClipModelPresets.Get("ViT-B-32"));
        AssertSame(InCode["base"], ClipModelPresets.Get("ViT-B/32"));
    }

    [Fact]
    public void A_clip_config_file_loads_by_path_and_a_bad_name_lists_the_presets()
    {
        var path = Path.Combine(Fixtures.NewTempDir("presets"), "mine.json");
        var mine = ShapesDataset.SmallConfig;
        ClipConfigJson.Save(mine, path);
        AssertSame(mine, ClipModelPresets.Get(path));

        Assert.Throws<FileNotFoundException>(() => ClipModelPresets.Get(Path.Combine(Path.GetDirectoryName(path)!, "absent.json")));
        var e = Assert.Throws<ArgumentException>(() => ClipModelPresets.Get("huge"));
        Assert.Contains("base, small, tiny", e.Message);
        Assert.Contains("clip_config.json", e.Message);
    }

    [Fact]
    public void Training_options_take_a_preset_file_path()
    {
        var path = Path.Combine(Fixtures.NewTempDir("presets-options"), "small-test.json");
        ClipConfigJson.Save(ShapesDataset.SmallConfig, path);
        var options = ShapesDataset.FastOptions();
        options.Config = null;
        options.Preset = path;
        Assert.Equal(ShapesDataset.SmallConfig.EmbedDim, ClipModelFactory.ResolveConfig(options).EmbedDim);
    }
}
