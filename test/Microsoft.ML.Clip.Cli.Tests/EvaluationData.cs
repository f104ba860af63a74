using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Microsoft.ML.Clip.TestUtilities;

namespace Microsoft.ML.Clip.Cli.Tests;

/// <summary>Tiny generated image sets and a model folder from the fixture ONNX files, for the evaluation commands.</summary>
internal static class EvaluationData
{
    public static readonly (string Name, byte R, byte G, byte B)[] Classes = [("red_square", 220, 30, 30), ("green_square", 30, 200, 40), ("blue_square", 30, 40, 220)];

    private static readonly Lazy<string> ModelFolder = new(() =>
    {
        var dir = Fixtures.NewTempDir("cli-eval-model");
        File.Copy(Fixtures.Reference("models", "vit.image.onnx"), Path.Combine(dir, "image.onnx"));
        File.Copy(Fixtures.Reference("models", "vit.text.onnx"), Path.Combine(dir, "text.onnx"));
        File.WriteAllText(Path.Combine(dir, "clip_model.json"),
            """{ "format_version": 1, "embed_dim": 64, "image_resolution": 64, "logit_scale": 2.99609375, "vision_kind": "vit", "source": "test fixture vit" }""");
        return dir;
    });

    /// <summary>A model folder built from the fixture's ViT ONNX exports (D = 64, 64 px).</summary>
    public static string Model => ModelFolder.Value;

    /// <summary>
    /// Writes <paramref name="perClass"/> noisy solid-colour 32×32 PNGs per class under <c>dir/&lt;class&gt;/</c> and
    /// returns (relative path, class) rows.
    /// </summary>
    public static List<(string Path, string Label)> WriteImages(string dir, int perClass, int seed)
    {
        var random = new Random(seed);
        var rows = new List<(string, string)>();
        foreach (var (name, r, g, b) in Classes)
        {
            Directory.CreateDirectory(Path.Combine(dir, name));
            for (int i = 0; i < perClass; i++)
            {
                var rel = Path.Combine(name, $"{name}_{seed}_{i}.png");
                File.WriteAllBytes(Path.Combine(dir, rel), Png(32, 32, (x, y) =>
                {
                    int n = random.Next(-25, 26);
                    return (Clamp(r + n), Clamp(g + n), Clamp(b + n));
                }));
                rows.Add((rel, name));
            }
        }
        return rows;
    }

    /// <summary>Writes <c>path&lt;TAB&gt;label</c> lines (with a header line).</summary>
    public static string WriteTsv(string path, IEnumerable<(string Path, string Label)> rows)
    {
        File.WriteAllLines(path, new[] { "path\tlabel" }.Concat(rows.Select(r => $"{r.Path}\t{r.Label}")));
        return path;
    }

    /// <summary>Width and height from a PNG's IHDR chunk.</summary>
    public static (int Width, int Height) PngSize(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 24 || bytes[1] != 'P' || bytes[2] != 'N' || bytes[3] != 'G')
            throw new InvalidDataException($"'{path}' is not a PNG.");
        return (BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20)));
    }

    private static byte Clamp(int v) => (byte)Math.Clamp(v, 0, 255);

    /// <summary>A minimal 8-bit RGB PNG (no filtering) of the colours <paramref name="pixel"/> gives.</summary>
    private static byte[] Png(int width, int height, Func<int, int, (byte R, byte G, byte B)> pixel)
    {
        var raw = new MemoryStream();
        for (int y = 0; y < height; y++)
        {
            raw.WriteByte(0);
            for (int x = 0; x < width; x++)
            {
                var (r, g, b) = pixel(x, y);
                raw.WriteByte(r); raw.WriteByte(g); raw.WriteByte(b);
            }
        }
        var compressed = new MemoryStream();
        using (var z = new ZLibStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
            raw.WriteTo(z);
        var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8; // bit depth
        ihdr[9] = 2; // RGB
        Chunk(png, "IHDR", ihdr);
        Chunk(png, "IDAT", compressed.ToArray());
        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    private static void Chunk(Stream s, string type, byte[] data)
    {
        Span<byte> len = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(len, data.Length);
        s.Write(len);
        var typeAndData = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        s.Write(typeAndData);
        BinaryPrimitives.WriteUInt32BigEndian(len, Crc32(typeAndData));
        s.Write(len);
    }

    private static uint Crc32(byte[] data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (var b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++)
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
        }
        return ~crc;
    }
}
