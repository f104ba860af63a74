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
    [InlineData("family", "\"clap\"", "field 'family' has the unknown value 'clap'")]
    [InlineData("text_sequence", "\"ragged\"", "field 'text_sequence' has the unknown value 'ragged'")]
    [InlineData("logit_bias", "\"NaN\"", "field 'logit_bias'")]
    [InlineData("format_version", "3", "format_version 3")]
    // Issue 13: these were accepted and ignored before.
    [InlineData("vision_kind", "\"vitt\"", "field 'vision_kind' has the unknown value 'vitt'")]
    [InlineData("embed_dim", "\"64\"", "field 'embed_dim'")]
    [InlineData("embed_dim", "0", "field 'embed_dim' must be positive")]
    [InlineData("image_resolution", "-224", "field 'image_resolution'")]
    [InlineData("logit_scale", "true", "field 'logit_scale'")]
    [InlineData("image_model", "\"../image.onnx\"", "field 'image_model' must be a file name inside the model folder")]
    [InlineData("text_model", "\"image.onnx\"", "field 'text_model' names the same file as image_model")]
    [InlineData("text_model", "null", "field 'text_model'")]
    [InlineData("preprocess", "null", "field 'preprocess' must be an object")]
    [InlineData("tokenizer", "[]", "field 'tokenizer'")]
    [InlineData("logit_bias", "-10", "field 'logit_bias' is only for family 'siglip'")]
    [InlineData("embed_dims", "64", "embed_dims")]
    [InlineData("files", "{\"image.onnx\": \"abc\"}", "field 'files.image.onnx' must be a SHA-256")]
    [InlineData("files", "{\"../x\": \"0000000000000000000000000000000000000000000000000000000000000000\"}", "field 'files.../x' must name a file inside the model folder")]
    public void AnUnknownValueIsRefusedNamingTheFileAndField(string field, string value, string message)
    {
        var path = WriteInfo(json => json[field] = JsonNode.Parse(value));
        var e = Assert.Throws<InvalidDataException>(() => ClipModelInfo.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains(message, e.Message);
    }

    [Theory]
    [InlineData("{\"kind\":\"sentencepiece-v9\"}", "field 'tokenizer.kind' has the unknown value 'sentencepiece-v9'")]
    [InlineData("{\"kind\":\"clip-bpe\",\"file\":\"../../etc/passwd\"}", "field 'tokenizer.file' must be a file name inside the model folder")]
    [InlineData("{\"kind\":\"clip-bpe\",\"file\":\"..\"}", "field 'tokenizer.file' must be a file name inside the model folder")]
    // Issue 13: an unknown vocabulary and ids the built-in tokenizer does not produce were accepted and ignored before.
    [InlineData("{\"vocab\":\"clip-bpe-32k\"}", "field 'tokenizer.vocab' has the unknown value 'clip-bpe-32k'")]
    [InlineData("{\"eot_id\":49406}", "field 'tokenizer.eot_id' must be 49407")]
    [InlineData("{\"sot_id\":0}", "field 'tokenizer.sot_id' must be 49406")]
    [InlineData("{\"pad_id\":3}", "field 'tokenizer.pad_id' must be 0")]
    [InlineData("{\"context_length\":2000000000}", "field 'tokenizer.context_length' must be in 2..65536")]
    [InlineData("{\"vocab_size\":100}", "field 'tokenizer.eot_id' must be an id below vocab_size 100")]
    [InlineData("{\"context_length\":\"77\"}", "field 'tokenizer.context_length'")]
    [InlineData("{\"kind\":\"clip-bpe\",\"extra\":1}", "extra")]
    public void ATokenizerThisVersionCannotUseIsRefused(string tokenizer, string message)
    {
        var path = WriteInfo(json => json["tokenizer"] = JsonNode.Parse(tokenizer));
        var e = Assert.Throws<InvalidDataException>(() => ClipModelInfo.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains(message, e.Message);
    }

    [Theory]
    [InlineData("resize_mode", "\"stretch\"", "field 'preprocess.resize_mode' has the unknown value 'stretch'")]
    [InlineData("interpolation", "\"lanczos\"", "field 'preprocess.interpolation' has the unknown value 'lanczos'")]
    [InlineData("mean", "[0.5, 0.5]", "field 'preprocess.mean' needs 3 finite values")]
    [InlineData("std", "[0.5, 0, 0.5]", "field 'preprocess.std' needs 3 finite values > 0")]
    [InlineData("convert_rgb_first", "\"yes\"", "field 'preprocess.convert_rgb_first'")]
    public void APreprocessingThisVersionCannotDoIsRefused(string field, string value, string message)
    {
        // Before issue 13 an unknown interpolation was accepted and ignored (the images were resized bicubic anyway).
        var path = WriteInfo(json => json["preprocess"]![field] = JsonNode.Parse(value));
        var e = Assert.Throws<InvalidDataException>(() => ClipModelInfo.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void ASigmoidModelWithoutItsBiasIsRefused()
    {
        var path = WriteInfo(json => json["family"] = "siglip");
        var e = Assert.Throws<InvalidDataException>(() => ClipModelInfo.Load(path));
        Assert.Contains("field 'logit_bias' is missing", e.Message);
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
