using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Rampart.Tests.Shared;

namespace Rampart.Cli.Tests;

/// <summary>
/// The long-running hosts at the open-files limit (issue 13, defect 1), as an attacker finds them: the real executable
/// under <c>prlimit --nofile=256:256</c>, sent more TCP connections than that limit allows. Before, accept failed with
/// EMFILE in a loop until the runtime could not get a descriptor for a new thread and aborted ("Out of memory.", exit
/// 134). Now the host lives, closes what is beyond its cap at once (counted in /metrics), keeps a configured cap
/// within what the limit allows, and answers again once the connections close.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed partial class OpenFilesLimitTests : IDisposable
{
    /// <summary>More than the 256 descriptors the host may open (it holds about 190 of them once started under dotnet).</summary>
    private const int Flood = 300;

    private static readonly string[] s_underLimit = ["prlimit", "--nofile=256:256", "dotnet", CliRunner.RampartDll];
    private static readonly TimeSpan s_within = TimeSpan.FromSeconds(60);

    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-nofile-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string State => Path.Combine(_dir, "state");

    [Fact]
    public async Task Daemon_MoreConnectionsThanTheOpenFilesLimit_RefusesThemLivesAndAnswersAgain()
    {
        var (listen, metrics) = (LoopbackPort.Free(), LoopbackPort.Free());
        await using var daemon = RampartProcess.Start(["daemon", "--listen", $"127.0.0.1:{listen}", "--metrics", $"127.0.0.1:{metrics}",
            "--state-dir", State, "--resolver", "127.0.0.1:9"], s_underLimit);
        await HostStartupTests.WaitUntilServingAsync($"http://127.0.0.1:{metrics}/metrics");

        var flood = await OpenAsync(listen, Flood);
        bool lastClosedByServer;
        try
        {
            lastClosedByServer = await ClosedByServerAsync(flood[^1]); // beyond the cap: accepted and closed at once
        }
        finally
        {
            Close(flood);
        }

        Assert.True(lastClosedByServer);
        Assert.Equal("NOTFOUND ", await LookupAsync(listen, "[mx.example.test]"));
        Assert.InRange(Sample(await ScrapeAsync(metrics), $"rampart_connections_refused_total{{listener=\"127.0.0.1:{listen}\"}}"), 1, Flood);
        Assert.Contains(daemon.Lines, l => l.Contains(" warn listener: ", StringComparison.Ordinal) && l.Contains("new connections are closed at once", StringComparison.Ordinal));
        Assert.Equal(0, await daemon.StopAsync());
    }

    [Fact]
    public async Task Daemon_MaxConnectionsAboveTheOpenFilesLimit_LoweredToWhatFitsRefusesLivesAndAnswersAgain()
    {
        var (listen, metrics) = (LoopbackPort.Free(), LoopbackPort.Free());
        await using var daemon = RampartProcess.Start(["daemon", "--listen", $"127.0.0.1:{listen}", "--metrics", $"127.0.0.1:{metrics}",
            "--state-dir", State, "--resolver", "127.0.0.1:9", "--max-connections", "1000"], s_underLimit);
        await HostStartupTests.WaitUntilServingAsync($"http://127.0.0.1:{metrics}/metrics");

        var flood = await OpenAsync(listen, Flood);
        bool lastClosedByServer;
        try
        {
            lastClosedByServer = await ClosedByServerAsync(flood[^1]);
        }
        finally
        {
            Close(flood);
        }

        Assert.True(lastClosedByServer);
        Assert.Equal("NOTFOUND ", await LookupAsync(listen, "[mx.example.test]"));
        var text = await ScrapeAsync(metrics);
        Assert.InRange(Sample(text, "rampart_connections_max"), 1, 256);
        Assert.InRange(Sample(text, $"rampart_connections_refused_total{{listener=\"127.0.0.1:{listen}\"}}"), 1, Flood);
        var warning = Assert.Single(daemon.Lines, l => l.Contains("max_connections 1000 is more than the open-files limit 256 leaves room for", StringComparison.Ordinal));
        Assert.Contains($"at most {Sample(text, "rampart_connections_max")} connections at once; raise LimitNOFILE (ulimit -n) to allow more", warning, StringComparison.Ordinal);
        Assert.Equal(0, await daemon.StopAsync());
    }

    [Fact]
    public async Task Serve_MoreConnectionsThanTheOpenFilesLimit_RefusesThemLivesAndAnswersAgain()
    {
        var port = LoopbackPort.Free();
        var config = await HostStartupTests.ServeConfigAsync(_dir, $"127.0.0.1:{port}");
        await using var serve = RampartProcess.Start(["serve", "--config", config, "--no-reports"], s_underLimit);
        await serve.WaitForLineAsync(l => l.Contains("rampart serve listening on", StringComparison.Ordinal), s_within);
        Assert.Equal(HttpStatusCode.OK, await HealthAsync(port));

        var flood = await OpenAsync(port, Flood);
        string refusing;
        try
        {
            refusing = await serve.WaitForLineAsync(l => l.Contains(" warn listener: ", StringComparison.Ordinal), s_within);
        }
        finally
        {
            Close(flood);
        }

        Assert.Matches(@"new connections are closed at once|cannot accept connections on", refusing);
        Assert.Equal(HttpStatusCode.OK, await HealthAsync(port));
        Assert.Equal(0, await serve.StopAsync());
    }

    private static async Task<List<Socket>> OpenAsync(int port, int count)
    {
        var sockets = new List<Socket>(count);
        for (var i = 0; i < count; i++)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            sockets.Add(socket);
            await socket.ConnectAsync(IPAddress.Loopback, port, TestContext.Current.CancellationToken); // queued in the backlog if not accepted
        }
        return sockets;
    }

    private static void Close(List<Socket> sockets)
    {
        foreach (var socket in sockets)
        {
            socket.Dispose();
        }
    }

    /// <summary>True when the server closes <paramref name="socket"/> (end of stream or a reset) within a minute.</summary>
    private static async Task<bool> ClosedByServerAsync(Socket socket)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        deadline.CancelAfter(s_within);
        try
        {
            return await socket.ReceiveAsync(new byte[1], deadline.Token) == 0;
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionReset)
        {
            return true;
        }
    }

    /// <summary>
    /// The reply to one socketmap lookup. While the closed flood drains (the host still holds connections it accepted),
    /// a new connection may be refused too: tried again, for at most a minute.
    /// </summary>
    private static async Task<string> LookupAsync(int port, string key)
    {
        var request = Encoding.ASCII.GetBytes($"postfix {key}");
        var frame = Encoding.ASCII.GetBytes($"{request.Length}:").Concat(request).Append((byte)',').ToArray();
        return await RetryAsync(async ct =>
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(IPAddress.Loopback, port, ct);
            await socket.SendAsync(frame, ct);
            var reply = new byte[256];
            var length = await socket.ReceiveAsync(reply, ct);
            var text = Encoding.ASCII.GetString(reply, 0, length);
            return Netstring().Match(text) is { Success: true } m ? m.Groups[1].Value : throw new IOException($"no reply: '{text}'");
        });
    }

    private static Task<HttpStatusCode> HealthAsync(int port) => RetryAsync(async ct =>
    {
        using var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, connect) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(IPAddress.Loopback, port, connect);
                return new NetworkStream(socket, ownsSocket: true);
            },
            SslOptions = new SslClientAuthenticationOptions { TargetHost = "mta-sts.example.test", RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null },
            UseProxy = false,
        };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(10) };
        using var response = await http.GetAsync(new Uri($"https://mta-sts.example.test:{port}/healthz"), ct);
        return response.StatusCode;
    });

    private static async Task<string> ScrapeAsync(int port) => await RetryAsync(async ct =>
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        return await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"), ct);
    });

    /// <summary>Tries <paramref name="attempt"/> again while its connection is refused or closed, for at most a minute.</summary>
    private static async Task<T> RetryAsync<T>(Func<CancellationToken, Task<T>> attempt)
    {
        var until = DateTime.UtcNow + s_within;
        while (true)
        {
            try
            {
                return await attempt(TestContext.Current.CancellationToken);
            }
            catch (Exception ex) when (ex is SocketException or HttpRequestException or IOException && DateTime.UtcNow < until)
            {
                await Task.Delay(100, TestContext.Current.CancellationToken);
            }
        }
    }

    private static long Sample(string metrics, string series)
    {
        var line = metrics.Split('\n').SingleOrDefault(l => l.StartsWith(series + " ", StringComparison.Ordinal))
            ?? throw new Xunit.Sdk.XunitException($"no {series} in /metrics:\n{metrics}");
        return long.Parse(line[(series.Length + 1)..], CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"^\d+:(.*),$", RegexOptions.Singleline)]
    private static partial Regex Netstring();
}
