using Microsoft.ML.Clip.Evaluation;
using Microsoft.ML.Data;
using Xunit;

namespace Microsoft.ML.Clip.Tests.Evaluation;

public class LabeledFeaturesTests
{
    [Fact]
    public void DataViewRoundTripKeepsRowsLabelsAndClassNames()
    {
        var ml = new MLContext(0);
        var data = SyntheticFeatures.Blobs(classes: 3, perClass: 4, dim: 5, separation: 4, noise: 0.3f, seed: 5);
        var view = data.ToDataView(ml, "Emb", "Y");
        var key = Assert.IsType<KeyDataViewType>(view.Schema["Y"].Type);
        Assert.Equal(3ul, key.Count);
        var back = LabeledFeatures.FromDataView(view, "Emb", "Y");
        Assert.Equal(data.Labels, back.Labels);
        Assert.Equal(data.ClassNames, back.ClassNames);
        for (int i = 0; i < data.Count; i++)
            Assert.Equal(data.Features[i], back.Features[i]);
        // MapValueToKey assigns the same keys as the class order.
        VBuffer<ReadOnlyMemory<char>> names = default;
        view.Schema["Y"].GetKeyValues(ref names);
        Assert.Equal(data.ClassNames, names.DenseValues().Select(n => n.ToString()));
    }

    [Fact]
    public void BadRowsAreRejected()
    {
        Assert.Throws<ArgumentException>(() => new LabeledFeatures([[1f, 2f], [1f]], [0, 1], ["a", "b"]));
        Assert.Throws<ArgumentException>(() => new LabeledFeatures([[1f, 2f]], [2], ["a", "b"]));
        Assert.Throws<ArgumentException>(() => new LabeledFeatures([[1f, 2f]], [0], ["a"]));
    }
}
