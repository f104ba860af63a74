using Microsoft.ML.Clip.TorchSharp.Modeling;
using Microsoft.ML.Clip.TorchSharp.Modules;
using Microsoft.ML.Clip.TorchSharp.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Clip.TorchSharp.Tests.Training;

public class GradientCacheTests
{
    private static (Tensor Images, Tensor Tokens) Batch(int n)
    {
        var generator = new Generator(1234);
        var images = randn([n, 3, 32, 32], generator: generator);
        var texts = Enumerable.Range(0, n).Select(i => ShapesDataset.Captions[(i * 5) % ShapesDataset.Captions.Length]).ToArray();
        var tokens = tensor(ShapesDataset.Tokenize(texts, 8), [n, 8]);
        return (images, tokens);
    }

    private static Dictionary<string, float[]> Gradients(ClipTorchModel model, Parameter? bias, ClipLossKind kind, int chunk, bool trainImage, out float loss)
    {
        foreach (var p in model.parameters()) p.grad?.zero_();
        bias?.grad?.zero_();
        var (images, tokens) = Batch(12);
        loss = GradientCache.Backward(model, images, tokens, kind, bias, chunk, trainImage, trainText: true);
        var grads = model.named_parameters().Where(p => p.parameter.grad is not null)
            .ToDictionary(p => p.name, p => p.parameter.grad!.data<float>().ToArray());
        if (bias?.grad is { } g) grads["logit_bias"] = g.data<float>().ToArray();
        return grads;
    }

    [Theory]
    [InlineData(ClipLossKind.InfoNce, 5)]
    [InlineData(ClipLossKind.InfoNce, 1)]
    [InlineData(ClipLossKind.Sigmoid, 4)]
    public void Chunked_gradients_equal_the_full_batch_within_1e_5(ClipLossKind kind, int chunk)
    {
        using var generator = new Generator(11);
        using var model = new ClipTorchModel(ShapesDataset.SmallConfig, generator);
        using var bias = kind == ClipLossKind.Sigmoid ? new Parameter(tensor(-10f)) : null;
        var plain = Gradients(model, bias, kind, chunk: 0, trainImage: true, out var plainLoss);
        var cached = Gradients(model, bias, kind, chunk, trainImage: true, out var cachedLoss);

        Assert.Equal(plainLoss, cachedLoss, 5);
        Assert.Equal(plain.Keys.OrderBy(k => k), cached.Keys.OrderBy(k => k));
        Assert.Contains("logit_scale", plain.Keys);
        var worst = 0f;
        var nonZero = 0;
        foreach (var (name, expected) in plain)
        {
            var actual = cached[name];
            for (var i = 0; i < expected.Length; i++)
            {
                worst = MathF.Max(worst, MathF.Abs(expected[i] - actual[i]));
                if (expected[i] != 0) nonZero++;
            }
        }
        Assert.True(worst <= 1e-5f, $"max |grad difference| = {worst}");
        Assert.True(nonZero > 1000, "the gradients must not be trivially zero");
    }

    [Fact]
    public void A_locked_tower_gets_no_gradient_in_either_path()
    {
        using var generator = new Generator(12);
        using var model = new ClipTorchModel(ShapesDataset.SmallConfig, generator);
        foreach (var (name, p) in model.named_parameters())
            if (name.StartsWith("visual.", StringComparison.Ordinal)) p.requires_grad = false;
        foreach (var chunk in new[] { 0, 5 })
        {
            var grads = Gradients(model, null, ClipLossKind.InfoNce, chunk, trainImage: false, out _);
            Assert.DoesNotContain(grads.Keys, k => k.StartsWith("visual.", StringComparison.Ordinal));
            Assert.Contains("text_projection", grads.Keys);
        }
    }
}
