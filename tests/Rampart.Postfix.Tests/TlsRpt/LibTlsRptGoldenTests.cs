using System.Text;
using Rampart.Core.TlsRpt;
using Rampart.Postfix.TlsRpt;
using Rampart.Tests.Shared;

namespace Rampart.Postfix.Tests.TlsRpt;

/// <summary>
/// Datagrams the real libtlsrpt sent (TestData/libtlsrpt, with how they were made): read as they should be, and the
/// tests' builder writes the same bytes for the same calls, so every other test's datagrams are the library's.
/// </summary>
public sealed class LibTlsRptGoldenTests
{
    private const string Record = "v=TLSRPTv1; rua=mailto:tlsrpt@example.com";
    private static readonly DateTimeOffset s_at = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);

    private static byte[] Golden(int n) => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "TestData", "libtlsrpt", $"{n}.bin"));

    private static TlsSessionResult Single(int n)
    {
        var reading = LibTlsRptDatagram.Read(Golden(n), s_at);
        Assert.Empty(reading.Problems);
        return Assert.Single(reading.Results);
    }

    [Fact]
    public void Builder_SameCalls_SameBytesAsTheLibrary()
    {
        var example3 = new LibTlsRptDatagramBuilder("company-y.example", Record)
            .Policy(2, "company-y.example")
            .PolicyString("version: STSv1").PolicyString("mode: testing").PolicyString("mx: *.mail.company-y.example").PolicyString("max_age: 86400")
            .MxHost("*.mail.company-y.example").MxHost("*.mail2.company-y.example")
            .Failure(302, "1.2.3.4", "mailin.example.com", "test-ehlo.example.com", "11.22.33.44", "This is additional information", "999 TEST ERROR")
            .Failure(303, "1.2.3.5", "mailin.example.com", "test-ehlo.example.com", "11.22.33.55", "This is additional information", "999 TEST ERROR")
            .Finish(1).Build();
        var nullDomain = new LibTlsRptDatagramBuilder("example.net", Record).Policy(9, null).Failure(201, "192.0.2.1", "mx.example.net", null, "198.51.100.25").Finish(1).Build();
        var twoPolicies = new LibTlsRptDatagramBuilder("example.net", Record).Policy(2, "example.net").Failure(202, "192.0.2.1").Finish(0).Policy(1, "example.net").Finish(1).Build();
        var everyCode = new LibTlsRptDatagramBuilder("example.net", Record).Policy(9, null);
        foreach (var code in new[] { 201, 202, 203, 204, 205, 301, 302, 303, 304, 305, 306 })
        {
            everyCode.Failure(code, "192.0.2.1", "mx.example.net", null, "198.51.100.25");
        }

        Assert.Equal(Encoding.UTF8.GetString(Golden(1)), Encoding.UTF8.GetString(example3));
        Assert.Equal(Golden(2), nullDomain);
        Assert.Equal(Golden(3), twoPolicies);
        Assert.Equal(Golden(5), everyCode.Finish(1).Build());
    }

    [Fact]
    public void Read_Example3_EveryField()
    {
        var result = Single(1);

        Assert.Equal(("company-y.example", Record, TlsRptPolicyTypes.Sts, "company-y.example", false), (result.ReportDomain, result.TlsRptRecord, result.Policy.PolicyType, result.Policy.PolicyDomain, result.Succeeded));
        Assert.Equal(["*.mail.company-y.example", "*.mail2.company-y.example"], result.Policy.MxHostPatterns);
        Assert.Equal(4, result.Policy.PolicyStrings.Count);
        Assert.Equal([TlsRptResultTypes.StsPolicyInvalid, TlsRptResultTypes.StsWebpkiInvalid], result.Failures.Select(f => f.ResultType));
        Assert.Equal(new TlsSessionFailure(TlsRptResultTypes.StsWebpkiInvalid, "1.2.3.5", "mailin.example.com", "test-ehlo.example.com", "11.22.33.55", "This is additional information", "999 TEST ERROR"), result.Failures[1]);
    }

    [Fact]
    public void Read_NullArguments_Absent()
    {
        var result = Single(2);

        Assert.Null(result.Policy.PolicyDomain);
        Assert.Equal(new TlsSessionFailure(TlsRptResultTypes.StartTlsNotSupported, "192.0.2.1", "mx.example.net", null, "198.51.100.25"), Assert.Single(result.Failures));
    }

    [Fact]
    public void Read_TwoPolicies_AsFinished()
    {
        var results = LibTlsRptDatagram.Read(Golden(3), s_at).Results;

        Assert.Equal([(TlsRptPolicyTypes.Sts, true, 1), (TlsRptPolicyTypes.Tlsa, false, 0)], results.Select(r => (r.Policy.PolicyType, r.Succeeded, r.Failures.Count)));
    }

    [Fact]
    public void Read_EscapesAndARawByte_UnescapedAndReplaced()
    {
        var reading = LibTlsRptDatagram.Read(Golden(4), s_at);

        Assert.Equal(LibTlsRptDatagram.InvalidUtf8, Assert.Single(reading.Problems).Kind);
        var result = Assert.Single(reading.Results);
        Assert.Equal("v=TLSRPTv1; rua=mailto:\"q\"@example.net", result.TlsRptRecord);
        Assert.Equal("mode:\ttesting\\", Assert.Single(result.Policy.PolicyStrings));
        var failure = Assert.Single(result.Failures);
        Assert.Equal("mx-\uFFFD.example.net", failure.ReceivingMxHelo);
        Assert.Equal("line\none\u0001\u007f", failure.FailureReasonCode);
    }

    [Fact]
    public void Read_EveryCode_EveryResultTypeInOrder()
    {
        Assert.Equal(
            [
                "starttls-not-supported", "certificate-host-mismatch", "certificate-not-trusted", "certificate-expired", "validation-failure",
                "sts-policy-fetch-error", "sts-policy-invalid", "sts-webpki-invalid", "tlsa-invalid", "dnssec-invalid", "dane-required",
            ],
            Single(5).Failures.Select(f => f.ResultType));
    }
}
