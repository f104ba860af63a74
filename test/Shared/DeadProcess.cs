namespace Microsoft.ML.Clip.TestUtilities;

/// <summary>
/// A process id that is not running, so temporary files or staging folders named after it are provably abandoned.
/// Source-shared (like <c>OrtTestHelpers</c>) because the data-set tests cannot reference TestUtilities (another SkiaSharp).
/// </summary>
internal static class DeadProcess
{
    public static int Id()
    {
        for (var pid = 4_000_000; ; pid--)
        {
            try
            {
                using var p = System.Diagnostics.Process.GetProcessById(pid);
            }
            catch (ArgumentException)
            {
                return pid;
            }
        }
    }
}
