using Microsoft.ML.Clip.Imaging;
using Microsoft.ML.Clip.TestUtilities;
using Xunit;

namespace Microsoft.ML.Clip.Tests.Imaging;

/// <summary>Bad images fail with an exception that names the file (or the given source) and the problem.</summary>
public class BadImageInputTests
{
    private static readonly ClipImagePreprocessor Preprocessor = new(ClipPreprocessSettings.OpenAI(32));

    private static string ImagePath(string file) => Path.Combine(Fixtures.Root, "images", file);

    private static float[] Output() => new float[Preprocessor.OutputLength];

    [Fact]
    public void MissingFileNamesThePath()
    {
        var path = Path.Combine(Fixtures.NewTempDir(), "no-such-image.png");
        var e = Assert.Throws<FileNotFoundException>(() => Preprocessor.PreprocessFile(path, Output()));
        Assert.Contains(path, e.Message);
        Assert.Equal(path, e.FileName);
    }

    [Fact]
    public void EmptyFileIsRefused()
    {
        var path = Path.Combine(Fixtures.NewTempDir(), "empty.jpg");
        File.WriteAllBytes(path, []);
        var e = Assert.Throws<InvalidDataException>(() => Preprocessor.PreprocessFile(path, Output()));
        Assert.Contains(path, e.Message);
        Assert.Contains("empty", e.Message);
    }

    [Fact]
    public void EmptyBytesNameTheGivenSource()
    {
        var e = Assert.Throws<InvalidDataException>(() => Preprocessor.Preprocess(ReadOnlySpan<byte>.Empty, Output(), "row 7"));
        Assert.Contains("'row 7'", e.Message);
        Assert.Contains("empty", e.Message);
    }

    [Fact]
    public void TruncatedPngIsRefused()
    {
        var path = ImagePath("truncated.png");
        var e = Assert.Throws<InvalidDataException>(() => Preprocessor.PreprocessFile(path, Output()));
        Assert.Contains(path, e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void TruncatedJpegIsRefused()
    {
        var bytes = File.ReadAllBytes(ImagePath("exif_orientation6.jpg"));
        var e = Assert.Throws<InvalidDataException>(() => Preprocessor.Preprocess(bytes.AsSpan(0, bytes.Length / 2), Output(), "half.jpg"));
        Assert.Contains("'half.jpg'", e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void HugeHeaderIsRefusedBeforeAllocating()
    {
        // The header claims 100000 x 100000 RGB pixels (30 GB).
        var path = ImagePath("huge_header.png");
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataException>(() => Preprocessor.PreprocessFile(path, Output()));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains(path, e.Message);
        Assert.Contains("100000x100000", e.Message);
        Assert.Contains("MaxPixels", e.Message);
        Assert.True(allocated < 1 << 20, $"{allocated} bytes allocated before refusing");
    }

    [Fact]
    public void MaxPixelsOptionApplies()
    {
        var small = new ClipImagePreprocessor(ClipPreprocessSettings.OpenAI(32), new ClipImageDecodeOptions { MaxPixels = 10_000 });
        var path = Fixtures.Reference("preprocess", "hotdog_rgb_portrait.png");
        var e = Assert.Throws<InvalidDataException>(() => small.PreprocessFile(path, Output()));
        Assert.Contains("287x391", e.Message);
        Assert.Contains("10,000", e.Message);
        // Within the limit the same preprocessor works.
        small.PreprocessFile(ImagePath("gray.jpg"), Output());
    }

    [Theory]
    [InlineData("text", new byte[] { (byte)'h', (byte)'e', (byte)'l', (byte)'l', (byte)'o', (byte)'\n' })]
    [InlineData("png-signature-then-garbage", new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20 })]
    [InlineData("jpeg-marker-then-garbage", new byte[] { 0xFF, 0xD8, 0xFF, 0xE0, 0, 16, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14 })]
    public void CorruptOrUnsupportedBytesAreRefused(string name, byte[] bytes)
    {
        var e = Assert.Throws<InvalidDataException>(() => Preprocessor.Preprocess(bytes, Output(), name));
        Assert.Contains($"'{name}'", e.Message);
    }

    [Fact]
    public void UnsupportedFormatSaysSo()
    {
        var e = Assert.Throws<InvalidDataException>(() => Preprocessor.Preprocess("%PDF-1.4\n%%EOF\n"u8, Output(), "doc.pdf"));
        Assert.Contains("not in a supported image format", e.Message);
    }

    [Fact]
    public void ShortDestinationIsRefused()
    {
        var image = ClipImageDecoder.DecodeFile(ImagePath("gray.jpg"));
        var e = Assert.Throws<ArgumentException>(() => Preprocessor.Preprocess(image, new float[10]));
        Assert.Equal("destination", e.ParamName);
        Assert.Contains("3 x 32 x 32", e.Message);
    }

    [Fact]
    public void BadSettingsAreRefused()
    {
        Assert.Throws<ArgumentException>(() => new ClipImagePreprocessor(ClipPreprocessSettings.OpenAI(224) with { Mean = [0.5f, 0.5f] }));
        Assert.Throws<ArgumentException>(() => new ClipImagePreprocessor(ClipPreprocessSettings.OpenAI(224) with { Std = [0.5f, 0f, 0.5f] }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ClipImagePreprocessor(ClipPreprocessSettings.OpenAI(0)));
    }

    [Fact]
    public void PixelBufferOfWrongSizeIsRefused()
    {
        var e = Assert.Throws<ArgumentException>(() => new DecodedImage(4, 4, DecodedPixelFormat.Rgb, new byte[40]));
        Assert.Equal("pixels", e.ParamName);
        Assert.Contains("48", e.Message);
    }
}
