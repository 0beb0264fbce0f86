using System.Globalization;
using System.Runtime.InteropServices;

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

/// <summary>The lab servers' shutdown: SIGTERM or SIGINT is logged and cancels the server's token.</summary>
internal static class LabSignals
{
    public static IDisposable StopOn(CancellationTokenSource cts, LabLog log)
    {
        void Stop(PosixSignalContext c)
        {
            c.Cancel = true;
            log.Write($"signal {c.Signal}: stopping");
            cts.Cancel();
        }

        return new Registrations(PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop), PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop));
    }

    private sealed class Registrations(params IDisposable[] items) : IDisposable
    {
        public void Dispose()
        {
            foreach (var item in items)
            {
                item.Dispose();
            }
        }
    }
}
