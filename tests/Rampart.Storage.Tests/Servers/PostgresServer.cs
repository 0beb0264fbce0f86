using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Rampart.Storage.Tests.Servers;

/// <summary>
/// A real PostgreSQL server (apt package <c>postgresql</c>): <c>initdb</c> into a temp directory, then the
/// <c>postgres</c> binary as a child process on a Unix socket in that directory and a free loopback port; stopped and
/// deleted on dispose. As root it runs as the <c>postgres</c> user (initdb refuses root). A missing binary fails the
/// test, naming the package.
/// </summary>
/// <remarks>
/// Local (socket) connections are trusted; TCP connections need the password <see cref="Password"/> (scram-sha-256),
/// so tests can present a wrong one. fsync is off: these servers hold throw-away data and die with the test run (a
/// killed server still recovers from its WAL, which is what the crash tests need).
/// </remarks>
internal sealed class PostgresServer : ServerProcess, IAsyncDisposable
{
    public const string User = "rampart";
    public const string Password = "s3cret-Pa55:w@rd";

    private readonly string _dir;
    private readonly string _bin;
    private readonly bool _asPostgresUser;

    private PostgresServer(string dir, string bin, bool asPostgresUser, int port)
    {
        _dir = dir;
        _bin = bin;
        _asPostgresUser = asPostgresUser;
        Port = port;
    }

    public int Port { get; }

    protected override string Name => "postgres";

    public string SocketDirectory => Path.Combine(_dir, "sock");

    private string DataDirectory => Path.Combine(_dir, "data");

    /// <summary>A store URL over TCP with the password, for <paramref name="database"/>.</summary>
    public string Url(string database, string? password = Password) =>
        $"postgres://{User}{(password is null ? "" : ":" + Uri.EscapeDataString(password))}@127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}/{database}";

    /// <summary>A store URL over the Unix socket (trusted, no password), for <paramref name="database"/>.</summary>
    public string SocketUrl(string database) =>
        $"postgres://{User}@{Uri.EscapeDataString(SocketDirectory)}:{Port.ToString(CultureInfo.InvariantCulture)}/{database}";

    public static async Task<PostgresServer> StartAsync()
    {
        var bin = FindBinDirectory() ?? throw new Xunit.Sdk.XunitException("postgresql not found: apt-get install postgresql");
        bool root = Environment.IsPrivilegedProcess;
        var dir = Path.Combine(Path.GetTempPath(), "rampart-pg-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(dir, "sock"));
        var passwordFile = Path.Combine(dir, "pwfile");
        await File.WriteAllTextAsync(passwordFile, Password + "\n").ConfigureAwait(false);
        var server = new PostgresServer(dir, bin, root, FreeLoopbackPort());
        try
        {
            if (root)
            {
                await RunAsync("chown", ["-R", "postgres:postgres", dir]).ConfigureAwait(false);
            }
            await server.RunToolAsync("initdb", [
                "-D", server.DataDirectory, "-U", User, "--pwfile", passwordFile, "-E", "UTF8", "--locale", "C",
                "--auth-local", "trust", "--auth-host", "scram-sha-256", "--no-sync", "--no-instructions",
            ]).ConfigureAwait(false);
            server.LaunchPostgres();
            await server.WaitUntilReadyAsync().ConfigureAwait(false);
            return server;
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>A fresh, empty database; its name.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = "t_" + Guid.NewGuid().ToString("N")[..16];
        await ExecuteAsync("postgres", $"CREATE DATABASE {name} OWNER {User}").ConfigureAwait(false);
        return name;
    }

    /// <summary>Runs <paramref name="sql"/> in <paramref name="database"/> as the superuser, over the socket.</summary>
    public async Task ExecuteAsync(string database, string sql)
    {
        await using var connection = await OpenAdminAsync(database).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync().ConfigureAwait(false);
    }

    /// <summary>A superuser connection over the socket, not pooled.</summary>
    public async Task<NpgsqlConnection> OpenAdminAsync(string database)
    {
        var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder
        {
            Host = SocketDirectory,
            Port = Port,
            Username = User,
            Database = database,
            Pooling = false,
            Timeout = 10,
        }.ConnectionString);
        await connection.OpenAsync().ConfigureAwait(false);
        return connection;
    }

    /// <summary>Immediate shutdown (SIGQUIT): no checkpoint, backends killed at once, as in a crash; the next start recovers from the WAL.</summary>
    public async Task CrashAsync()
    {
        if (!Process.HasExited)
        {
            await SignalAsync("QUIT").ConfigureAwait(false);
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await Process.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
        }
    }

    /// <summary>Starts the server again, on the same data, socket and port, after <see cref="CrashAsync"/>.</summary>
    public async Task RestartAsync()
    {
        await CrashAsync().ConfigureAwait(false);
        LaunchPostgres();
        await WaitUntilReadyAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (Started)
        {
            try
            {
                await StopAsync("INT", TimeSpan.FromSeconds(15)).ConfigureAwait(false); // fast shutdown
            }
            catch (InvalidOperationException)
            {
            }
            DisposeProcess();
        }
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>The newest <c>/usr/lib/postgresql/&lt;version&gt;/bin</c> with initdb and postgres, else one on PATH.</summary>
    private static string? FindBinDirectory()
    {
        const string Root = "/usr/lib/postgresql";
        if (Directory.Exists(Root))
        {
            var newest = Directory.GetDirectories(Root)
                .Select(d => (Dir: Path.Combine(d, "bin"), Version: double.TryParse(Path.GetFileName(d), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : 0))
                .Where(d => File.Exists(Path.Combine(d.Dir, "initdb")) && File.Exists(Path.Combine(d.Dir, "postgres")))
                .OrderByDescending(d => d.Version)
                .Select(d => d.Dir)
                .FirstOrDefault();
            if (newest is not null)
            {
                return newest;
            }
        }
        return (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .FirstOrDefault(d => File.Exists(Path.Combine(d, "initdb")) && File.Exists(Path.Combine(d, "postgres")));
    }

    /// <summary>The start info for <paramref name="tool"/>, as the postgres user when we are root (setpriv execs: the pid is the tool's).</summary>
    private ProcessStartInfo Start(string tool, IEnumerable<string> args)
    {
        var start = new ProcessStartInfo
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _dir,
        };
        if (_asPostgresUser)
        {
            start.FileName = "setpriv";
            foreach (var arg in new[] { "--reuid=postgres", "--regid=postgres", "--clear-groups", "--", Path.Combine(_bin, tool) })
            {
                start.ArgumentList.Add(arg);
            }
        }
        else
        {
            start.FileName = Path.Combine(_bin, tool);
        }
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        start.Environment["LC_ALL"] = "C";
        return start;
    }

    private async Task RunToolAsync(string tool, string[] args)
    {
        using var process = Process.Start(Start(tool, args)) ?? throw new InvalidOperationException($"cannot run {tool}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().ConfigureAwait(false);
        if (process.ExitCode != 0)
        {
            throw new Xunit.Sdk.XunitException($"{tool} failed ({process.ExitCode}): {(await stdout.ConfigureAwait(false) + await stderr.ConfigureAwait(false)).ReplaceLineEndings(" | ")}");
        }
    }

    private static async Task RunAsync(string program, string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo(program, args) { UseShellExecute = false }) ?? throw new InvalidOperationException($"cannot run {program}");
        await process.WaitForExitAsync().ConfigureAwait(false);
        if (process.ExitCode != 0)
        {
            throw new Xunit.Sdk.XunitException($"{program} {string.Join(' ', args)} failed ({process.ExitCode})");
        }
    }

    private void LaunchPostgres() => Launch(Start("postgres", [
        "-D", DataDirectory, "-p", Port.ToString(CultureInfo.InvariantCulture),
        "-c", "listen_addresses=127.0.0.1", "-c", $"unix_socket_directories={SocketDirectory}",
        "-c", "fsync=off", "-c", "max_connections=60", "-c", "shared_buffers=32MB",
        "-c", "logging_collector=off", "-c", "log_min_messages=warning",
    ]));

    private Task WaitUntilReadyAsync() => WaitUntilReadyAsync(
        async () =>
        {
            try
            {
                await using var connection = await OpenAdminAsync("postgres").ConfigureAwait(false);
                using var tcp = new TcpClient();
                await tcp.ConnectAsync(IPAddress.Loopback, Port).ConfigureAwait(false);
                return true;
            }
            catch (Exception ex) when (ex is NpgsqlException or SocketException or IOException or TimeoutException)
            {
                return false;
            }
        },
        TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(50), "accept connections");
}

/// <summary>One PostgreSQL server for a whole test class; each test uses its own database.</summary>
public sealed class PostgresServerFixture : ServerFixture
{
    internal PostgresServer Server => Get<PostgresServer>();

    private protected override async Task<IAsyncDisposable> StartAsync() => await PostgresServer.StartAsync();
}
