using System.Text.Json;
using Rampart.Tests.Shared;

namespace Rampart.Lab.Tests;

/// <summary>
/// The receiving side of the TLS-RPT sending lab tests: the lab MX of tlsrpt.test (a real SMTP server storing what it
/// receives) behind <see cref="MailRua"/>, <c>rampart serve</c>'s HTTPS receiver on mta-sts.tlsrpt-https.test
/// (<see cref="ServeAddress"/>:443) behind <see cref="HttpsRua"/>, and the DKIM key published at
/// tlsrpt._domainkey.tlsrpt-https.test that our reports are signed with. The classes that start serve share its address,
/// so they run in <see cref="LabAttacks.Collection"/>, one after another.
/// </summary>
internal static class TlsRptLabReceivers
{
    public const string ServeAddress = "127.0.1.62";
    public const string MailRua = "mailto:tlsrpt@tlsrpt.test";
    public const string HttpsRua = "https://mta-sts.tlsrpt-https.test/tlsrpt";

    /// <summary>The envelope sender and From of our reports (its domain holds the DKIM key).</summary>
    public const string SenderAddress = "tlsrpt@tlsrpt-https.test";

    public static string CaBundle => Path.Combine(LabLeafCertificate.State, "pki", "ca-bundle.pem");

    /// <summary>The <c>tlsrpt_reporting.dkim</c> value (YAML flow mapping) that signs with the lab's published key.</summary>
    public static string DkimSetting =>
        "{domain: tlsrpt-https.test, selector: tlsrpt, key_file: " + RepoFile("lab/scenarios/tlsrpt-https.test/dkim-lab-only.pem") + "}";

    private static string RepoFile(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, relative);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        throw new FileNotFoundException($"{relative} not found above {AppContext.BaseDirectory}");
    }

    /// <summary>Starts <c>rampart serve</c> for tlsrpt-https.test on <see cref="ServeAddress"/>:443; what it receives is stored in <paramref name="received"/>.</summary>
    public static async Task<RampartProcess> StartServeAsync(string dir, string received)
    {
        var live = LabLeafCertificate.IssueInto(Path.Combine(dir, "live"), "mta-sts.tlsrpt-https.test");
        var config = Path.Combine(dir, "serve.yml");
        await File.WriteAllTextAsync(config, $"""
            domain: tlsrpt-https.test
            mx: mx.tlsrpt-https.test
            mode: testing
            max_age: 86400
            serve:
              listen: ["{ServeAddress}:443"]
              certificates: {live}
            """, TestContext.Current.CancellationToken);
        var serve = RampartProcess.Start(["serve", "--config", config, "--state-dir", received]);
        await serve.WaitForLineAsync(l => l.Contains("rampart serve listening on", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        return serve;
    }

    /// <summary>
    /// The email holding <paramref name="reportId"/> that the lab MX of tlsrpt.test stored since <paramref name="since"/>
    /// (a report-id is the same each time a day is built: earlier runs left emails with it), polled until
    /// <paramref name="within"/>; null when none came. <paramref name="mxHost"/>: another lab MX's mail (a bounce
    /// of our report comes back to the sender domain's MX, mx.tlsrpt-https.test).
    /// </summary>
    public static async Task<string?> MailedReportAsync(string reportId, DateTime since, TimeSpan within, string mxHost = "mx.tlsrpt.test")
    {
        var dir = Path.Combine(LabLeafCertificate.State, "mail", mxHost);
        var deadline = DateTime.UtcNow + within;
        do
        {
            var found = Directory.Exists(dir)
                ? Directory.GetFiles(dir, "*.eml").Where(f => File.GetLastWriteTimeUtc(f) >= since && File.ReadAllText(f).Contains(reportId, StringComparison.Ordinal)).ToList()
                : [];
            if (found.Count > 0)
            {
                return Assert.Single(found);
            }
            await Task.Delay(200, TestContext.Current.CancellationToken);
        }
        while (DateTime.UtcNow < deadline);
        return null;
    }

    /// <summary>
    /// <c>rampart tlsrpt import EMAIL --json</c> into <paramref name="stateDir"/>, DKIM checked through the lab's
    /// validating resolver: the one report it read.
    /// </summary>
    public static async Task<JsonElement> ImportAsync(string email, string stateDir)
    {
        var import = await CliRunner.RunAsync(["tlsrpt", "import", email, "--state-dir", stateDir, "--resolver", "127.0.0.1:53", "--json"],
            null, TimeSpan.FromSeconds(60));
        Assert.True(import.ExitCode == 0, import.ToString());
        using var imported = JsonDocument.Parse(import.Stdout);
        return Assert.Single(imported.RootElement.GetProperty("reports").EnumerateArray()).Clone();
    }

    /// <summary>What the receiving side stored in <paramref name="stateDir"/> (<c>rampart tlsrpt summary</c>): one domain, these counts, these result types.</summary>
    public static async Task AssertSummaryAsync(string stateDir, string domain, int ok, int failed, string type)
    {
        var summary = await CliRunner.RunAsync(["tlsrpt", "summary", "--state-dir", stateDir, "--json"], null, TimeSpan.FromSeconds(60));
        Assert.True(summary.ExitCode == 0, summary.ToString());
        using var json = JsonDocument.Parse(summary.Stdout);
        var row = Assert.Single(json.RootElement.GetProperty("domains").EnumerateArray());
        Assert.Equal(domain, row.GetProperty("policy_domain").GetString());
        Assert.Equal((ok, failed), (row.GetProperty("successful").GetInt32(), row.GetProperty("failed").GetInt32()));
        var types = row.GetProperty("failure_types").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32());
        Assert.Equal(new Dictionary<string, int> { [type] = failed }, types);
    }
}
