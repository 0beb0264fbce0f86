using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Rampart.Tests.Shared;

namespace Rampart.Cli.Tests.Commands;

/// <summary>
/// Issue 13, defect 2, on the real daemon: connections that send requests and never read the replies took about 1.2 MB
/// each (600 of them: 79 → 790 MB), kept it after they closed, and a fresh lookup waited seconds. Now each is held by
/// back-pressure after a bounded amount, the daemon stays small and answers others, and the memory goes back.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class DaemonNonReadingClientsTests : IDisposable
{
    private const int Connections = 200;

    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-nonreading-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Daemon_ConnectionsThatNeverRead_RssBoundedOthersAnsweredMemoryReturnedAfterClose()
    {
        var (listen, metrics) = (LoopbackPort.Free(), LoopbackPort.Free());
        await using var daemon = RampartProcess.Start(["daemon", "--listen", $"127.0.0.1:{listen}", "--metrics", $"127.0.0.1:{metrics}",
            "--state-dir", Path.Combine(_dir, "state"), "--resolver", "127.0.0.1:9"]);
        await daemon.WaitForLineAsync(l => l.Contains("listening on", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        var socketmap = new IPEndPoint(IPAddress.Loopback, listen);
        Assert.Equal("NOTFOUND ", await LookupAsync(socketmap, "[198.51.100.7]")); // warm: the lookup path has run once
        long before = Rss(daemon.Id);

        // Each connection writes NOTFOUND lookups and malformed requests (no DNS needed) until its writes block.
        var chunk = Enumerable.Range(0, 500)
            .SelectMany(i => Frame(i % 50 == 0 ? "postfix \u0001bad" : $"postfix [192.0.2.{i % 250}]")).ToArray();
        var flood = new List<Socket>();
        try
        {
            for (int i = 0; i < Connections; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                flood.Add(socket);
                await socket.ConnectAsync(socketmap, TestContext.Current.CancellationToken);
            }
            var taken = await Task.WhenAll(flood.Select(s => SendUntilBlockedAsync(s, chunk)));
            long during = Rss(daemon.Id);

            var watch = Stopwatch.StartNew();
            Assert.Equal("NOTFOUND ", await LookupAsync(socketmap, "[198.51.100.8]"));
            var fresh = watch.Elapsed;
            // /metrics shares the transport whose buffers are now small: a request with 30 KB of headers still fits.
            Assert.Equal(HttpStatusCode.OK, await MetricsWithLargeHeadersAsync(metrics));

            // Before: ~1.1 MB per connection (+215 MB for 200). Now tens of KB each.
            Assert.True(during - before < 64L * 1024 * 1024,
                $"RSS {before >> 20} MB before, {during >> 20} MB with {Connections} connections that never read " +
                $"(they wrote {taken.Sum() >> 20} MB in all, most of it still in their own socket buffers)");
            Assert.True(fresh < TimeSpan.FromSeconds(2), $"a fresh lookup took {fresh.TotalMilliseconds:0} ms");
        }
        finally
        {
            flood.ForEach(s => s.Dispose());
        }

        // Their buffers go back to the system (and one collection clears what they left on the heap).
        long after = await WaitForRssAtMostAsync(daemon.Id, before + (24L * 1024 * 1024), TimeSpan.FromSeconds(45));
        Assert.True(after <= before + (24L * 1024 * 1024), $"RSS {before >> 20} MB before, still {after >> 20} MB 45 s after the connections closed");
        Assert.Equal("NOTFOUND ", await LookupAsync(socketmap, "[198.51.100.9]"));
        Assert.Equal(0, await daemon.StopAsync());
    }

    private static byte[] Frame(string payload)
    {
        var bytes = Encoding.UTF8.GetBytes(payload);
        return [.. Encoding.ASCII.GetBytes(bytes.Length.ToString(CultureInfo.InvariantCulture) + ":"), .. bytes, (byte)','];
    }

    private static async Task<string> LookupAsync(IPEndPoint endpoint, string key)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(endpoint, deadline.Token);
        await socket.SendAsync(Frame("postfix " + key), SocketFlags.None, deadline.Token);
        var reply = new List<byte>();
        var buffer = new byte[4096];
        while (reply.Count == 0 || reply[^1] != (byte)',')
        {
            int n = await socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token);
            Assert.True(n > 0, "the daemon closed the connection without a reply");
            reply.AddRange(buffer.AsSpan(0, n));
        }
        var text = Encoding.UTF8.GetString([.. reply]);
        return text[(text.IndexOf(':', StringComparison.Ordinal) + 1)..^1];
    }

    private static async Task<HttpStatusCode> MetricsWithLargeHeadersAsync(int port)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{port}/metrics");
        for (int i = 0; i < 30; i++)
        {
            request.Headers.Add($"X-Filler-{i}", new string('x', 1000));
        }
        using var response = await http.SendAsync(request, TestContext.Current.CancellationToken);
        return response.StatusCode;
    }

    /// <summary>Writes <paramref name="chunk"/> again and again, never reading, until a write makes no progress for 3 s.</summary>
    private static async Task<long> SendUntilBlockedAsync(Socket socket, byte[] chunk)
    {
        long sent = 0;
        while (sent < 256L * 1024 * 1024)
        {
            using var stalled = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            try
            {
                sent += await socket.SendAsync(chunk, SocketFlags.None, stalled.Token);
            }
            catch (OperationCanceledException) when (stalled.IsCancellationRequested)
            {
                break;
            }
        }
        return sent;
    }

    private static long Rss(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
    }

    private static async Task<long> WaitForRssAtMostAsync(int pid, long bound, TimeSpan within)
    {
        var deadline = Stopwatch.StartNew();
        long rss;
        while ((rss = Rss(pid)) > bound && deadline.Elapsed < within)
        {
            await Task.Delay(250, TestContext.Current.CancellationToken);
        }
        return rss;
    }
}
