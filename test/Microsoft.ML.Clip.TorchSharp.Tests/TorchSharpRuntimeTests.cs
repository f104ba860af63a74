using Xunit;
using static TorchSharp.torch;

namespace Microsoft.ML.Clip.TorchSharp.Tests;

public class TorchSharpRuntimeTests
{
    // Fails with a DllNotFoundException / GLIBCXX error where build/setup.sh did not install
    // a new enough libstdc++ for libtorch.
    [Fact]
    public void NativeLibTorchLoadsAndComputes()
    {
        using var a = tensor(new float[] { 1, 2, 3 });
        using var b = a.mul(2);
        Assert.Equal(new float[] { 2, 4, 6 }, b.data<float>().ToArray());
    }
}
