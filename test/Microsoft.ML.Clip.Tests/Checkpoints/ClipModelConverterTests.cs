using System.Text.Json.Nodes;
using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.TestUtilities;
using Onnx;
using Xunit;

namespace Microsoft.ML.Clip.Tests.Checkpoints;

/// <summary>The public conversion (what <c>clip convert</c> does), on plain arrays.</summary>
public class ClipModelConverterTests
{
    private static string Model(string name) => Fixtures.Reference("models", name);

    private static GraphProto Graph(string folder, string file) => ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(folder, file))).Graph;

    [Theory]
    [InlineData("vit.openai.pt", "vit")]
    [InlineData("rn.openai.pt", "resnet")]
    [InlineData("vit.hf.safetensors", "vit")]
    public void Every_checkpoint_format_becomes_a_model_folder_with_the_reference_features(string checkpoint, string kind)
    {
        var dir = Path.Combine(Fixtures.NewTempDir("clip-convert"), "onnx");
        var info = ClipModelConverter.ConvertToOnnx(Model(checkpoint), dir);
        Assert.Equal(kind, info.VisionKind);
        Assert.Equal(checkpoint, info.Source);
        Assert.Equal(info.EmbedDim, ClipModelInfo.Load(Path.Combine(dir, ClipModelInfo.FileName)).EmbedDim);
        var (image, text) = OrtTestHelpers.CompareWithReference(Path.Combine(dir, "image.onnx"), Path.Combine(dir, "text.onnx"), checkpoint[..checkpoint.IndexOf('.')]);
        Assert.True(image <= 1e-5f && text <= 1e-5f, $"image {image}, text {text}");
    }

    [Fact]
    public void Bad_options_and_a_missing_source_are_refused_before_the_output_folder_is_touched()
    {
        var checkpoint = Model("rn.openai.pt");
        var dir = Fixtures.NewTempDir("clip-convert-refused");
        // Its parent is missing too: taking the folder's lock would create it (and the lock file in it).
        var parent = Path.Combine(dir, "new");
        var output = Path.Combine(parent, "model");
        var image = Path.Combine(Fixtures.Root, "images", "gray.jpg");
        // Each refusal names the option at fault and, where there is one, what else the message must say (the calibration
        // refusals are tested here only; StaticInt8QuantizationTests covers the one found while converting, an image that
        // does not decode).
        const string Onnx = "applies to ONNX conversion only";
        var cases = new (string Option, string? Says, Action Convert)[]
        {
            (nameof(ClipConversionOptions.Int8CalibrationImages), nameof(ClipConversionOptions.WeightsAsInt8), () => ClipModelConverter.ConvertToOnnx(checkpoint, output, new() { Int8CalibrationImages = [image] })),
            (nameof(ClipConversionOptions.Int8CalibrationImages), "empty", () => ClipModelConverter.ConvertToOnnx(checkpoint, output, new() { WeightsAsInt8 = true, Int8CalibrationImages = [] })),
            (nameof(ClipConversionOptions.Activation), null, () => ClipModelConverter.ConvertToOnnx(checkpoint, output, new() { Activation = (ClipActivation)42 })),
            (nameof(ClipConversionOptions.Activation), null, () => ClipModelConverter.ConvertToSafetensors(checkpoint, output, new() { Activation = (ClipActivation)42 })),
            (nameof(ClipConversionOptions.SafetensorsLayout), null, () => ClipModelConverter.ConvertToSafetensors(checkpoint, output, new() { SafetensorsLayout = (ClipSafetensorsLayout)7 })),
            (nameof(ClipConversionOptions.WeightsAsFloat16), Onnx, () => ClipModelConverter.ConvertToSafetensors(checkpoint, output, new() { WeightsAsFloat16 = true })),
            (nameof(ClipConversionOptions.WeightsAsInt8), Onnx, () => ClipModelConverter.ConvertToSafetensors(checkpoint, output, new() { WeightsAsInt8 = true })),
            (nameof(ClipConversionOptions.Int8CalibrationImages), Onnx, () => ClipModelConverter.ConvertToSafetensors(checkpoint, output, new() { Int8CalibrationImages = [image] })),
        };
        foreach (var (option, says, convert) in cases)
        {
            // Before: the options of ConvertToOnnx (and all but WeightsAsFloat16 of ConvertToSafetensors) were checked after
            // the output folder was locked, which had created its parent.
            var error = Assert.Throws<ArgumentException>(convert);
            Assert.Contains(option, error.Message);
            if (says is not null) Assert.Contains(says, error.Message);
            Assert.Equal("options", error.ParamName);
            Assert.False(Directory.Exists(parent), $"{option}: '{parent}' was created");
        }

        var missingImage = Path.Combine(dir, "missing.png");
        var noImage = Assert.Throws<FileNotFoundException>(() => ClipModelConverter.ConvertToOnnx(checkpoint, output, new() { WeightsAsInt8 = true, Int8CalibrationImages = [image, missingImage] }));
        Assert.Contains(missingImage, noImage.Message);
        Assert.False(Directory.Exists(parent));

        var missing = Path.Combine(dir, "missing.pt");
        foreach (var convert in new Action[] { () => ClipModelConverter.ConvertToOnnx(missing, output), () => ClipModelConverter.ConvertToSafetensors(missing, output) })
        {
            var error = Assert.Throws<FileNotFoundException>(convert);
            Assert.Contains(missing, error.Message);
            Assert.False(Directory.Exists(parent), "a missing checkpoint left the output's parent");
        }
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir));
    }

    [Fact]
    public void Float16_storage_reports_rounding_only_when_it_rounds()
    {
        var root = Fixtures.NewTempDir("clip-convert-fp16");
        var notes = new List<string>();
        var options = new ClipConversionOptions { WeightsAsFloat16 = true, Log = notes.Add };

        // The fixture holds float16 values: storing them as float16 changes nothing.
        ClipModelConverter.ConvertToOnnx(Model("vit.openai.pt"), Path.Combine(root, "exact"), options);
        Assert.Empty(notes);

        // One weight nudged off the float16 grid (written as OpenAI-named float32 safetensors): a note says so.
        var weights = PyTorchCheckpoint.Load(Model("vit.openai.pt")).WithFloat32();
        var stateDict = weights.StateDict.ToDictionary(kv => kv.Key, kv => kv.Value);
        var proj = stateDict["visual.proj"].ToSingles();
        proj[0] = BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(proj[0]) + 1);
        stateDict["visual.proj"] = StateTensor.FromSingles(proj, stateDict["visual.proj"].Shape);
        ClipSafetensors.Save(Path.Combine(root, "nudged"), weights.Config, stateDict);
        ClipModelConverter.ConvertToOnnx(Path.Combine(root, "nudged"), Path.Combine(root, "rounded"), options);
        Assert.Contains("rounded", Assert.Single(notes));
    }

    [Fact]
    public void Safetensors_go_to_Hugging_Face_for_a_ViT_and_to_OpenAI_names_for_a_ResNet()
    {
        var root = Fixtures.NewTempDir("clip-convert-st");
        var notes = new List<string>();
        Assert.Equal(ClipSafetensorsLayout.HuggingFace, ClipModelConverter.ConvertToSafetensors(Model("vit.openai.pt"), Path.Combine(root, "vit"), new() { Log = notes.Add }));
        Assert.True(File.Exists(Path.Combine(root, "vit", "config.json")));
        Assert.Empty(notes);

        Assert.Equal(ClipSafetensorsLayout.OpenAINames, ClipModelConverter.ConvertToSafetensors(Model("rn.openai.pt"), Path.Combine(root, "rn"), new() { Log = notes.Add }));
        Assert.True(File.Exists(Path.Combine(root, "rn", "clip_config.json")));
        Assert.Contains("ModifiedResNet", Assert.Single(notes));
        // Written in float32 like the Hugging Face layout.
        Assert.Equal(StateTensorType.Float32, SafetensorsReader.Read(Path.Combine(root, "rn", "model.safetensors"))["visual.conv1.weight"].Type);

        // Asked for explicitly: OpenAI names for a ViT too, and no note; Hugging Face for a ResNet is refused.
        Assert.Equal(ClipSafetensorsLayout.OpenAINames, ClipModelConverter.ConvertToSafetensors(Model("vit.openai.pt"), Path.Combine(root, "vit-openai"),
            new() { SafetensorsLayout = ClipSafetensorsLayout.OpenAINames, Log = notes.Add }));
        Assert.Single(notes);
        var e = Assert.Throws<NotSupportedException>(() => ClipModelConverter.ConvertToSafetensors(Model("rn.openai.pt"), Path.Combine(root, "rn-hf"),
            new() { SafetensorsLayout = ClipSafetensorsLayout.HuggingFace }));
        Assert.Contains("ModifiedResNet", e.Message);
        Assert.Throws<ArgumentException>(() => ClipModelConverter.ConvertToSafetensors(Model("vit.openai.pt"), Path.Combine(root, "x"), new() { WeightsAsFloat16 = true }));
    }

    [Fact]
    public void A_missing_checkpoint_is_named()
    {
        var path = Path.Combine(Fixtures.NewTempDir(), "nothing.pt");
        Assert.Contains(path, Assert.Throws<FileNotFoundException>(() => ClipModelConverter.ConvertToOnnx(path, Path.Combine(Fixtures.NewTempDir(), "out"))).Message);
        var folder = Fixtures.NewTempDir("empty-folder");
        Assert.Contains("model.safetensors", Assert.Throws<FileNotFoundException>(() => ClipModelConverter.ConvertToOnnx(folder, Path.Combine(Fixtures.NewTempDir(), "out"))).Message);
    }

    // A file in the trainer's format holding the ViT fixture's weights (float32, as the trainer stores them).
    private static string PackageFile(string kind, Func<string, string>? rename = null, Action<JsonObject>? editHeader = null, params (string Name, StateTensor Tensor)[] extra)
    {
        var weights = PyTorchCheckpoint.Load(Model("vit.openai.pt")).WithFloat32();
        var header = new JsonObject { ["kind"] = kind, ["config"] = ClipConfigJson.Serialize(weights.Config, indented: false) };
        editHeader?.Invoke(header);
        var tensors = weights.StateDict.Select(kv => ((rename ?? (n => n))(kv.Key), kv.Value)).Concat(extra).ToList();
        var path = Path.Combine(Fixtures.NewTempDir("clip-package"), kind == "checkpoint" ? "checkpoint.clipckpt" : "model.clipmodel");
        using var stream = File.Create(path);
        ClipPackageFile.Write(stream, header, tensors.Count, tensors);
        return path;
    }

    [Theory]
    [InlineData("model")]
    [InlineData("checkpoint")]
    public void A_trained_model_or_checkpoint_converts_to_the_same_graphs_as_its_weights(string kind)
    {
        var path = kind == "model"
            ? PackageFile("model")
            : PackageFile("checkpoint", n => "model." + n, null, ("optim.step", StateTensor.FromInt64s([3])), ("model.logit_bias", StateTensor.FromSingles([-10f])));
        var root = Fixtures.NewTempDir("clip-convert-package");
        var info = ClipModelConverter.ConvertToOnnx(path, Path.Combine(root, "package"));
        ClipModelConverter.ConvertToOnnx(Model("vit.openai.pt"), Path.Combine(root, "pt"));
        Assert.Equal("Microsoft.ML.Clip ClipTrainer", info.Source);
        foreach (var file in new[] { "image.onnx", "text.onnx" })
            Assert.Equal(Graph(Path.Combine(root, "pt"), file), Graph(Path.Combine(root, "package"), file));
    }

    [Fact]
    public void Package_files_that_cannot_be_converted_say_why()
    {
        var other = PackageFile("report");
        Assert.Contains("not a trained model or checkpoint", Assert.Throws<InvalidDataException>(() => ClipModelConverter.ConvertToOnnx(other, Path.Combine(Fixtures.NewTempDir(), "out"))).Message);

        // A locked-image checkpoint records its encoder by name and id only.
        var lit = PackageFile("checkpoint", n => "model." + n,
            h => { h["config"] = ClipConfigJson.Serialize(PyTorchCheckpoint.Load(Model("vit.openai.pt")).Config.WithImageFeatures(64, 64), indented: false); h["image_encoder"] = "resnet18"; });
        var e = Assert.Throws<InvalidDataException>(() => ClipModelConverter.ConvertToOnnx(lit, Path.Combine(Fixtures.NewTempDir(), "out")));
        Assert.Contains(lit, e.Message);
        Assert.Contains("model.clipmodel", e.Message);
    }
}
