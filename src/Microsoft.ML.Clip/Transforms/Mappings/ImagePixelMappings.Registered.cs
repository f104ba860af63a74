using Microsoft.ML.Clip.Imaging;
using Microsoft.ML.Transforms;

namespace Microsoft.ML.Clip.Transforms.Mappings;

// The registered (savable) image-reading factories: one per input kind (path, bytes) x resize mode x resolution x
// bad-row policy, because ML.NET reloads a CustomMapping by contract name and creates it without
// arguments. Each line only binds parameters to one of the three bases in ImagePixelMappings.cs.
#pragma warning disable CS1591 // The classes are documented by their contract names.

[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Path.Crop64.Throw.v1")] public sealed class PixelsPathCrop64Throw() : ClipPathPixelMapping(ClipResizeMode.ShortestSideCenterCrop, 64, false);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Path.Crop64.Skip.v1")] public sealed class PixelsPathCrop64Skip() : ClipPathPixelMapping(ClipResizeMode.ShortestSideCenterCrop, 64, true);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Path.Crop224.Throw.v1")] public sealed class PixelsPathCrop224Throw() : ClipPathPixelMapping(ClipResizeMode.ShortestSideCenterCrop, 224, false);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Path.Crop224.Skip.v1")] public sealed class PixelsPathCrop224Skip() : ClipPathPixelMapping(ClipResizeMode.ShortestSideCenterCrop, 224, true);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Path.Crop256.Throw.v1")] public sealed class PixelsPathCrop256Throw() : ClipPathPixelMapping(ClipResizeMode.ShortestSideCenterCrop, 256, false);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Path.Crop256.Skip.v1")] public sealed class PixelsPathCrop256Skip() : ClipPathPixelMapping(ClipResizeMode.ShortestSideCenterCrop, 256, true);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Path.Crop288.Throw.v1")] public sealed class PixelsPathCrop288Throw() : ClipPathPixelMapping(ClipResizeMode.ShortestSideCenterCrop, 288, false);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Path.Crop288.Skip.v1")] public sealed class PixelsPathCrop288Skip() : ClipPathPixelMapping(ClipResizeMode.ShortestSideCenterCrop, 288, true);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Path.Crop336.Throw.v1")] public sealed class PixelsPathCrop336Throw() : ClipPathPixelMapping(ClipResizeMode.ShortestSideCenterCrop, 336, false);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Path.Crop336.Skip.v1")] public sealed class PixelsPathCrop336Skip() : ClipPathPixelMapping(ClipResizeMode.ShortestSideCenterCrop, 336, true);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Path.Crop384.Throw.v1")] public sealed class PixelsPathCrop384Throw() : ClipPathPixelMapping(ClipResizeMode.ShortestSideCenterCrop, 384, false);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Path.Crop384.Skip.v1")] public sealed class PixelsPathCrop384Skip() : ClipPathPixelMapping(ClipResizeMode.ShortestSideCenterCrop, 384, true);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Path.Crop448.Throw.v1")] public sealed class PixelsPathCrop448Throw() : ClipPathPixelMapping(ClipResizeMode.ShortestSideCenterCrop, 448, false);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Path.Crop448.Skip.v1")] public sealed class PixelsPathCrop448Skip() : ClipPathPixelMapping(ClipResizeMode.ShortestSideCenterCrop, 448, true);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Path.Crop512.Throw.v1")] public sealed class PixelsPathCrop512Throw() : ClipPathPixelMapping(ClipResizeMode.ShortestSideCenterCrop, 512, false);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Path.Crop512.Skip.v1")] public sealed class PixelsPathCrop512Skip() : ClipPathPixelMapping(ClipResizeMode.ShortestSideCenterCrop, 512, true);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Path.Squash64.Throw.v1")] public sealed class PixelsPathSquash64Throw() : ClipPathPixelMapping(ClipResizeMode.Squash, 64, false);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Path.Squash64.Skip.v1")] public sealed class PixelsPathSquash64Skip() : ClipPathPixelMapping(ClipResizeMode.Squash, 64, true);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Path.Squash224.Throw.v1")] public sealed class PixelsPathSquash224Throw() : ClipPathPixelMapping(ClipResizeMode.Squash, 224, false);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Path.Squash224.Skip.v1")] public sealed class PixelsPathSquash224Skip() : ClipPathPixelMapping(ClipResizeMode.Squash, 224, true);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Path.Squash256.Throw.v1")] public sealed class PixelsPathSquash256Throw() : ClipPathPixelMapping(ClipResizeMode.Squash, 256, false);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Path.Squash256.Skip.v1")] public sealed class PixelsPathSquash256Skip() : ClipPathPixelMapping(ClipResizeMode.Squash, 256, true);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Path.Squash288.Throw.v1")] public sealed class PixelsPathSquash288Throw() : ClipPathPixelMapping(ClipResizeMode.Squash, 288, false);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Path.Squash288.Skip.v1")] public sealed class PixelsPathSquash288Skip() : ClipPathPixelMapping(ClipResizeMode.Squash, 288, true);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Path.Squash336.Throw.v1")] public sealed class PixelsPathSquash336Throw() : ClipPathPixelMapping(ClipResizeMode.Squash, 336, false);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Path.Squash336.Skip.v1")] public sealed class PixelsPathSquash336Skip() : ClipPathPixelMapping(ClipResizeMode.Squash, 336, true);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Path.Squash384.Throw.v1")] public sealed class PixelsPathSquash384Throw() : ClipPathPixelMapping(ClipResizeMode.Squash, 384, false);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Path.Squash384.Skip.v1")] public sealed class PixelsPathSquash384Skip() : ClipPathPixelMapping(ClipResizeMode.Squash, 384, true);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Path.Squash448.Throw.v1")] public sealed class PixelsPathSquash448Throw() : ClipPathPixelMapping(ClipResizeMode.Squash, 448, false);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Path.Squash448.Skip.v1")] public sealed class PixelsPathSquash448Skip() : ClipPathPixelMapping(ClipResizeMode.Squash, 448, true);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Path.Squash512.Throw.v1")] public sealed class PixelsPathSquash512Throw() : ClipPathPixelMapping(ClipResizeMode.Squash, 512, false);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Path.Squash512.Skip.v1")] public sealed class PixelsPathSquash512Skip() : ClipPathPixelMapping(ClipResizeMode.Squash, 512, true);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Bytes.Crop64.Throw.v1")] public sealed class PixelsBytesCrop64Throw() : ClipBytesPixelMapping(ClipResizeMode.ShortestSideCenterCrop, 64, false);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Bytes.Crop64.Skip.v1")] public sealed class PixelsBytesCrop64Skip() : ClipBytesPixelMapping(ClipResizeMode.ShortestSideCenterCrop, 64, true);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Bytes.Crop224.Throw.v1")] public sealed class PixelsBytesCrop224Throw() : ClipBytesPixelMapping(ClipResizeMode.ShortestSideCenterCrop, 224, false);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Bytes.Crop224.Skip.v1")] public sealed class PixelsBytesCrop224Skip() : ClipBytesPixelMapping(ClipResizeMode.ShortestSideCenterCrop, 224, true);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Bytes.Crop256.Throw.v1")] public sealed class PixelsBytesCrop256Throw() : ClipBytesPixelMapping(ClipResizeMode.ShortestSideCenterCrop, 256, false);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Bytes.Crop256.Skip.v1")] public sealed class PixelsBytesCrop256Skip() : ClipBytesPixelMapping(ClipResizeMode.ShortestSideCenterCrop, 256, true);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Bytes.Crop288.Throw.v1")] public sealed class PixelsBytesCrop288Throw() : ClipBytesPixelMapping(ClipResizeMode.ShortestSideCenterCrop, 288, false);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Bytes.Crop288.Skip.v1")] public sealed class PixelsBytesCrop288Skip() : ClipBytesPixelMapping(ClipResizeMode.ShortestSideCenterCrop, 288, true);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Bytes.Crop336.Throw.v1")] public sealed class PixelsBytesCrop336Throw() : ClipBytesPixelMapping(ClipResizeMode.ShortestSideCenterCrop, 336, false);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Bytes.Crop336.Skip.v1")] public sealed class PixelsBytesCrop336Skip() : ClipBytesPixelMapping(ClipResizeMode.ShortestSideCenterCrop, 336, true);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Bytes.Crop384.Throw.v1")] public sealed class PixelsBytesCrop384Throw() : ClipBytesPixelMapping(ClipResizeMode.ShortestSideCenterCrop, 384, false);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Bytes.Crop384.Skip.v1")] public sealed class PixelsBytesCrop384Skip() : ClipBytesPixelMapping(ClipResizeMode.ShortestSideCenterCrop, 384, true);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Bytes.Crop448.Throw.v1")] public sealed class PixelsBytesCrop448Throw() : ClipBytesPixelMapping(ClipResizeMode.ShortestSideCenterCrop, 448, false);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Bytes.Crop448.Skip.v1")] public sealed class PixelsBytesCrop448Skip() : ClipBytesPixelMapping(ClipResizeMode.ShortestSideCenterCrop, 448, true);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Bytes.Crop512.Throw.v1")] public sealed class PixelsBytesCrop512Throw() : ClipBytesPixelMapping(ClipResizeMode.ShortestSideCenterCrop, 512, false);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Bytes.Crop512.Skip.v1")] public sealed class PixelsBytesCrop512Skip() : ClipBytesPixelMapping(ClipResizeMode.ShortestSideCenterCrop, 512, true);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Bytes.Squash64.Throw.v1")] public sealed class PixelsBytesSquash64Throw() : ClipBytesPixelMapping(ClipResizeMode.Squash, 64, false);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Bytes.Squash64.Skip.v1")] public sealed class PixelsBytesSquash64Skip() : ClipBytesPixelMapping(ClipResizeMode.Squash, 64, true);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Bytes.Squash224.Throw.v1")] public sealed class PixelsBytesSquash224Throw() : ClipBytesPixelMapping(ClipResizeMode.Squash, 224, false);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Bytes.Squash224.Skip.v1")] public sealed class PixelsBytesSquash224Skip() : ClipBytesPixelMapping(ClipResizeMode.Squash, 224, true);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Bytes.Squash256.Throw.v1")] public sealed class PixelsBytesSquash256Throw() : ClipBytesPixelMapping(ClipResizeMode.Squash, 256, false);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Bytes.Squash256.Skip.v1")] public sealed class PixelsBytesSquash256Skip() : ClipBytesPixelMapping(ClipResizeMode.Squash, 256, true);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Bytes.Squash288.Throw.v1")] public sealed class PixelsBytesSquash288Throw() : ClipBytesPixelMapping(ClipResizeMode.Squash, 288, false);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Bytes.Squash288.Skip.v1")] public sealed class PixelsBytesSquash288Skip() : ClipBytesPixelMapping(ClipResizeMode.Squash, 288, true);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Bytes.Squash336.Throw.v1")] public sealed class PixelsBytesSquash336Throw() : ClipBytesPixelMapping(ClipResizeMode.Squash, 336, false);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Bytes.Squash336.Skip.v1")] public sealed class PixelsBytesSquash336Skip() : ClipBytesPixelMapping(ClipResizeMode.Squash, 336, true);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Bytes.Squash384.Throw.v1")] public sealed class PixelsBytesSquash384Throw() : ClipBytesPixelMapping(ClipResizeMode.Squash, 384, false);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Bytes.Squash384.Skip.v1")] public sealed class PixelsBytesSquash384Skip() : ClipBytesPixelMapping(ClipResizeMode.Squash, 384, true);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Bytes.Squash448.Throw.v1")] public sealed class PixelsBytesSquash448Throw() : ClipBytesPixelMapping(ClipResizeMode.Squash, 448, false);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Bytes.Squash448.Skip.v1")] public sealed class PixelsBytesSquash448Skip() : ClipBytesPixelMapping(ClipResizeMode.Squash, 448, true);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Bytes.Squash512.Throw.v1")] public sealed class PixelsBytesSquash512Throw() : ClipBytesPixelMapping(ClipResizeMode.Squash, 512, false);
[CustomMappingFactoryAttribute("Microsoft.ML.Clip.Pixels.Bytes.Squash512.Skip.v1")] public sealed class PixelsBytesSquash512Skip() : ClipBytesPixelMapping(ClipResizeMode.Squash, 512, true);
