using System.Text.Json.Nodes;
using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.TestUtilities;
using Xunit;

namespace Microsoft.ML.Clip.Tests.Inference;

/// <summary>
/// A frozen text encoder's settings in their three homes — <c>text_encoder.json</c> beside the user's graph, the header of
/// a saved model (<c>model.clipmodel</c>), an exported model's <c>clip_model.json</c> (its tokenizer part) — hold the same
/// values through one JSON form, and every reader refuses a bad value naming the file and the field.
/// </summary>
public class FrozenTextEncoderSettingsTests
{
    public static TheoryData<string> Settings() => new()
    {
        "{}",
        """{ "lowercase": false, "max_length": 16, "pooling": "cls", "output": "last_hidden_state", "normalize": false }""",
        """{ "model": "bert.onnx", "max_length": 512, "pooling": "pooled", "output": "pooler_output" }""",
    };

    [Theory]
    [MemberData(nameof(Settings))]
    public void The_json_form_gives_back_every_setting(string json)
    {
        var path = Path.Combine(Fixtures.NewTempDir("text-encoder-settings"), FrozenTextEncoderSettings.FileName);
        File.WriteAllText(path, json);
        var settings = FrozenTextEncoderSettings.Load(path);

        Assert.Equal(settings, FrozenTextEncoderSettings.FromJson(Reparse(settings.ToJson(withModelFile: true)), "written"));
        // A saved model's form leaves the file name out (it carries the graph).
        Assert.Equal(settings with { ModelFile = FrozenTextEncoderSettings.DefaultModelFile },
            FrozenTextEncoderSettings.FromJson(Reparse(settings.ToJson(withModelFile: false)), "written"));
        File.WriteAllText(path, settings.ToJson(withModelFile: true).ToJsonString());
        Assert.Equal(settings, FrozenTextEncoderSettings.Load(path));
    }

    [Fact]
    public void Absent_fields_are_all_minilm_defaults()
    {
        Assert.Equal(FrozenTextEncoderSettings.MiniLm, FrozenTextEncoderSettings.FromJson(new JsonObject(), "empty"));
        Assert.Equal(FrozenTextEncoderSettings.MiniLm, FrozenTextEncoderSettings.FromJson(Reparse("""{ "output": null, "model": null }"""), "nulls"));
    }

    [Fact]
    public void The_three_forms_hold_the_same_settings()
    {
        const string json = """{ "lowercase": false, "max_length": 16, "pooling": "cls", "normalize": false }""";
        var (folder, text) = WordPieceModels.ExportedModel(settingsJson: json);
        var expected = new FrozenTextEncoderSettings { Lowercase = false, MaxLength = 16, Pooling = FrozenTextPooling.Cls, Normalize = false };
        Assert.Equal(expected, text.Settings);

        // The saved model's header, written and read back as the package file has it.
        var header = new JsonObject();
        ClipPackageTextEncoder.WriteHeader(header, text.Name, "id", text.Settings);
        var stored = Reparse(header.ToJsonString())[ClipPackageTextEncoder.SettingsKey]!.AsObject();
        Assert.Equal(expected, FrozenTextEncoderSettings.FromJson(stored, "model.clipmodel", ClipPackageTextEncoder.SettingsKey + "."));

        // The exported folder records the tokenizer's part, and its model tokenizes as the encoder (cased, 16 ids a row).
        var info = ClipModelInfo.Load(Path.Combine(folder, ClipModelInfo.FileName));
        Assert.Equal(((bool?)false, 16), (info.Tokenizer.Lowercase, info.Tokenizer.ContextLength));
        using var model = ClipModel.Load(folder, new ClipModelOptions { IntraOpNumThreads = 1 });
        using var encoder = FrozenTextEncoder.FromFolder(WordPieceModels.TinyBertFolder(json));
        string[] texts = ["A Cat in Zürich", string.Join(' ', Enumerable.Repeat("Dog", 40))];
        var rows = model.Tokenize(texts);
        for (var i = 0; i < texts.Length; i++)
        {
            var ids = encoder.Tokenize(texts[i]);
            Assert.Equal(ids.Select(v => (long)v).Concat(Enumerable.Repeat(0L, 16 - ids.Length)), rows.AsSpan(i * 16, 16).ToArray());
        }
        // Cased indeed: the uncased default tokenizes the same text otherwise.
        using var uncased = FrozenTextEncoder.FromFolder(WordPieceModels.TinyBertFolder());
        Assert.NotEqual(uncased.Tokenize(texts[0]), encoder.Tokenize(texts[0]));
    }

    [Theory]
    [InlineData("""{ "max_length": 1 }""", "max_length", "must be in 2..65536")]
    [InlineData("""{ "max_length": 70000 }""", "max_length", "got 70000")]
    [InlineData("""{ "max_length": 16.5 }""", "max_length", "must be an integer, got 16.5")]
    [InlineData("""{ "pooling": "max" }""", "pooling", "must be 'mean', 'cls' or 'pooled', got 'max'")]
    [InlineData("""{ "pooling": 1 }""", "pooling", "must be a string, got 1")]
    [InlineData("""{ "model": "../bert.onnx" }""", "model", "must be a file name inside the encoder folder")]
    [InlineData("""{ "normalize": "no" }""", "normalize", "must be true or false")]
    [InlineData("""{ "output": ["a"] }""", "output", "must be a string")]
    public void A_bad_text_encoder_json_is_refused_naming_the_file_and_the_field(string json, string field, string expected)
    {
        var path = Path.Combine(Fixtures.NewTempDir("text-encoder-settings"), FrozenTextEncoderSettings.FileName);
        File.WriteAllText(path, json);
        var e = Assert.Throws<InvalidDataException>(() => FrozenTextEncoderSettings.Load(path));
        Assert.Contains($"'{path}': field '{field}' ", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Settings_made_in_code_are_checked_the_same_way()
    {
        var e = Assert.Throws<InvalidDataException>(() => new FrozenTextEncoderSettings { Pooling = (FrozenTextPooling)7 }.Validate("code"));
        Assert.Equal("'code': field 'pooling' must be 'mean', 'cls' or 'pooled', got 7.", e.Message);
        e = Assert.Throws<InvalidDataException>(() => new FrozenTextEncoderSettings { MaxLength = 0 }.Validate("model.clipmodel", "text_encoder_settings."));
        Assert.Equal("'model.clipmodel': field 'text_encoder_settings.max_length' must be in 2..65536 ([CLS] and [SEP] at least), got 0.", e.Message);
    }

    // Through text, as a file holds it (a value parsed from a file is not the value a writer put in).
    private static JsonObject Reparse(JsonObject json) => Reparse(json.ToJsonString());

    private static JsonObject Reparse(string json) => JsonNode.Parse(json)!.AsObject();
}
