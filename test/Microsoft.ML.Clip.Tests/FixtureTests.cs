using Microsoft.ML.Clip.TestUtilities;
using Xunit;

namespace Microsoft.ML.Clip.Tests;

public class FixtureTests
{
    [Fact]
    public void ReferenceArraysReadWithTheirShapes()
    {
        var images = Npy.ReadFloat32(Fixtures.Reference("cases", "images.npy"));
        Assert.Equal(new[] { 4, 3, 64, 64 }, images.Shape);
        var tokens = Npy.ReadInt64(Fixtures.Reference("cases", "tokens.npy"));
        Assert.Equal(new[] { 6, 77 }, tokens.Shape);
        Assert.Equal(49406, tokens.Data[0]);
    }

    [Fact]
    public void NpyWriteThenReadRoundTrips()
    {
        var dir = Fixtures.NewTempDir();
        var path = Path.Combine(dir, "x.npy");
        float[] values = [1.5f, -2f, 3.25f, 0f, 7f, 8f];
        Npy.WriteFloat32(path, [2, 3], values);
        var back = Npy.ReadFloat32(path);
        Assert.Equal(new[] { 2, 3 }, back.Shape);
        Assert.Equal(values, back.Data);
    }
}
