using Rampart.Core.TlsRpt;

namespace Rampart.Core.Tests.TlsRpt;

/// <summary>
/// Compatibility with real reports: every file of the shared corpus (../shared/corpus/tlsrpt beside the repository,
/// never copied into it) that its MANIFEST marks as a report imports with the totals below; the others are rejected
/// with a reason. The expected totals were counted independently of this parser, from the JSON itself.
/// </summary>
public sealed class TlsRptCorpusTests
{
    /// <summary>file, organization-name, report-id, policies, sum of successful, sum of failed, sum of failure-details sessions.</summary>
    public static TheoryData<string, string, string, int, long, long, long> Reports => new()
    {
        { "Neztore+tls-rpt-monitor/microsoft-report.json", "Microsoft Corporation", "133988091029006454+josh.scot", 1, 2, 2, 3 },
        { "Neztore+tls-rpt-monitor/microsoft-report.json.gz", "Microsoft Corporation", "133988091029006454+josh.scot", 1, 2, 0, 0 },
        { "cry-inc+dmarc-report-viewer/google.json", "Google Inc.", "2025-05-22T00:00:00Z_foo-bar.io", 1, 1, 0, 0 },
        { "cry-inc+dmarc-report-viewer/microsoft.json", "Microsoft Corporation", "133925885310113267+random.net", 2, 4, 0, 0 },
        { "cry-inc+dmarc-report-viewer/no-contact.json", "server.com", "123_456", 1, 1, 0, 0 },
        { "cry-inc+dmarc-report-viewer/no-policy.json", "Google Inc.", "2025-03-27T00:00:00Z_foo-bar.io", 1, 1, 0, 0 },
        { "cry-inc+dmarc-report-viewer/no_ip_and_mx.json", "Microsoft Corporation", "1234567890+", 1, 0, 3, 3 },
        { "domainaware+parsedmarc/empty_failure_detail_fields.json", "Reporter Example", "2024-06-01T00:00:00Z_example.com", 1, 0, 1, 1 },
        { "domainaware+parsedmarc/google.com_smtp_tls_report.eml", "Google Inc.", "2024-09-03T00:00:00Z_cardinalhealth.ca", 1, 48, 0, 0 },
        { "domainaware+parsedmarc/mail.ru.json", "Mail.ru", "b28254de-7b2e-be36-bb5c-4c3b92da8b25@mail.ru", 1, 0, 1, 2 },
        { "domainaware+parsedmarc/rfc8460.json", "Company-X", "5065427c-23d3-47ca-b6e0-946ea0e8c4be", 1, 5326, 303, 303 },
        { "domainaware+parsedmarc/smtp_tls.json", "Example Inc.", "2024-01-09T00:00:00Z_example.com", 1, 0, 3, 3 },
        { "extracted-from-text/cry-inc_issue57_microsoft_sts-fetch-error_no-ip.json", "Microsoft Corporation", "133944884956529435+", 1, 0, 3, 3 },
        { "extracted-from-text/cry-inc_issue71_stalwart-style_contact-null.json", "refluxstop.de", "1768089600_5665667737528564296", 1, 1, 0, 0 },
        { "extracted-from-text/google_2020_multi-sts-policies.json", "Google Inc.", "2020-02-06T00:00:00Z_test.mailflow.ovh", 3, 1, 13, 13 },
        { "extracted-from-text/socketlabs_2020_receiving-mx-host-name.json", "socketlabs.com", "13B8FEDF21D3DBD6997654968E563122", 2, 12, 2, 2 },
        { "isseis+tlsrpt-digest/tlsrpt_failure.eml", "Google Inc.", "2026-02-08T00:00:00Z_example.com", 1, 4523, 2, 2 },
        { "isseis+tlsrpt-digest/tlsrpt_success_google_1.eml", "Google Inc.", "2026-05-11T00:00:00Z_example.com", 1, 1, 0, 0 },
        { "isseis+tlsrpt-digest/tlsrpt_success_google_2.eml", "Google Inc.", "2026-05-12T00:00:00Z_example.com", 1, 4, 0, 0 },
        { "isseis+tlsrpt-digest/tlsrpt_success_microsoft.eml", "Microsoft Corporation", "134232617934286362+example.com", 1, 2, 0, 0 },
        { "kravietz+tlsrpt-rs/google1.eml", "Google Inc.", "2024-09-15T00:00:00Z_krvtz.net", 1, 1, 0, 0 },
        { "kravietz+tlsrpt-rs/google2.eml", "Google Inc.", "2024-09-18T00:00:00Z_krvtz.net", 1, 2, 0, 0 },
        { "kravietz+tlsrpt-rs/mail.ru.eml", "Mail.ru", "c96d67df-0440-57f7-6e96-c83824d0fdf2@mail.ru", 1, 0, 1, 1 },
        { "kravietz+tlsrpt-rs/mail.ru.json", "Mail.ru", "c96d67df-0440-57f7-6e96-c83824d0fdf2@mail.ru", 1, 0, 1, 1 },
        { "kravietz+tlsrpt-rs/microsoft1.eml", "Microsoft Corporation", "133708152202987951+krvtz.net", 2, 4, 0, 0 },
        { "mjl-+mox/example.eml", "Google Inc.", "2022-09-15T00:00:00Z_test.xmox.nl", 1, 3, 0, 0 },
        { "mjl-+mox/microsoft.eml", "Microsoft Corporation", "133198585438131172+test.xmox.nl", 1, 2, 0, 0 },
        { "phi-ag+mta-sts-exporter/google.json", "Google Inc.", "2024-02-17T00:00:00Z_example.com", 1, 53, 0, 0 },
        { "phi-ag+mta-sts-exporter/microsoft-2.json", "Microsoft Corporation", "133561180919336230+example.com", 1, 7, 0, 0 },
        { "phi-ag+mta-sts-exporter/microsoft.json", "Microsoft Corporation", "133526718584528772+example.com", 1, 18, 0, 0 },
        { "phi-ag+mta-sts-exporter/rfc-errata-6241.json", "Company-X", "5065427c-23d3-47ca-b6e0-946ea0e8c4be", 1, 5326, 303, 303 },
        { "stalwartlabs+mail-auth/rpt02.eml", "Google Inc.", "2020-01-01T00:00:00Z_example.com", 1, 23, 1, 1 },
        { "stalwartlabs+mail-auth/rpt03.json", "Google Inc.", "2019-04-14T00:00:00Z_example.org", 2, 2, 0, 0 },
    };

    /// <summary>The corpus folder, found by walking up from the test binaries to the repository root (the folder with Rampart.slnx), then ../shared.</summary>
    private static string? CorpusDirectory([System.Runtime.CompilerServices.CallerFilePath] string sourceFile = "")
    {
        // From the test binaries (bin/ inside the repository), else from this source file (an --artifacts-path build puts bin/ elsewhere).
        foreach (var start in new[] { AppContext.BaseDirectory, Path.GetDirectoryName(sourceFile) ?? "" }.Where(Directory.Exists))
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Rampart.slnx")))
                {
                    var corpus = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "corpus", "tlsrpt"));
                    if (Directory.Exists(corpus))
                    {
                        return corpus;
                    }
                    break;
                }
            }
        }
        return null;
    }

    private static string Corpus()
    {
        var corpus = Environment.GetEnvironmentVariable("RAMPART_TLSRPT_CORPUS") is { Length: > 0 } given ? given : CorpusDirectory();
        if (corpus is null || !Directory.Exists(corpus))
        {
            // Not a silent pass: the test reports itself skipped, saying where it looked (test.sh counts and prints skips).
            Assert.Skip("TLS-RPT corpus not found: expected ../shared/corpus/tlsrpt beside the repository root (the folder of Rampart.slnx), " +
                        "or RAMPART_TLSRPT_CORPUS; the compatibility tests did not run");
        }
        return corpus;
    }

    private static async Task<List<TlsRptInput>> ReadAsync(string path)
    {
        var found = new List<TlsRptInput>();
        await new TlsRptInputReader(new TlsRptReadSettings { VerifyDkim = false }, null).ReadFileAsync(path, i =>
        {
            found.Add(i);
            return Task.CompletedTask;
        }, TestContext.Current.CancellationToken);
        return found;
    }

    [Theory]
    [MemberData(nameof(Reports))]
    public async Task Corpus_Report_ImportsWithTheRightTotals(string file, string organization, string reportId, int policies, long successful, long failed, long detailSessions)
    {
        var corpus = Corpus();

        var input = Assert.Single(await ReadAsync(Path.Combine(corpus, file)));

        Assert.True(input.Report is not null, $"{file}: {input.Rejection}");
        Assert.Equal(organization, input.Report.OrganizationName);
        Assert.Equal(reportId, input.Report.ReportId);
        Assert.Equal(policies, input.Report.Policies.Count);
        Assert.Equal(successful, input.Report.TotalSuccessful);
        Assert.Equal(failed, input.Report.TotalFailed);
        Assert.Equal(detailSessions, input.Report.TotalFailureDetailSessions);
    }

    [Fact]
    public async Task Corpus_NonReports_RejectedWithReason()
    {
        var corpus = Corpus();

        var cron = Assert.Single(await ReadAsync(Path.Combine(corpus, "kravietz+tlsrpt-rs", "empty.eml")));
        var manifest = Assert.Single(await ReadAsync(Path.Combine(corpus, "MANIFEST.txt")));

        Assert.Null(cron.Report);
        Assert.Contains("email without a TLS-RPT report attachment", cron.Rejection, StringComparison.Ordinal);
        Assert.Null(manifest.Report);
        Assert.Contains("not a TLS-RPT report", manifest.Rejection, StringComparison.Ordinal);
    }

    [Fact]
    public void Corpus_EveryManifestEntryIsCovered()
    {
        var corpus = Corpus();
        var listed = File.ReadAllLines(Path.Combine(corpus, "MANIFEST.txt"))
            .Where(l => l.Length > 0 && !char.IsWhiteSpace(l[0]) && l.Contains('/', StringComparison.Ordinal) && !l.StartsWith("---", StringComparison.Ordinal) && !l.Contains(' ', StringComparison.Ordinal))
            .ToHashSet(StringComparer.Ordinal);
        var notReports = File.ReadAllText(Path.Combine(corpus, "MANIFEST.txt")).Contains("NOT a report", StringComparison.Ordinal) ? 1 : 0;

        var covered = Reports.Select(r => r.Data.Item1).ToHashSet(StringComparer.Ordinal);
        covered.Add("kravietz+tlsrpt-rs/empty.eml");

        Assert.Equal(1, notReports);
        Assert.Empty(listed.Except(covered));
    }
}
