using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using StackExchange.Redis;

namespace Rampart.Storage.Tests;

/// <summary>
/// A real <c>redis-server</c> child process (apt package <c>redis-server</c>) on a unix socket in a temp directory
/// and a free loopback port, with nothing saved to disk; killed on dispose. A missing binary fails the test.
/// </summary>
internal sealed class RedisServer : IAsyncDisposable
{
    private readonly TempDirectory _dir;
    private readonly StringBuilder _output;
    private Process _process;
    private ConnectionMultiplexer? _admin;

    private RedisServer(TempDirectory dir, Process process, StringBuilder output, int port, string? password)
    {
        _dir = dir;
        _process = process;
        _output = output;
        Port = port;
        Password = password;
    }

    public int Port { get; }

    public string? Password { get; }

    public string SocketPath => _dir.File("redis.sock");

    public string TcpUrl => $"redis://{(Password is null ? "" : ":" + Uri.EscapeDataString(Password) + "@")}127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}/0";

    public string UnixUrl => $"unix://{SocketPath}?db=0{(Password is null ? "" : "&password=" + Uri.EscapeDataString(Password))}";

    public int ProcessId => _process.Id;

    /// <summary>A plain client connection (database 0), to plant values the store would never write and to inspect TTLs.</summary>
    public IDatabase Raw => (_admin ??= ConnectionMultiplexer.Connect(AdminConfiguration())).GetDatabase(0);

    public static async Task<RedisServer> StartAsync(string? password = null)
    {
        string binary = FindBinary() ?? throw new Xunit.Sdk.XunitException("redis-server not found: apt-get install redis-server");
        var dir = new TempDirectory();
        int port = FreeLoopbackPort();
        var output = new StringBuilder();
        var process = Launch(binary, dir, port, password, output);
        var server = new RedisServer(dir, process, output, port, password);
        await server.WaitUntilReadyAsync().ConfigureAwait(false);
        return server;
    }

    /// <summary>A loopback port nothing listens on (just released by a listener of ours).</summary>
    public static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>SIGKILL: the server vanishes mid-conversation.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync().ConfigureAwait(false);
        }
    }

    /// <summary>SIGSTOP: connections stay open, nothing answers (a server that is hung or far too slow).</summary>
    public Task FreezeAsync() => SignalAsync("STOP");

    /// <summary>SIGCONT after <see cref="FreezeAsync"/>.</summary>
    public Task ThawAsync() => SignalAsync("CONT");

    /// <summary>Starts the server again on the same socket and port after <see cref="KillAsync"/>.</summary>
    public async Task RestartAsync()
    {
        await KillAsync().ConfigureAwait(false);
        _process.Dispose();
        File.Delete(SocketPath);
        _process = Launch(FindBinary()!, _dir, Port, Password, _output);
        await WaitUntilReadyAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (_admin is not null)
        {
            await _admin.CloseAsync(allowCommandsToComplete: false).ConfigureAwait(false);
            _admin.Dispose();
        }

        try
        {
            await ThawAsync().ConfigureAwait(false); // a frozen process still dies of SIGKILL, but be tidy
        }
        catch (InvalidOperationException)
        {
        }

        await KillAsync().ConfigureAwait(false);
        _process.Dispose();
        _dir.Dispose();
    }

    private static string? FindBinary()
    {
        var directories = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/bin", "/usr/sbin", "/usr/local/bin"]);
        return directories.Select(d => Path.Combine(d, "redis-server")).FirstOrDefault(File.Exists);
    }

    private static Process Launch(string binary, TempDirectory dir, int port, string? password, StringBuilder output)
    {
        var start = new ProcessStartInfo(binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = dir.Path,
        };
        string[] args =
        [
            "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
            "--unixsocket", dir.File("redis.sock"), "--unixsocketperm", "700",
            "--save", "", "--appendonly", "no", "--dir", dir.Path, "--daemonize", "no", "--logfile", "",
            "--protected-mode", "no",
        ];
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        if (password is not null)
        {
            start.ArgumentList.Add("--requirepass");
            start.ArgumentList.Add(password);
        }

        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private async Task WaitUntilReadyAsync()
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited)
            {
                throw new Xunit.Sdk.XunitException($"redis-server exited early ({_process.ExitCode}): {Output()}");
            }

            if (File.Exists(SocketPath))
            {
                try
                {
                    using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                    await probe.ConnectAsync(new UnixDomainSocketEndPoint(SocketPath)).ConfigureAwait(false);
                    using var tcp = new TcpClient();
                    await tcp.ConnectAsync(IPAddress.Loopback, Port).ConfigureAwait(false);
                    return;
                }
                catch (SocketException)
                {
                }
            }

            if (deadline.Elapsed > TimeSpan.FromSeconds(30))
            {
                throw new Xunit.Sdk.XunitException($"redis-server did not listen within 30 s: {Output()}");
            }

            await Task.Delay(20).ConfigureAwait(false);
        }
    }

    private async Task SignalAsync(string signal)
    {
        if (_process.HasExited)
        {
            return;
        }

        using var kill = Process.Start(new ProcessStartInfo("kill", ["-" + signal, _process.Id.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false })
            ?? throw new InvalidOperationException("cannot run kill");
        await kill.WaitForExitAsync().ConfigureAwait(false);
    }

    private ConfigurationOptions AdminConfiguration()
    {
        var options = new ConfigurationOptions { AllowAdmin = true, Password = Password, ConnectTimeout = 5000, SyncTimeout = 5000, AsyncTimeout = 5000 };
        options.EndPoints.Add(new UnixDomainSocketEndPoint(SocketPath));
        return options;
    }

    private string Output()
    {
        lock (_output)
        {
            return _output.ToString().ReplaceLineEndings(" | ");
        }
    }
}

/// <summary>One redis-server for a whole test class; each test uses its own key prefix.</summary>
public sealed class RedisServerFixture : IAsyncLifetime
{
    private RedisServer? _server;

    internal RedisServer Server => _server ?? throw new InvalidOperationException("the fixture is not started");

    public async ValueTask InitializeAsync() => _server = await RedisServer.StartAsync();

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
