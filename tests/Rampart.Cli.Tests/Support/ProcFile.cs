namespace Rampart.Cli.Tests.Support;

/// <summary>
/// Files of /proc whose size says 0 bytes while a read gives much more: the case of a file that grows between the
/// check of its size and its read, without a race to arrange.
/// </summary>
internal static class ProcFile
{
    /// <summary>Skips the test unless <paramref name="path"/> can be read here and gives more than <paramref name="bytes"/>.</summary>
    public static void SkipUnlessItReadsMoreThan(string path, long bytes)
    {
        long total = 0;
        try
        {
            using var stream = File.OpenRead(path);
            var buffer = new byte[81920];
            int read;
            while (total <= bytes && (read = stream.Read(buffer)) > 0)
            {
                total += read;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Assert.Skip($"{path} cannot be read here ({ex.Message})");
        }
        if (total <= bytes)
        {
            Assert.Skip($"{path} gives only {total} bytes here, not more than {bytes}");
        }
    }
}
