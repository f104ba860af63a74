using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.ML.Clip.TestUtilities;
using Xunit;

namespace Microsoft.ML.Clip.Tests;

/// <summary>The README shows the library's API to a user first: its snippet must compile against the current surface.</summary>
public class ReadmeSnippetTests
{
    [Fact]
    public void TheUsingTheLibrarySnippetCompiles()
    {
        var readme = File.ReadAllText(Path.Combine(Directory.GetParent(Fixtures.Root)!.Parent!.FullName, "README.md"));
        var match = Regex.Match(readme, "## Using the library.*?```csharp\n(.*?)```", RegexOptions.Singleline);
        Assert.True(match.Success, "README.md has no C# block under 'Using the library'.");
        // What an application project has: the SDK's implicit usings, and the library with its dependencies (this test
        // process's trusted assemblies hold both, from the test project's references).
        const string implicitUsings = "global using System; global using System.Collections.Generic; global using System.IO; global using System.Linq; global using System.Threading; global using System.Threading.Tasks;";
        var references = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(File.Exists).Select(p => MetadataReference.CreateFromFile(p));
        var compilation = CSharpCompilation.Create("readme-snippet",
            [CSharpSyntaxTree.ParseText(implicitUsings), CSharpSyntaxTree.ParseText(match.Groups[1].Value)],
            references, new CSharpCompilationOptions(OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Enable));
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors));
        Assert.Contains(compilation.References, r => Path.GetFileName(r.Display) == "Microsoft.ML.Clip.dll");
    }
}
