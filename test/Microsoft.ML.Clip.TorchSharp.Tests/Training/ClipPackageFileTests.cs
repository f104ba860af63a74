using System.Text.Json.Nodes;
using Microsoft.ML.Clip.TestUtilities;
using Microsoft.ML.Clip.TorchSharp.Checkpoints;
using Microsoft.ML.Clip.TorchSharp.Training;
using static TorchSharp.torch;

namespace Microsoft.ML.Clip.TorchSharp.Tests.Training;

/// <summary>
/// The trainer's files with TorchSharp tensors (the format itself, damaged files included, is tested on plain arrays in
/// Microsoft.ML.Clip.Tests).
/// </summary>
public class ClipPackageFileTests
{
    [Fact]
    public void RoundTripKeepsTheTensors()
    {
        using var stream = new MemoryStream();
        using var w = ones(2, 3);
        using var ids = arange(4, ScalarType.Int64);
        using var bytes = tensor(new byte[] { 7, 8 });
        ClipPackageTensors.Write(stream, new JsonObject(), [("w", w), ("ids", ids), ("b", bytes)]);
        stream.Position = 0;
        var (_, tensors) = ClipPackageTensors.Read(stream, "mem");
        Assert.Equal(["w", "ids", "b"], tensors.Keys);
        Assert.Equal([2L, 3L], tensors["w"].shape);
        Assert.All(tensors["w"].data<float>().ToArray(), v => Assert.Equal(1f, v));
        Assert.Equal([0L, 1, 2, 3], tensors["ids"].data<long>().ToArray());
        Assert.Equal(new byte[] { 7, 8 }, tensors["b"].data<byte>().ToArray());
        foreach (var t in tensors.Values) t.Dispose();
    }

    [Fact]
    public void Other_dtypes_are_refused_by_name()
    {
        using var half = ones(2, dtype: ScalarType.Float16);
        var e = Assert.Throws<NotSupportedException>(() => ClipPackageTensors.Write(new MemoryStream(), new JsonObject(), [("h", half)]));
        Assert.Contains("'h'", e.Message);
    }
}

/// <summary>A header field that is missing or of the wrong JSON type is named, with the file, in the error.</summary>
public class ClipPackageHeaderTests
{
    private static ClipPackageHeader Header(string json) => new((JsonObject)JsonNode.Parse(json)!, "some.clipmodel");

    [Fact]
    public void Fields_of_the_right_type_are_read()
    {
        var header = Header("""{"step": 12, "loss": "Sigmoid", "bias": -9.5, "p": {"resolution": 224, "mean": [0.5, 1]}}""");
        Assert.Equal(12L, header.Int64("step"));
        Assert.Equal(12, header.Int32("step"));
        Assert.Equal(ClipLossKind.Sigmoid, header.Enum<ClipLossKind>("loss"));
        Assert.Equal(-9.5f, header.OptionalSingle("bias"));
        Assert.Null(header.OptionalSingle("absent"));
        Assert.Null(header.OptionalString("absent"));
        Assert.Equal(224, header.OptionalObject("p")!.Int32("resolution"));
        Assert.Equal([0.5f, 1f], header.OptionalObject("p")!.SingleArray("mean"));
    }

    [Theory]
    [InlineData("""{}""", "step", "no field 'step'")]
    [InlineData("""{"step": "twelve"}""", "step", "field 'step' is \"twelve\", expected an integer")]
    [InlineData("""{"step": 1.5}""", "step", "field 'step' is 1.5, expected an integer")]
    [InlineData("""{"step": [1]}""", "step", "field 'step' is an array, expected an integer")]
    [InlineData("""{"loss": "Hinge"}""", "loss", "field 'loss' is 'Hinge', not one of InfoNce, Sigmoid")]
    [InlineData("""{"p": {"mean": [0.5, "x"]}}""", "p.mean", "field 'p.mean' is an array, expected an array of numbers")]
    [InlineData("""{"p": 3}""", "p", "field 'p' is 3, expected an object")]
    public void A_missing_or_mistyped_field_is_named_with_the_file(string json, string field, string expected)
    {
        var header = Header(json);
        var e = Assert.Throws<InvalidDataException>(() => field switch
        {
            "step" => header.Int64("step"),
            "loss" => (object)header.Enum<ClipLossKind>("loss"),
            "p.mean" => header.OptionalObject("p")!.SingleArray("mean"),
            _ => header.OptionalObject("p")!,
        });
        Assert.StartsWith("some.clipmodel: ", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Loading_a_model_whose_header_lacks_a_column_name_names_the_file_and_the_field()
    {
        var config = ClipConfigJson.Serialize(ShapesDataset.SmallConfig, indented: false);
        using var model = new Microsoft.ML.Clip.TorchSharp.Modules.ClipTorchModel(ShapesDataset.SmallConfig);
        var header = new JsonObject { ["kind"] = "model", ["config"] = config, ["loss"] = "InfoNce", ["image_column"] = "Image" };
        var path = Path.Combine(Fixtures.NewTempDir("header"), "partial.clipmodel");
        using (var stream = File.Create(path))
            ClipPackageTensors.Write(stream, header, model.state_dict().Select(kv => (kv.Key, kv.Value)));
        var e = Assert.Throws<InvalidDataException>(() => ClipTrainerTransformer.Load(new MLContext(), path));
        Assert.Contains(path, e.Message);
        Assert.Contains("'text_column'", e.Message);
    }
}
