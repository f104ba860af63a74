namespace Microsoft.ML.Clip.TorchSharp.Training;

/// <summary>
/// Enumerates a sequence while the next item is produced on a background thread, so that reading and preprocessing
/// the next batch overlaps the training step on the current one. One item ahead: memory of two batches.
/// </summary>
internal static class BackgroundPrefetch
{
    public static IEnumerable<T> Enumerate<T>(IEnumerable<T> source) where T : class, IDisposable
    {
        using var enumerator = source.GetEnumerator();
        var pending = Task.Run(() => enumerator.MoveNext() ? enumerator.Current : null);
        try
        {
            while (true)
            {
                var current = pending.GetAwaiter().GetResult();
                if (current is null) yield break;
                pending = Task.Run(() => enumerator.MoveNext() ? enumerator.Current : null);
                yield return current;
            }
        }
        finally
        {
            // The enumerator may only be disposed once the background MoveNext has finished; the item it made is unused.
            try { pending.GetAwaiter().GetResult()?.Dispose(); }
            catch (Exception) { /* the consumer stopped; an error in the unused look-ahead does not matter */ }
        }
    }
}
