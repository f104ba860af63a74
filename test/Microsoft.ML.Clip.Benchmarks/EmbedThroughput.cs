using System.Globalization;
using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.TestUtilities;
using Microsoft.ML.Clip.TorchSharp.Export;
using Microsoft.ML.Clip.TorchSharp.Modeling;
using Microsoft.ML.Clip.TorchSharp.Modules;
using Microsoft.ML.Clip.TorchSharp.Training;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using SkiaSharp;

namespace Microsoft.ML.Clip.Benchmarks;

/// <summary>
/// Image embedding throughput at a real model's shape (ViT-B/32 by default: the "base" preset with random weights,
/// exported to ONNX as <c>clip convert</c> would): a raw ONNX Runtime session over preprocessed batches (the
/// baseline), the bulk path over the same pixels (<see cref="ClipModel.EmbedImages(IDataView, string, string, bool, int?, bool)"/>),
/// and the bulk path from encoded JPEG bytes (decode + resize + crop + normalise in the pipeline). Prints images/s and
/// the bulk/raw ratio per batch size, raw and bulk alternating over at least 5 rounds (medians and ranges; a single pass
/// varied 0.77-1.04 on a shared machine). The wall-clock figures belong to the machine they ran on.
/// Usage (<c>build/bench-embed.sh</c>): <c>embed-throughput [preset=base] [rows=128] [batches=32,64] [gpu=-1] [rounds=5]</c>.
/// </summary>
internal static class EmbedThroughput
{
    public static void Run(string[] args)
    {
        var preset = args.Length > 0 ? args[0] : "base";
        var rows = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 128;
        var batches = (args.Length > 2 ? args[2] : "32,64").Split(',').Select(b => int.Parse(b, CultureInfo.InvariantCulture)).ToArray();
        int? gpu = args.Length > 3 && int.Parse(args[3], CultureInfo.InvariantCulture) is var g and >= 0 ? g : null;
        var rounds = Math.Max(AbResult.MinRounds, args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : AbResult.MinRounds);

        var folder = Fixtures.NewTempDir("embed-throughput");
        var config = ClipModelPresets.Get(preset);
        global::TorchSharp.torch.random.manual_seed(1);
        using (var model = new ClipTorchModel(config))
            TorchOnnxExport.Export(model, folder, $"random {preset}");
        var r = config.ImageResolution;
        var pixelCount = 3 * r * r;
        Console.WriteLine($"model: {preset} ({r} px, embed {config.EmbedDim}), {rows} images, {(gpu is null ? "CPU" : $"CUDA:{gpu}")}, {Environment.ProcessorCount} cores");

        var random = new Random(7);
        var pixels = new float[rows * pixelCount];
        for (var i = 0; i < pixels.Length; i++) pixels[i] = (float)(random.NextDouble() * 2 - 1);
        var jpegs = Enumerable.Range(0, rows).Select(i => Jpeg(random, 640, 480)).ToArray();
        var ml = new MLContext(seed: 1);
        var schema = SchemaDefinition.Create(typeof(PixelRow));
        schema[nameof(PixelRow.Pixels)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, pixelCount);
        var pixelData = ml.Data.Cache(ml.Data.LoadFromEnumerable(
            Enumerable.Range(0, rows).Select(i => new PixelRow { Pixels = pixels.AsSpan(i * pixelCount, pixelCount).ToArray() }).ToArray(), schema));
        var jpegData = ml.Data.Cache(ml.Data.LoadFromEnumerable(jpegs.Select(j => new JpegRow { Bytes = j }).ToArray()));

        foreach (var batch in batches)
        {
            using var clip = ClipModel.Load(folder, new ClipModelOptions { BatchSize = batch, GpuDeviceId = gpu, FallbackToCpu = false });
            using var options = new SessionOptions();
            if (gpu is int device) options.AppendExecutionProvider_CUDA(device);
            using var raw = new InferenceSession(Path.Combine(folder, "image.onnx"), options);

            // One warm-up pass each (allocations, kernel selection), then alternating timed passes: raw and bulk back to
            // back in every round (order flipped each round), the ratio taken per round and its median quoted.
            RawPass(raw, pixels, rows, batch, r);
            Consume(clip.EmbedImages(pixelData, nameof(PixelRow.Pixels), batchSize: batch, normalize: false));
            var ab = AbResult.Run(rounds, "raw session", () => Pass.Time(0, () => { RawPass(raw, pixels, rows, batch, r); return rows; }),
                "bulk path", () => Pass.Time(0, () => { Consume(clip.EmbedImages(pixelData, nameof(PixelRow.Pixels), batchSize: batch, normalize: false)); return rows; }),
                Console.WriteLine);
            var jpeg = AbResult.Repeat(rounds, () => Pass.Time(0, () => { Consume(clip.EmbedImages(jpegData, nameof(JpegRow.Bytes), batchSize: batch, normalize: false)); return rows; }),
                out _, Console.WriteLine, "bulk from JPEG");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"batch {batch}: raw session {ab.RateA.Format()} images/s, bulk path {ab.RateB.Format()} images/s, bulk/raw ratio {ab.Ratio.Format("F3")} (median [min–max] of {rounds} alternating rounds; target: median >= 0.95), bulk from 640x480 JPEG {jpeg.Format()} images/s"));
        }
        Directory.Delete(folder, recursive: true);
    }

    private static void RawPass(InferenceSession session, float[] pixels, int rows, int batch, int r)
    {
        var perImage = 3 * r * r;
        for (var start = 0; start < rows; start += batch)
        {
            var n = Math.Min(batch, rows - start);
            using var input = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance,
                new Memory<float>(pixels, start * perImage, n * perImage), [n, 3, r, r]);
            using var output = session.Run(new RunOptions(), [EncoderSignature.PixelValues], [input], [EncoderSignature.ImageEmbeds]);
            _ = output[0].GetTensorDataAsSpan<float>()[0];
        }
    }

    private static void Consume(IDataView view)
    {
        var column = view.Schema["Embedding"];
        using var cursor = view.GetRowCursor([column]);
        var getter = cursor.GetGetter<VBuffer<float>>(column);
        VBuffer<float> value = default;
        while (cursor.MoveNext()) getter(ref value);
    }

    // A photo-sized JPEG of smooth random colour (decoding cost like a real photo's, unlike a flat image).
    private static byte[] Jpeg(Random random, int width, int height)
    {
        using var bitmap = new SKBitmap(width, height);
        var (r0, g0, b0) = (random.Next(256), random.Next(256), random.Next(256));
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
                bitmap.SetPixel(x, y, new SKColor((byte)((r0 + x) % 256), (byte)((g0 + y) % 256), (byte)((b0 + x * y / 97 + random.Next(8)) % 256)));
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SKEncodedImageFormat.Jpeg, 90);
        return data.ToArray();
    }

    private sealed class PixelRow
    {
        public float[] Pixels = [];
    }

    private sealed class JpegRow
    {
        public byte[] Bytes = [];
    }
}
