using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace Rampart.Lab.Tests;

/// <summary>
/// A real Postfix (lab/postfix/instance: its own config, queue and log, no inbound service) asking a real
/// <c>rampart daemon</c> over socketmap, delivering to the lab's MX receivers, with the lab's attacker
/// (<c>Rampart.Lab mitm</c>) in front of mitm-sts.test's MX (= sts-enforce.test) and mitm-dane.test's MX
/// (= dane.test). One Postfix and one daemon for the whole class (~3 s to start).
/// </summary>
public sealed class PostfixLab : IAsyncLifetime
{
    private readonly string _root = Directory.CreateTempSubdirectory("rampart-postfix").FullName;
    private Process? _daemon;

    public string Instance => Path.Combine(_root, "postfix");
    public static string State => Environment.GetEnvironmentVariable("RAMPART_LAB_STATE") ?? "";

    public static string Script
    {
        get
        {
            foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':'))
            {
                var candidate = Path.GetFullPath(Path.Combine(dir, "..", "postfix", "instance"));
                if (File.Exists(Path.Combine(dir, "lab-bump")) && File.Exists(candidate))
                {
                    return candidate;
                }
            }

            throw new InvalidOperationException("lab/postfix/instance not found next to lab/bin on PATH (run the tests with lab/run)");
        }
    }

    public async ValueTask InitializeAsync()
    {
        if (Environment.GetEnvironmentVariable("RAMPART_LAB") != "1")
        {
            return; // each test fails with Lab.RequireLab's instructions
        }

        // the postfix user must reach the queue: CreateTempSubdirectory makes a 0700 dir
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(_root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
                                    UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        }

        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in (string[])[Rampart.Tests.Shared.CliRunner.RampartDll, "daemon", "--listen", $"127.0.0.1:{port}", "--state-dir", Path.Combine(_root, "daemon")])
        {
            info.ArgumentList.Add(arg);
        }

        Directory.CreateDirectory(Path.Combine(_root, "daemon"));
        _daemon = Process.Start(info)!;
        _daemon.OutputDataReceived += (_, _) => { };
        _daemon.ErrorDataReceived += (_, _) => { };
        _daemon.BeginOutputReadLine();
        _daemon.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port);
                break;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }

        await RunAsync("create", port.ToString(CultureInfo.InvariantCulture));
        await RunAsync("start");
    }

    public async ValueTask DisposeAsync()
    {
        if (Directory.Exists(Instance))
        {
            try
            {
                await RunAsync("stop");
            }
            catch (InvalidOperationException)
            {
            }
        }

        if (_daemon is { } daemon)
        {
            if (!daemon.HasExited)
            {
                daemon.Kill();
            }

            await daemon.WaitForExitAsync();
            daemon.Dispose();
        }

        Directory.Delete(_root, recursive: true);
    }

    public async Task<string> RunAsync(string command, params string[] args)
    {
        var (code, output) = await Lab.RunAsync(Script, [command, Instance, .. args], TimeSpan.FromSeconds(30));
        if (code != 0)
        {
            throw new InvalidOperationException($"lab/postfix/instance {command}: exit {code}: {output}");
        }

        return output;
    }

    public string Log() => File.Exists(Path.Combine(Instance, "log", "postfix.log")) ? File.ReadAllText(Path.Combine(Instance, "log", "postfix.log")) : "";

    /// <summary>Queued messages: recipient → delay reason.</summary>
    public async Task<Dictionary<string, string>> QueueAsync()
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in (await RunAsync("queue")).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!line.StartsWith('{'))
            {
                continue;
            }

            using var doc = JsonDocument.Parse(line);
            foreach (var r in doc.RootElement.GetProperty("recipients").EnumerateArray())
            {
                result[r.GetProperty("address").GetString()!] = r.TryGetProperty("delay_reason", out var why) ? why.GetString() ?? "" : "";
            }
        }

        return result;
    }
}

[Trait("Category", "integration")]
public sealed class PostfixAttackTests(PostfixLab postfix) : IClassFixture<PostfixLab>
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private static string Token() => "tok" + Guid.NewGuid().ToString("N");

    /// <summary>The .eml the MX receiver wrote for this token, polled every 100 ms.</summary>
    private static async Task<string?> ReceivedAsync(string mxHost, string token, TimeSpan within)
    {
        var dir = Path.Combine(PostfixLab.State, "mail", mxHost);
        var deadline = DateTime.UtcNow + within;
        do
        {
            if (Directory.Exists(dir))
            {
                foreach (var file in Directory.GetFiles(dir, "*.eml"))
                {
                    var text = await File.ReadAllTextAsync(file, TestContext.Current.CancellationToken);
                    if (text.Contains(token, StringComparison.Ordinal))
                    {
                        return text;
                    }
                }
            }

            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
        while (DateTime.UtcNow < deadline);
        return null;
    }

    /// <summary>Waits until the message to RCPT sits in the queue with a delay reason; returns it.</summary>
    private async Task<string> DeferredAsync(string rcpt)
    {
        var deadline = DateTime.UtcNow + Bound;
        while (DateTime.UtcNow < deadline)
        {
            if ((await postfix.QueueAsync()).TryGetValue(rcpt, out var why) && why.Length > 0)
            {
                return why;
            }

            await Task.Delay(200, TestContext.Current.CancellationToken);
        }

        Assert.Fail($"{rcpt} was not deferred within {Bound.TotalSeconds} s; queue: {string.Join("; ", await postfix.QueueAsync())}\n{postfix.Log()}");
        return "";
    }

    private async Task DeliverAsync(string rcpt, string mxHost, string logLine)
    {
        var token = Token();
        await postfix.RunAsync("send", rcpt, token);

        var eml = await ReceivedAsync(mxHost, token, Bound);

        Assert.True(eml is not null, $"{rcpt} not delivered within {Bound.TotalSeconds} s:\n{postfix.Log()}");
        Assert.StartsWith("X-Lab-Received: tls=yes ", eml, StringComparison.Ordinal);
        Assert.Contains(logLine + " TLS connection established to " + mxHost, postfix.Log(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Postfix_StsEnforce_DeliversOverVerifiedTls()
    {
        Lab.RequireLab();
        // Postfix says "Verified" for a `secure` policy whose match= name the lab CA certificate carries
        await DeliverAsync("user@sts-enforce.test", "mx.sts-enforce.test", "Verified");
    }

    [Fact]
    public async Task Postfix_Dane_DeliversOverDaneVerifiedTls()
    {
        Lab.RequireLab();
        await DeliverAsync("user@dane.test", "mx.dane.test", "Verified");
    }

    [Fact]
    public async Task Postfix_NoPolicy_DeliversOpportunistically()
    {
        Lab.RequireLab();
        // `may`: TLS is used when offered; with smtp_tls_CAfile set the log says "Trusted"
        await DeliverAsync("user@nosts.test", "mx.nosts.test", "Trusted");
    }

    [Fact]
    public async Task Postfix_MitmPassThrough_StillDelivers()
    {
        Lab.RequireLab();
        await WithMitmAsync("127.0.1.50", "pass", () => DeliverAsync("user@mitm-sts.test", "mx.mitm-sts.test", "Verified"));
    }

    [Theory]
    [InlineData("mitm-sts.test", "127.0.1.50", "strip", "TLS is required, but was not offered")]
    [InlineData("mitm-dane.test", "127.0.2.50", "strip", "TLS is required, but was not offered")]
    [InlineData("mitm-sts.test", "127.0.1.50", "forge", "Server certificate not verified")]
    [InlineData("mitm-dane.test", "127.0.2.50", "forge", "Server certificate not verified")]
    public async Task Postfix_Mitm_DefersAndNothingReachesTheAttackerInClear(string domain, string mxAddress, string mode, string reason)
    {
        Lab.RequireLab();
        var rcpt = "user@" + domain;
        var mxHost = "mx." + domain;
        var token = Token();
        var clock = Stopwatch.StartNew();

        await WithMitmAsync(mxAddress, mode, async () =>
        {
            await postfix.RunAsync("send", rcpt, token);
            var why = await DeferredAsync(rcpt);
            // one retry through the attacker as well (short backoff): still deferred, still nothing in clear
            await postfix.RunAsync("flush");
            await Task.Delay(TimeSpan.FromSeconds(2.5), TestContext.Current.CancellationToken);

            Assert.Contains(reason, why, StringComparison.Ordinal);
            Assert.Contains(rcpt, (await postfix.QueueAsync()).Keys);
        });

        Assert.Null(await ReceivedAsync(mxHost, token, TimeSpan.Zero));
        var captures = Path.Combine(PostfixLab.State, "mitm", "capture", mxHost);
        foreach (var file in Directory.Exists(captures) ? Directory.GetFiles(captures) : [])
        {
            Assert.DoesNotContain(token, await File.ReadAllTextAsync(file, TestContext.Current.CancellationToken), StringComparison.Ordinal);
        }

        var mitmLog = await File.ReadAllLinesAsync(Path.Combine(PostfixLab.State, "log", "mitm.log"), TestContext.Current.CancellationToken);
        var ours = mitmLog.Where(l => l.Contains($" close mode={mode} host={mxHost} ", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(ours);
        Assert.DoesNotContain(ours, l => l.Contains(" data=yes ", StringComparison.Ordinal));
        await postfix.RunAsync("purge");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed}");
    }

    /// <summary>
    /// "TLSA not updated after rotation" (dane-mismatch.test: the MX presents a key its TLSA no longer pins) and "MX not in
    /// the policy" (sts-mx-mismatch.test: the DNS MX points at a host the MTA-STS policy does not list, as a spoofed MX
    /// would): Postfix, told dane-only / secure match=… by the daemon, defers and the MX receives nothing.
    /// </summary>
    [Theory]
    [InlineData("dane-mismatch.test", "mx.dane-mismatch.test", "no matching DANE TLSA records")]
    [InlineData("sts-mx-mismatch.test", "mx-new.sts-mx-mismatch.test", "Server certificate not verified")]
    public async Task Postfix_PolicyRefusesTheMx_Deferred(string domain, string mxHost, string logReason)
    {
        Lab.RequireLab();
        var rcpt = "user@" + domain;
        var token = Token();

        await postfix.RunAsync("send", rcpt, token);
        var why = await DeferredAsync(rcpt);

        Assert.Contains("certificate", why, StringComparison.OrdinalIgnoreCase);
        Assert.Contains(postfix.Log().Split('\n'), line => line.Contains(mxHost + "[", StringComparison.Ordinal) && line.Contains(logReason, StringComparison.Ordinal));
        Assert.Null(await ReceivedAsync(mxHost, token, TimeSpan.Zero));
        await postfix.RunAsync("purge");
    }

    private static async Task WithMitmAsync(string mxAddress, string mode, Func<Task> body)
    {
        var file = Path.Combine(PostfixLab.State, "mitm", "mode", mxAddress);
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        await File.WriteAllTextAsync(file, mode + "\n", TestContext.Current.CancellationToken);
        try
        {
            await body();
        }
        finally
        {
            File.Delete(file);
        }
    }
}
