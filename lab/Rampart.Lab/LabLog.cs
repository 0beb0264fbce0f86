using System.Globalization;

namespace Rampart.Lab;

/// <summary>Line-oriented, thread-safe log file (one line per event, UTC timestamps, flushed at once).</summary>
internal sealed class LabLog : IDisposable
{
    private readonly StreamWriter _writer;
    private readonly Lock _lock = new();

    public LabLog(string path)
    {
        var dir = Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(dir))
        {
            Directory.CreateDirectory(dir);
        }

        _writer = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
    }

    public void Write(string message)
    {
        var line = DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture) + " " + message;
        lock (_lock)
        {
            _writer.WriteLine(line);
        }
    }

    public void Dispose() => _writer.Dispose();
}
