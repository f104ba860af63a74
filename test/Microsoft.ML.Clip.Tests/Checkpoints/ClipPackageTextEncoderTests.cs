using System.Text.Json.Nodes;
using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.Export;
using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.TestUtilities;
using Microsoft.ML.Clip.Tests.Inference;
using Xunit;

namespace Microsoft.ML.Clip.Tests.Checkpoints;

/// <summary>
/// The frozen text encoder inside a saved model (<c>model.clipmodel</c>): its settings' header JSON is recorded bytes (old
/// packages must read as before), they come back as written, and a header with a value the encoder cannot run with is
/// refused on reading, naming the file and the field, even when the recorded id matches it.
/// </summary>
public class ClipPackageTextEncoderTests
{
    private static readonly Lazy<FrozenTextEncoderGraph> Encoder = new(() =>
    {
        using var encoder = FrozenTextEncoder.FromFolder(WordPieceModels.TinyBertFolder(
            """{ "lowercase": false, "max_length": 16, "pooling": "cls", "output": "last_hidden_state", "normalize": false }"""));
        return FrozenTextEncoderGraph.Of(encoder);
    });

    [Fact]
    public void The_header_holds_the_recorded_json()
    {
        var header = new JsonObject();
        ClipPackageTextEncoder.WriteHeader(header, "minilm", "id", FrozenTextEncoderSettings.MiniLm);
        Assert.Equal("""{"text_encoder":"minilm","text_encoder_id":"id","text_encoder_settings":{"lowercase":true,"max_length":256,"pooling":"mean","output":null,"normalize":true}}""",
            header.ToJsonString());

        header = new JsonObject();
        ClipPackageTextEncoder.WriteHeader(header, "tiny", "id", Encoder.Value.Settings);
        Assert.Equal("""{"text_encoder":"tiny","text_encoder_id":"id","text_encoder_settings":{"lowercase":false,"max_length":16,"pooling":"cls","output":"last_hidden_state","normalize":false}}""",
            header.ToJsonString());
    }

    [Fact]
    public void The_settings_come_back_from_a_package_file_as_written()
    {
        var text = Encoder.Value;
        var path = Write(ClipPackageTextEncoder.WriteHeader, text.Settings);
        var read = Read(path);
        Assert.Equal(text.Settings, read.Settings);
        Assert.Equal((text.Name, text.FeatureSize), (read.Name, read.FeatureSize));
        Assert.Equal(text.GraphBytes, read.GraphBytes);
        Assert.Equal(text.VocabularyBytes, read.VocabularyBytes);
    }

    [Theory]
    [InlineData("max_length", "0", "got 0")]
    [InlineData("max_length", "-3", "got -3")]
    [InlineData("max_length", "1", "got 1")]
    [InlineData("max_length", "70000", "got 70000")]
    [InlineData("max_length", "\"16\"", "must be an integer")]
    [InlineData("pooling", "\"max\"", "must be 'mean', 'cls' or 'pooled', got 'max'")]
    [InlineData("lowercase", "\"yes\"", "must be true or false")]
    [InlineData("poolnig", "\"mean\"", "unknown field")]
    public void A_package_with_a_bad_setting_is_refused_naming_the_file_and_the_field(string field, string json, string expected)
    {
        var text = Encoder.Value;
        // The recorded id is the one of the bad settings where they can be represented, so that only the value is wrong.
        var path = Write((header, name, id, settings) =>
        {
            ClipPackageTextEncoder.WriteHeader(header, name, id, settings);
            header[ClipPackageTextEncoder.SettingsKey]![field] = JsonNode.Parse(json);
            if (field == "max_length" && int.TryParse(json, out var length))
                header[ClipPackageHeader.TextEncoderIdKey] = FrozenTextEncoder.ComputeId(text.GraphBytes, text.VocabularyBytes, settings with { MaxLength = length });
        }, text.Settings);
        var e = Assert.Throws<InvalidDataException>(() => Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains($"'{ClipPackageTextEncoder.SettingsKey}.{field}'", e.Message);
        Assert.Contains(expected, e.Message);
    }

    // A package file holding the encoder's tensors and the header WriteHeader (or a variant) gives it.
    private static string Write(Action<JsonObject, string, string, FrozenTextEncoderSettings> writeHeader, FrozenTextEncoderSettings settings)
    {
        var text = Encoder.Value;
        var header = new JsonObject { ["kind"] = ClipPackageFile.ModelKind };
        writeHeader(header, text.Name, FrozenTextEncoder.ComputeId(text.GraphBytes, text.VocabularyBytes, settings), settings);
        var path = Path.Combine(Fixtures.NewTempDir("text-encoder-package"), "model.clipmodel");
        using var stream = File.Create(path);
        ClipPackageFile.Write(stream, header, 2,
        [
            (ClipPackageTextEncoder.GraphTensorName, new StateTensor(StateTensorType.UInt8, [text.GraphBytes.Length], text.GraphBytes)),
            (ClipPackageTextEncoder.VocabularyTensorName, new StateTensor(StateTensorType.UInt8, [text.VocabularyBytes.Length], text.VocabularyBytes)),
        ]);
        return path;
    }

    private static FrozenTextEncoderGraph Read(string path)
    {
        using var stream = File.OpenRead(path);
        var (header, tensors) = ClipPackageFile.Read(stream, path);
        return ClipPackageTextEncoder.Read(header, name => tensors.TryGetValue(name, out var t) ? t.Data.ToArray() : null, path)
            ?? throw new InvalidOperationException("no text encoder read");
    }
}
