using Microsoft.ML.Clip.Imaging;

namespace Microsoft.ML.Clip.TorchSharp.Training;

/// <summary>
/// torchvision's <c>RandomResizedCrop</c> sampling (area scale in [min, 1], aspect ratio log-uniform in [3/4, 4/3],
/// ten tries, then the whole image): a training augmentation. The crop is then squashed to N×N with the same
/// bicubic filter and normalisation as inference.
/// </summary>
internal sealed class RandomResizedCrop
{
    private readonly ClipImagePreprocessor _squash;
    private readonly double _minScale;

    public RandomResizedCrop(ClipPreprocessSettings inference, double minScale)
    {
        _squash = new ClipImagePreprocessor(inference with { ResizeMode = ClipResizeMode.Squash });
        _minScale = minScale;
    }

    /// <summary>Decodes <paramref name="value"/> (as made by <see cref="ClipImageColumn.CreateGetter"/>), crops and preprocesses it.</summary>
    public void Preprocess(object value, Span<float> destination, Random random, string sourceName)
    {
        var image = value switch
        {
            DecodedImage decoded => decoded,
            ClipImageColumn.ImagePath path => ClipImageDecoder.DecodeFile(path.Path),
            byte[] bytes => ClipImageDecoder.Decode(bytes, sourceName),
            _ => throw new InvalidOperationException($"Unexpected image value {value?.GetType().Name ?? "null"}."),
        };
        var (x, y, w, h) = Sample(image.Width, image.Height, random);
        _squash.Preprocess(Crop(image, x, y, w, h), destination);
    }

    private (int X, int Y, int W, int H) Sample(int width, int height, Random random)
    {
        var area = (double)width * height;
        for (var attempt = 0; attempt < 10; attempt++)
        {
            var target = area * (_minScale + (1 - _minScale) * random.NextDouble());
            var ratio = Math.Exp(Math.Log(3.0 / 4) + (Math.Log(4.0 / 3) - Math.Log(3.0 / 4)) * random.NextDouble());
            var w = (int)Math.Round(Math.Sqrt(target * ratio));
            var h = (int)Math.Round(Math.Sqrt(target / ratio));
            if (w > 0 && h > 0 && w <= width && h <= height)
                return (random.Next(width - w + 1), random.Next(height - h + 1), w, h);
        }
        return (0, 0, width, height);
    }

    private static DecodedImage Crop(DecodedImage image, int x, int y, int w, int h)
    {
        if (x == 0 && y == 0 && w == image.Width && h == image.Height) return image;
        var channels = image.Channels;
        var pixels = new byte[w * h * channels];
        for (var row = 0; row < h; row++)
            Array.Copy(image.Pixels, ((y + row) * image.Width + x) * channels, pixels, row * w * channels, w * channels);
        return new DecodedImage(w, h, image.Format, pixels, image.AlphaPremultiplied, image.NearestNeighbor);
    }
}
