using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Rampart.Tests.Shared;

namespace Rampart.Lab.Tests;

/// <summary>
/// <c>rampart check --json</c> against every LAB.md scenario (real NSD, validating Unbound, policy host and MX receivers),
/// and the failure modes that must end in a finding within <c>--timeout</c>: a silent resolver, a closed port, a server
/// that never greets, a TLS handshake that hangs.
/// </summary>
[Trait("Category", "integration")]
[Collection(StsIdChange.Collection)]
public class CheckScenarioTests
{
    /// <summary>
    /// One row per scenario: the domain, the expected status, and finding ids that must be present. <c>id=text</c> also
    /// requires the finding's message to start with <c>text</c> (the fetch error class, for example).
    /// </summary>
    public static TheoryData<string, string, string> Scenarios { get; } = new()
    {
        { "dane.test", "ok", "mx.ok dnssec.signed smtp.starttls tls.cert.valid dane.tlsa.match mta-sts.policy.ok mta-sts.enforce.ready consistency.dane-and-sts" },
        { "dane-ta.test", "ok", "dane.tlsa.match dane.tlsa.rollover-ready" },
        { "dane-ta-badname.test", "failure", "dane.tlsa.no-match tls.cert.name-mismatch" },
        { "dane-mismatch.test", "failure", "dane.tlsa.no-match" },
        { "dane-unusable.test", "warning", "dane.tlsa.unusable" },
        { "dane-cname.test", "ok", "dane.tlsa.match tls.cert.name-mismatch" },
        { "dane-partial.test", "warning", "dane.partial dane.tlsa.match dane.tlsa.none" },
        { "bogus.test", "failure", "dane.tlsa.lookup-error" },
        { "stripped.test", "failure", "dane.tlsa.lookup-error" },
        { "expired.test", "failure", "mx.lookup-error mta-sts.txt.lookup-error" },
        { "rrsig-expiring.test", "warning", "dnssec.rrsig-expiring dane.tlsa.match" },
        { "insecure.test", "ok", "dnssec.insecure mta-sts.policy.ok mta-sts.enforce.ready" },
        { "sts-enforce.test", "ok", "mx.ok smtp.starttls tls.cert.valid dane.tlsa.none mta-sts.policy.ok mta-sts.enforce.ready" },
        { "sts-testing.test", "ok", "mta-sts.policy.testing mta-sts.enforce.ready" },
        { "sts-none.test", "ok", "mta-sts.policy.mode-none" },
        { "sts-wildcard.test", "failure", "mta-sts.policy.mx-not-covered" },
        { "sts-mx-mismatch.test", "failure", "mta-sts.policy.mx-not-covered mta-sts.policy.pattern-unused" },
        { "sts-404.test", "failure", "mta-sts.fetch.failed=http-status" },
        { "sts-redirect.test", "failure", "mta-sts.fetch.failed=redirect" },
        { "sts-badtype.test", "failure", "mta-sts.fetch.failed=content-type" },
        { "sts-huge.test", "failure", "mta-sts.fetch.failed=too-large" },
        { "sts-slow.test", "failure", "mta-sts.fetch.failed=timeout" },
        { "sts-badcert.test", "failure", "mta-sts.fetch.failed=certificate-invalid" },
        { "expired.sts-badcert.test", "failure", "mta-sts.fetch.failed=certificate-invalid" },
        { "wrongname.sts-badcert.test", "failure", "mta-sts.fetch.failed=certificate-invalid" },
        { "sts-badsyntax.test", "failure", "mta-sts.policy.invalid" },
        { "sts-multi-txt.test", "failure", "mta-sts.txt.multiple" },
        // Its policy lists bump<N>.sts-idchange.test, a host that never exists (lab-bump changes N and the TXT id).
        { "sts-idchange.test", "warning", "mta-sts.policy.ok mta-sts.policy.pattern-unused mta-sts.enforce.ready" },
        { "nosts.test", "ok", "mta-sts.none dane.tlsa.none tls-rpt.none" },
        { "nostarttls.test", "failure", "smtp.starttls-missing" },
        { "tlsrpt.test", "ok", "tls-rpt.ok" },
        // Any label of bench.test: the wildcard's MX, _mta-sts TXT and policy host (its TXT also answers _smtp._tls).
        { "check-row.bench.test", "ok", "mx.ok dnssec.signed mta-sts.policy.ok mta-sts.enforce.ready dane.tlsa.none tls-rpt.none" },
    };

    [Theory]
    [MemberData(nameof(Scenarios))]
    public async Task Check_Scenario_ExpectedFindings(string domain, string status, string ids)
    {
        var (exitCode, json) = await ScenarioReport(domain);

        var findings = json.GetProperty("findings").EnumerateArray().ToList();
        var summary = string.Join("\n", findings.Select(f => $"{f.GetProperty("severity").GetString()} {f.GetProperty("id").GetString()}: {f.GetProperty("message").GetString()}"));
        Assert.True(status == json.GetProperty("status").GetString(), $"expected {status}, got:\n{summary}");
        Assert.Equal(status switch { "ok" => 0, "warning" => 1, _ => 2 }, exitCode);
        foreach (var expected in ids.Split(' '))
        {
            var (id, prefix) = expected.Split('=', 2) is [var i, var p] ? (i, p) : (expected, "");
            Assert.True(findings.Any(f => f.GetProperty("id").GetString() == id && f.GetProperty("message").GetString()!.StartsWith(prefix, StringComparison.Ordinal)),
                $"{domain}: expected {expected}, got:\n{summary}");
        }
        foreach (var f in findings)
        {
            foreach (var key in new[] { "id", "severity", "subject", "message", "fix", "reference", "docs", "detail" })
            {
                Assert.Equal(JsonValueKind.String, f.GetProperty(key).ValueKind);
            }
            Assert.All(f.GetProperty("records").EnumerateArray(), r => Assert.Contains(" IN ", r.GetString(), StringComparison.Ordinal));
            // Fixes are one sentence (at most 160 characters in the catalogue, plus the domain named where it says <domain>), never a placeholder.
            var fix = f.GetProperty("fix").GetString()!;
            Assert.True(fix.Length <= Rampart.Core.Check.CheckDefinition.MaxFixLength + domain.Length, $"{f.GetProperty("id").GetString()}: {fix}");
            Assert.DoesNotContain("<domain>", fix + f.GetProperty("detail").GetString(), StringComparison.Ordinal);
            Assert.StartsWith("docs/checks.md#", f.GetProperty("docs").GetString(), StringComparison.Ordinal);
        }
        Assert.Equal(domain, json.GetProperty("domain").GetString());
    }

    [Fact]
    public async Task Check_SeveralDomains_JsonArrayInOrderAndWorstExitCode()
    {
        Lab.RequireLab();
        var result = await CliRunner.RunAsync(["check", "dane.test", "nostarttls.test", "sts-enforce.test", "--json", "--timeout", "10"], null, TimeSpan.FromSeconds(120));
        Assert.False(CliRunner.HasStackTrace(result), result.ToString());
        using var doc = JsonDocument.Parse(result.Stdout);

        Assert.Equal("failure", doc.RootElement.GetProperty("status").GetString());
        Assert.Equal(["dane.test", "nostarttls.test", "sts-enforce.test"], doc.RootElement.GetProperty("domains").EnumerateArray().Select(r => r.GetProperty("domain").GetString()!));
        Assert.Equal(2, result.ExitCode);
    }

    [Fact]
    public async Task Check_Human_GroupedLinesAndVerdictWithoutColourWhenRedirected()
    {
        Lab.RequireLab();
        var result = await CliRunner.RunAsync(["check", "nostarttls.test", "--timeout", "10"], null, TimeSpan.FromSeconds(60));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("FAILURE smtp.starttls-missing [mx.nostarttls.test [127.0.1.32]]", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("Verdict for nostarttls.test: FAILURE", result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("\u001b[", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_SilentResolver_LookupErrorsWithinTimeout()
    {
        var endpoint = Lab.SilentResolver(out var listener);
        using (listener)
        {
            var (result, json) = await Check(["sts-enforce.test", "--resolver", endpoint.ToString(), "--timeout", "2"]);

            var ids = Ids(json);
            Assert.Contains("mx.lookup-error", ids);
            Assert.Contains("mta-sts.txt.lookup-error", ids);
            Assert.Contains("tls-rpt.lookup-error", ids);
            Assert.Contains("timeout", Finding(json, "mx.lookup-error").GetProperty("message").GetString(), StringComparison.Ordinal);
            Assert.Equal(3, result.ExitCode); // the resolver itself is down: UNKNOWN, not the domain's failure
            Assert.True(result.Elapsed < TimeSpan.FromSeconds(20), result.ToString());
        }
    }

    [Fact]
    public async Task Check_ClosedPort_UnreachableFinding()
    {
        var port = FreePort();
        var (result, json) = await Check(["nosts.test", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--timeout", "2"]);

        var finding = Finding(json, "smtp.unreachable");
        Assert.Equal("failure", finding.GetProperty("severity").GetString());
        Assert.Contains("127.0.1.31", finding.GetProperty("subject").GetString(), StringComparison.Ordinal);
        Assert.Equal(2, result.ExitCode);
    }

    /// <summary>
    /// An MX address where packets are dropped before any connection (no RST, no ICMP): the forged MX of a fresh name
    /// under nosts.test points at <see cref="SilentAddress"/>, so only the probe's own deadline ends the connect.
    /// </summary>
    [Fact]
    public async Task Check_MxAddressDropsPackets_UnreachableWithinTimeout()
    {
        const string domain = "unreachable.nosts.test";
        await using var silent = await SilentAddress.CreateAsync();
        await using var forged = new ForgedDns();
        await forged.AddAsync($"{domain}. 60 IN MX 10 mx.{domain}.");
        await forged.AddAsync($"mx.{domain}. 60 IN A {SilentAddress.Address}");

        var (result, json) = await Check([domain, "--timeout", "2"]);

        var finding = Finding(json, "smtp.unreachable");
        Assert.Equal("failure", finding.GetProperty("severity").GetString());
        Assert.Equal($"mx.{domain} [{SilentAddress.Address}]", finding.GetProperty("subject").GetString());
        var message = finding.GetProperty("message").GetString()!;
        // The connect step and the probe's total limit are both --timeout: either may be the one that ends it.
        Assert.Contains($"no TCP connection to {SilentAddress.Address}:25 within", message, StringComparison.Ordinal);
        Assert.EndsWith(" 2 s", message, StringComparison.Ordinal);
        Assert.Equal("failure", json.GetProperty("status").GetString());
        Assert.Equal(2, result.ExitCode);
        Assert.True(result.Elapsed < TimeSpan.FromSeconds(30), result.ToString());
    }

    [Fact]
    public async Task Check_ServerNeverGreets_SmtpErrorWithinTimeout()
    {
        using var server = new StallingSmtpServer(IPAddress.Parse("127.0.1.31"), greet: false);
        var (result, json) = await Check(["nosts.test", "--port", server.Port, "--timeout", "2"]);

        var finding = Finding(json, "smtp.error");
        Assert.Contains("greeting", finding.GetProperty("message").GetString(), StringComparison.OrdinalIgnoreCase);
        Assert.True(result.Elapsed < TimeSpan.FromSeconds(20), result.ToString());
    }

    [Fact]
    public async Task Check_TlsHandshakeHangs_TlsFailedWithinTimeout()
    {
        using var server = new StallingSmtpServer(IPAddress.Parse("127.0.1.31"), greet: true);
        var (result, json) = await Check(["nosts.test", "--port", server.Port, "--timeout", "2"]);

        var finding = Finding(json, "smtp.tls-failed");
        Assert.Contains("within", finding.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(2, result.ExitCode);
        Assert.True(result.Elapsed < TimeSpan.FromSeconds(20), result.ToString());
    }

    [Fact]
    public async Task Check_BadDomain_OneLineErrorExit3Unknown()
    {
        Lab.RequireLab();
        var result = await CliRunner.RunAsync(["check", "not a domain!", "--json"]);

        Assert.Equal(3, result.ExitCode);
        Assert.False(CliRunner.HasStackTrace(result), result.ToString());
        Assert.StartsWith("rampart check: domain 'not a domain!'", result.Stderr, StringComparison.Ordinal);
        Assert.Single(result.Stderr.Trim().Split('\n'));
    }

    [Theory]
    [InlineData("dane.test", 0, "OK - 1 domain(s) ok | domains=1;;;0 ok=1;;;0 warning=0;;;0 failure=0;;;0")]
    [InlineData("rrsig-expiring.test", 1, "WARNING - 1 of 1 with warnings: rrsig-expiring.test (dnssec.rrsig-expiring) | ")]
    [InlineData("bogus.test", 2, "CRITICAL - 1 of 1 domain(s) failing: bogus.test (dane.tlsa.lookup-error) | ")] // its zone fails, the resolver answers: not UNKNOWN
    public async Task Check_Nagios_StatusLineAndExitCode(string domain, int exitCode, string start)
    {
        Lab.RequireLab();
        var result = await CliRunner.RunAsync(["check", domain, "--nagios", "--timeout", "10"], null, TimeSpan.FromSeconds(90));

        Assert.True(exitCode == result.ExitCode, result.ToString());
        var line = Assert.Single(result.Stdout.Trim().Split('\n'));
        Assert.StartsWith(start, line, StringComparison.Ordinal);
        // Perfdata as monitoring systems parse it: after the one '|', space-separated 'label=value;warn;crit;min;max'.
        var (text, perfdata) = line.Split('|') is [var t, var p] ? (t, p.Trim()) : throw new Xunit.Sdk.XunitException($"not one '|': {line}");
        Assert.Matches(@"^(OK|WARNING|CRITICAL) - \S", text);
        Assert.Matches(@"^([a-z_]+=\d+;;;0)( [a-z_]+=\d+;;;0)*$", perfdata);
        Assert.Contains($"{(exitCode == 2 ? "failure" : exitCode == 1 ? "warning" : "ok")}=1;;;0", perfdata, StringComparison.Ordinal);
    }

    /// <summary>
    /// Forty lab domains in the default view: under 120 lines, every failure of the JSON visible, one summary line last.
    /// The text and the JSON come from two runs, so every domain here must answer the same both times: none of the
    /// mitm-* domains, whose MitM mode and forged DNS the attack tests (another collection, run beside this one) switch.
    /// </summary>
    [Fact]
    public async Task Check_FortyDomains_Under120Lines_EveryFailureVisible()
    {
        Lab.RequireLab();
        string[] extra = ["dane-rsa.test", "dane-p384.test", "dane-ed25519.test", "dane-nsec3.test", "dane-target.test", "publish.test", "bench.test", "tlsrpt-https.test"];
        var domains = Scenarios.Select(row => row.Data.Item1).Concat(extra).Distinct().Take(40).ToArray();
        Assert.Equal(40, domains.Length);
        string[] args = ["check", .. domains, "--timeout", "3", "--concurrency", "8"];

        var text = await CliRunner.RunAsync(args, null, TimeSpan.FromSeconds(300));
        var json = await CliRunner.RunAsync([.. args, "--json"], null, TimeSpan.FromSeconds(300));

        var lines = text.Stdout.TrimEnd().Split('\n');
        Assert.True(lines.Length < 120, $"{lines.Length} lines:\n{text.Stdout}");
        Assert.StartsWith("40 domain(s): ", lines[^1], StringComparison.Ordinal);
        using var doc = JsonDocument.Parse(json.Stdout);
        foreach (var domain in doc.RootElement.GetProperty("domains").EnumerateArray())
        {
            foreach (var f in domain.GetProperty("findings").EnumerateArray().Where(f => f.GetProperty("severity").GetString() == "failure"))
            {
                Assert.Contains($"FAILURE {f.GetProperty("id").GetString()} [{f.GetProperty("subject").GetString()}]", text.Stdout, StringComparison.Ordinal);
            }
            // Every shown finding carries its whole one-sentence fix and, as an indented block under it, the records to publish.
            foreach (var f in domain.GetProperty("findings").EnumerateArray().Where(f => f.GetProperty("severity").GetString() is "failure" or "warning"))
            {
                Assert.Contains($" Fix: {f.GetProperty("fix").GetString()} (docs/checks.md#", text.Stdout, StringComparison.Ordinal);
                foreach (var record in f.GetProperty("records").EnumerateArray())
                {
                    Assert.Contains("\n      " + record.GetString() + "\n", text.Stdout, StringComparison.Ordinal);
                }
            }
        }
        Assert.DoesNotContain(lines, l => l.Contains(" ok      mx.ok ", StringComparison.Ordinal));
    }

    /// <summary>
    /// All scenario rows in one <c>rampart check</c> run (several domains at once, bounded concurrency), so the table costs
    /// one process instead of thirty; each row's exit code is its domain's own, checked by a single-domain run below.
    /// </summary>
    private static readonly Lazy<Task<Dictionary<string, JsonElement>>> s_all = new(async () =>
    {
        var domains = Scenarios.Select(row => row.Data.Item1).ToArray();
        var (_, json) = await Check([.. domains, "--timeout", "3", "--concurrency", "8"]);
        return json.GetProperty("domains").EnumerateArray().ToDictionary(r => r.GetProperty("domain").GetString()!);
    });

    private static async Task<(int ExitCode, JsonElement Json)> ScenarioReport(string domain)
    {
        Lab.RequireLab();
        var report = (await s_all.Value)[domain];
        var exitCode = report.GetProperty("status").GetString() switch { "ok" => 0, "warning" => 1, _ => 2 };
        return (exitCode, report);
    }

    [Theory]
    [InlineData("dane.test", 0)]
    [InlineData("sts-enforce.test", 0)]
    [InlineData("rrsig-expiring.test", 1)]
    [InlineData("dane-mismatch.test", 2)]
    public async Task Check_OneDomain_ExitCodeFollowsStatus(string domain, int exitCode)
    {
        var (result, json) = await Check([domain, "--timeout", "10"]);

        Assert.Equal(exitCode, result.ExitCode);
        Assert.Equal(exitCode switch { 0 => "ok", 1 => "warning", _ => "failure" }, json.GetProperty("status").GetString());
    }

    private static async Task<(CliResult Result, JsonElement Json)> Check(string[] args)
    {
        Lab.RequireLab();
        var result = await CliRunner.RunAsync(["check", .. args, "--json"], null, TimeSpan.FromSeconds(90));
        Assert.False(CliRunner.HasStackTrace(result), result.ToString());
        using var doc = JsonDocument.Parse(result.Stdout);
        var domains = doc.RootElement.GetProperty("domains");
        // One shape for one domain or many (DESIGN.md): a single domain is the only element.
        return (result, domains.GetArrayLength() == 1 ? domains[0].Clone() : doc.RootElement.Clone());
    }

    private static List<string> Ids(JsonElement json) =>
        json.GetProperty("findings").EnumerateArray().Select(f => f.GetProperty("id").GetString()!).ToList();

    private static JsonElement Finding(JsonElement json, string id) =>
        json.GetProperty("findings").EnumerateArray().FirstOrDefault(f => f.GetProperty("id").GetString() == id) is { ValueKind: JsonValueKind.Object } found
            ? found
            : throw new Xunit.Sdk.XunitException($"no {id} finding in {json}");

    private static int FreePort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Parse("127.0.1.31"), 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    /// <summary>
    /// A real TCP server on an MX address that stalls: without <c>greet</c> it accepts and never says 220; with it, it
    /// offers STARTTLS, answers "220 go ahead" and then never starts the TLS handshake.
    /// </summary>
    private sealed class StallingSmtpServer : IDisposable
    {
        private readonly TcpListener _listener;
        private readonly CancellationTokenSource _stop = new();
        private readonly List<TcpClient> _clients = [];

        public StallingSmtpServer(IPAddress address, bool greet)
        {
            _listener = new TcpListener(address, 0);
            _listener.Start();
            Port = ((IPEndPoint)_listener.LocalEndpoint).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
            _ = Task.Run(() => ServeAsync(greet));
        }

        public string Port { get; }

        private async Task ServeAsync(bool greet)
        {
            try
            {
                while (!_stop.IsCancellationRequested)
                {
                    var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                    lock (_clients)
                    {
                        _clients.Add(client);
                    }
                    if (greet)
                    {
                        _ = Task.Run(() => TalkAsync(client));
                    }
                }
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
            }
            catch (ObjectDisposedException)
            {
            }
        }

        private async Task TalkAsync(TcpClient client)
        {
            try
            {
                var stream = client.GetStream();
                using var reader = new StreamReader(stream, Encoding.ASCII);
                await Write(stream, "220 stall.test ESMTP\r\n");
                while (await reader.ReadLineAsync(_stop.Token) is { } line)
                {
                    if (line.StartsWith("EHLO", StringComparison.OrdinalIgnoreCase))
                    {
                        await Write(stream, "250-stall.test\r\n250 STARTTLS\r\n");
                    }
                    else if (line.StartsWith("STARTTLS", StringComparison.OrdinalIgnoreCase))
                    {
                        await Write(stream, "220 2.0.0 go ahead\r\n");
                        await Task.Delay(Timeout.Infinite, _stop.Token); // never a ServerHello
                    }
                    else
                    {
                        await Write(stream, "250 ok\r\n");
                    }
                }
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
            }
            catch (IOException)
            {
            }
        }

        private static Task Write(NetworkStream stream, string text) => stream.WriteAsync(Encoding.ASCII.GetBytes(text)).AsTask();

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
            lock (_clients)
            {
                foreach (var client in _clients)
                {
                    client.Dispose();
                }
            }
            _stop.Dispose();
        }
    }
}
