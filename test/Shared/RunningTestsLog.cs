using System.Reflection;
using Xunit.Sdk;

// Every test of the assembly that compiles this file is logged as it starts and ends (build/test.sh reads the logs).
[assembly: Microsoft.ML.Clip.TestUtilities.RunningTestsLog]

namespace Microsoft.ML.Clip.TestUtilities;

/// <summary>
/// When <c>CLIP_TEST_RUNNING_LOG</c> names a folder (build/test.sh sets it), appends "+ test" before and "- test" after
/// each test to a file per test process there. A test host that dies (a native crash, the out-of-memory killer) is
/// reported by the test platform as an aborted run with no name; the test whose "+" has no "-" is the one it died in.
/// Each line is appended and closed at once, so a killed process loses none. Source-shared by every test project.
/// </summary>
[AttributeUsage(AttributeTargets.Assembly)]
internal sealed class RunningTestsLogAttribute : BeforeAfterTestAttribute
{
    private static readonly string? LogFile = Open();
    private static readonly object Sync = new();

    private static string? Open()
    {
        var folder = Environment.GetEnvironmentVariable("CLIP_TEST_RUNNING_LOG");
        if (string.IsNullOrEmpty(folder) || !Directory.Exists(folder)) return null;
        var assembly = Assembly.GetExecutingAssembly().GetName().Name;
        return Path.Combine(folder, $"{assembly}-{Environment.ProcessId}.log");
    }

    public override void Before(MethodInfo methodUnderTest) => Append('+', methodUnderTest);

    public override void After(MethodInfo methodUnderTest) => Append('-', methodUnderTest);

    private static void Append(char mark, MethodInfo method)
    {
        if (LogFile is null) return;
        // A theory's rows run one after another (tests of a class never overlap), so "+" and "-" pair up by name.
        var line = $"{mark} {method.DeclaringType?.FullName}.{method.Name}\n";
        lock (Sync)
        {
            try { File.AppendAllText(LogFile, line); }
            catch (IOException) { } // a diagnostic only: never fail a test for it
        }
    }
}
