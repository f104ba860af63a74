using System.IO.Compression;
using Microsoft.ML.Clip.TestUtilities;
using Microsoft.ML.Clip.TorchSharp.Checkpoints;
using Microsoft.ML.Clip.TorchSharp.Modeling;
using Microsoft.ML.Clip.TorchSharp.Modules;
using Microsoft.ML.Clip.TorchSharp.Training;
using Microsoft.ML.Data;

namespace Microsoft.ML.Clip.TorchSharp.Tests.Training;

/// <summary>
/// The estimator's output schema needs one number, the embedding size: it comes from a checkpoint's header (or the
/// config beside it, or the shapes in its pickle), never from its tensor data, which Fit alone reads.
/// </summary>
public class OutputSchemaTests
{
    [Fact]
    public void A_saved_model_whose_weights_are_cut_off_still_has_a_schema_and_Fit_names_the_damage()
    {
        var path = Path.Combine(Fixtures.NewTempDir("schema-package"), "model.clipmodel");
        using (var model = new ClipTrainerTransformer(new ClipTorchModel(ShapesDataset.SmallConfig), null, ClipLossKind.InfoNce,
            "Image", "Caption", "ImageEmbedding", "TextEmbedding", tokenize: null))
            model.Save(path);
        using (var file = new FileStream(path, FileMode.Open)) file.SetLength(file.Length / 2);

        AssertSchemaThenFitFails(path);
    }

    [Fact]
    public void A_pytorch_checkpoint_whose_storage_is_cut_off_still_has_a_schema_and_Fit_names_the_damage()
    {
        var dir = Fixtures.NewTempDir("schema-pt");
        var whole = Path.Combine(dir, "whole.pt");
        using (var model = new ClipTorchModel(ShapesDataset.SmallConfig))
            TorchSaveWriter.Write(whole, model.state_dict().Select(kv => new KeyValuePair<string, object>(kv.Key, kv.Value.ToSaved())).ToList());
        // The same archive with the bytes of its first storage cut to half: the pickle (names, shapes) is intact.
        var path = Path.Combine(dir, "cut.pt");
        using (var source = ZipFile.OpenRead(whole))
        {
            var storages = source.Entries.Where(e => e.FullName.StartsWith("archive/data/", StringComparison.Ordinal))
                .OrderBy(e => int.Parse(e.FullName["archive/data/".Length..], System.Globalization.CultureInfo.InvariantCulture))
                .Select(ReadAll).ToList();
            storages[0] = storages[0][..(storages[0].Length / 2)];
            TorchSaveWriter.WriteArchive(path, "archive", ReadAll(source.GetEntry("archive/data.pkl")!), storages);
        }

        AssertSchemaThenFitFails(path);
    }

    [Theory]
    [InlineData("vit.openai.pt")]
    [InlineData("rn.openai.pt")]
    [InlineData("vit.hf.safetensors")]
    [InlineData("openai-named")]
    public void The_header_route_reads_the_architecture_a_full_load_infers(string checkpoint)
    {
        string path;
        if (checkpoint == "openai-named")
        {
            path = Fixtures.NewTempDir("schema-safetensors");
            using var model = new ClipTorchModel(ShapesDataset.SmallConfig);
            ClipSafetensors.Save(path, model.Config, StateTensorConversion.ToStateDict(model.state_dict()));
        }
        else
            path = Fixtures.Reference("models", checkpoint);

        using var weights = ClipWeights.Load(path);
        Assert.Equal(ClipConfigJson.Serialize(weights.Config), ClipConfigJson.Serialize(ClipModelFactory.ReadCheckpointConfig(path)));
    }

    private static void AssertSchemaThenFitFails(string checkpoint)
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(ShapesDataset.Generate(8, seed: 2));
        var options = ShapesDataset.FastOptions(batchSize: 4);
        options.Config = null;
        options.InitialCheckpoint = checkpoint;
        var estimator = ml.Transforms.ClipTrainer("Image", "Caption", options);

        var schema = estimator.GetOutputSchema(ClipTrainerTests.ShapeOf(data.Schema));
        foreach (var name in new[] { "ImageEmbedding", "TextEmbedding" })
        {
            var column = Assert.Single(schema, c => c.Name == name);
            Assert.Equal(SchemaShape.Column.VectorKind.Vector, column.Kind);
            Assert.Equal(NumberDataViewType.Single, column.ItemType);
        }
        // The size itself: the fitted transformer of an intact copy would declare EmbedDim = 32.
        Assert.Equal(ShapesDataset.SmallConfig.EmbedDim, ClipModelFactory.ResolveConfig(options).EmbedDim);

        var e = Assert.Throws<InvalidDataException>(() => estimator.Fit(data));
        Assert.Contains(checkpoint, e.Message);
        Assert.Contains("truncated or corrupt", e.Message);
    }

    private static byte[] ReadAll(ZipArchiveEntry entry)
    {
        using var s = entry.Open();
        using var m = new MemoryStream();
        s.CopyTo(m);
        return m.ToArray();
    }
}
