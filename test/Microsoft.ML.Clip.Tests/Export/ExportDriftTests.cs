using System.Security.Cryptography;
using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.TestUtilities;
using Onnx;
using Xunit;

namespace Microsoft.ML.Clip.Tests.Export;

/// <summary>
/// The files <see cref="ClipModelConverter"/> writes for the fixture checkpoints are the bytes the TorchSharp-based
/// reader and exporter wrote before checkpoint reading and export moved to plain arrays: SHA-256s recorded from
/// <c>clip convert</c> built at commit 98850b0, the last commit of that code. ONNX files are hashed with
/// <c>producer_version</c> cleared — it is this assembly's version, which packaging will set — after checking that
/// re-serialising the parsed file gives its bytes back, so no other difference can hide from the hash.
/// <c>clip_model.json</c> (whose format moved on to version 2 since) must be exactly what <see cref="ClipModelInfo"/>
/// writes for the values the exporter recorded then.
/// </summary>
public class ExportDriftTests
{
    private static string Model(string name) => Fixtures.Reference("models", name);

    private static readonly ClipConversionOptions Float16 = new() { WeightsAsFloat16 = true };
    private static readonly ClipConversionOptions Gelu = new() { Activation = ClipActivation.Gelu };

    // Output folder name (the name is recorded as the source of the safetensors round trips), conversion, file → SHA-256.
    private static readonly Dictionary<string, (Action<string, string> Convert, Dictionary<string, string> Files)> Recorded = new()
    {
        ["vit-pt"] = ((_, dir) => ClipModelConverter.ConvertToOnnx(Model("vit.openai.pt"), dir), new()
        {
            ["image.onnx"] = "d4efede57fb7c96fda33728bf86433fbd4c76dc773b719496628af929eccef33",
            ["text.onnx"] = "654af5ac085d8bc524de870f5b87e0c2b6bbe91f9774bb6e7c3ad5cfd344fffe",
        }),
        ["rn-pt"] = ((_, dir) => ClipModelConverter.ConvertToOnnx(Model("rn.openai.pt"), dir), new()
        {
            ["image.onnx"] = "f7177d94755e9162cf5055d0e22c8195d68112dcf480893e543a12e855a17e03",
            ["text.onnx"] = "d5d4c9be8e5f5f938a5c64b78b006838ab5b6089360207567e63c4a849e434ab",
        }),
        ["vit-hf"] = ((_, dir) => ClipModelConverter.ConvertToOnnx(Model("vit.hf.safetensors"), dir), new()
        {
            ["image.onnx"] = "d6e06fc976b8514ac007996c0c00bd8bdcfda3d71ea031f454ae32cf4c1fa1a5",
            ["text.onnx"] = "0f5e93e568d619d323fdd4e908ad9d7fbe4b2a6b35bf5dbf15a61689c512345c",
        }),
        ["vit-pt-fp16"] = ((_, dir) => ClipModelConverter.ConvertToOnnx(Model("vit.openai.pt"), dir, Float16), new()
        {
            ["image.onnx"] = "03c95fe7fd8a751a0aa8d571c066aa8d1d022e19ef93ebcbc34723fa36425927",
            ["text.onnx"] = "b06a38f83173425a91566067136645b11064d3494c4c5e0e3456e7aa771edb9c",
        }),
        ["rn-pt-fp16"] = ((_, dir) => ClipModelConverter.ConvertToOnnx(Model("rn.openai.pt"), dir, Float16), new()
        {
            ["image.onnx"] = "41050821c779fb31440d291471ab14f0e86cb07cf3fa80727ff640c612fd5952",
            ["text.onnx"] = "a7dd20b11d754a82573dee436935c8d73fb9ea70f70f83df21713461b0cb2ba8",
        }),
        ["vit-hf-fp16"] = ((_, dir) => ClipModelConverter.ConvertToOnnx(Model("vit.hf.safetensors"), dir, Float16), new()
        {
            ["image.onnx"] = "4f7f5f7154700a92b1ac1fe6cfb26d5b0860071459466170ca15dccfe30ded7c",
            ["text.onnx"] = "d83d7f9ef6e114aa23d2252cede04bc1842ef9e81d98c19e047fd6d778e1ecab",
        }),
        ["vit-pt-gelu"] = ((_, dir) => ClipModelConverter.ConvertToOnnx(Model("vit.openai.pt"), dir, Gelu), new()
        {
            ["image.onnx"] = "86287469304d3bbff878c4dd2667929bb097d989fcdd87e0a9661d6bdcc811e1",
            ["text.onnx"] = "49b2df66fad4f9b421dcec083e6b1557c0421d2b4b812ebc4b7baa58719eea5f",
        }),
        ["rn-pt-gelu"] = ((_, dir) => ClipModelConverter.ConvertToOnnx(Model("rn.openai.pt"), dir, Gelu), new()
        {
            ["image.onnx"] = "586c0e1ec4f6b2232958e5d4a23ab7df49307f9793357472da22be1dacd51a8f",
            ["text.onnx"] = "39015c3aaa3f8463522588280addcd3cb3bd45577d177fe4618ccb43c5bdc866",
        }),
        // --format safetensors (Hugging Face for the ViT, OpenAI names for the ResNet), then back to ONNX.
        ["vit-st"] = ((_, dir) => ClipModelConverter.ConvertToSafetensors(Model("vit.openai.pt"), dir), new()
        {
            ["config.json"] = "49b809297eca80ccc6e9eb7d03bf602bff9de0967ff986a799096342a51f0fc9",
            ["model.safetensors"] = "1705c131c917c0b277d6e1e7d0bad8d91e9c77610a64f0cdd3e88bf2259f3714",
        }),
        ["rn-st"] = ((_, dir) => ClipModelConverter.ConvertToSafetensors(Model("rn.openai.pt"), dir), new()
        {
            ["clip_config.json"] = "57e826233dc7c6559b978f8c1145d1ac5e524f1c304952424fd3e3308ebb4eb6",
            ["model.safetensors"] = "59fa779d304bec645c3db6655ac12aa189df498c1ce5abfca4bcf0de7811cebd",
        }),
        ["vit-st-onnx"] = ((root, dir) => ClipModelConverter.ConvertToOnnx(SafetensorsFolder(root, "vit-st"), dir), new()
        {
            ["image.onnx"] = "755710c6b9c1026fb94fbef52046638967fca86b5c180d20e3077a3b6fe00be9",
            ["text.onnx"] = "4a5b20c51ec1c7762553f879529683a5105fe762cff345f1abd0b25e7ef16f25",
        }),
        ["rn-st-onnx"] = ((root, dir) => ClipModelConverter.ConvertToOnnx(SafetensorsFolder(root, "rn-st"), dir), new()
        {
            ["image.onnx"] = "d4a94cb16d6549b0155cce58421cdb1cfc172a6f51a163cdc26df0fc3909d57e",
            ["text.onnx"] = "bb894c845d3d5c55c2540d020cf0f77d105e1d24d7aace7733d780844bcf7b14",
        }),
    };

    public static TheoryData<string> Cases => [.. Recorded.Keys];

    [Theory]
    [MemberData(nameof(Cases))]
    public void Converted_files_are_the_bytes_the_TorchSharp_exporter_wrote(string name)
    {
        var root = Fixtures.NewTempDir("clip-drift");
        var dir = Path.Combine(root, name);
        var (convert, files) = Recorded[name];
        convert(root, dir);
        var expectedFiles = files.Keys.Concat(name.EndsWith("-st", StringComparison.Ordinal) ? [] : [ClipModelInfo.FileName]);
        Assert.Equal(expectedFiles.Order(StringComparer.Ordinal), Directory.GetFiles(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        var differing = files.Where(f => f.Value != Hash(Path.Combine(dir, f.Key))).Select(f => f.Key).ToList();
        Assert.True(differing.Count == 0, $"{name}: {string.Join(", ", differing)} differ from what the TorchSharp exporter wrote");
        if (!name.EndsWith("-st", StringComparison.Ordinal))
        {
            // The values the exporter recorded: the fixtures' architecture and temperature, the tower kind, the source.
            var expected = Path.Combine(root, "expected.json");
            new ClipModelInfo
            {
                EmbedDim = 64,
                ImageResolution = 64,
                LogitScale = 2.99609375f,
                VisionKind = name.StartsWith("rn", StringComparison.Ordinal) ? "resnet" : "vit",
                Tokenizer = new ClipTokenizerInfo { ContextLength = 77, VocabSize = 49408 },
                Source = Sources[string.Join('-', name.Split('-').Take(2))],
                // Since issue 13: the SHA-256 of each file written with it (of the file as written, producer_version included).
                Files = files.Keys.Order(StringComparer.Ordinal).ToDictionary(f => f, f => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(dir, f))))),
            }.Save(expected);
            Assert.Equal(File.ReadAllText(expected), File.ReadAllText(Path.Combine(dir, ClipModelInfo.FileName)));
        }
    }

    // The source each conversion records: the checkpoint's file or folder name.
    private static readonly Dictionary<string, string> Sources = new()
    {
        ["vit-pt"] = "vit.openai.pt", ["rn-pt"] = "rn.openai.pt", ["vit-hf"] = "vit.hf.safetensors", ["vit-st"] = "vit-st", ["rn-st"] = "rn-st",
    };

    // The safetensors case of that name, written into root (its folder name is the source the ONNX files record).
    private static string SafetensorsFolder(string root, string name)
    {
        var dir = Path.Combine(root, name);
        Recorded[name].Convert(root, dir);
        return dir;
    }

    /// <summary>SHA-256 (hex) of a file; of an ONNX file, with <c>producer_version</c> cleared.</summary>
    private static string Hash(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (path.EndsWith(".onnx", StringComparison.Ordinal))
        {
            var model = ModelProto.Parser.ParseFrom(bytes);
            Assert.Equal(bytes, Google.Protobuf.MessageExtensions.ToByteArray(model));
            model.ProducerVersion = "";
            bytes = Google.Protobuf.MessageExtensions.ToByteArray(model);
        }
        return Convert.ToHexStringLower(SHA256.HashData(bytes));
    }
}
