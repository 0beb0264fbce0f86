using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Rampart.Tests.Shared;

namespace Rampart.Cli.Tests.Commands;

/// <summary>
/// systemd socket activation with systemd's own tool: <c>systemd-socket-activate</c> binds the address, starts
/// <c>rampart daemon</c> on the first connection with the socket as fd 3, and the daemon answers on it instead of its
/// configured address (which stays unbound). The key is an IP address, answered without any DNS.
/// </summary>
public sealed class DaemonSocketActivationTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-activation").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Tcp_SocketFromSystemd_AnsweredThereAndTheConfiguredAddressUnbound()
    {
        var (passed, configured) = (LoopbackPort.Free(), LoopbackPort.Free());
        var passedEndpoint = new IPEndPoint(IPAddress.Loopback, passed);

        var (reply, log) = await AskActivatedAsync($"127.0.0.1:{passed}", passedEndpoint, "--listen", $"127.0.0.1:{configured}");

        Assert.Equal("9:NOTFOUND ,", reply);
        Assert.Contains($"listening on systemd socket (fd 3) instead of 127.0.0.1:{configured}", log, StringComparison.Ordinal);
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        Assert.Throws<SocketException>(() => probe.Connect(IPAddress.Loopback, configured));
    }

    [Fact]
    public async Task Unix_SocketFromSystemd_Answered()
    {
        var path = Path.Combine(_dir, "socketmap.sock");

        var (reply, log) = await AskActivatedAsync(path, new UnixDomainSocketEndPoint(path));

        Assert.Equal("9:NOTFOUND ,", reply);
        Assert.Contains("listening on systemd socket (fd 3)", log, StringComparison.Ordinal);
    }

    /// <summary>Starts the daemon under systemd-socket-activate listening on <paramref name="listen"/>, asks one key, stops it.</summary>
    private async Task<(string Reply, string Log)> AskActivatedAsync(string listen, EndPoint endpoint, params string[] extra)
    {
        var tool = new[] { "/usr/bin/systemd-socket-activate", "/bin/systemd-socket-activate" }.FirstOrDefault(File.Exists);
        Assert.True(tool is not null, "systemd-socket-activate not found: apt-get install systemd");
        var info = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in (string[])["-l", listen, "dotnet", CliRunner.RampartDll, "daemon", "--state-dir", Path.Combine(_dir, "state"), "--resolver", "127.0.0.1:9", .. extra])
        {
            info.ArgumentList.Add(arg);
        }
        var output = new StringBuilder();
        var listening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Collect(object sender, DataReceivedEventArgs e)
        {
            lock (output)
            {
                output.AppendLine(e.Data);
            }
            if (e.Data?.Contains("listening on systemd socket", StringComparison.Ordinal) == true)
            {
                listening.TrySetResult();
            }
        }
        using var process = new Process { StartInfo = info };
        process.OutputDataReceived += Collect;
        process.ErrorDataReceived += Collect;
        Assert.True(process.Start(), "cannot start " + tool);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        string reply;
        try
        {
            reply = await AskAsync(endpoint);
            // The console logger writes from its own queue: the start line may follow the first answer by a moment.
            await listening.Task.WaitAsync(TimeSpan.FromSeconds(20)).ContinueWith(_ => { }, TaskScheduler.Default);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
        lock (output)
        {
            return (reply, output.ToString());
        }
    }

    /// <summary>Connects (the tool binds within moments), sends one request and reads the reply; the daemon starts meanwhile.</summary>
    private static async Task<string> AskAsync(EndPoint endpoint)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (true)
        {
            using var socket = endpoint is UnixDomainSocketEndPoint
                ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
                : new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await socket.ConnectAsync(endpoint, deadline.Token);
            }
            catch (SocketException)
            {
                await Task.Delay(50, deadline.Token);
                continue;
            }
            await socket.SendAsync("17:postfix 192.0.2.1,"u8.ToArray(), deadline.Token);
            var buffer = new byte[64];
            int filled = 0;
            while (filled < 12)
            {
                int n = await socket.ReceiveAsync(buffer.AsMemory(filled), deadline.Token);
                if (n == 0)
                {
                    break;
                }
                filled += n;
            }
            return Encoding.ASCII.GetString(buffer, 0, filled);
        }
    }

}
