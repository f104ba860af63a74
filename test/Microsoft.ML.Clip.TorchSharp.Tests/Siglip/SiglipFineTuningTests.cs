using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.TestUtilities;
using Microsoft.ML.Clip.TorchSharp.Tests.Training;
using Microsoft.ML.Clip.TorchSharp.Training;
using Xunit.Abstractions;

namespace Microsoft.ML.Clip.TorchSharp.Tests.Siglip;

/// <summary>
/// Fine-tuning the fixture SigLIP with the existing trainer: the sigmoid loss with the model's own learned bias, its own
/// SentencePiece tokenizer and preprocessing, full-context rows; what it saves and exports carries all of that.
/// </summary>
public class SiglipFineTuningTests(ITestOutputHelper output)
{
    private sealed class Recorder : IProgress<ClipTrainingProgress>
    {
        public List<ClipTrainingProgress> Reports { get; } = [];

        public void Report(ClipTrainingProgress value)
        {
            lock (Reports) Reports.Add(value);
        }
    }

    private static ClipTrainerOptions Options(Recorder progress, string? checkpointDirectory = null) => new()
    {
        InitialCheckpoint = Fixtures.Siglip("model"),
        Loss = ClipLossKind.Sigmoid,
        BatchSize = 6,
        Epochs = 4,
        LearningRate = 3e-3,
        WarmupSteps = 1,
        Device = "cpu",
        Seed = 3,
        Progress = progress,
        CheckpointDirectory = checkpointDirectory,
    };

    [Fact]
    public void AFewStepsLowerTheLossLearnTheBiasAndExport()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(ShapesDataset.Generate(12, 5));
        var progress = new Recorder();
        var dir = Fixtures.NewTempDir("siglip-finetune");
        using var trained = ml.Transforms.ClipTrainer("Image", "Caption", Options(progress, Path.Combine(dir, "checkpoints"))).Fit(data);

        var losses = progress.Reports.Select(r => r.Loss).ToArray();
        output.WriteLine($"losses: {string.Join(", ", losses.Select(l => l.ToString("F3")))}; bias 1.0 -> {trained.LogitBias}");
        Assert.Equal(8, losses.Length);
        Assert.All(losses, l => Assert.True(float.IsFinite(l)));
        Assert.True(losses.TakeLast(2).Average() < losses.Take(2).Average(), "the loss did not fall");
        Assert.True(trained.Config.IsSiglip);
        Assert.NotEqual(1.0f, trained.LogitBias);
        Assert.Equal(trained.Model.LogitBias!.item<float>(), trained.LogitBias);

        // The export is a SigLIP folder with the fixture's tokenizer and the learned bias; it embeds as the trained model does.
        var onnx = Path.Combine(dir, "onnx");
        var info = trained.ExportOnnx(onnx);
        Assert.Equal(ClipModelInfo.SiglipFamily, info.Family);
        Assert.Equal(trained.LogitBias, info.LogitBias);
        Assert.Equal(("siglip-sentencepiece", "spiece.model"), (info.Tokenizer.Kind, info.Tokenizer.File));
        Assert.True(info.Preprocess.ConvertRgbFirst);
        using var clip = ClipModel.Load(onnx);
        var texts = ShapesDataset.Captions.Take(3).ToArray();
        var onnxTexts = clip.EmbedTexts(texts);
        var trainedTexts = trained.EmbedTexts(texts);
        for (var i = 0; i < texts.Length; i++)
        {
            ClipModel.Normalize(onnxTexts[i]);
            Assert.True(SiglipMaxAbsDiff(onnxTexts[i], trainedTexts.AsSpan(i * 48, 48)) <= 1e-4);
        }

        // Saved and reloaded: the same model, tokenizer and bias; the saved file converts without libtorch too.
        var saved = Path.Combine(dir, "model.clipmodel");
        trained.Save(saved);
        using var reloaded = ClipTrainerTransformer.Load(ml, saved);
        Assert.Equal(trained.LogitBias, reloaded.LogitBias);
        Assert.Equal(trainedTexts, reloaded.EmbedTexts(texts));
        var converted = Microsoft.ML.Clip.Checkpoints.ClipModelConverter.ConvertToOnnx(saved, Path.Combine(dir, "converted"));
        Assert.Equal(info.Tokenizer.Kind, converted.Tokenizer.Kind);
        Assert.Equal(File.ReadAllBytes(Fixtures.Siglip("model", "spiece.model")), File.ReadAllBytes(Path.Combine(dir, "converted", "spiece.model")));

        // The training checkpoint resumes as a SigLIP with its tokenizer (a further epoch from it runs).
        var resume = Options(new Recorder());
        resume.InitialCheckpoint = null;
        resume.ResumeFrom = Path.Combine(dir, "checkpoints");
        resume.Epochs = 5;
        using var resumed = ml.Transforms.ClipTrainer("Image", "Caption", resume).Fit(data);
        Assert.True(resumed.Config.IsSiglip);
        Assert.Equal(trained.Model.state_dict().Count, resumed.Model.state_dict().Count);
    }

    [Fact]
    public void ASiglipTrainsWithTheSigmoidLossOnly()
    {
        var options = Options(new Recorder());
        options.Loss = ClipLossKind.InfoNce;
        Assert.Contains("sigmoid", Assert.Throws<InvalidOperationException>(() => ClipTrainingSession.Create(options, null)).Message);
    }

    private static float SiglipMaxAbsDiff(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        var m = 0f;
        for (var i = 0; i < a.Length; i++) m = MathF.Max(m, MathF.Abs(a[i] - b[i]));
        return m;
    }
}
