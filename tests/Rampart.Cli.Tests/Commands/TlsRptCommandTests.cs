using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Rampart.Tests.Shared;

namespace Rampart.Cli.Tests.Commands;

/// <summary><c>rampart tlsrpt import</c> and <c>summary</c> through the real executable: idempotent imports, exit codes, the JSON contract.</summary>
public sealed class TlsRptCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-tlsrpt-cli").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string State => Path.Combine(_dir, "state");

    private string Reports => Path.Combine(_dir, "reports");

    private static string Report(string id, string domain, long ok, long failed, string type = "certificate-expired") => $$"""
        {"organization-name":"Reporter Inc.","date-range":{"start-datetime":"2025-03-01T00:00:00Z","end-datetime":"2025-03-01T23:59:59Z"},
         "contact-info":"tlsrpt@reporter.example","report-id":"{{id}}",
         "policies":[{"policy":{"policy-type":"sts","policy-string":["version: STSv1","mode: enforce","mx: mx.{{domain}}","max_age: 86400"],"policy-domain":"{{domain}}","mx-host":"mx.{{domain}}"},
           "summary":{"total-successful-session-count":{{ok}},"total-failure-session-count":{{failed}}},
           "failure-details":[{"result-type":"{{type}}","sending-mta-ip":"192.0.2.1","receiving-mx-hostname":"mx.{{domain}}","failed-session-count":{{failed}}}]}]}
        """;

    private static byte[] Gzip(string text)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest))
        {
            gzip.Write(Encoding.UTF8.GetBytes(text));
        }
        return output.ToArray();
    }

    private static string Email(string json) =>
        "From: noreply@reporter.example\r\nTo: tlsrpt@b.example\r\nSubject: Report Domain: b.example\r\nTLS-Report-Domain: b.example\r\n" +
        "TLS-Report-Submitter: reporter.example\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=\"tlsrpt\"; boundary=\"b1\"\r\n\r\n" +
        "--b1\r\nContent-Type: text/plain\r\n\r\nThis is a TLS report.\r\n--b1\r\nContent-Type: application/tlsrpt+gzip\r\nContent-Transfer-Encoding: base64\r\n" +
        "Content-Disposition: attachment; filename=\"reporter.example!b.example!1!2.json.gz\"\r\n\r\n" + Convert.ToBase64String(Gzip(json), Base64FormattingOptions.InsertLineBreaks) + "\r\n--b1--\r\n";

    /// <summary>A folder with a JSON report, a gzip named .json, an email and a zip of two reports: 5 reports for 2 domains.</summary>
    private void WriteReports()
    {
        Directory.CreateDirectory(Path.Combine(Reports, "sub"));
        File.WriteAllText(Path.Combine(Reports, "a1.json"), Report("a1", "a.example", 95, 5));
        File.WriteAllBytes(Path.Combine(Reports, "a2.json"), Gzip(Report("a2", "a.example", 100, 0)));
        File.WriteAllText(Path.Combine(Reports, "sub", "b1.eml"), Email(Report("b1", "b.example", 10, 2, "starttls-not-supported")));
        using var zip = ZipFile.Open(Path.Combine(Reports, "sub", "more.zip"), ZipArchiveMode.Create);
        using (var writer = new StreamWriter(zip.CreateEntry("b2.json").Open()))
        {
            writer.Write(Report("b2", "b.example", 10, 0));
        }
        using (var writer = new StreamWriter(zip.CreateEntry("b3.json").Open()))
        {
            writer.Write(Report("b3", "b.example", 0, 8, "sts-policy-fetch-error"));
        }
    }

    private static void NoStackTrace(CliResult result) => Assert.False(CliRunner.HasStackTrace(result), result.ToString());

    private Task<CliResult> Run(params string[] args) => CliRunner.RunAsync([.. args, "--state-dir", State]);

    [Fact]
    public async Task Import_SameFolderTwice_SecondChangesNothing()
    {
        WriteReports();

        var first = await Run("tlsrpt", "import", Reports, "--json", "--no-dkim");
        var summaryAfterFirst = await Run("tlsrpt", "summary", "--json");
        var second = await Run("tlsrpt", "import", Reports, "--json", "--no-dkim");
        var summaryAfterSecond = await Run("tlsrpt", "summary", "--json");

        Assert.Equal(0, first.ExitCode);
        using var one = JsonDocument.Parse(first.Stdout);
        Assert.Equal(4, one.RootElement.GetProperty("files").GetInt32());
        Assert.Equal(5, one.RootElement.GetProperty("imported").GetInt32());
        Assert.Equal(0, one.RootElement.GetProperty("duplicates").GetInt32());
        Assert.Equal(0, second.ExitCode);
        using var two = JsonDocument.Parse(second.Stdout);
        Assert.Equal(0, two.RootElement.GetProperty("imported").GetInt32());
        Assert.Equal(5, two.RootElement.GetProperty("duplicates").GetInt32());
        Assert.All(two.RootElement.GetProperty("reports").EnumerateArray(), r => Assert.Equal("duplicate", r.GetProperty("outcome").GetString()));
        Assert.Equal(summaryAfterFirst.Stdout, summaryAfterSecond.Stdout);
        var third = await Run("tlsrpt", "import", Reports, "--no-dkim"); // no listing: the known files' counts only
        Assert.Equal(0, third.ExitCode);
        Assert.Contains("4 file(s): 0 imported, 5 duplicate, 0 rejected", third.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Summary_Json_ContractKeysAndExactSums()
    {
        WriteReports();
        await Run("tlsrpt", "import", Reports, "--no-dkim");

        var result = await Run("tlsrpt", "summary", "--json");

        Assert.Equal(0, result.ExitCode);
        using var json = JsonDocument.Parse(result.Stdout);
        var domains = json.RootElement.GetProperty("domains").EnumerateArray().ToList();
        Assert.Equal(["a.example", "b.example"], domains.Select(d => d.GetProperty("policy_domain").GetString()));
        var a = domains[0];
        Assert.Equal(195, a.GetProperty("successful").GetInt64());
        Assert.Equal(5, a.GetProperty("failed").GetInt64());
        Assert.Equal(5, a.GetProperty("failure_types").GetProperty("certificate-expired").GetInt64());
        var reporter = Assert.Single(a.GetProperty("reporters").EnumerateArray());
        Assert.Equal("Reporter Inc.", reporter.GetProperty("organization").GetString());
        Assert.Equal(2, reporter.GetProperty("reports").GetInt32());
        var b = domains[1];
        Assert.Equal(20, b.GetProperty("successful").GetInt64());
        Assert.Equal(10, b.GetProperty("failed").GetInt64());
        Assert.Equal(8, b.GetProperty("failure_types").GetProperty("sts-policy-fetch-error").GetInt64());
        Assert.Equal(2, b.GetProperty("failure_types").GetProperty("starttls-not-supported").GetInt64());
        Assert.Equal(10, b.GetProperty("failures_by_mx").GetProperty("mx.b.example").GetInt64());
        Assert.Equal(10, b.GetProperty("failures_by_sending_ip").GetProperty("192.0.2.1").GetInt64());
        Assert.Equal("failure", b.GetProperty("advice").EnumerateArray().First(x => x.GetProperty("id").GetString() == "failure-rate").GetProperty("severity").GetString());
        Assert.Equal("2025-03-01T00:00:00Z", b.GetProperty("first_seen").GetString());
    }

    [Fact]
    public async Task Summary_Top_ListsTheTopNSendingIps_CountsTheRest()
    {
        Directory.CreateDirectory(Reports);
        File.WriteAllText(Path.Combine(Reports, "a1.json"), Report("a1", "a.example", 95, 5));
        File.WriteAllText(Path.Combine(Reports, "a3.json"), Report("a3", "a.example", 0, 7).Replace("192.0.2.1", "192.0.2.7", StringComparison.Ordinal));
        await Run("tlsrpt", "import", Reports, "--no-dkim");

        var all = await Run("tlsrpt", "summary", "--json");
        var top = await Run("tlsrpt", "summary", "--json", "--top", "1");
        var human = await Run("tlsrpt", "summary", "--top", "1");

        using var allJson = JsonDocument.Parse(all.Stdout);
        var a = Assert.Single(allJson.RootElement.GetProperty("domains").EnumerateArray());
        Assert.Equal(["192.0.2.7", "192.0.2.1"], a.GetProperty("failures_by_sending_ip").EnumerateObject().Select(p => p.Name));
        Assert.Equal(0, a.GetProperty("failures_by_sending_ip_not_listed").GetProperty("items").GetInt64());
        Assert.Equal(0, a.GetProperty("failures_by_sending_ip_not_listed").GetProperty("sessions").GetInt64());
        using var topJson = JsonDocument.Parse(top.Stdout);
        var b = Assert.Single(topJson.RootElement.GetProperty("domains").EnumerateArray());
        Assert.Equal(7, Assert.Single(b.GetProperty("failures_by_sending_ip").EnumerateObject()).Value.GetInt64());
        Assert.Equal(1, b.GetProperty("failures_by_sending_ip_not_listed").GetProperty("items").GetInt64());
        Assert.Equal(5, b.GetProperty("failures_by_sending_ip_not_listed").GetProperty("sessions").GetInt64());
        Assert.Equal(0, b.GetProperty("failures_by_mx_not_listed").GetProperty("items").GetInt64()); // one MX host: listed
        Assert.Equal(0, human.ExitCode);
        Assert.Contains("failures by sending IP: 192.0.2.7 7, … (1 more)", human.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Summary_DomainFilterAndHumanAdvice()
    {
        WriteReports();
        await Run("tlsrpt", "import", Reports, "--no-dkim");

        var json = await Run("tlsrpt", "summary", "--domain", "B.Example", "--json");
        var human = await Run("tlsrpt", "summary", "--domain", "b.example");

        using var doc = JsonDocument.Parse(json.Stdout);
        Assert.Equal("b.example", Assert.Single(doc.RootElement.GetProperty("domains").EnumerateArray()).GetProperty("policy_domain").GetString());
        Assert.Equal(0, human.ExitCode);
        Assert.Contains("b.example: 20 ok, 10 failed (33.3 %)", human.Stdout, StringComparison.Ordinal);
        Assert.Contains("fix: ", human.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Summary_EmptyStoreAndNoMatch_AreToldApart()
    {
        var empty = await Run("tlsrpt", "summary");
        WriteReports();
        await Run("tlsrpt", "import", Reports, "--no-dkim");

        var noDomain = await Run("tlsrpt", "summary", "--domain", "nosuch.test");
        var tooRecent = await Run("tlsrpt", "summary", "--days", "7");

        Assert.StartsWith("the report store ", empty.Stdout, StringComparison.Ordinal);
        Assert.Contains(" is empty: import reports with 'rampart tlsrpt import PATH'", empty.Stdout, StringComparison.Ordinal);
        Assert.Equal("no reports match --domain nosuch.test; the store holds 5 report(s) for 2 domain(s) (a.example, b.example), the newest ending 2025-03-01",
            noDomain.Stdout.Trim());
        Assert.StartsWith("no reports match --days 7; the store holds 5 report(s)", tooRecent.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Summary_ReporterAboveThreshold_IsAWarning_AlthoughTheDomainRateIsLow_AndDaysInJson()
    {
        Directory.CreateDirectory(Reports);
        File.WriteAllText(Path.Combine(Reports, "big.json"), Report("big", "c.example", 100_000, 0).Replace("Reporter Inc.", "Big Sender", StringComparison.Ordinal));
        File.WriteAllText(Path.Combine(Reports, "small.json"), Report("small", "c.example", 700, 280, "starttls-not-supported").Replace("Reporter Inc.", "Mail.ru", StringComparison.Ordinal));
        await Run("tlsrpt", "import", Reports, "--no-dkim");

        var json = await Run("tlsrpt", "summary", "--json");
        var human = await Run("tlsrpt", "summary");

        using var doc = JsonDocument.Parse(json.Stdout);
        var c = Assert.Single(doc.RootElement.GetProperty("domains").EnumerateArray());
        Assert.Equal("info", c.GetProperty("advice").EnumerateArray().First(a => a.GetProperty("id").GetString() == "failure-rate").GetProperty("severity").GetString());
        var reporter = c.GetProperty("advice").EnumerateArray().First(a => a.GetProperty("id").GetString() == "reporter-failure-rate:Mail.ru");
        Assert.Equal("failure", reporter.GetProperty("severity").GetString());
        Assert.Equal("failure", c.GetProperty("reporters").EnumerateArray().First(r => r.GetProperty("organization").GetString() == "Mail.ru").GetProperty("severity").GetString());
        var day = Assert.Single(c.GetProperty("days").EnumerateArray());
        Assert.Equal(("2025-03-01", 2, 100_700L, 280L), (day.GetProperty("day").GetString(), day.GetProperty("reports").GetInt32(), day.GetProperty("successful").GetInt64(), day.GetProperty("failed").GetInt64()));
        Assert.Contains("Mail.ru: 1 report(s), 700 ok, 280 failed (28.6 %)", human.Stdout, StringComparison.Ordinal);
        Assert.Contains("Mail.ru reports 280 of 980 sessions failed (28.6 %", human.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Summary_And_ImportVerbose_HostileReportText_NeverReachesTheTerminalRaw()
    {
        // organization-name, report-id, policy-domain and result-type arrive by mail or POST: an attacker chooses them.
        var hostile = Report("x\\u001b]0;title\\u0007", "evil.example", 1, 2, "\\u009b2Jtype")
            .Replace("Reporter Inc.", "\\u001b[2J\\u001b[HEvil\\nrampart: forged line\\u202e", StringComparison.Ordinal);
        Directory.CreateDirectory(Reports);
        File.WriteAllText(Path.Combine(Reports, "hostile.json"), hostile);

        var import = await Run("tlsrpt", "import", Reports, "--no-dkim", "--verbose");
        var summary = await Run("tlsrpt", "summary");

        foreach (var output in new[] { import.Stdout + import.Stderr, summary.Stdout + summary.Stderr })
        {
            Assert.DoesNotContain('\u001b', output);
            Assert.DoesNotContain('\u009b', output);
            Assert.DoesNotContain('\u0007', output);
            Assert.DoesNotContain('\u202e', output);
            Assert.DoesNotContain("\nrampart: forged line", output, StringComparison.Ordinal);
        }
        Assert.Contains("\\u001B[2J\\u001B[HEvil\\u000Arampart: forged line\\u202E", summary.Stdout, StringComparison.Ordinal);
        Assert.Contains("\\u009B2jtype 2", summary.Stdout, StringComparison.Ordinal);
        Assert.Contains("\\u001B]0;title\\u0007", import.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Import_SameFolderTwice_KnownFilesAnsweredFromTheStore_AFileWithARejectionReadAgain()
    {
        WriteReports();
        using (var zip = ZipFile.Open(Path.Combine(Reports, "mixed.zip"), ZipArchiveMode.Create))
        {
            using (var writer = new StreamWriter(zip.CreateEntry("c1.json").Open()))
            {
                writer.Write(Report("c1", "c.example", 5, 1));
            }
            using (var writer = new StreamWriter(zip.CreateEntry("c2.json").Open()))
            {
                writer.Write("{\"organization-name\": 3}");
            }
        }

        var first = await Run("tlsrpt", "import", Reports, "--json", "--no-dkim");
        // Marks what the store holds: a report answered from the known-file index shows it, a report read again would not.
        await using (var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(State, "tlsrpt.sqlite")};Pooling=False"))
        {
            await db.OpenAsync(TestContext.Current.CancellationToken);
            using var mark = db.CreateCommand();
            mark.CommandText = "UPDATE tlsrpt_report SET warnings = 'as stored' WHERE report_id IN ('a1', 'b3', 'c1'); SELECT COUNT(DISTINCT sha256) FROM tlsrpt_file";
            Assert.Equal(4L, await mark.ExecuteScalarAsync(TestContext.Current.CancellationToken)); // the four files without a rejection
        }
        var second = await Run("tlsrpt", "import", Reports, "--json", "--no-dkim");

        NoStackTrace(second);
        Assert.Equal((1, 1), (first.ExitCode, second.ExitCode));
        using var one = JsonDocument.Parse(first.Stdout);
        using var two = JsonDocument.Parse(second.Stdout);
        Assert.Equal((6, 0, 1), (one.RootElement.GetProperty("imported").GetInt32(), one.RootElement.GetProperty("duplicates").GetInt32(), one.RootElement.GetProperty("rejected").GetInt32()));
        Assert.Equal((0, 6, 1), (two.RootElement.GetProperty("imported").GetInt32(), two.RootElement.GetProperty("duplicates").GetInt32(), two.RootElement.GetProperty("rejected").GetInt32()));
        var before = Listing(one);
        var after = Listing(two);
        Assert.Equal(before.Keys.Order(StringComparer.Ordinal), after.Keys.Order(StringComparer.Ordinal));
        foreach (var (source, listing) in after)
        {
            var marked = source.EndsWith("a1.json", StringComparison.Ordinal) || source.EndsWith("b3.json", StringComparison.Ordinal);
            Assert.Equal(marked ? ["as stored"] : before[source].Warnings, listing.Warnings);
            Assert.Equal(before[source].Fields, listing.Fields);
        }
        Assert.DoesNotContain("as stored", after.Single(r => r.Key.EndsWith("c1.json", StringComparison.Ordinal)).Value.Warnings); // its file was read again

        static Dictionary<string, (string Fields, List<string> Warnings)> Listing(JsonDocument doc) =>
            doc.RootElement.GetProperty("reports").EnumerateArray().ToDictionary(r => r.GetProperty("source").GetString()!, r => (
                string.Join("|", new[] { "organization", "report_id", "start", "end", "successful", "failed", "dkim" }.Select(k => r.GetProperty(k).ToString()))
                    + "|" + string.Join(",", r.GetProperty("policy_domains").EnumerateArray().Select(d => d.GetString())),
                r.GetProperty("warnings").EnumerateArray().Select(w => w.GetString()!).ToList()));
    }

    [Fact]
    public async Task Import_SomeInputRejected_ExitOneWithReasonPerFile()
    {
        WriteReports();
        File.WriteAllText(Path.Combine(Reports, "notes.txt"), "just some notes\n");
        File.WriteAllBytes(Path.Combine(Reports, "broken.json.gz"), [0x1F, 0x8B, 0x08, 0x00, 0x01, 0x02, 0x03]);

        var result = await Run("tlsrpt", "import", Reports, "--no-dkim");
        var json = await Run("tlsrpt", "import", Reports, "--no-dkim", "--json");

        NoStackTrace(result);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("5 imported", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("2 rejected", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("notes.txt: not a TLS-RPT report", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("broken.json.gz: ", result.Stdout, StringComparison.Ordinal);
        Assert.Equal(1, json.ExitCode);
        using var doc = JsonDocument.Parse(json.Stdout);
        Assert.Equal(2, doc.RootElement.GetProperty("rejections").GetArrayLength());
        Assert.All(doc.RootElement.GetProperty("rejections").EnumerateArray(), r => Assert.False(string.IsNullOrEmpty(r.GetProperty("reason").GetString())));
    }

    [Fact]
    public async Task Import_MissingPath_ExitTwoNothingImported()
    {
        WriteReports();

        var result = await Run("tlsrpt", "import", Reports, Path.Combine(_dir, "nope"), "--no-dkim");
        var summary = await Run("tlsrpt", "summary", "--json");

        NoStackTrace(result);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("nope: no such file or directory", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("\"domains\": []", summary.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("tlsrpt", "import")]
    [InlineData("tlsrpt", "summary", "--days", "0")]
    [InlineData("tlsrpt", "summary", "--top", "0")]
    [InlineData("tlsrpt", "import", "x", "--max-report-size", "0")]
    public async Task BadUsage_ExitTwo(params string[] args)
    {
        var result = await Run(args);

        NoStackTrace(result);
        Assert.Equal(2, result.ExitCode);
    }

    [Fact]
    public async Task Import_StateDirIsAFile_ExitTwoOneLine()
    {
        File.WriteAllText(Path.Combine(_dir, "file"), "x");
        WriteReports();

        var result = await CliRunner.RunAsync("tlsrpt", "import", Reports, "--no-dkim", "--state-dir", Path.Combine(_dir, "file"));

        NoStackTrace(result);
        Assert.Equal(2, result.ExitCode);
        Assert.Single(result.Stderr.Trim().Split('\n'));
    }

    [Fact]
    public async Task Summary_Days_OnlyRecentReports()
    {
        WriteReports();
        await Run("tlsrpt", "import", Reports, "--no-dkim");

        var recent = await Run("tlsrpt", "summary", "--days", "1", "--json");

        Assert.Equal(0, recent.ExitCode);
        Assert.Contains("\"domains\": []", recent.Stdout, StringComparison.Ordinal); // the fixtures are from March 2025
    }

    [Fact]
    public async Task Store_SqliteFilePath_ImportAndSummaryUseThatFile()
    {
        WriteReports();
        var file = Path.Combine(_dir, "elsewhere", "reports.db");

        var import = await CliRunner.RunAsync("tlsrpt", "import", Reports, "--no-dkim", "--json", "--store", file);
        var summary = await CliRunner.RunAsync("tlsrpt", "summary", "--json", "--store", file);

        Assert.Equal(0, import.ExitCode);
        using var doc = JsonDocument.Parse(import.Stdout);
        Assert.Equal(file, doc.RootElement.GetProperty("store").GetString());
        Assert.Equal(5, doc.RootElement.GetProperty("imported").GetInt32());
        Assert.True(File.Exists(file));
        Assert.False(Directory.Exists(State));
        using var domains = JsonDocument.Parse(summary.Stdout);
        Assert.Equal(2, domains.RootElement.GetProperty("domains").GetArrayLength());
    }

    [Fact]
    public async Task Store_PostgresNotListening_ExitTwoOneLineWithoutPassword()
    {
        WriteReports();
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        int port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop(); // a port nothing listens on

        var result = await CliRunner.RunAsync(["tlsrpt", "import", Reports, "--no-dkim", "--store", $"postgres://rampart:Hidden-Pa55@127.0.0.1:{port}/tlsrpt"], timeout: TimeSpan.FromSeconds(60));

        NoStackTrace(result);
        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.Stderr.Trim().Split('\n'));
        Assert.Contains($"TLS-RPT store postgres://rampart@127.0.0.1:{port}/tlsrpt cannot be used", line, StringComparison.Ordinal);
        Assert.DoesNotContain("Hidden-Pa55", result.Stderr + result.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("postgres://rampart:Hidden-Pa55@db.example:0/tlsrpt", "port '0' must be a number from 1 to 65535")]
    [InlineData("postgres://rampart:Hidden-Pa55@db.example/tlsrpt?pool=1", "unknown parameter 'pool'")]
    public async Task Store_BadPostgresUrl_ExitTwoNamingTheRule(string url, string rule)
    {
        var result = await CliRunner.RunAsync("tlsrpt", "summary", "--store", url);

        NoStackTrace(result);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(rule, result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Hidden-Pa55", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Store_AndStateDirTogether_ExitTwo()
    {
        var result = await Run("tlsrpt", "summary", "--store", Path.Combine(_dir, "x.db"));

        NoStackTrace(result);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--store and --state-dir", result.Stderr, StringComparison.Ordinal);
    }
}
