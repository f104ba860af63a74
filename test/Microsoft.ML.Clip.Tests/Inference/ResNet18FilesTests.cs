using System.Xml.Linq;
using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.TestUtilities;
using Xunit;

namespace Microsoft.ML.Clip.Tests.Inference;

/// <summary>
/// Where the ResNet-18 files are read from when no folder is given: <c>DnnImageModels/</c> beside the application (a
/// project that references the package), else the restored package in the NuGet global packages folder (an installed
/// tool, which carries no copy), else an error that says how to get them.
/// </summary>
public class ResNet18FilesTests
{
    [Fact]
    public void Without_a_copy_beside_the_application_the_restored_package_is_read()
    {
        var (application, packages) = (Fixtures.NewTempDir("resnet18-app"), Fixtures.NewTempDir("resnet18-packages"));
        var restored = Path.Combine(packages, "microsoft.ml.dnnimagefeaturizer.resnet18", ResNet18Files.PackageVersion, "tools", "DnnImageModels");
        WriteModelFiles(restored);

        var (preprocess, network) = ResNet18Files.Locate(null, application, packages);
        Assert.Equal(Path.Combine(restored, ResNet18Files.PreprocessFile), preprocess);
        Assert.Equal(Path.Combine(restored, ResNet18Files.NetworkFile), network);

        // A copy beside the application (the package's props put one there) comes first.
        var beside = Path.Combine(application, ResNet18Files.DefaultModelDirectory);
        WriteModelFiles(beside);
        Assert.Equal(Path.Combine(beside, ResNet18Files.PreprocessFile), ResNet18Files.Locate(null, application, packages).Preprocess);
    }

    [Fact]
    public void Another_version_of_the_package_or_half_the_files_do_not_count_and_the_error_says_how_to_get_them()
    {
        var (application, packages) = (Fixtures.NewTempDir("resnet18-app"), Fixtures.NewTempDir("resnet18-packages"));
        WriteModelFiles(Path.Combine(packages, "microsoft.ml.dnnimagefeaturizer.resnet18", "0.0.1", "tools", "DnnImageModels"));
        var beside = Path.Combine(application, ResNet18Files.DefaultModelDirectory, ResNet18Files.PreprocessFile);
        Directory.CreateDirectory(Path.GetDirectoryName(beside)!);
        File.WriteAllText(beside, "");

        var e = Assert.Throws<FileNotFoundException>(() => ResNet18Files.Locate(null, application, packages));
        Assert.Contains(Path.Combine(application, ResNet18Files.DefaultModelDirectory), e.Message);
        Assert.Contains(Path.Combine(packages, "microsoft.ml.dnnimagefeaturizer.resnet18", ResNet18Files.PackageVersion), e.Message);
        Assert.Contains($"{ResNet18Files.PackageId} {ResNet18Files.PackageVersion}", e.Message);
        Assert.Contains("clip restore-models", e.Message);
    }

    [Fact]
    public void The_package_version_read_is_the_one_the_repository_pins()
    {
        var props = Path.Combine(Directory.GetParent(Fixtures.Root)!.Parent!.FullName, "Directory.Packages.props");
        var pinned = XDocument.Load(props).Descendants("PackageVersion").Single(p => (string?)p.Attribute("Include") == ResNet18Files.PackageId);
        Assert.Equal(ResNet18Files.PackageVersion, pinned.Attribute("Version")!.Value);
    }

    private static void WriteModelFiles(string modelDirectory)
    {
        foreach (var file in new[] { ResNet18Files.PreprocessFile, ResNet18Files.NetworkFile })
        {
            var path = Path.Combine(modelDirectory, file);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, "");
        }
    }
}
