using System.Text;
using CsCheck;
using Rampart.Core.TlsRpt;
using static Rampart.Core.Tests.TlsRpt.TlsRptTestData;

namespace Rampart.Core.Tests.TlsRpt;

/// <summary>RFC 8460 §4.4 report JSON: every quirk of RULES.md read leniently, and output exact.</summary>
public sealed class TlsRptReportParserTests
{
    private static TlsRptReport Parsed(string json, TlsRptEnvelopeHints? hints = null)
    {
        var result = TlsRptReportParser.Parse(json, hints: hints);
        Assert.True(result.Report is not null, result.Error);
        return result.Report!;
    }

    private static TlsRptReport Fixture(string name)
    {
        var result = TlsRptReportParser.Parse(TlsRptTestData.Fixture(name));
        Assert.True(result.Report is not null, result.Error);
        return result.Report!;
    }

    [Fact]
    public void Parse_RfcShapedReport_EveryFieldExactNoWarnings()
    {
        var report = Fixture("rfc-shape.json");

        Assert.Equal("Sender Example Ltd", report.OrganizationName);
        Assert.Equal("2025-03-01T00:00:00Z_rampart.example", report.ReportId);
        Assert.Equal(new DateTimeOffset(2025, 3, 1, 0, 0, 0, TimeSpan.Zero), report.StartDatetime);
        Assert.Equal(new DateTimeOffset(2025, 3, 1, 23, 59, 59, TimeSpan.Zero), report.EndDatetime);
        Assert.Equal("tlsrpt@sender.example", report.ContactInfo);
        var policy = Assert.Single(report.Policies);
        Assert.Equal(TlsRptPolicyTypes.Sts, policy.PolicyType);
        Assert.Equal("rampart.example", policy.PolicyDomain);
        Assert.Equal(5, policy.PolicyString.Count);
        Assert.Equal(["mx1.rampart.example", "*.backup.rampart.example"], policy.MxHosts);
        Assert.Equal(970, policy.TotalSuccessfulSessionCount);
        Assert.Equal(30, policy.TotalFailureSessionCount);
        Assert.Equal(2, policy.FailureDetails.Count);
        var second = policy.FailureDetails[1];
        Assert.Equal(new TlsRptFailureDetail("starttls-not-supported", "192.0.2.11", "mx2.backup.rampart.example", "mx2.backup.rampart.example",
            "198.51.100.26", 10, "https://sender.example/tlsrpt/help", "no STARTTLS in EHLO"), second);
        Assert.Equal(30, report.TotalFailureDetailSessions);
        Assert.Empty(report.Warnings);
    }

    [Fact]
    public void Parse_DatetimeWithoutZone_ReadAsUtcWithWarning()
    {
        var report = Fixture("microsoft-style.json");

        Assert.Equal(new DateTimeOffset(2025, 3, 2, 0, 0, 0, TimeSpan.Zero), report.StartDatetime);
        Assert.Equal(new DateTimeOffset(2025, 3, 2, 23, 59, 59, TimeSpan.Zero), report.EndDatetime);
        Assert.Contains(report.Warnings, w => w.Contains("no time zone", StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_DatetimeWithOffset_ConvertedToUtc()
    {
        var report = Parsed(Report(start: "2025-03-01T02:00:00+02:00", end: "2025-03-02T01:59:59+02:00"));

        Assert.Equal(new DateTimeOffset(2025, 3, 1, 0, 0, 0, TimeSpan.Zero), report.StartDatetime);
        Assert.Equal(TimeSpan.Zero, report.StartDatetime.Offset);
        Assert.Empty(report.Warnings);
    }

    [Theory]
    [InlineData("2025-03-01T23:59:59Z")]
    [InlineData("2025-03-02T00:00:00Z")]
    public void Parse_EndAtLastSecondOrNextMidnight_KeptExactly(string end)
    {
        var report = Parsed(Report(end: end));

        Assert.Equal(DateTimeOffset.Parse(end, System.Globalization.CultureInfo.InvariantCulture), report.EndDatetime);
        Assert.Empty(report.Warnings);
    }

    [Fact]
    public void Parse_TlsaPolicyStringAsOneJsonEncodedArray_Unpacked()
    {
        var tlsa = Fixture("microsoft-style.json").Policies[1];

        Assert.Equal(TlsRptPolicyTypes.Tlsa, tlsa.PolicyType);
        Assert.Equal(2, tlsa.PolicyString.Count);
        Assert.StartsWith("3 1 1 6007EEE5", tlsa.PolicyString[0], StringComparison.Ordinal);
        Assert.StartsWith("2 1 1 837C773D", tlsa.PolicyString[1], StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_PolicyDomainWithCaseAndTrailingDot_Normalised()
    {
        Assert.Equal("rampart.example", Fixture("microsoft-style.json").Policies[1].PolicyDomain);
    }

    [Fact]
    public void Parse_MisspeltReceivingMxHostName_ReadAsHostname()
    {
        var report = Fixture("microsoft-style.json");

        Assert.Equal("mx1.rampart.example", report.Policies[1].FailureDetails[0].ReceivingMxHostname);
        Assert.Contains(report.Warnings, w => w.Contains("receiving-mx-host-name", StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_MxHostAsString_OneEntryWithWarning()
    {
        var report = Fixture("mailru-style.json");

        Assert.Equal(["mx1.rampart.example"], report.Policies[0].MxHosts);
        Assert.Contains(report.Warnings, w => w.Contains("mx-host is a string", StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_ContactInfoNull_Accepted()
    {
        Assert.Null(Fixture("mailru-style.json").ContactInfo);
    }

    [Fact]
    public void Parse_EmptyStrings_ReadAsAbsent()
    {
        var report = Fixture("mailru-style.json");
        var detail = report.Policies[0].FailureDetails[0];

        Assert.Null(detail.SendingMtaIp);
        Assert.Null(detail.ReceivingIp);
        Assert.Null(detail.ReceivingMxHostname);
        Assert.Equal("bad https response code: 404", detail.FailureReasonCode);
        Assert.Contains(report.Warnings, w => w.Contains("empty strings", StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_CountsNearInt64Max_ReadAsZeroAndTotalsDoNotOverflow()
    {
        // Found writing the tlsrpt-json fuzz target (its contract calls the totals): two policies with counts near 2^63 made TotalFailed throw OverflowException
        // (tlsrpt import --verbose and --json print it; stored sums overflow the same way).
        const string big = "9223372036854775807";
        var report = Parsed($$$"""
            {"organization-name": "Huge Counts Ltd", "report-id": "huge-1",
             "date-range": {"start-datetime": "2026-01-01T00:00:00Z", "end-datetime": "2026-01-02T00:00:00Z"},
             "policies": [
              {"policy": {"policy-type": "sts", "policy-domain": "example.com"},
               "summary": {"total-successful-session-count": {{{big}}}, "total-failure-session-count": {{{big}}}},
               "failure-details": [{"result-type": "validation-failure", "failed-session-count": {{{big}}}}]},
              {"policy": {"policy-type": "no-policy-found", "policy-domain": "example.com"},
               "summary": {"total-successful-session-count": 7, "total-failure-session-count": "{{{big}}}"}}]}
            """);

        Assert.Equal(7, report.TotalSuccessful);
        Assert.Equal(0, report.TotalFailed);
        Assert.Equal(0, report.TotalFailureDetailSessions);
        Assert.Contains(report.Warnings, w => w.StartsWith($"total-failure-session-count {big} is more sessions than a report can hold", StringComparison.Ordinal));
        Assert.Equal(TlsRptReportParser.MaxSessionCount, Parsed(Report(successful: TlsRptReportParser.MaxSessionCount)).TotalSuccessful);
    }

    [Fact]
    public void Parse_FailureCountsThatDoNotAddUp_BothKept()
    {
        var report = Fixture("mailru-style.json");

        Assert.Equal(1, report.Policies[0].TotalFailureSessionCount);
        Assert.Equal(2, report.Policies[0].FailureDetails.Sum(d => d.FailedSessionCount));
        Assert.Contains(report.Warnings, w => w.Contains("add up to 2 sessions but total-failure-session-count is 1", StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_UnknownResultTypeAndMissingPolicyDomain_KeptAndFilled()
    {
        var report = Fixture("mailru-style.json");
        var second = report.Policies[1];

        Assert.Equal(TlsRptPolicyTypes.NoPolicyFound, second.PolicyType);
        Assert.Equal("rampart.example", second.PolicyDomain); // from the report's other policy
        Assert.Equal("sender-specific-thing", second.FailureDetails[0].ResultType);
        Assert.Equal(4, second.TotalSuccessfulSessionCount); // count sent as a string
        Assert.Contains(report.Warnings, w => w.Contains("unknown result-type 'sender-specific-thing' kept", StringComparison.Ordinal));
        Assert.Contains(report.Warnings, w => w.Contains("is a string (\"4\")", StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_MissingPolicyDomainAlone_FilledFromReportDomainHeader()
    {
        var json = """{"organization-name":"G","date-range":{"start-datetime":"2025-01-01T00:00:00Z","end-datetime":"2025-01-01T23:59:59Z"},"report-id":"x","policies":[{"policy":{"policy-type":"no-policy-found"},"summary":{"total-successful-session-count":1}}]}""";

        Assert.Equal("", Parsed(json).Policies[0].PolicyDomain);
        Assert.Equal("hinted.example", Parsed(json, new TlsRptEnvelopeHints("Hinted.Example", null)).Policies[0].PolicyDomain);
    }

    [Fact]
    public void Parse_JsonIsAuthoritativeOverHeaderDomain()
    {
        var report = Parsed(Report(domain: "json.example"), new TlsRptEnvelopeHints("header.example", "submitter.example"));

        Assert.Equal("json.example", report.Policies[0].PolicyDomain);
        Assert.Equal("Reporter Inc.", report.OrganizationName);
    }

    [Fact]
    public void Parse_UnknownPolicyTypeAndUnknownFields_Kept()
    {
        var json = Report().Replace("\"policy-type\":\"sts\"", "\"policy-type\":\"future-type\",\"extra\":{\"deep\":[1,2]}", StringComparison.Ordinal);

        var report = Parsed(json);

        Assert.Equal("future-type", report.Policies[0].PolicyType);
        Assert.Contains(report.Warnings, w => w.Contains("unknown policy-type 'future-type'", StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_MxHostWithMxPrefix_PrefixRemoved()
    {
        var report = Parsed(Report().Replace("\"mx-host\":[\"mx.rampart.example\"]", "\"mx-host\":[\"mx: mx.rampart.example\"]", StringComparison.Ordinal));

        Assert.Equal(["mx.rampart.example"], report.Policies[0].MxHosts);
    }

    [Theory]
    [InlineData("<html>not json</html>", "not valid JSON at line 1, byte 1: '<' is an invalid start of a value")]
    [InlineData("{\n  \"report-id\": \"x\",\n  oops\n}", "not valid JSON at line 3, byte 3:")]
    public void Parse_BrokenJson_ReasonInPlainWords_NoReaderTrailer(string json, string reason)
    {
        var result = TlsRptReportParser.Parse(json);

        Assert.StartsWith(reason, result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("LineNumber", result.Error!, StringComparison.Ordinal);
        Assert.DoesNotContain("BytePositionInLine", result.Error!, StringComparison.Ordinal);
        Assert.DoesNotContain("Path: $", result.Error!, StringComparison.Ordinal);
    }

    [Fact]
    public void Advise_EveryResultType_FixLinksExistingDocsAndNamesTheDomain()
    {
        foreach (var type in TlsRptResultTypes.All)
        {
            var (meaning, fix) = TlsRptAdvisor.Explain(type, "a.example");

            Assert.DoesNotContain("<domain>", meaning + fix, StringComparison.Ordinal);
            Assert.DoesNotContain("docs/rotation", fix, StringComparison.Ordinal);
        }
        Assert.Contains("https://mta-sts.a.example/.well-known/mta-sts.txt", TlsRptAdvisor.Explain(TlsRptResultTypes.StsPolicyFetchError, "a.example").Fix, StringComparison.Ordinal);
        Assert.Contains("docs/publishing.md#tlsa-rotation-runbook-certificate-or-key-change-on-an-mx", TlsRptAdvisor.Explain(TlsRptResultTypes.CertificateExpired).Fix, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"organization-name\":\"x\",\"date-range\":{\"start-datetime\":\"2025-01-01T00:00:00Z\",\"end-datetime\":\"2025-01-02T00:00:00Z\"},\"policies\":[]}", "report-id is missing")]
    [InlineData("{\"report-id\":\"x\",\"organization-name\":\"x\",\"policies\":[]}", "date-range is missing")]
    [InlineData("{\"report-id\":\"x\",\"organization-name\":\"x\",\"date-range\":{\"start-datetime\":\"yesterday\",\"end-datetime\":\"2025-01-02T00:00:00Z\"},\"policies\":[]}", "start-datetime 'yesterday' is not an RFC 3339 date-time")]
    [InlineData("{\"report-id\":\"x\",\"organization-name\":\"x\",\"date-range\":{\"start-datetime\":\"2025-01-01T00:00:00Z\",\"end-datetime\":\"2025-01-02T00:00:00Z\"}}", "policies is missing")]
    [InlineData("{\"name\":\"not a report\"}", "not a TLS-RPT report: no report-id")]
    [InlineData("[1,2,3]", "the JSON is not an object")]
    [InlineData("{\"report-id\":", "not valid JSON")]
    [InlineData("{\"report-id\":\"x\",\"policies\":{\"a\":1}}", "$.policies has the wrong JSON type")]
    public void Parse_NotAReport_RejectedNamingTheRule(string json, string reason)
    {
        var result = TlsRptReportParser.Parse(json);

        Assert.Null(result.Report);
        Assert.Contains(reason, result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', result.Error!);
    }

    [Fact]
    public void Parse_DeeplyNestedJson_RejectedForDepth()
    {
        var json = "{\"report-id\":\"x\",\"deep\":" + new string('[', 100_000) + new string(']', 100_000) + "}";

        var result = TlsRptReportParser.Parse(json);

        Assert.Null(result.Report);
        Assert.Contains("nested deeper than 32 levels", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ParseAsync_100000FailureDetails_ExactSums()
    {
        var open = Report(failed: 0);
        var json = new StringBuilder(open[..open.LastIndexOf("}}]}", StringComparison.Ordinal)]).Append("},\"failure-details\":[");
        json.Replace("\"total-failure-session-count\":0", "\"total-failure-session-count\":150000");
        for (var i = 0; i < 100_000; i++)
        {
            json.Append(i == 0 ? "" : ",").Append("{\"result-type\":\"").Append(i % 2 == 0 ? "certificate-expired" : "starttls-not-supported")
                .Append("\",\"sending-mta-ip\":\"10.0.").Append(i / 256 % 256).Append('.').Append(i % 256).Append("\",\"failed-session-count\":").Append(i % 2 == 0 ? 1 : 2).Append('}');
        }
        json.Append("]}]}");

        var result = await TlsRptReportParser.ParseAsync(new MemoryStream(Encoding.UTF8.GetBytes(json.ToString())), new TlsRptReadSettings(), null, TestContext.Current.CancellationToken);

        Assert.True(result.Report is not null, result.Error);
        Assert.Equal(100_000, result.Report.Policies[0].FailureDetails.Count);
        Assert.Equal(150_000, result.Report.TotalFailureDetailSessions);
        Assert.Equal(150_000, result.Report.TotalFailed);
        Assert.Empty(result.Report.Warnings);
    }

    [Fact]
    public async Task ParseAsync_50MegabyteJson_StreamedWithExactTotalsAndRejectedOverTheLimit()
    {
        // 50 MB of report: one policy whose failure-details carry a long additional-information each.
        var padding = new string('a', 900);
        var stream = new GeneratedJsonStream(Report(failed: 0)[..Report(failed: 0).LastIndexOf("}}]}", StringComparison.Ordinal)] + "},\"failure-details\":[",
            i => $"{(i == 0 ? "" : ",")}{{\"result-type\":\"validation-failure\",\"failed-session-count\":1,\"additional-information\":\"{padding}\"}}",
            "]}]}", 50L * 1000 * 1000);

        var result = await TlsRptReportParser.ParseAsync(stream, new TlsRptReadSettings(), null, TestContext.Current.CancellationToken);

        Assert.True(result.Report is not null, result.Error);
        Assert.True(stream.Produced >= 50L * 1000 * 1000);
        Assert.Equal(stream.Items, result.Report.TotalFailureDetailSessions);

        var limited = new GeneratedJsonStream("{\"report-id\":\"x\",\"policies\":[{\"failure-details\":[",
            i => $"{(i == 0 ? "" : ",")}{{\"result-type\":\"validation-failure\",\"failed-session-count\":1,\"additional-information\":\"{padding}\"}}",
            "]}]}", 50L * 1000 * 1000);
        var rejected = await TlsRptReportParser.ParseAsync(limited, new TlsRptReadSettings { MaxReportBytes = 1024 * 1024 }, null, TestContext.Current.CancellationToken);

        Assert.Null(rejected.Report);
        Assert.Contains("larger than 1 MiB", rejected.Error, StringComparison.Ordinal);
        Assert.True(limited.Produced < 4L * 1024 * 1024, $"read {limited.Produced} bytes before stopping"); // stopped early, not after 50 MB
    }

    [Fact]
    public void Parse_AnyBytes_NeverThrows()
    {
        Gen.Byte.Array[0, 300].Sample(bytes =>
        {
            var result = TlsRptReportParser.Parse(bytes);
            Assert.True(result.Report is not null ^ result.Error is not null);
        }, iter: 2000);
    }

    [Fact]
    public void Parse_MutatedReport_NeverThrowsAndErrorsAreOneLine()
    {
        var original = Report(failed: 3);
        Gen.Select(Gen.Int[0, original.Length - 1], Gen.Int[0, 20], Gen.Char['\0', '\x7f']).Sample((at, cut, ch) =>
        {
            var mutated = original[..at] + ch + original[Math.Min(original.Length, at + cut)..];
            var result = TlsRptReportParser.Parse(mutated);
            Assert.True(result.Report is not null ^ result.Error is not null);
            Assert.DoesNotContain('\n', result.Error ?? "");
        }, iter: 3000);
    }

    [Fact]
    public void Parse_GeneratedReports_TotalsExactWhateverTheQuirks()
    {
        var types = TlsRptResultTypes.All.Append("x-unknown").ToArray();
        var detail = Gen.Select(Gen.Int[0, types.Length - 1].Select(i => types[i]), Gen.Long[0, 1_000_000], Gen.Bool);
        var policy = Gen.Select(Gen.Long[0, 1_000_000_000], Gen.Long[0, 1_000_000], detail.Array[0, 5], Gen.Bool, Gen.Bool);
        Gen.Select(policy.Array[1, 4], Gen.Bool).Sample((policies, zoneless) =>
        {
            var json = new StringBuilder($$"""{"organization-name":"Gen","date-range":{"start-datetime":"2025-01-01T00:00:00{{(zoneless ? "" : "Z")}}","end-datetime":"2025-01-02T00:00:00{{(zoneless ? "" : "Z")}}"},"report-id":"g","contact-info":null,"policies":[""");
            for (var i = 0; i < policies.Length; i++)
            {
                var (ok, failed, details, mxString, countsAsStrings) = policies[i];
                string Count(long n) => countsAsStrings ? $"\"{n}\"" : n.ToString(System.Globalization.CultureInfo.InvariantCulture);
                json.Append(i > 0 ? "," : "").Append($$"""{"policy":{"policy-type":"sts","policy-domain":"d{{i}}.example","mx-host":{{(mxString ? "\"mx.example\"" : "[\"mx.example\"]")}}},"summary":{"total-successful-session-count":{{Count(ok)}},"total-failure-session-count":{{Count(failed)}}},"failure-details":[""");
                for (var j = 0; j < details.Length; j++)
                {
                    var (type, n, misspelt) = details[j];
                    json.Append(j > 0 ? "," : "").Append($$"""{"result-type":"{{type}}","{{(misspelt ? "receiving-mx-host-name" : "receiving-mx-hostname")}}":"mx.example","sending-mta-ip":"","failed-session-count":{{n}}}""");
                }
                json.Append("]}");
            }
            json.Append("]}");

            var report = TlsRptReportParser.Parse(json.ToString()).Report!;

            Assert.Equal(policies.Sum(p => p.Item1), report.TotalSuccessful);
            Assert.Equal(policies.Sum(p => p.Item2), report.TotalFailed);
            Assert.Equal(policies.Sum(p => p.Item3.Sum(d => d.Item2)), report.TotalFailureDetailSessions);
            Assert.All(report.Policies.SelectMany(p => p.FailureDetails), d => Assert.Equal("mx.example", d.ReceivingMxHostname));
            Assert.All(report.Policies.SelectMany(p => p.FailureDetails), d => Assert.Null(d.SendingMtaIp));
            Assert.All(report.Policies, p => Assert.Equal(["mx.example"], p.MxHosts));
            Assert.Equal(zoneless, report.Warnings.Any(w => w.Contains("no time zone", StringComparison.Ordinal)));
        }, iter: 300);
    }
}

/// <summary>A read-only stream producing head + item(0) + item(1) + … + tail, at least <c>minBytes</c> long, without holding it in memory.</summary>
internal sealed class GeneratedJsonStream(string head, Func<int, string> item, string tail, long minBytes) : Stream
{
    private byte[] _pending = Encoding.UTF8.GetBytes(head);
    private int _offset;
    private bool _tailSent;

    public long Produced { get; private set; }
    public int Items { get; private set; }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (_offset == _pending.Length)
        {
            if (_tailSent)
            {
                return 0;
            }
            if (Produced < minBytes)
            {
                _pending = Encoding.UTF8.GetBytes(item(Items++));
            }
            else
            {
                _pending = Encoding.UTF8.GetBytes(tail);
                _tailSent = true;
            }
            _offset = 0;
        }
        var n = Math.Min(buffer.Length, _pending.Length - _offset);
        _pending.AsSpan(_offset, n).CopyTo(buffer);
        _offset += n;
        Produced += n;
        return n;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => Produced; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
