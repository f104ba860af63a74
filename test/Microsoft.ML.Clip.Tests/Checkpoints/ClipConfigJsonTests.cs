using Microsoft.ML.Clip.Checkpoints;
using Xunit;

namespace Microsoft.ML.Clip.Tests.Checkpoints;

public class ClipConfigJsonTests
{
    [Fact]
    public void RoundTripsBothTowerKinds()
    {
        var vit = new ClipConfig { EmbedDim = 64, ImageResolution = 64, VisionLayers = [2], VisionWidth = 128, VisionPatchSize = 16, TransformerWidth = 64, TransformerHeads = 1, TransformerLayers = 2, Activation = ClipActivation.Gelu };
        var rn = vit with { VisionLayers = [1, 2, 3, 4], VisionWidth = 16, VisionPatchSize = null, LayerNormEps = 1e-6f };
        foreach (var config in new[] { vit, rn })
        {
            var back = ClipConfigJson.Parse(ClipConfigJson.Serialize(config), "x");
            Assert.Equal(config.VisionLayers, back.VisionLayers);
            Assert.Equal(config with { VisionLayers = [] }, back with { VisionLayers = [] });
        }
    }

    [Fact]
    public void BadValuesNameTheFile()
    {
        Assert.Contains("clip_config.json", Assert.Throws<InvalidDataException>(() => ClipConfigJson.Parse("{\"embed_dim\": \"big\"}", "clip_config.json")).Message);
        Assert.Contains("transformer_width", Assert.Throws<InvalidDataException>(() => ClipConfigJson.Parse(
            "{\"embed_dim\": 4, \"image_resolution\": 64, \"vision_layers\": 1, \"vision_width\": 64, \"vision_patch_size\": 16, \"transformer_heads\": 1, \"transformer_layers\": 1}", "clip_config.json")).Message);
    }
}
