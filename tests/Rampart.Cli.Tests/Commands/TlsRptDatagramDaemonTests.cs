using System.Text;
using System.Text.RegularExpressions;
using Rampart.Core.TlsRpt;
using Rampart.Storage.TlsRpt;
using Rampart.Tests.Shared;

namespace Rampart.Cli.Tests.Commands;

/// <summary>
/// The real <c>rampart daemon</c> with <c>tlsrpt_reporting.datagram_socket</c>, driven the way Postfix 3.10 drives
/// tlsrpt-collectd: libtlsrpt's datagrams (<see cref="LibTlsRptDatagramBuilder"/>) sent with MSG_DONTWAIT to the
/// socket. What it counted shows in /metrics and in the SQLite store; a SIGKILL loses none of it and a restart counts on.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed partial class TlsRptDatagramDaemonTests : IDisposable
{
    private const string Record = "v=TLSRPTv1; rua=mailto:tlsrpt@sts-enforce.test";
    private static readonly int[] s_codes = [201, 202, 203, 204, 205, 301, 302, 303, 304, 305, 306];

    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-tlsrpt-dgram-").FullName;
    private readonly int _metricsPort = LoopbackPort.Free();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };

    public void Dispose()
    {
        _http.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private string State => Path.Combine(_dir, "state");

    private string Socket => Path.Combine(_dir, "spool", "run", "tlsrpt", "tlsrpt.sock");

    private string Config()
    {
        var path = Path.Combine(_dir, "rampart.yml");
        File.WriteAllText(path, $"""
            listen: 127.0.0.1:{LoopbackPort.Free()}
            metrics: 127.0.0.1:{_metricsPort}
            state_dir: {State}
            tlsrpt_reporting:
              datagram_socket: {Socket}
              datagram_socket_mode: "0660"
            """);
        return path;
    }

    private async Task<RampartProcess> StartAsync(string config)
    {
        var daemon = RampartProcess.Start(["daemon", "--config", config, "--resolver", "127.0.0.1:9"]);
        await daemon.WaitForLineAsync(l => l.Contains("rampart daemon listening on", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        return daemon;
    }

    /// <summary>One delivery attempt per failure code (an MTA-STS policy, failed), then successes, as Postfix would send them.</summary>
    private static List<byte[]> PostfixDay(int successes)
    {
        var datagrams = new List<byte[]>();
        foreach (var code in s_codes)
        {
            datagrams.Add(new LibTlsRptDatagramBuilder("sts-enforce.test", Record)
                .Policy(2, "sts-enforce.test").PolicyString("version: STSv1").PolicyString("mode: enforce").PolicyString("mx: mx.sts-enforce.test")
                .PolicyString("max_age: 86400").MxHost("mx.sts-enforce.test")
                .Failure(code, "10.0.0.2", "mx.sts-enforce.test", "mx.sts-enforce.test", "10.0.0.25", reason: code == 205 ? "tls-handshake-failure" : null)
                .Finish(1).Build());
        }
        for (var i = 0; i < successes; i++)
        {
            datagrams.Add(new LibTlsRptDatagramBuilder("sts-enforce.test", Record)
                .Policy(2, "sts-enforce.test").PolicyString("version: STSv1").PolicyString("mode: enforce").PolicyString("mx: mx.sts-enforce.test")
                .PolicyString("max_age: 86400").MxHost("mx.sts-enforce.test").Finish(0).Build());
        }
        // A DANE domain (the TLSA base domain is the MX host) and a domain with no policy, from an older libtlsrpt.
        datagrams.Add(new LibTlsRptDatagramBuilder("dane.test", "v=TLSRPTv1; rua=mailto:r@dane.test")
            .Policy(1, "mx.dane.test").PolicyString("3 1 1 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF").Finish(0).Build());
        datagrams.Add(new LibTlsRptDatagramBuilder("plain.test", "ignored", legacy: true).Policy(9, null).Finish(0).Build());
        return datagrams;
    }

    private async Task<Dictionary<string, long>> MetricsAsync()
    {
        var text = await _http.GetStringAsync(new Uri($"http://127.0.0.1:{_metricsPort}/metrics"), TestContext.Current.CancellationToken);
        return MetricLine().Matches(text).ToDictionary(m => m.Groups[1].Value, m => long.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>Waits until the daemon has read <paramref name="datagrams"/> datagrams (accepted or rejected); polls /metrics, the only view into the other process.</summary>
    private async Task<Dictionary<string, long>> WaitForDatagramsAsync(long datagrams)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var metrics = await MetricsAsync();
            var read = metrics.GetValueOrDefault("rampart_tlsrpt_datagrams_total{result=\"accepted\"}") + metrics.GetValueOrDefault("rampart_tlsrpt_datagrams_total{result=\"rejected\"}");
            if (read >= datagrams)
            {
                Assert.Equal(datagrams, read);
                return metrics;
            }
            Assert.True(DateTime.UtcNow < deadline, $"only {read} of {datagrams} datagrams read");
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
    }

    private Task<(long Successful, long Failed, Dictionary<string, long> ByType)> StoredAsync() => Support.SessionStoreTotals.ReadAsync(State);

    [Fact]
    public async Task Daemon_LibTlsRptDatagrams_CountedByResultTypeAndKeptAcrossSigkillAndRestart()
    {
        var config = Config();
        var first = PostfixDay(successes: 40);
        var garbage = new[]
        {
            "not json"u8.ToArray(), "{also not json"u8.ToArray(), """{"dpv": "1","d": "x.test","policies":[{"policy-type":5,"t":0,"f":0}]}"""u8.ToArray(),
            Encoding.UTF8.GetBytes("{\"d\": \"x.test\",\"pad\": \"" + new string('x', 70_000) + "\"}"),
        };

        var daemon = await StartAsync(config);
        try
        {
            Assert.Contains(daemon.Lines, l => l.Contains($"TLS-RPT datagrams unix:{Socket}", StringComparison.Ordinal));
            Assert.Equal((UnixFileMode)0b110_110_000, File.GetUnixFileMode(Socket));
            // A burst from one sender outruns any reader of a 10-datagram kernel queue: this sender waits for room
            // (tlsrpt_set_blocking); drops at Postfix's real rates are measured by the benchmark.
            using (var postfix = new LibTlsRptSender(Socket, blocking: true))
            {
                foreach (var datagram in first.Concat(garbage))
                {
                    Assert.True(postfix.TrySend(datagram));
                }
            }

            var metrics = await WaitForDatagramsAsync(first.Count + garbage.Length);

            Assert.Equal(first.Count, metrics["rampart_tlsrpt_datagrams_total{result=\"accepted\"}"]);
            Assert.Equal(garbage.Length, metrics["rampart_tlsrpt_datagrams_total{result=\"rejected\"}"]);
            Assert.Equal(42, metrics["rampart_tlsrpt_sessions_total{source=\"datagram\",result=\"success\"}"]);
            foreach (var type in TlsRptResultTypes.All)
            {
                Assert.Equal(1, metrics[$"rampart_tlsrpt_sessions_total{{source=\"datagram\",result=\"{type}\"}}"]);
            }
            Assert.Equal(2, metrics["rampart_tlsrpt_datagram_problems_total{kind=\"invalid-json\"}"]);
            Assert.Equal(1, metrics["rampart_tlsrpt_datagram_problems_total{kind=\"unknown-policy-type\"}"]);
            Assert.Equal(1, metrics["rampart_tlsrpt_datagram_problems_total{kind=\"oversized\"}"]);
            // Logged once per kind, in the one log format.
            var invalid = Assert.Single(daemon.Lines, l => l.Contains("TLS-RPT datagram invalid-json", StringComparison.Ordinal));
            Assert.Matches(@"^\S+Z warn tlsrpt-collector: TLS-RPT datagram invalid-json: not JSON at byte \d+: ", invalid);
            Assert.Single(daemon.Lines, l => l.Contains("TLS-RPT datagram unknown-policy-type", StringComparison.Ordinal));
        }
        finally
        {
            await daemon.DisposeAsync(); // SIGKILL: no shutdown, no checkpoint
        }

        var afterKill = await StoredAsync();
        Assert.Equal((42L, 11L), (afterKill.Successful, afterKill.Failed));
        Assert.All(TlsRptResultTypes.All, type => Assert.Equal(1, afterKill.ByType[type]));

        // Restarted on the socket file the killed daemon left: it counts on from where the store is.
        await using var restarted = await StartAsync(config);
        using (var postfix = new LibTlsRptSender(Socket, blocking: true))
        {
            foreach (var datagram in PostfixDay(successes: 5))
            {
                Assert.True(postfix.TrySend(datagram));
            }
        }
        await WaitForDatagramsAsync(PostfixDay(successes: 5).Count);
        Assert.Equal(0, await restarted.StopAsync());
        Assert.False(File.Exists(Socket), "a clean stop removes the socket file");

        var afterRestart = await StoredAsync();
        Assert.Equal((42L + 7, 22L), (afterRestart.Successful, afterRestart.Failed));
        Assert.All(TlsRptResultTypes.All, type => Assert.Equal(2, afterRestart.ByType[type]));
    }

    [Fact]
    public async Task Daemon_SocketHeldByAnotherCollector_OneLineExitTwo()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Socket)!);
        using var other = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Unspecified);
        other.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint(Socket));

        var result = await CliRunner.RunAsync(["daemon", "--config", Config(), "--resolver", "127.0.0.1:9"], null, TimeSpan.FromSeconds(60));

        Assert.Equal(2, result.ExitCode);
        Assert.False(CliRunner.HasStackTrace(result), result.ToString());
        Assert.Equal($"rampart: daemon: tlsrpt_reporting.datagram_socket '{Socket}': another process is bound to it (tlsrpt-collectd, or a second rampart daemon?); stop it or name another path",
            Assert.Single(result.Stderr.Trim().Split('\n')));
    }

    [Fact]
    public async Task CheckConfig_DatagramSocket_Named()
    {
        var result = await CliRunner.RunAsync(["daemon", "--config", Config(), "--check-config", "--resolver", "127.0.0.1"]);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains($"; TLS-RPT datagrams unix:{Socket}", result.Stdout, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"^(rampart_tlsrpt_\S+) (\d+)$", RegexOptions.Multiline)]
    private static partial Regex MetricLine();
}
