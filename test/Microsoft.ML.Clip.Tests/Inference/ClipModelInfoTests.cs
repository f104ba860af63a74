using System.Text.Json.Nodes;
using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.TestUtilities;
using Xunit;

namespace Microsoft.ML.Clip.Tests.Inference;

/// <summary><c>clip_model.json</c> format version 2: the fields it added, their defaults for version 1 files, and their checks.</summary>
public class ClipModelInfoTests
{
    [Fact]
    public void AVersionOneFileReadsAsAClipModelWithTheNewFieldsAtTheirDefaults()
    {
        var dir = ModelFolders.Create("vit", swap: false);
        var path = Path.Combine(dir, ClipModelInfo.FileName);
        var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        json["format_version"] = 1;
        foreach (var added in new[] { "family", "text_sequence" }) json.Remove(added);
        json["tokenizer"]!.AsObject().Remove("kind");
        json["tokenizer"]!.AsObject().Remove("pad_id");
        json["preprocess"]!.AsObject().Remove("convert_rgb_first");
        File.WriteAllText(path, json.ToJsonString());

        var info = ClipModelInfo.Load(path);
        Assert.Equal(1, info.FormatVersion);
        Assert.Equal(ClipModelInfo.ClipFamily, info.Family);
        Assert.Null(info.LogitBias);
        Assert.Equal(ClipModelInfo.FixedSequence, info.TextSequence);
        Assert.Equal("clip-bpe", info.Tokenizer.Kind);
        Assert.Null(info.Tokenizer.File);
        Assert.False(info.Preprocess.ConvertRgbFirst);
        using var model = ClipModel.Load(dir);
        Assert.Null(model.LogitBias);
        Assert.Equal(ClipTokenizer77("a photo of a cat"), model.Tokenize(["a photo of a cat"]));
    }

    [Fact]
    public void TheNewFieldsRoundTrip()
    {
        var path = Path.Combine(Fixtures.NewTempDir(), ClipModelInfo.FileName);
        var info = new ClipModelInfo
        {
            EmbedDim = 8, ImageResolution = 32, Family = ClipModelInfo.SiglipFamily, LogitBias = -10.5f, TextSequence = ClipModelInfo.DynamicSequence,
            Preprocess = new ClipPreprocessInfo { ConvertRgbFirst = true, ResizeMode = ClipPreprocessInfo.Squash },
        };
        info.Save(path);
        var back = ClipModelInfo.Load(path);
        Assert.Equal(ClipModelInfo.CurrentFormatVersion, back.FormatVersion);
        Assert.Equal(ClipModelInfo.SiglipFamily, back.Family);
        Assert.Equal(-10.5f, back.LogitBias);
        Assert.Equal(ClipModelInfo.DynamicSequence, back.TextSequence);
        Assert.True(back.Preprocess.ConvertRgbFirst);
        // A softmax model writes no logit_bias at all.
        new ClipModelInfo { EmbedDim = 8, ImageResolution = 32 }.Save(path);
        Assert.DoesNotContain("logit_bias", File.ReadAllText(path));
    }

    [Theory]
    [InlineData("family", "\"clap\"", "unknown family 'clap'")]
    [InlineData("text_sequence", "\"ragged\"", "unknown text_sequence 'ragged'")]
    [InlineData("logit_bias", "\"NaN\"", "logit_bias")]
    [InlineData("format_version", "3", "format_version 3")]
    public void AnUnknownValueIsRefusedNamingTheFileAndField(string field, string value, string message)
    {
        var path = WriteInfo(json => json[field] = JsonNode.Parse(value));
        var e = Assert.Throws<InvalidDataException>(() => ClipModelInfo.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains(message, e.Message);
    }

    [Theory]
    [InlineData("{\"kind\":\"sentencepiece-v9\"}", "unknown tokenizer kind 'sentencepiece-v9'")]
    [InlineData("{\"kind\":\"clip-bpe\",\"file\":\"../../etc/passwd\"}", "tokenizer file must be a file name inside the model folder")]
    [InlineData("{\"kind\":\"clip-bpe\",\"file\":\"..\"}", "tokenizer file must be a file name inside the model folder")]
    public void ATokenizerThisVersionCannotUseIsRefused(string tokenizer, string message)
    {
        var path = WriteInfo(json => json["tokenizer"] = JsonNode.Parse(tokenizer));
        var e = Assert.Throws<InvalidDataException>(() => ClipModelInfo.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains(message, e.Message);
    }

    private static string WriteInfo(Action<JsonObject> edit)
    {
        var path = Path.Combine(Fixtures.NewTempDir(), ClipModelInfo.FileName);
        new ClipModelInfo { EmbedDim = 8, ImageResolution = 32 }.Save(path);
        var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(json);
        File.WriteAllText(path, json.ToJsonString());
        return path;
    }

    private static long[] ClipTokenizer77(string text) => Microsoft.ML.Clip.Tokenization.ClipTokenizer.Default.EncodeToContext(text, 77).Select(i => (long)i).ToArray();
}
