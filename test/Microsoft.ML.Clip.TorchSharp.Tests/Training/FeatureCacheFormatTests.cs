using System.Runtime.InteropServices;
using Microsoft.ML.Clip.TestUtilities;
using Microsoft.ML.Clip.TorchSharp.Training;

namespace Microsoft.ML.Clip.TorchSharp.Tests.Training;

/// <summary>
/// The frozen-encoder feature cache's file and keys, byte for byte as docs/formats.md states them, so that caches written
/// by earlier builds stay valid: <c>{first 32 hex of the encoder id}.features</c>, magic <c>CLIPFEAT</c>, int32 version 1,
/// int32 F, then records of the 32-byte key and F float32s; a key is the SHA-256 of an image's bytes or of a text's UTF-8.
/// </summary>
public class FeatureCacheFormatTests
{
    private const string EncoderId = "0123456789abcdef0123456789abcdef_the_rest_of_the_id_is_not_in_the_name";

    [Fact]
    public void Keys_are_the_sha256_of_the_bytes_or_of_the_utf8_text()
    {
        Assert.Equal("039058c6f2c0cb492c533b0a4d14ef77cc0f78abccced5287d84a1a2011cfb81", FeatureCache.Key([1, 2, 3]));
        Assert.Equal("a1e4a280d27cad5b1aa05b230031f649a0ef0b265df51db178bcf44ccd129fd0", FeatureCache.Key("a red circle"));
        Assert.Equal("364046a7365569d1d81df151c65c3c3ab4153c1e173f98e5835a9f3fc63eeb41", FeatureCache.Key("Crème brûlée"));
    }

    [Fact]
    public void The_file_is_written_and_read_as_documented()
    {
        float[] first = [1f, -2.5f, 3.25f], second = [0f, float.Epsilon, -0f];
        var (firstKey, secondKey) = (FeatureCache.Key("a red circle"), FeatureCache.Key([1, 2, 3]));
        var expected = new MemoryStream();
        expected.Write("CLIPFEAT"u8);
        expected.Write(BitConverter.GetBytes(1));
        expected.Write(BitConverter.GetBytes(3));
        foreach (var (key, features) in new[] { (firstKey, first), (secondKey, second) })
        {
            expected.Write(Convert.FromHexString(key));
            expected.Write(MemoryMarshal.AsBytes(features.AsSpan()));
        }

        // Written by the cache: exactly these bytes, under the documented name.
        var written = Fixtures.NewTempDir("feature-cache-format");
        using (var cache = new FeatureCache(written, EncoderId, 3))
        {
            Assert.Equal(Path.Combine(written, "0123456789abcdef0123456789abcdef.features"), cache.FilePath);
            cache.Add(firstKey, first);
            cache.Add(secondKey, second);
        }
        Assert.Equal(expected.ToArray(), File.ReadAllBytes(Path.Combine(written, "0123456789abcdef0123456789abcdef.features")));

        // Written by hand (an earlier build's file): read back as the same features.
        var byHand = Fixtures.NewTempDir("feature-cache-format");
        File.WriteAllBytes(Path.Combine(byHand, "0123456789abcdef0123456789abcdef.features"), expected.ToArray());
        using var read = new FeatureCache(byHand, EncoderId, 3);
        Assert.Equal(2, read.Count);
        Assert.Equal(first, read.Peek(firstKey));
        Assert.Equal(second.Select(BitConverter.SingleToInt32Bits), read.Peek(secondKey)!.Select(BitConverter.SingleToInt32Bits));
    }
}
