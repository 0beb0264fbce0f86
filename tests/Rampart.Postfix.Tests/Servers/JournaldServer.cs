using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Rampart.Postfix.Tests.Servers;

/// <summary>
/// A real systemd-journald (package systemd), run by hand as a child process in a mount namespace of its own, so that
/// its sockets and journal files are in a temporary directory instead of the machine's /run (this container has no
/// systemd as PID 1): <c>unshare -m</c>, a tmpfs on /run, <see cref="SocketDirectory"/> bound on /run/systemd/journal
/// and <see cref="LogDirectory"/> on /run/log. Entries are sent with journald's native protocol to
/// <see cref="SocketDirectory"/>/socket and read back by journalctl from <see cref="JournalDirectory"/>. Needs root
/// (mount namespaces); a missing journald or unshare fails the test naming what to install.
/// </summary>
internal sealed class JournaldServer : IAsyncDisposable
{
    private const string Journald = "/lib/systemd/systemd-journald";

    private readonly string _dir;
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private JournaldServer(string dir, Process process)
    {
        _dir = dir;
        _process = process;
    }

    public string SocketDirectory => Path.Combine(_dir, "sock");

    public string LogDirectory => Path.Combine(_dir, "log");

    /// <summary>Where journald writes (volatile storage: /run/log/journal, one folder per machine id).</summary>
    public string JournalDirectory => Path.Combine(LogDirectory, "journal");

    public static async Task<JournaldServer> StartAsync()
    {
        if (!File.Exists(Journald))
        {
            throw new Xunit.Sdk.XunitException($"{Journald} not found: apt-get install systemd");
        }
        if (!Environment.IsPrivilegedProcess)
        {
            throw new Xunit.Sdk.XunitException("a private systemd-journald needs root (a mount namespace): run the tests as root, as the lab does");
        }
        var dir = Directory.CreateTempSubdirectory("rampart-journald-").FullName;
        Directory.CreateDirectory(Path.Combine(dir, "sock"));
        Directory.CreateDirectory(Path.Combine(dir, "log"));
        var start = new ProcessStartInfo("unshare", ["-m", "--propagation", "private", "sh", "-c",
            "mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/journal /run/log && " +
            "mount --bind \"$1\"/sock /run/systemd/journal && mount --bind \"$1\"/log /run/log && exec " + Journald, "journald", dir])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var process = Process.Start(start) ?? throw new Xunit.Sdk.XunitException("cannot run unshare (util-linux)");
        var server = new JournaldServer(dir, process);
        process.OutputDataReceived += (_, e) => server.Capture(e.Data);
        process.ErrorDataReceived += (_, e) => server.Capture(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var deadline = Stopwatch.StartNew();
        while (!File.Exists(Path.Combine(server.SocketDirectory, "socket")) || !Directory.Exists(server.JournalDirectory))
        {
            if (process.HasExited || deadline.Elapsed > TimeSpan.FromSeconds(60))
            {
                var output = server.Output;
                await server.DisposeAsync();
                throw new Xunit.Sdk.XunitException($"systemd-journald did not start within 60 s: {output}");
            }
            await Task.Delay(50);
        }
        return server;
    }

    private string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    private void Capture(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }

    /// <summary>
    /// Sends one entry of the mail facility as Postfix's syslog(3) lines arrive: MESSAGE, SYSLOG_IDENTIFIER (e.g.
    /// <c>postfix/smtp</c>), SYSLOG_PID, SYSLOG_FACILITY=2 (journald's native protocol, one datagram).
    /// </summary>
    public void Send(string identifier, int pid, string message, int facility = 2)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.Connect(new UnixDomainSocketEndPoint(Path.Combine(SocketDirectory, "socket")));
        socket.Send(Encoding.UTF8.GetBytes($"MESSAGE={message}\nSYSLOG_IDENTIFIER={identifier}\nSYSLOG_PID={pid}\nSYSLOG_FACILITY={facility}\nPRIORITY=6\n"));
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await _process.WaitForExitAsync(deadline.Token);
        }
        _process.Dispose();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
