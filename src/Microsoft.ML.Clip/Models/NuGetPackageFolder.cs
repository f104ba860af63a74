namespace Microsoft.ML.Clip.Models;

/// <summary>
/// Where NuGet keeps restored packages (the global packages folder), so that a pretrained model that comes as a NuGet
/// package (the ResNet-18 of <c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c>) is read from the package a user has
/// restored, not copied again into this library's or a tool's package.
/// </summary>
/// <remarks>friend: used by clip (<c>clip restore-models</c> restores into <see cref="GlobalPackagesFolder"/>).</remarks>
internal static class NuGetPackageFolder
{
    /// <summary>The environment variable NuGet reads for the global packages folder.</summary>
    public const string EnvironmentVariable = "NUGET_PACKAGES";

    /// <summary>The global packages folder: <c>NUGET_PACKAGES</c> when set, otherwise NuGet's default, <c>.nuget/packages</c> in the user's home.</summary>
    public static string GlobalPackagesFolder
        => Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } configured
            ? Path.GetFullPath(configured)
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    /// <summary>The folder of package <paramref name="id"/> at exactly <paramref name="version"/> in <paramref name="packagesFolder"/> (NuGet's lower-case layout; null: <see cref="GlobalPackagesFolder"/>); it exists only once restored.</summary>
    public static string PackageDirectory(string id, string version, string? packagesFolder = null)
        => Path.Combine(packagesFolder ?? GlobalPackagesFolder, id.ToLowerInvariant(), version.ToLowerInvariant());
}
