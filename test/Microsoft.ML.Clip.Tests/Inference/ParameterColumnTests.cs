using System.Runtime.InteropServices;
using Microsoft.ML.Clip.Tokenization;
using Microsoft.ML.Clip.TestUtilities;
using Microsoft.ML.Clip.Transforms;
using Microsoft.ML.Clip.Transforms.Mappings;
using Microsoft.ML.Data;
using Xunit;

namespace Microsoft.ML.Clip.Tests.Inference;

/// <summary>Parameters that travel through the data: the column that carries them and the parsing behind the mappings.</summary>
public class ParameterColumnTests
{
    public sealed class IdRow
    {
        public int Id;
    }

    private static object? Owner(ReadOnlyMemory<char> text)
        => MemoryMarshal.TryGetString(text, out var s, out _, out _) ? s
            : MemoryMarshal.TryGetArray(text, out ArraySegment<char> segment) ? segment.Array : null;

    // The mappings cache what they parse by the memory's owner: that is only free if every row hands out the same string,
    // in the fitted pipeline and after a save and reload.
    [Fact]
    public void TheParameterColumnHoldsOneStringInstanceOnEveryRowAlsoAfterReloading()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(Enumerable.Range(0, 5).Select(i => new IdRow { Id = i }));
        const string json = "{\"resize_mode\":\"squash\",\"resolution\":200,\"skip_bad_rows\":true}";
        var temporary = new List<string>();
        var model = ParameterColumns.Add(new EstimatorChain<ITransformer>(), ml.Transforms, ClipColumns.PixelParameters, json, temporary).Fit(data);
        Assert.Equal([ClipColumns.Constant, ClipColumns.PixelParameters], temporary);
        var zip = Path.Combine(Fixtures.NewTempDir("clip-params"), "params.zip");
        ml.Model.Save(model, data.Schema, zip);
        var loaded = new MLContext().Model.Load(zip, out _);

        foreach (var transformer in new ITransformer[] { model, loaded })
        {
            var output = transformer.Transform(data);
            Assert.Equal(TextDataViewType.Instance, output.Schema[ClipColumns.PixelParameters].Type);
            using var cursor = output.GetRowCursor(output.Schema);
            var getter = cursor.GetGetter<ReadOnlyMemory<char>>(output.Schema[ClipColumns.PixelParameters]);
            var owners = new List<object?>();
            ReadOnlyMemory<char> value = default;
            while (cursor.MoveNext())
            {
                getter(ref value);
                Assert.Equal(json, value.ToString());
                owners.Add(Owner(value));
            }
            Assert.Equal(5, owners.Count);
            Assert.NotNull(owners[0]);
            Assert.All(owners, o => Assert.Same(owners[0], o));
        }
    }

    [Fact]
    public void ParsedParametersParseOncePerDistinctString()
    {
        var cache = new ParsedParameters<int>(s => s.Length);
        var a = "{\"a\":1}";
        var b = new string(a.AsSpan()); // equal content, another instance
        Assert.Equal(7, cache.Get(a.AsMemory()));
        Assert.Equal(7, cache.Get(a.AsMemory()));
        Assert.Equal(7, cache.Get(b.AsMemory()));
        Assert.Equal(7, cache.Get(a.ToCharArray().AsMemory()));
        Assert.Equal(1, cache.ParseCount);
        Assert.Equal(9, cache.Get("{\"a\":12}x".AsMemory()));
        Assert.Equal(2, cache.ParseCount);
        // A slice of the same string at another place is another value.
        var both = "abcabcd";
        Assert.Equal(3, cache.Get(both.AsMemory(0, 3)));
        Assert.Equal(4, cache.Get(both.AsMemory(3, 4)));
        Assert.Equal(4, cache.ParseCount);
    }

    [Fact]
    public void PixelParametersRoundTripAndRejectWhatThisVersionDoesNotKnow()
    {
        var parameters = new ClipPixelParameters { ResizeMode = "squash", Resolution = 200, SkipBadRows = true };
        Assert.Equal("{\"resize_mode\":\"squash\",\"resolution\":200,\"skip_bad_rows\":true}", parameters.ToJson());
        Assert.Equal(parameters, ClipPixelParameters.Parse(parameters.ToJson()));
        Assert.Equal(3 * 200 * 200, parameters.CreatePreprocessor().OutputLength);
        // SigLIP's order is a known member, written only when set (CLIP pipelines store what they stored before).
        var siglip = parameters with { ConvertRgbFirst = true };
        Assert.Equal("{\"resize_mode\":\"squash\",\"resolution\":200,\"skip_bad_rows\":true,\"convert_rgb_first\":true}", siglip.ToJson());
        Assert.Equal(siglip, ClipPixelParameters.Parse(siglip.ToJson()));
        Assert.True(siglip.CreatePreprocessor().Settings.ConvertRgbFirst);
        Assert.False(parameters.CreatePreprocessor().Settings.ConvertRgbFirst);
        Assert.Contains("rgb_before_resize", Assert.Throws<InvalidDataException>(
            () => ClipPixelParameters.Parse("{\"resize_mode\":\"squash\",\"resolution\":200,\"rgb_before_resize\":true}")).Message);
        Assert.Throws<InvalidDataException>(() => ClipPixelParameters.Parse("{\"resize_mode\":\"stretch\",\"resolution\":200}"));
        Assert.Throws<InvalidDataException>(() => ClipPixelParameters.Parse("{\"resize_mode\":\"squash\",\"resolution\":0}"));
        Assert.Throws<InvalidDataException>(() => ClipPixelParameters.Parse("not json"));
    }

    [Fact]
    public void TokenizerSpecRoundTripsAndNamesAKindThisVersionDoesNotKnow()
    {
        var info = new Models.ClipModelInfo { EmbedDim = 8, ImageResolution = 32, Tokenizer = new Models.ClipTokenizerInfo { ContextLength = 16 } };
        var spec = ClipTokenizerSpec.For(info, null, ClipTruncation.Throw);
        Assert.Equal("{\"kind\":\"clip-bpe\",\"context_length\":16,\"truncation\":\"throw\"}", spec.ToJson());
        Assert.Equal(spec, ClipTokenizerSpec.Parse(spec.ToJson()));
        Assert.Equal(ClipTruncation.Throw, spec.TruncationMode);
        var ids = new long[16];
        Assert.False(spec.CreateEncoder()("a photo of a cat", ids, spec.TruncationMode));
        Assert.Equal(ClipTokenizer.Default.EncodeToContext("a photo of a cat", 16).Select(i => (long)i), ids);

        // A file-vocabulary kind of a later version: the spec reads, the encoder says the package is too old.
        var later = ClipTokenizerSpec.Parse("{\"kind\":\"unigram-9000\",\"context_length\":32,\"truncation\":\"truncate\",\"file\":\"vocab.txt\",\"file_base64\":\"W1BBRF0K\"}");
        Assert.Equal("vocab.txt", later.File);
        Assert.Contains("'unigram-9000' is not known", Assert.Throws<InvalidDataException>(() => later.CreateEncoder()).Message);
        // A known kind whose embedded file is not its vocabulary: refused, not tokenized differently.
        var wordPiece = ClipTokenizerSpec.Parse("{\"kind\":\"wordpiece\",\"context_length\":32,\"truncation\":\"truncate\",\"file\":\"vocab.txt\",\"file_base64\":\"W1BBRF0K\"}");
        Assert.Contains("[CLS]", Assert.Throws<InvalidDataException>(() => wordPiece.CreateEncoder()).Message);
        // A member this version does not know is refused, named (pad_id is known since dynamic-length text: it travels with text_sequence).
        Assert.Contains("pooling", Assert.Throws<InvalidDataException>(() => ClipTokenizerSpec.Parse("{\"kind\":\"clip-bpe\",\"context_length\":77,\"truncation\":\"truncate\",\"pooling\":\"mean\"}")).Message);
        var dynamic = ClipTokenizerSpec.Parse("{\"kind\":\"clip-bpe\",\"context_length\":77,\"truncation\":\"truncate\",\"text_sequence\":\"dynamic\",\"pad_id\":1}");
        Assert.True(dynamic.CutsPadding);
        Assert.Equal(1, dynamic.PadId);
        Assert.Throws<InvalidDataException>(() => ClipTokenizerSpec.Parse("{\"kind\":\"clip-bpe\",\"context_length\":77,\"truncation\":\"truncate\",\"text_sequence\":\"ragged\"}"));
        Assert.Throws<InvalidDataException>(() => ClipTokenizerSpec.Parse("{\"kind\":\"clip-bpe\",\"context_length\":77,\"truncation\":\"cut\"}"));
    }

    [Fact]
    public void SentencePieceKindsEmbedTheirFileAndTokenizeLikeTheTokenizerItself()
    {
        var folder = Fixtures.NewTempDir("clip-spec");
        File.Copy(Fixtures.Siglip("model", "spiece.model"), Path.Combine(folder, "spiece.model"));
        var info = new Models.ClipModelInfo
        {
            EmbedDim = 8, ImageResolution = 32,
            Tokenizer = new Models.ClipTokenizerInfo { Kind = ClipTokenizerSpec.SiglipSentencePiece, File = "spiece.model", ContextLength = 64, PadId = 1 },
        };
        var spec = ClipTokenizerSpec.Parse(ClipTokenizerSpec.For(info, folder, ClipTruncation.Truncate).ToJson());
        Assert.Equal(File.ReadAllBytes(Path.Combine(folder, "spiece.model")), Convert.FromBase64String(spec.FileBase64!));
        var fromSpec = new long[64];
        var direct = new long[64];
        spec.CreateEncoder()("A RED CAR parked on the street.", fromSpec, ClipTruncation.Truncate);
        SiglipTokenizer.FromModelFile(File.ReadAllBytes(Path.Combine(folder, "spiece.model"))).EncodeToContext("A RED CAR parked on the street.", direct, ClipTruncation.Truncate);
        Assert.Equal(direct, fromSpec);
        Assert.Equal(1L, fromSpec[^1]);

        // The wrong file for a kind is named in the error.
        var error = Assert.Throws<InvalidDataException>(() => ClipTokenizerSpec.CreateEncoder(
            ClipTokenizerSpec.GemmaSentencePiece, File.ReadAllBytes(Fixtures.Siglip("model", "spiece.model")), "spiece.model"));
        Assert.Contains("'spiece.model' cannot be used as a 'gemma-sentencepiece' tokenizer", error.Message);
        Assert.Contains("needs its file", Assert.Throws<InvalidDataException>(() => ClipTokenizerSpec.CreateEncoder(ClipTokenizerSpec.SiglipSentencePiece, null, null)).Message);
    }
}
