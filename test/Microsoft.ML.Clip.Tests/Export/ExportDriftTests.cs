using System.Security.Cryptography;
using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.TestUtilities;
using Onnx;
using Xunit;

namespace Microsoft.ML.Clip.Tests.Export;

/// <summary>
/// The files <see cref="ClipModelConverter"/> writes for the fixture checkpoints are recorded bytes, so that any change of
/// the exported graphs is deliberate: SHA-256s first recorded from the TorchSharp-based exporter (<c>clip convert</c> at
/// commit 98850b0, the last commit of that code; the ResNet image graphs and the safetensors files still match those), and
/// re-recorded for the graph layout of issue 14 (token rows sequence-first, Gemm layers, a text tower of any length, a ViT
/// whose last block computes the class tokens only),
/// whose features the reference-parity tests check against openai/CLIP's. ONNX files are hashed with
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
            ["image.onnx"] = "2fc5167c056ec5658187a8b09c3aff4ad6ae3c56930f2b66ef03fc118f669748",
            ["text.onnx"] = "1021bcb33f66e3a75b152c613a28d7858a452fd4ba3b45c21f719cd3cd9dfeaf",
        }),
        ["rn-pt"] = ((_, dir) => ClipModelConverter.ConvertToOnnx(Model("rn.openai.pt"), dir), new()
        {
            ["image.onnx"] = "f7177d94755e9162cf5055d0e22c8195d68112dcf480893e543a12e855a17e03",
            ["text.onnx"] = "110bebc83d11d566de794c74c3e16c4c30dc42f2613d9960f8760898d6b4e7e0",
        }),
        ["vit-hf"] = ((_, dir) => ClipModelConverter.ConvertToOnnx(Model("vit.hf.safetensors"), dir), new()
        {
            ["image.onnx"] = "b4ec84a66c263d081bebea9af5b9873886839dc5d8d1672ec46a3783d0dc129c",
            ["text.onnx"] = "b2db036d90087a2a688085b9b1d10fb0f75b791b2796726076074394624fb55b",
        }),
        ["vit-pt-fp16"] = ((_, dir) => ClipModelConverter.ConvertToOnnx(Model("vit.openai.pt"), dir, Float16), new()
        {
            ["image.onnx"] = "eeb4c985b59e996df6b96572c081ff6a5ec738d41e5ff8847c67638b479f6576",
            ["text.onnx"] = "3430d8c1e103d7d275addd319ff3003cd2d9d8c4b23cb537960abc252cb3ee4f",
        }),
        ["rn-pt-fp16"] = ((_, dir) => ClipModelConverter.ConvertToOnnx(Model("rn.openai.pt"), dir, Float16), new()
        {
            ["image.onnx"] = "41050821c779fb31440d291471ab14f0e86cb07cf3fa80727ff640c612fd5952",
            ["text.onnx"] = "6be971f9fb757d900089c3e019b180faf60ce3bf5b072942b46c0eb500176248",
        }),
        ["vit-hf-fp16"] = ((_, dir) => ClipModelConverter.ConvertToOnnx(Model("vit.hf.safetensors"), dir, Float16), new()
        {
            ["image.onnx"] = "67c59523f41acbc6ffc98ace5bc9d72cada5af773e22075b6f7798a8ab1d1244",
            ["text.onnx"] = "c73ecc21e9cee03ac8d7ac6e5da8eebf95b5fbe73346dcd4d3f519f961d2e9c7",
        }),
        ["vit-pt-gelu"] = ((_, dir) => ClipModelConverter.ConvertToOnnx(Model("vit.openai.pt"), dir, Gelu), new()
        {
            ["image.onnx"] = "247b552eaa837ed62f2c5edb8ac3e6298f7f97607304a07706191b624f187694",
            ["text.onnx"] = "adb000b834029bf197ce89e3d94a1e5b132834d0d0806c99133d019bd8335996",
        }),
        ["rn-pt-gelu"] = ((_, dir) => ClipModelConverter.ConvertToOnnx(Model("rn.openai.pt"), dir, Gelu), new()
        {
            ["image.onnx"] = "586c0e1ec4f6b2232958e5d4a23ab7df49307f9793357472da22be1dacd51a8f",
            ["text.onnx"] = "1e6a807ee07562d72999afd151089a514caf27160232ab5b31bee69e7a909661",
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
            ["image.onnx"] = "75ab767f9ee0301f645d3a521dd53aef604856c7dd2fb5fe2a12bfd1612bd924",
            ["text.onnx"] = "3124898ed16acac4a2662c70e09f499d060139a48d8aadc1f96246cf7877afbf",
        }),
        ["rn-st-onnx"] = ((root, dir) => ClipModelConverter.ConvertToOnnx(SafetensorsFolder(root, "rn-st"), dir), new()
        {
            ["image.onnx"] = "d4a94cb16d6549b0155cce58421cdb1cfc172a6f51a163cdc26df0fc3909d57e",
            ["text.onnx"] = "e9147076ef20ea175deb44f4b81bd9f116505b7e6ed74bbf9314a394561f62de",
        }),
    };

    public static TheoryData<string> Cases => [.. Recorded.Keys];

    [Theory]
    [MemberData(nameof(Cases))]
    public void Converted_files_are_the_recorded_bytes(string name)
    {
        var root = Fixtures.NewTempDir("clip-drift");
        var dir = Path.Combine(root, name);
        var (convert, files) = Recorded[name];
        convert(root, dir);
        var expectedFiles = files.Keys.Concat(name.EndsWith("-st", StringComparison.Ordinal) ? [] : [ClipModelInfo.FileName]);
        Assert.Equal(expectedFiles.Order(StringComparer.Ordinal), Directory.GetFiles(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        var differing = files.Select(f => (f.Key, Expected: f.Value, Actual: Hash(Path.Combine(dir, f.Key)))).Where(f => f.Expected != f.Actual).ToList();
        Assert.True(differing.Count == 0, $"{name}: {string.Join(", ", differing.Select(f => $"{f.Key} (now {f.Actual})"))} differ from the recorded bytes");
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
                TextSequence = ClipModelInfo.DynamicSequence,
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
