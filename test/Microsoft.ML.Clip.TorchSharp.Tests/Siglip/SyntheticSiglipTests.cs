using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.TestUtilities;
using Microsoft.ML.Clip.Tokenization;
using Microsoft.ML.Clip.TorchSharp.Checkpoints;
using Microsoft.ML.Clip.TorchSharp.Modeling;
using Microsoft.ML.Clip.TorchSharp.Modules;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Microsoft.ML.Clip.TorchSharp.Tests.Siglip;

/// <summary>
/// SigLIPs of other sizes than the fixture's — other widths, heads, depths, MLP widths, vocabulary, context, an image side
/// that is not a multiple of the patch, and SigLIP 2's Gemma tokenizer — with random weights from TorchSharp, written as
/// Hugging Face folders, converted to ONNX and run by <see cref="ClipModel"/>: TorchSharp and ONNX must agree. Nothing in
/// the code may be fitted to the fixture's sizes.
/// </summary>
public class SyntheticSiglipTests(ITestOutputHelper output)
{
    /// <summary>SigLIP tokenizer, image 60 in patches of 14 (4 × 4, the last 4 pixels dropped), text narrower than vision.</summary>
    internal static readonly ClipConfig Unigram = new()
    {
        Family = ClipModelFamily.Siglip,
        EmbedDim = 40, VisionWidth = 40, VisionLayers = [3], VisionHeads = 5, VisionMlpWidth = 72, ImageResolution = 60, VisionPatchSize = 14,
        VocabSize = 1100, ContextLength = 32, TransformerWidth = 32, TransformerLayers = 2, TransformerHeads = 2, TransformerMlpWidth = 80,
        Activation = ClipActivation.GeluTanh, LayerNormEps = 1e-6f,
    };

    /// <summary>SigLIP 2's Gemma tokenizer (the fixture's BPE byte-fallback model), image 32 in patches of 8, exact GELU.</summary>
    internal static readonly ClipConfig Gemma = new()
    {
        Family = ClipModelFamily.Siglip,
        EmbedDim = 24, VisionWidth = 24, VisionLayers = [1], VisionHeads = 3, VisionMlpWidth = 40, ImageResolution = 32, VisionPatchSize = 8,
        VocabSize = 1000, ContextLength = 16, TransformerWidth = 36, TransformerLayers = 2, TransformerHeads = 4, TransformerMlpWidth = 60,
        Activation = ClipActivation.Gelu, LayerNormEps = 1e-5f,
    };

    private static readonly string[] Texts = ["a photo of a cat", "A RED CAR parked on the street.", "", "Zürich café at night — 2024", string.Join(" ", Enumerable.Repeat("long text", 40))];

    /// <summary>A random SigLIP of <paramref name="config"/> written as a Hugging Face folder with the fixture's tokenizer of <paramref name="kind"/>.</summary>
    internal static (ClipTorchModel Model, string Folder) Create(ClipConfig config, string kind, ulong seed)
    {
        using var generator = new Generator(seed);
        var model = new ClipTorchModel(config, generator);
        using (no_grad())
        {
            model.LogitScale.FillInPlace(2.1);
            model.LogitBias!.FillInPlace(-3.5);
        }
        model.eval();
        var folder = Fixtures.NewTempDir("siglip-synthetic");
        var (file, path) = kind == ClipTokenizerSpec.SiglipSentencePiece
            ? ("spiece.model", Fixtures.Siglip("model", "spiece.model"))
            : ("tokenizer.model", Fixtures.Siglip("tokenizer", "bpe_byte_fallback.model"));
        var weights = new CheckpointWeights(config, StateTensorConversion.ToStateDict(model.state_dict()), model.LogitScale.item<float>())
        {
            Tokenizer = new CheckpointTokenizer(kind, file, File.ReadAllBytes(path)),
        };
        HuggingFaceSiglip.Save(folder, weights);
        return (model, folder);
    }

    [Theory]
    [InlineData("siglip-sentencepiece")]
    [InlineData("gemma-sentencepiece")]
    public void TorchSharpAndTheExportedOnnxFolderAgree(string kind)
    {
        var config = kind == ClipTokenizerSpec.SiglipSentencePiece ? Unigram : Gemma;
        var (torchModel, folder) = Create(config, kind, seed: 7);
        using var _ = torchModel;
        var onnx = Path.Combine(Fixtures.NewTempDir("siglip-synthetic-onnx"), "model");
        var info = ClipModelConverter.ConvertToOnnx(folder, onnx);
        Assert.Equal((config.EmbedDim, config.ImageResolution, config.ContextLength, kind), (info.EmbedDim, info.ImageResolution, info.Tokenizer.ContextLength, info.Tokenizer.Kind));
        Assert.Equal(-3.5f, info.LogitBias);
        using var clip = ClipModel.Load(onnx, new ClipModelOptions { IntraOpNumThreads = 1 });

        // The folder reloads as the same model.
        using var reloaded = ClipTorchModel.FromCheckpoint(folder);
        Assert.Equal(ClipConfigJson.Serialize(config), ClipConfigJson.Serialize(reloaded.Config));

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var r = config.ImageResolution;
        using var random = new Generator(11);
        var pixels = randn([3, 3, r, r], generator: random);
        var ids = clip.Tokenize(Texts);
        var tokens = tensor(ids, [Texts.Length, config.ContextLength]);

        var torchImages = torchModel.EncodeImage(pixels);
        var torchTexts = torchModel.EncodeText(tokens);
        Assert.Equal(0.0, ReferenceData.MaxAbsDiff(reloaded.EncodeImage(pixels), torchImages));
        var onnxImages = clip.EmbedImages(pixels.data<float>().ToArray(), 3);
        var onnxTexts = clip.EmbedTexts(Texts);
        var imageError = ReferenceData.MaxAbsDiff(tensor(onnxImages.SelectMany(e => e).ToArray(), [3, config.EmbedDim]), torchImages);
        var textError = ReferenceData.MaxAbsDiff(tensor(onnxTexts.SelectMany(e => e).ToArray(), [Texts.Length, config.EmbedDim]), torchTexts);
        output.WriteLine($"{kind}: image_embeds TorchSharp vs ONNX {imageError:E2}, text_embeds {textError:E2}");
        Assert.True(imageError <= 1e-4, $"image features differ by {imageError}");
        Assert.True(textError <= 1e-4, $"text features differ by {textError}");
        // Rows are the full context, padded with the tokenizer's pad id (SigLIP: eos = 1; Gemma: 0).
        Assert.Equal(kind == ClipTokenizerSpec.SiglipSentencePiece ? 1L : 0L, ids[3 * config.ContextLength - 1]);
    }
}
