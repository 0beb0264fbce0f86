using System.Diagnostics;

namespace Rampart.Tests.Shared;

/// <summary>
/// A long-running rampart (daemon, serve, check --watch) as a child process: its stdout and stderr lines as they come,
/// waited for without polling, and a SIGTERM stop. Killed on dispose if still running.
/// </summary>
internal sealed class RampartProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly SemaphoreSlim _arrived = new(0);

    private RampartProcess(Process process) => _process = process;

    public int Id => _process.Id;

    /// <summary>Every line so far, stdout and stderr interleaved as they arrived.</summary>
    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lines)
            {
                return [.. _lines];
            }
        }
    }

    /// <param name="environment">Variables set (a null value removes one) on top of this process's environment.</param>
    public static RampartProcess Start(IEnumerable<string> args, IReadOnlyList<string>? launcher = null, string? workingDirectory = null,
        IReadOnlyDictionary<string, string?>? environment = null)
    {
        launcher ??= ["dotnet", CliRunner.RampartDll];
        var info = new ProcessStartInfo(launcher[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (workingDirectory is not null)
        {
            info.WorkingDirectory = workingDirectory;
        }
        foreach (var arg in launcher.Skip(1).Concat(args))
        {
            info.ArgumentList.Add(arg);
        }
        info.Environment["NO_COLOR"] = "1";
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            info.Environment[name] = value;
        }
        var process = new Process { StartInfo = info };
        var started = new RampartProcess(process);
        process.OutputDataReceived += (_, e) => started.Add(e.Data);
        process.ErrorDataReceived += (_, e) => started.Add(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return started;
    }

    private void Add(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_lines)
        {
            _lines.Add(line);
        }
        _arrived.Release();
    }

    /// <summary>The first line that matches, waiting up to <paramref name="within"/> for it; a timeout shows every line so far.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan within)
    {
        using var deadline = new CancellationTokenSource(within);
        while (true)
        {
            if (Lines.FirstOrDefault(match) is { } line)
            {
                return line;
            }
            try
            {
                await _arrived.WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"no such line within {within.TotalSeconds} s (exited: {_process.HasExited}); output:\n{string.Join('\n', Lines)}");
            }
        }
    }

    /// <summary>SIGKILL (no shutdown at all: a crash, the OOM killer), and its end awaited.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
        }
        await _process.WaitForExitAsync();
    }

    /// <summary>SIGTERM, then the exit code.</summary>
    public async Task<int> StopAsync()
    {
        if (!_process.HasExited)
        {
            using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
            await kill.WaitForExitAsync();
        }
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _process.WaitForExitAsync(deadline.Token);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        _arrived.Dispose();
    }
}
