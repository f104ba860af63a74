using Microsoft.ML.Clip.TorchSharp.Modeling;
using Microsoft.ML.Clip.TorchSharp.Modules;
using Microsoft.ML.Clip.TorchSharp.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Clip.TorchSharp.Tests.Training;

public class OptimizerAndScheduleTests
{
    [Fact]
    public void Schedule_warms_up_linearly_then_follows_a_cosine_to_zero()
    {
        Assert.Equal(0.1, CosineWarmupSchedule.LearningRate(1, 0, 10, 110), 12);
        Assert.Equal(1.0, CosineWarmupSchedule.LearningRate(1, 9, 10, 110), 12);
        Assert.Equal(1.0, CosineWarmupSchedule.LearningRate(1, 10, 10, 110), 12);
        Assert.Equal(0.5, CosineWarmupSchedule.LearningRate(1, 60, 10, 110), 12);
        Assert.Equal(0.0, CosineWarmupSchedule.LearningRate(1, 110, 10, 110), 12);
    }

    [Fact]
    public void AdamW_step_matches_the_update_rule_written_out()
    {
        using var weight = new Parameter(tensor(new[] { 1f, -2f, 3f, 0.5f }, [2, 2]));
        using var optimizer = new ClipAdamW([("w.weight", weight)], 0.9, 0.98, 1e-6, 0.2);
        float[] g1 = [0.1f, -0.3f, 0.2f, 0.05f], g2 = [-0.2f, 0.1f, 0.4f, 0f];
        double[] p = [1, -2, 3, 0.5], m = new double[4], v = new double[4];
        var lr = 0.01;
        var step = 0;
        foreach (var g in new[] { g1, g2 })
        {
            optimizer.ZeroGrad();
            using (var gradient = tensor(g, [2, 2])) weight.mul(gradient).sum().backward(); // d/dw sum(w·g) = g
            optimizer.Step(lr);
            step++;
            for (var i = 0; i < 4; i++)
            {
                m[i] = 0.9 * m[i] + 0.1 * g[i];
                v[i] = 0.98 * v[i] + 0.02 * g[i] * g[i];
                p[i] *= 1 - lr * 0.2;
                var mHat = m[i] / (1 - Math.Pow(0.9, step));
                var vHat = v[i] / (1 - Math.Pow(0.98, step));
                p[i] -= lr * mHat / (Math.Sqrt(vHat) + 1e-6);
            }
        }
        var actual = weight.detach().data<float>().ToArray();
        for (var i = 0; i < 4; i++) Assert.Equal(p[i], actual[i], 5);
    }

    [Fact]
    public void No_weight_decay_on_biases_norms_embeddings_and_temperature()
    {
        using var model = new ClipTorchModel(ShapesDataset.SmallConfig);
        using var optimizer = new ClipAdamW(model.named_parameters().Select(p => (p.name, p.parameter)), 0.9, 0.98, 1e-6, 0.2);
        var groups = optimizer.Groups.ToDictionary(g => g.Name, g => g.Decay);
        Assert.False(groups["logit_scale"]);
        Assert.False(groups["token_embedding.weight"]);
        Assert.False(groups["positional_embedding"]);
        Assert.False(groups["visual.class_embedding"]);
        Assert.False(groups["visual.positional_embedding"]);
        Assert.False(groups["ln_final.weight"]);
        Assert.False(groups["visual.ln_post.bias"]);
        Assert.False(groups["transformer.resblocks.0.attn.in_proj_bias"]);
        Assert.True(groups["transformer.resblocks.0.attn.in_proj_weight"]);
        Assert.True(groups["visual.conv1.weight"]);
        Assert.True(groups["text_projection"]);
        Assert.True(groups["visual.proj"]);
        Assert.True(groups["transformer.resblocks.1.mlp.c_fc.weight"]);
    }

    [Fact]
    public void Presets_are_valid_and_base_is_vit_b_32()
    {
        foreach (var name in ClipModelPresets.Names) ClipModelPresets.Get(name).Validate();
        var b = ClipModelPresets.Get("base");
        Assert.Equal((512, 224, 768, 32, 12, 512, 8, 12), (b.EmbedDim, b.ImageResolution, b.VisionWidth, b.VisionPatchSize!.Value, b.VisionLayers[0], b.TransformerWidth, b.TransformerHeads, b.TransformerLayers));
        var t = ClipModelPresets.Get("tiny");
        Assert.Equal((64, 8, 128, 128), (t.ImageResolution, t.VisionPatchSize!.Value, t.VisionWidth, t.TransformerWidth));
        var e = Assert.Throws<ArgumentException>(() => ClipModelPresets.Get("huge"));
        Assert.Contains("huge", e.Message);
        Assert.Contains("tiny", e.Message);
    }
}
