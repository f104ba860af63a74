using System.Buffers.Binary;
using System.Text.Json.Nodes;
using Microsoft.ML.Clip.TestUtilities;
using Microsoft.ML.Clip.TorchSharp.Checkpoints;
using Microsoft.ML.Clip.TorchSharp.Training;
using static TorchSharp.torch;

namespace Microsoft.ML.Clip.TorchSharp.Tests.Training;

/// <summary>A damaged shape in a package file fails with an error naming the source and tensor, before any big allocation.</summary>
public class ClipPackageFileTests
{
    private static byte[] OneTensorFile()
    {
        using var stream = new MemoryStream();
        using var w = ones(2, 3);
        ClipPackageFile.Write(stream, new JsonObject(), [("w", w)]);
        return stream.ToArray();
    }

    [Fact]
    public void RoundTripKeepsTheTensor()
    {
        var (_, tensors) = ClipPackageFile.Read(new MemoryStream(OneTensorFile()), "mem");
        using var w = tensors["w"];
        Assert.Equal([2L, 3L], w.shape);
        Assert.All(w.data<float>().ToArray(), v => Assert.Equal(1f, v));
    }

    [Fact]
    public void A_failed_atomic_write_keeps_the_old_file_and_leaves_no_temporary()
    {
        var path = Path.Combine(Fixtures.NewTempDir(), "model.clip");
        File.WriteAllText(path, "old");
        Assert.Throws<IOException>(() => AtomicFile.Write(path, stream =>
        {
            stream.WriteByte(1);
            throw new IOException("disk full");
        }));
        Assert.Equal("old", File.ReadAllText(path));
        Assert.False(File.Exists(path + ".tmp"));

        AtomicFile.Write(path, stream => stream.Write("new"u8));
        Assert.Equal("new", File.ReadAllText(path));
    }

    [Theory]
    [InlineData(1L << 40, "declares")]
    [InlineData(-2L, "negative dimension")]
    public void DamagedShapeNamesSourceAndTensor(long firstDimension, string expected)
    {
        var bytes = OneTensorFile();
        // The file ends with the two int64 dimensions and the 24 data bytes.
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(bytes.Length - 24 - 16, 8), firstDimension);
        var e = Assert.Throws<InvalidDataException>(() => ClipPackageFile.Read(new MemoryStream(bytes), "damaged.clip"));
        Assert.Contains("damaged.clip", e.Message);
        Assert.Contains("'w'", e.Message);
        Assert.Contains(expected, e.Message);
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
        var config = Microsoft.ML.Clip.TorchSharp.Checkpoints.ClipConfigJson.Serialize(ShapesDataset.SmallConfig, indented: false);
        using var model = new Microsoft.ML.Clip.TorchSharp.Modules.ClipTorchModel(ShapesDataset.SmallConfig);
        var header = new JsonObject { ["kind"] = "model", ["config"] = config, ["loss"] = "InfoNce", ["image_column"] = "Image" };
        var path = Path.Combine(Fixtures.NewTempDir("header"), "partial.clipmodel");
        using (var stream = File.Create(path))
            ClipPackageFile.Write(stream, header, model.state_dict().Select(kv => (kv.Key, kv.Value)));
        var e = Assert.Throws<InvalidDataException>(() => ClipTrainerTransformer.Load(new MLContext(), path));
        Assert.Contains(path, e.Message);
        Assert.Contains("'text_column'", e.Message);
    }
}
