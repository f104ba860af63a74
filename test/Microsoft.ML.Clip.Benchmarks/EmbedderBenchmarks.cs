using BenchmarkDotNet.Attributes;
using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.TestUtilities;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;

namespace Microsoft.ML.Clip.Benchmarks;

/// <summary>
/// Image embedding throughput on the same model, batch size and tensors: the bulk path
/// (<see cref="ClipModel.EmbedImages(IDataView, string, string, bool, int?, bool)"/>, one ONNX Runtime call per batch),
/// ML.NET's <c>ApplyOnnxModel</c> row path (the catalog estimator, one call per row) and a raw ONNX Runtime session
/// (the baseline). The Ratio column is time relative to raw; the bulk path targets ≤ 1.05 (≥ 0.95 × raw throughput).
/// Run: <c>dotnet run -c Release --project test/Microsoft.ML.Clip.Benchmarks -- --filter '*EmbedderBenchmarks*'</c>.
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 8)]
[MemoryDiagnoser]
public class EmbedderBenchmarks
{
    private const int Rows = 256;
    private const int Resolution = 64;
    private const int PixelCount = 3 * Resolution * Resolution;

    private MLContext _ml = null!;
    private ClipModel _model = null!;
    private IDataView _data = null!;
    private ITransformer _rowPath = null!;
    private InferenceSession _raw = null!;
    private float[] _pixels = null!;
    private string _folder = null!;

    /// <summary>Images per ONNX Runtime call for the bulk and raw paths.</summary>
    [Params(32)]
    public int BatchSize { get; set; }

    /// <summary>Builds the model folder, the data and the three paths.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _folder = Fixtures.NewTempDir("clip-bench");
        File.Copy(Fixtures.Reference("models", "vit.image.onnx"), Path.Combine(_folder, "image.onnx"));
        File.Copy(Fixtures.Reference("models", "vit.text.onnx"), Path.Combine(_folder, "text.onnx"));
        new ClipModelInfo { EmbedDim = 64, ImageResolution = Resolution, LogitScale = 2.99609375f }.Save(Path.Combine(_folder, ClipModelInfo.FileName));

        var random = new Random(7);
        _pixels = new float[Rows * PixelCount];
        for (int i = 0; i < _pixels.Length; i++)
            _pixels[i] = (float)(random.NextDouble() * 2 - 1);

        _ml = new MLContext(seed: 1);
        _model = ClipModel.Load(_folder, new ClipModelOptions { BatchSize = BatchSize });
        var schema = SchemaDefinition.Create(typeof(PixelRow));
        schema[nameof(PixelRow.Image)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, PixelCount);
        var rows = Enumerable.Range(0, Rows).Select(i => new PixelRow { Image = _pixels.AsSpan(i * PixelCount, PixelCount).ToArray() }).ToArray();
        _data = _ml.Data.Cache(_ml.Data.LoadFromEnumerable(rows, schema));
        _rowPath = _ml.Transforms.ClipImageEmbedding("Embedding", _model, "Image", normalize: false).Fit(_data);
        _raw = new InferenceSession(Path.Combine(_folder, "image.onnx"));
    }

    /// <summary>Frees the sessions.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _raw.Dispose();
        _model.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    /// <summary>Raw ONNX Runtime session, batches of <see cref="BatchSize"/> over the same tensors.</summary>
    [Benchmark(Baseline = true)]
    public float RawOnnxRuntime()
    {
        float sum = 0;
        for (int start = 0; start < Rows; start += BatchSize)
        {
            int n = Math.Min(BatchSize, Rows - start);
            using var input = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance,
                new Memory<float>(_pixels, start * PixelCount, n * PixelCount), [n, 3, Resolution, Resolution]);
            using var output = _raw.Run(new RunOptions(), ["pixel_values"], [input], ["image_embeds"]);
            sum += output[0].GetTensorDataAsSpan<float>()[0];
        }
        return sum;
    }

    /// <summary>The bulk path: a batching <see cref="IDataView"/> read to the end.</summary>
    [Benchmark]
    public float BulkDataView() => Consume(_model.EmbedImages(_data, "Image", "Embedding", normalize: false, batchSize: BatchSize));

    /// <summary>ML.NET's row path: <c>ApplyOnnxModel</c>, one call per row.</summary>
    [Benchmark]
    public float ApplyOnnxModelRowByRow() => Consume(_rowPath.Transform(_data));

    private static float Consume(IDataView view)
    {
        var column = view.Schema["Embedding"];
        using var cursor = view.GetRowCursor([column]);
        var getter = cursor.GetGetter<VBuffer<float>>(column);
        VBuffer<float> value = default;
        float sum = 0;
        while (cursor.MoveNext())
        {
            getter(ref value);
            sum += value.GetValues()[0];
        }
        return sum;
    }

    private sealed class PixelRow
    {
        public float[] Image = [];
    }
}
