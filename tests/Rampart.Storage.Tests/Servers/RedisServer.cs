using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Rampart.Storage.Tests.Support;
using StackExchange.Redis;

namespace Rampart.Storage.Tests.Servers;

/// <summary>
/// A real <c>redis-server</c> child process (apt package <c>redis-server</c>) on a unix socket in a temp directory
/// and a free loopback port, with nothing saved to disk; killed on dispose. A missing binary fails the test.
/// </summary>
internal sealed class RedisServer : ServerProcess, IAsyncDisposable
{
    private readonly TempDirectory _dir;
    private ConnectionMultiplexer? _admin;

    private RedisServer(TempDirectory dir, int port, string? password)
    {
        _dir = dir;
        Port = port;
        Password = password;
    }

    public int Port { get; }

    public string? Password { get; }

    public string SocketPath => _dir.File("redis.sock");

    public string TcpUrl => $"redis://{(Password is null ? "" : ":" + Uri.EscapeDataString(Password) + "@")}127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}/0";

    public string UnixUrl => $"unix://{SocketPath}?db=0{(Password is null ? "" : "&password=" + Uri.EscapeDataString(Password))}";

    public int ProcessId => Process.Id;

    protected override string Name => "redis-server";

    /// <summary>A plain client connection (database 0), to plant values the store would never write and to inspect TTLs.</summary>
    public IDatabase Raw => (_admin ??= ConnectionMultiplexer.Connect(AdminConfiguration())).GetDatabase(0);

    public static async Task<RedisServer> StartAsync(string? password = null)
    {
        string binary = FindBinary() ?? throw new Xunit.Sdk.XunitException("redis-server not found: apt-get install redis-server");
        var server = new RedisServer(new TempDirectory(), FreeLoopbackPort(), password);
        server.LaunchRedis(binary);
        await server.WaitUntilReadyAsync().ConfigureAwait(false);
        return server;
    }

    /// <summary>SIGKILL: the server vanishes mid-conversation.</summary>
    public Task KillAsync() => KillNowAsync();

    /// <summary>SIGSTOP: connections stay open, nothing answers (a server that is hung or far too slow).</summary>
    public Task FreezeAsync() => SignalAsync("STOP");

    /// <summary>SIGCONT after <see cref="FreezeAsync"/>.</summary>
    public Task ThawAsync() => SignalAsync("CONT");

    /// <summary>Starts the server again on the same socket and port after <see cref="KillAsync"/>.</summary>
    public async Task RestartAsync()
    {
        await KillAsync().ConfigureAwait(false);
        File.Delete(SocketPath);
        LaunchRedis(FindBinary()!);
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
        DisposeProcess();
        _dir.Dispose();
    }

    private static string? FindBinary()
    {
        var directories = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/bin", "/usr/sbin", "/usr/local/bin"]);
        return directories.Select(d => Path.Combine(d, "redis-server")).FirstOrDefault(File.Exists);
    }

    private void LaunchRedis(string binary)
    {
        var start = new ProcessStartInfo(binary) { WorkingDirectory = _dir.Path };
        string[] args =
        [
            "--port", Port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
            "--unixsocket", SocketPath, "--unixsocketperm", "700",
            "--save", "", "--appendonly", "no", "--dir", _dir.Path, "--daemonize", "no", "--logfile", "",
            "--protected-mode", "no",
        ];
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        if (Password is not null)
        {
            start.ArgumentList.Add("--requirepass");
            start.ArgumentList.Add(Password);
        }

        Launch(start);
    }

    private Task WaitUntilReadyAsync() => WaitUntilReadyAsync(
        async () =>
        {
            if (!File.Exists(SocketPath))
            {
                return false;
            }
            try
            {
                using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await probe.ConnectAsync(new UnixDomainSocketEndPoint(SocketPath)).ConfigureAwait(false);
                using var tcp = new TcpClient();
                await tcp.ConnectAsync(IPAddress.Loopback, Port).ConfigureAwait(false);
                return true;
            }
            catch (SocketException)
            {
                return false;
            }
        },
        TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(20), "listen");

    private ConfigurationOptions AdminConfiguration()
    {
        var options = new ConfigurationOptions { AllowAdmin = true, Password = Password, ConnectTimeout = 5000, SyncTimeout = 5000, AsyncTimeout = 5000 };
        options.EndPoints.Add(new UnixDomainSocketEndPoint(SocketPath));
        return options;
    }

}

/// <summary>One redis-server for a whole test class; each test uses its own key prefix.</summary>
public sealed class RedisServerFixture : ServerFixture
{
    internal RedisServer Server => Get<RedisServer>();

    private protected override async Task<IAsyncDisposable> StartAsync() => await RedisServer.StartAsync();
}
