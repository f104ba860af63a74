using Microsoft.ML.Clip.Export;
using Microsoft.ML.Clip.Graphs;
using Microsoft.ML.Clip.TestUtilities;
using Microsoft.ML.Clip.TorchSharp.Checkpoints;
using Microsoft.ML.Clip.TorchSharp.Modules;
using Microsoft.ML.Clip.TorchSharp.Tests.Training;
using Microsoft.ML.Clip.TorchSharp.Training;
using static TorchSharp.torch;

namespace Microsoft.ML.Clip.TorchSharp.Tests;

/// <summary>
/// Checkpoints are read and exported on plain arrays (<see cref="StateTensor"/>) and only turned into TorchSharp
/// tensors for training: the plain conversions must give the bytes TorchSharp itself gives — float32 widening from
/// float16/bfloat16/float64, float16 rounding of stored weights, transposes — and the adapters must round-trip.
/// </summary>
public class StateTensorConversionTests
{
    private static Tensor Random()
    {
        using var scope = NewDisposeScope();
        // Random values over many magnitudes plus float16 edge cases: ties, subnormals, overflow, signed zero.
        var random = randn([5, 7], generator: new Generator(7)) * pow(10, randint(-9, 6, [5, 7], generator: new Generator(8)).to(ScalarType.Float32));
        return random.MoveToOuterDisposeScope();
    }

    private static Tensor Edges() => tensor(new[] { 1.00048828125f, 1.00146484375f, 6e-8f, 3e-5f, 65504f, 65520f, 1e6f, -0f, float.Epsilon });

    [Theory]
    [InlineData(ScalarType.Float16)]
    [InlineData(ScalarType.BFloat16)]
    [InlineData(ScalarType.Float64)]
    [InlineData(ScalarType.Float32)]
    public void Plain_widening_to_float32_gives_TorchSharps_bytes(ScalarType stored)
    {
        using var random = Random();
        using var edges = Edges();
        foreach (var t in new[] { random, edges, random.t() })
        {
            using var source = t.to(stored);
            var plain = source.ToStateTensor("w").ToFloat32();
            using var expected = source.to(ScalarType.Float32).contiguous();
            Assert.Equal(expected.shape, plain.Shape);
            Assert.Equal(expected.bytes.ToArray(), plain.Data.ToArray());
        }
    }

    [Fact]
    public void Float16_weight_storage_gives_TorchSharps_float16_bytes()
    {
        using var random = Random();
        using var edges = Edges().reshape(3, 3);
        foreach (var t in new[] { random, edges, random.t() })
        {
            var g = new OnnxGraphBuilder("test");
            g.Weight("w", t.ToStateTensor("w"));
            var model = g.Build("", new Dictionary<string, string>());
            Assert.True(Float16WeightStorage.Apply(model));
            var stored = Assert.Single(model.Graph.Initializer);
            Assert.Equal((int)Onnx.TensorProto.Types.DataType.Float16, stored.DataType);
            Assert.Equal(t.shape, stored.Dims.ToArray());
            using var expected = t.to(ScalarType.Float16).contiguous();
            Assert.Equal(expected.bytes.ToArray(), stored.RawData.ToByteArray());
        }
    }

    [Fact]
    public void Transpose_concatenation_and_split_match_TorchSharp()
    {
        using var scope = NewDisposeScope();
        var a = Random();
        var b = randn([3, 7], generator: new Generator(9));
        Assert.Equal(a.t().contiguous().bytes.ToArray(), a.ToStateTensor("a").Transpose().Data.ToArray());
        foreach (var stored in new[] { ScalarType.Float16, ScalarType.BFloat16, ScalarType.Float32 })
        {
            var source = a.to(stored);
            Assert.Equal(source.t().to(ScalarType.Float32).contiguous().bytes.ToArray(), source.ToStateTensor("a").TransposeToFloat32().Data.ToArray());
        }
        var joined = StateTensor.Concatenate([a.ToStateTensor("a"), b.ToStateTensor("b")]);
        Assert.Equal([8L, 7L], joined.Shape);
        Assert.Equal(cat([a, b], 0).bytes.ToArray(), joined.Data.ToArray());
        var parts = joined.Split(2);
        var expected = cat([a, b], 0).chunk(2, 0);
        for (var i = 0; i < 2; i++)
            Assert.Equal(expected[i].contiguous().bytes.ToArray(), parts[i].Data.ToArray());
    }

    [Fact]
    public void Every_checkpoint_dtype_round_trips_through_a_tensor()
    {
        using var scope = NewDisposeScope();
        foreach (var dtype in new[] { ScalarType.Float64, ScalarType.Float32, ScalarType.Float16, ScalarType.BFloat16, ScalarType.Int64,
                     ScalarType.Int32, ScalarType.Int16, ScalarType.Int8, ScalarType.Byte, ScalarType.Bool })
        {
            var t = arange(6).reshape(2, 3).to(dtype);
            var plain = t.ToStateTensor("t");
            var back = plain.ToTensor();
            Assert.Equal(dtype, back.dtype);
            Assert.Equal(t.shape, back.shape);
            Assert.Equal(t.bytes.ToArray(), back.bytes.ToArray());
        }
        Assert.Empty(zeros(0, 3).ToStateTensor("e").ToTensor().bytes.ToArray());
    }

    [Fact]
    public void ClipWeights_gives_float32_tensors_for_any_stored_dtype()
    {
        // OpenAI-named safetensors keep the checkpoint's float16 on disk and in the plain reader; ClipWeights converts.
        var dir = Fixtures.NewTempDir("clip-weights-fp16");
        var rn = PyTorchCheckpoint.Load(ReferenceData.Checkpoint("rn"));
        ClipSafetensors.Save(dir, rn.Config, rn.StateDict);
        Assert.Equal(StateTensorType.Float16, CheckpointWeights.Load(dir).StateDict["visual.conv1.weight"].Type);
        using var weights = ClipWeights.Load(dir);
        Assert.Equal(ScalarType.Float32, weights.StateDict["visual.conv1.weight"].dtype);
        Assert.Equal(ScalarType.Int64, weights.StateDict["visual.bn1.num_batches_tracked"].dtype);
        using var expected = rn.StateDict["visual.conv1.weight"].ToTensor().to(ScalarType.Float32);
        Assert.True(expected.equal(weights.StateDict["visual.conv1.weight"]).all().item<bool>());
    }

    [Fact]
    public void A_trained_model_exports_the_same_files_through_TorchSharp_and_from_its_saved_file()
    {
        // ExportOnnx reads the model's parameters (deferred, one at a time); ClipModelConverter reads model.clipmodel.
        var root = Fixtures.NewTempDir("clip-export-trained");
        using var generator = new Generator(11);
        using var trained = new ClipTrainerTransformer(new ClipTorchModel(ShapesDataset.SmallConfig, generator), null,
            ClipLossKind.InfoNce, "Image", "Text", "ImageEmbedding", "TextEmbedding", null);
        var file = Path.Combine(root, "model.clipmodel");
        trained.Save(file);
        foreach (var fp16 in new[] { false, true })
        {
            var viaTorch = Path.Combine(root, $"torch-{fp16}");
            var viaFile = Path.Combine(root, $"file-{fp16}");
            trained.ExportOnnx(viaTorch, fp16);
            var notes = new List<string>();
            ClipModelConverter.ConvertToOnnx(file, viaFile, new ClipConversionOptions { WeightsAsFloat16 = fp16, Log = notes.Add });
            foreach (var name in new[] { "image.onnx", "text.onnx", "clip_model.json" })
                Assert.True(File.ReadAllBytes(Path.Combine(viaTorch, name)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(viaFile, name))), $"{name}, fp16 {fp16}");
            Assert.Equal(fp16 ? 1 : 0, notes.Count); // trained float32 weights are rounded by float16 storage
        }
    }
}
