using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Rampart.Storage.Tests.Servers;

/// <summary>
/// The child process of a real server a test fixture starts (redis-server, postgres): started with its stdout and
/// stderr captured (across restarts, for the error when it dies or never gets ready), waited for, signalled, killed.
/// </summary>
internal abstract class ServerProcess
{
    private readonly StringBuilder _output = new();
    private Process? _process;

    /// <summary>The server's name in errors, as the operator knows the binary.</summary>
    protected abstract string Name { get; }

    /// <summary>The running (or last) process.</summary>
    protected Process Process => _process ?? throw new InvalidOperationException($"{Name} was never started");

    /// <summary>Whether a process was started (a failed start may leave none to stop).</summary>
    protected bool Started => _process is not null;

    /// <summary>A loopback port nothing listens on (just released by a listener of ours).</summary>
    public static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>Starts <paramref name="start"/> as the server process, replacing (and disposing) an earlier one, with its output captured.</summary>
    protected void Launch(ProcessStartInfo start)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Capture(e.Data);
        process.ErrorDataReceived += (_, e) => Capture(e.Data);
        _process?.Dispose();
        _process = process;
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>
    /// Polls <paramref name="ready"/> every <paramref name="interval"/> until it says so; fails the test, with the
    /// server's output, when the process exits first or <paramref name="within"/> passes ("did not
    /// <paramref name="readyMeans"/> within N s").
    /// </summary>
    protected async Task WaitUntilReadyAsync(Func<Task<bool>> ready, TimeSpan within, TimeSpan interval, string readyMeans)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (Process.HasExited)
            {
                throw new Xunit.Sdk.XunitException($"{Name} exited early ({Process.ExitCode}): {Output()}");
            }
            if (await ready().ConfigureAwait(false))
            {
                return;
            }
            if (deadline.Elapsed > within)
            {
                throw new Xunit.Sdk.XunitException($"{Name} did not {readyMeans} within {within.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s: {Output()}");
            }
            await Task.Delay(interval).ConfigureAwait(false);
        }
    }

    /// <summary>Sends <paramref name="signal"/> (a kill(1) name: STOP, CONT, INT, QUIT) unless the process has exited.</summary>
    protected async Task SignalAsync(string signal)
    {
        if (Process.HasExited)
        {
            return;
        }
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-" + signal, Process.Id.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false })
            ?? throw new InvalidOperationException("cannot run kill");
        await kill.WaitForExitAsync().ConfigureAwait(false);
    }

    /// <summary>SIGKILL now, and waits for the exit.</summary>
    protected async Task KillNowAsync()
    {
        if (!Process.HasExited)
        {
            Process.Kill();
            await Process.WaitForExitAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Sends <paramref name="signal"/> and waits <paramref name="grace"/> for the exit, then kills the whole tree.</summary>
    protected async Task StopAsync(string signal, TimeSpan grace)
    {
        if (Process.HasExited)
        {
            return;
        }
        await SignalAsync(signal).ConfigureAwait(false);
        using var deadline = new CancellationTokenSource(grace);
        try
        {
            await Process.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Process.Kill(entireProcessTree: true);
            await Process.WaitForExitAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Disposes the process object (not the process: stop it first).</summary>
    protected void DisposeProcess() => _process?.Dispose();

    /// <summary>Everything the server printed, on one line.</summary>
    protected string Output()
    {
        lock (_output)
        {
            return _output.ToString().ReplaceLineEndings(" | ");
        }
    }

    private void Capture(string? line)
    {
        lock (_output)
        {
            _output.AppendLine(line);
        }
    }
}

/// <summary>
/// One server for a whole test class: started before its first test, stopped after its last. A subclass names the
/// server (<see cref="StartAsync"/>) and exposes it typed.
/// </summary>
public abstract class ServerFixture : IAsyncLifetime
{
    private IAsyncDisposable? _server;

    public async ValueTask InitializeAsync() => _server = await StartAsync();

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
        GC.SuppressFinalize(this);
    }

    /// <summary>Starts the server (failing the test, naming the apt package, when it is not installed).</summary>
    private protected abstract Task<IAsyncDisposable> StartAsync();

    /// <summary>The started server.</summary>
    private protected TServer Get<TServer>()
        where TServer : IAsyncDisposable =>
        (TServer)(_server ?? throw new InvalidOperationException("the fixture is not started"));
}
