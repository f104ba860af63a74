using System.Text.Json.Nodes;
using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.TestUtilities;
using Xunit;
using static Microsoft.ML.Clip.Tests.Checkpoints.TestTensors;

namespace Microsoft.ML.Clip.Tests.Checkpoints;

public class HuggingFaceClipTests : IDisposable
{
    private readonly string _dir = Fixtures.NewTempDir("clip-hf");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string HfFixture => Fixtures.Reference("models", "vit.hf.safetensors");

    [Fact]
    public void ConfigJsonGivesTheFixtureArchitecture()
    {
        var (config, logitScale) = HuggingFaceClipConfig.Load(Fixtures.Reference("models", "vit.hf.config.json"));
        Assert.Equal(64, config.EmbedDim);
        Assert.Equal(64, config.ImageResolution);
        Assert.Equal(new[] { 2 }, config.VisionLayers);
        Assert.Equal(128, config.VisionWidth);
        Assert.Equal(16, config.VisionPatchSize);
        Assert.Equal(2, config.VisionHeads);
        Assert.Equal(64, config.TransformerWidth);
        Assert.Equal(1, config.TransformerHeads);
        Assert.Equal(2, config.TransformerLayers);
        Assert.Equal(77, config.ContextLength);
        Assert.Equal(49408, config.VocabSize);
        Assert.Equal(ClipActivation.QuickGelu, config.Activation);
        Assert.Equal(2.99609375f, logitScale);
    }

    [Fact]
    public void ImportEqualsTheOpenAICheckpoint()
    {
        // Same weights in two formats: the HF mapping (q/k/v concat, transposes, renames) must give the .pt tensors exactly.
        var hf = HuggingFaceClip.Load(HfFixture);
        var pt = PyTorchCheckpoint.Load(Fixtures.Reference("models", "vit.openai.pt"));
        Assert.Equal(pt.Config with { VisionLayers = [] }, hf.Config with { VisionLayers = [] });
        Assert.Equal(pt.Config.VisionLayers, hf.Config.VisionLayers);
        AssertIdentical(pt.StateDict, hf.StateDict);
        Assert.All(hf.StateDict.Values, t => Assert.Equal(StateTensorType.Float32, t.Type));
        Assert.Equal(0, hf.StateDict["logit_scale"].Rank);
        Assert.Equal(2.99609375f, hf.LogitScale);
    }

    [Fact]
    public void ExportThenImportGivesIdenticalTensors()
    {
        var original = HuggingFaceClip.Load(HfFixture);
        HuggingFaceClip.Save(_dir, original.Config, original.StateDict);
        Assert.True(File.Exists(Path.Combine(_dir, "model.safetensors")));
        var again = HuggingFaceClip.Load(_dir);
        Assert.Equal(original.Config with { VisionLayers = [] }, again.Config with { VisionLayers = [] });
        AssertIdentical(original.StateDict, again.StateDict);

        // Same HF tensors as the fixture (position_ids written back; logit_scale 0-d as transformers has it).
        var fixture = SafetensorsReader.Read(HfFixture);
        var written = SafetensorsReader.Read(Path.Combine(_dir, "model.safetensors"));
        Assert.Equal(fixture.Keys.Order(StringComparer.Ordinal), written.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, t) in fixture)
            Assert.True(t.Type == written[name].Type && t.Data.Span.SequenceEqual(written[name].Data.Span), name);
        Assert.Equal(0, written["logit_scale"].Rank);

        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(_dir, "config.json")))!;
        Assert.Equal(2, config["vision_config"]!["num_attention_heads"]!.GetValue<int>());
        Assert.Equal("quick_gelu", config["text_config"]!["hidden_act"]!.GetValue<string>());
        Assert.Equal(2.99609375f, config["logit_scale_init_value"]!.GetValue<float>());
    }

    [Fact]
    public void Float16FileImportsAsFloat32()
    {
        var fp16 = SafetensorsReader.Read(HfFixture).ToDictionary(kv => kv.Key, kv => kv.Value.IsFloatingPoint ? kv.Value.ToFloat16() : kv.Value);
        SafetensorsWriter.Write(Path.Combine(_dir, "model.safetensors"), fp16);
        File.Copy(Fixtures.Reference("models", "vit.hf.config.json"), Path.Combine(_dir, "config.json"));
        var imported = HuggingFaceClip.Load(Path.Combine(_dir, "model.safetensors"));
        var reference = HuggingFaceClip.Load(HfFixture);
        Assert.All(imported.StateDict.Values, t => Assert.Equal(StateTensorType.Float32, t.Type));
        AssertIdentical(reference.StateDict, imported.StateDict);   // the fixture weights are float16-representable
    }

    [Fact]
    public void ResNetCannotBeWrittenAsHuggingFaceButAsOpenAINamedSafetensors()
    {
        var rn = PyTorchCheckpoint.Load(Fixtures.Reference("models", "rn.openai.pt"));
        var e = Assert.Throws<NotSupportedException>(() => HuggingFaceClip.Save(_dir, rn.Config, rn.StateDict));
        Assert.Contains("ModifiedResNet", e.Message);
        Assert.Contains(nameof(ClipSafetensors), e.Message);

        ClipSafetensors.Save(_dir, rn.Config, rn.StateDict);
        Assert.True(File.Exists(Path.Combine(_dir, "clip_config.json")));
        var loaded = HuggingFaceClip.Load(_dir);
        Assert.Equal(rn.Config.VisionLayers, loaded.Config.VisionLayers);
        Assert.Equal(rn.Config with { VisionLayers = [] }, loaded.Config with { VisionLayers = [] });
        AssertIdentical(rn.StateDict, loaded.StateDict);
        Assert.Equal(2.99609375f, loaded.LogitScale);
        // Written in the checkpoint's own dtype (float16 here), and read back in it: ClipWeights.Load gives float32 tensors.
        Assert.Equal(StateTensorType.Float16, SafetensorsReader.Read(Path.Combine(_dir, "model.safetensors"))["visual.conv1.weight"].Type);
        Assert.Equal(StateTensorType.Float16, loaded.StateDict["visual.conv1.weight"].Type);
    }

    [Fact]
    public void OpenAINamedRoundTripOfViTIsIdentical()
    {
        var vit = HuggingFaceClip.Load(HfFixture);
        ClipSafetensors.Save(_dir, vit.Config, vit.StateDict);
        var loaded = ClipSafetensors.Load(Path.Combine(_dir, "model.safetensors"));
        AssertIdentical(vit.StateDict, loaded.StateDict);
        Assert.Equal(vit.Config with { VisionLayers = [] }, loaded.Config with { VisionLayers = [] });
    }

    private string WriteHf(Action<Dictionary<string, StateTensor>> edit)
    {
        var tensors = SafetensorsReader.Read(HfFixture);
        edit(tensors);
        var path = Path.Combine(_dir, "model.safetensors");
        SafetensorsWriter.Write(path, tensors);
        File.Copy(Fixtures.Reference("models", "vit.hf.config.json"), Path.Combine(_dir, "config.json"), overwrite: true);
        return path;
    }

    [Fact]
    public void MissingAndUnexpectedKeysAreListed()
    {
        var path = WriteHf(t =>
        {
            t.Remove("text_model.encoder.layers.1.self_attn.k_proj.bias");
            t.Remove("vision_model.pre_layrnorm.weight");
            t["vision_model.encoder.layers.2.mlp.fc1.bias"] = Zeros(512);
        });
        var e = Assert.Throws<InvalidDataException>(() => HuggingFaceClip.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("missing keys", e.Message);
        Assert.Contains("text_model.encoder.layers.1.self_attn.k_proj.bias", e.Message);
        Assert.Contains("vision_model.pre_layrnorm.weight", e.Message);
        Assert.Contains("unexpected keys: vision_model.encoder.layers.2.mlp.fc1.bias", e.Message);
    }

    [Fact]
    public void ShapeMismatchIsNamed()
    {
        var path = WriteHf(t => t["visual_projection.weight"] = Zeros(128, 64));
        var e = Assert.Throws<InvalidDataException>(() => HuggingFaceClip.Load(path));
        Assert.Contains("'visual_projection.weight' has shape [128, 64], expected [64, 128]", e.Message);
    }

    [Fact]
    public void MissingConfigIsNamed()
    {
        var path = Path.Combine(_dir, "weights.safetensors");
        File.Copy(HfFixture, path);
        var e = Assert.Throws<FileNotFoundException>(() => HuggingFaceClip.Load(path));
        Assert.Contains("config.json", e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void OpenAINamedStateDictWithWrongShapeIsRejectedOnSave()
    {
        var vit = HuggingFaceClip.Load(HfFixture);
        var broken = vit.StateDict.ToDictionary(kv => kv.Key, kv => kv.Value);
        broken["ln_final.weight"] = Zeros(3);
        var e = Assert.Throws<InvalidDataException>(() => ClipSafetensors.Save(_dir, vit.Config, broken));
        Assert.Contains("'ln_final.weight' has shape [3], expected [64]", e.Message);
    }

    [Fact]
    public void UnsupportedHuggingFaceConfigsAreExplained()
    {
        var json = File.ReadAllText(Fixtures.Reference("models", "vit.hf.config.json"));
        var node = JsonNode.Parse(json)!;
        node["vision_config"]!["num_attention_heads"] = 4;
        var e = Assert.Throws<NotSupportedException>(() => HuggingFaceClipConfig.Parse(node.ToJsonString(), "cfg.json"));
        Assert.Contains("num_attention_heads", e.Message);
        node["vision_config"]!["num_attention_heads"] = 2;
        node["text_config"]!["hidden_act"] = "relu";
        node["vision_config"]!["hidden_act"] = "relu";
        Assert.Contains("relu", Assert.Throws<NotSupportedException>(() => HuggingFaceClipConfig.Parse(node.ToJsonString(), "cfg.json")).Message);
        Assert.Contains("cfg.json", Assert.Throws<InvalidDataException>(() => HuggingFaceClipConfig.Parse("{not json", "cfg.json")).Message);
    }
}
