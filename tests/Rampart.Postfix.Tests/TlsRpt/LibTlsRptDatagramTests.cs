using System.Text;
using Rampart.Core.TlsRpt;
using Rampart.Postfix.TlsRpt;
using Rampart.Tests.Shared;

namespace Rampart.Postfix.Tests.TlsRpt;

/// <summary>
/// libtlsrpt's datagrams as the library writes them (<see cref="LibTlsRptDatagramBuilder"/> follows libtlsrpt.c byte
/// for byte), every code of tlsrpt.h, both protocol generations, and what a broken or foreign datagram does.
/// </summary>
public sealed class LibTlsRptDatagramTests
{
    private const string Record = "v=TLSRPTv1; rua=mailto:tlsrpt@example.com";
    private static readonly DateTimeOffset s_at = new(2026, 12, 7, 23, 59, 59, TimeSpan.Zero);

    private static DatagramReading Read(byte[] datagram) => LibTlsRptDatagram.Read(datagram, s_at);

    private static DatagramReading Read(string datagram) => Read(Encoding.UTF8.GetBytes(datagram));

    [Fact]
    public void Read_LibraryExampleThreeStsFailures_EveryFieldKept()
    {
        // doc/example.txt, example 3: an MTA-STS policy with two mx patterns and two failures.
        var datagram = new LibTlsRptDatagramBuilder("company-y.example", Record)
            .Policy(2, "company-y.example")
            .PolicyString("version: STSv1").PolicyString("mode: testing").PolicyString("mx: *.mail.company-y.example").PolicyString("max_age: 86400")
            .MxHost("*.mail.company-y.example").MxHost("*.mail2.company-y.example")
            .Failure(302, "1.2.3.4", "mailin.example.com", "test-ehlo.example.com", "11.22.33.44", "This is additional information", "999 TEST ERROR")
            .Failure(303, "1.2.3.5", "mailin.example.com", "test-ehlo.example.com", "11.22.33.55", "This is additional information", "999 TEST ERROR")
            .Finish(1)
            .Build();

        var reading = Read(datagram);

        Assert.Empty(reading.Problems);
        var result = Assert.Single(reading.Results);
        Assert.Equal("company-y.example", result.ReportDomain);
        Assert.Equal(Record, result.TlsRptRecord);
        Assert.False(result.Succeeded);
        Assert.Equal(s_at, result.At);
        Assert.Equal(new DateOnly(2026, 12, 7), result.Day);
        Assert.Equal(TlsRptPolicyTypes.Sts, result.Policy.PolicyType);
        Assert.Equal("company-y.example", result.Policy.PolicyDomain);
        Assert.Equal(["version: STSv1", "mode: testing", "mx: *.mail.company-y.example", "max_age: 86400"], result.Policy.PolicyStrings);
        Assert.Equal(["*.mail.company-y.example", "*.mail2.company-y.example"], result.Policy.MxHostPatterns);
        Assert.Equal(
            [
                new TlsSessionFailure(TlsRptResultTypes.StsPolicyInvalid, "1.2.3.4", "mailin.example.com", "test-ehlo.example.com", "11.22.33.44", "This is additional information", "999 TEST ERROR"),
                new TlsSessionFailure(TlsRptResultTypes.StsWebpkiInvalid, "1.2.3.5", "mailin.example.com", "test-ehlo.example.com", "11.22.33.55", "This is additional information", "999 TEST ERROR"),
            ],
            result.Failures);
    }

    [Fact]
    public void Read_ExactLibraryBytes_Parsed()
    {
        // What libtlsrpt 0.5.1 writes for example 2 (TLSA, no mx patterns): note the space after the colon of the
        // string attributes and none after numbers.
        const string Bytes = "{\"dpv\": \"1\",\"d\": \"company-y.example\",\"pr\": \"v=TLSRPTv1;rua=mailto:r@company-y.example\","
            + "\"policies\":[{\"policy-type\":1,\"policy-domain\": \"company-y.example\","
            + "\"policy-string\":[\"3 0 1 1F850A337E6DB9C609C522D136A475638CC43E1ED424F8EEC8513D747D1D085D\"],"
            + "\"failure-details\":[{\"c\":204,\"s\": \"1.2.3.4\",\"n\": \"mailin.example.com\",\"h\": \"tes-ehlo.example.com\",\"r\": \"11.22.33.55\",\"a\": \"This is additional information\",\"f\": \"999 TEST ERROR\"}],"
            + "\"t\":1,\"f\":1}]}";
        var built = new LibTlsRptDatagramBuilder("company-y.example", "v=TLSRPTv1;rua=mailto:r@company-y.example")
            .Policy(1, "company-y.example")
            .PolicyString("3 0 1 1F850A337E6DB9C609C522D136A475638CC43E1ED424F8EEC8513D747D1D085D")
            .Failure(204, "1.2.3.4", "mailin.example.com", "tes-ehlo.example.com", "11.22.33.55", "This is additional information", "999 TEST ERROR")
            .Finish(1).Build();
        Assert.Equal(Bytes, Encoding.UTF8.GetString(built)); // the builder is the library

        var result = Assert.Single(Read(Bytes).Results);

        Assert.Equal(TlsRptPolicyTypes.Tlsa, result.Policy.PolicyType);
        Assert.Empty(result.Policy.MxHostPatterns);
        Assert.Equal(TlsRptResultTypes.CertificateExpired, Assert.Single(result.Failures).ResultType);
    }

    [Theory]
    [InlineData(201, "starttls-not-supported")]
    [InlineData(202, "certificate-host-mismatch")]
    [InlineData(203, "certificate-not-trusted")]
    [InlineData(204, "certificate-expired")]
    [InlineData(205, "validation-failure")]
    [InlineData(301, "sts-policy-fetch-error")]
    [InlineData(302, "sts-policy-invalid")]
    [InlineData(303, "sts-webpki-invalid")]
    [InlineData(304, "tlsa-invalid")]
    [InlineData(305, "dnssec-invalid")]
    [InlineData(306, "dane-required")]
    public void Read_EveryFailureCode_ItsRfc8460ResultType(int code, string resultType)
    {
        var datagram = new LibTlsRptDatagramBuilder("example.net", Record)
            .Policy(9, null).Failure(code, "192.0.2.1", "mx.example.net", null, "198.51.100.25").Finish(1).Build();

        var reading = Read(datagram);

        Assert.Empty(reading.Problems);
        var failure = Assert.Single(Assert.Single(reading.Results).Failures);
        Assert.Equal(resultType, failure.ResultType);
        Assert.True(TlsRptResultTypes.IsKnown(failure.ResultType));
        Assert.Equal("192.0.2.1", failure.SendingMtaIp);
        Assert.Equal("mx.example.net", failure.ReceivingMxHostname);
        Assert.Null(failure.ReceivingMxHelo);
        Assert.Equal("198.51.100.25", failure.ReceivingIp);
        Assert.Null(failure.AdditionalInformation);
        Assert.Null(failure.FailureReasonCode);
    }

    [Fact]
    public void ResultType_EveryTypeOfRfc8460_HasOneCode()
    {
        var mapped = Enumerable.Range(0, 1000).Select(c => LibTlsRptDatagram.ResultType(c)).OfType<string>().ToList();

        Assert.Equal(TlsRptResultTypes.All.Order(StringComparer.Ordinal), mapped.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData(1, "tlsa")]
    [InlineData(2, "sts")]
    [InlineData(9, "no-policy-found")]
    public void Read_EveryPolicyType_ItsRfc8460Name(int code, string policyType)
    {
        var result = Assert.Single(Read(new LibTlsRptDatagramBuilder("example.net", Record).Policy(code, "example.net").Finish(0).Build()).Results);

        Assert.Equal(policyType, result.Policy.PolicyType);
        Assert.True(result.Succeeded);
        Assert.Empty(result.Failures);
    }

    [Fact]
    public void Read_NoPolicyFoundWithNullDomain_DomainAbsent()
    {
        // Postfix passes NULL for no-policy-found: libtlsrpt then omits "policy-domain" (sys4 issue #51).
        var result = Assert.Single(Read(new LibTlsRptDatagramBuilder("example.net", Record).Policy(9, null).Finish(0).Build()).Results);

        Assert.Null(result.Policy.PolicyDomain);
        Assert.Empty(result.Policy.PolicyStrings);
    }

    [Theory]
    [InlineData(0, true)]
    [InlineData(1, false)]
    public void Read_FinalResult_SuccessOrFailure(int final, bool succeeded) =>
        Assert.Equal(succeeded, Assert.Single(Read(new LibTlsRptDatagramBuilder("example.net", Record).Policy(2, "example.net").Finish(final).Build()).Results).Succeeded);

    [Fact]
    public void Read_SuccessWithFailuresAndFailureWithout_KeptAsSent()
    {
        // The library checks no meaning (doc/example.txt): both are kept as sent.
        var reading = Read(new LibTlsRptDatagramBuilder("example.net", Record)
            .Policy(2, "example.net").Failure(202, "192.0.2.1").Finish(0)
            .Policy(1, "example.net").Finish(1)
            .Build());

        Assert.Empty(reading.Problems);
        Assert.Collection(reading.Results,
            r => { Assert.True(r.Succeeded); Assert.Single(r.Failures); },
            r => { Assert.False(r.Succeeded); Assert.Empty(r.Failures); });
    }

    [Fact]
    public void Read_LegacyWithoutDpvAndPr_ReadWithoutRecord()
    {
        var datagram = new LibTlsRptDatagramBuilder("example.net", Record, legacy: true).Policy(2, "example.net").PolicyString("version: STSv1").Finish(0).Build();
        Assert.DoesNotContain("dpv", Encoding.UTF8.GetString(datagram), StringComparison.Ordinal);

        var reading = Read(datagram);

        Assert.Empty(reading.Problems);
        var result = Assert.Single(reading.Results);
        Assert.Null(result.TlsRptRecord);
        Assert.Equal("example.net", result.ReportDomain);
    }

    [Fact]
    public void Read_MultiplePolicies_OneResultEach()
    {
        // doc/example.txt, example 8: STS failed, TLSA succeeded, in one delivery request.
        var reading = Read(new LibTlsRptDatagramBuilder("company-y.example", Record)
            .Policy(2, "company-y.example").PolicyString("version: STSv1").MxHost("*.mail.company-y.example")
            .Failure(302, "1.2.3.4", "mailin.example.com", "test-ehlo.example.com", "11.22.33.44").Finish(1)
            .Policy(1, "company-y.example").PolicyString("3 0 1 1F85").Finish(0)
            .Build());

        Assert.Equal([TlsRptPolicyTypes.Sts, TlsRptPolicyTypes.Tlsa], reading.Results.Select(r => r.Policy.PolicyType));
        Assert.Equal([false, true], reading.Results.Select(r => r.Succeeded));
    }

    [Fact]
    public void Read_DomainsInAnyCaseWithTrailingDot_Normalised()
    {
        var result = Assert.Single(Read(new LibTlsRptDatagramBuilder("Example.NET.", Record)
            .Policy(1, "MX.Example.NET.").Failure(201, mxName: "MX1.Example.NET.").Finish(1).Build()).Results);

        Assert.Equal("example.net", result.ReportDomain);
        Assert.Equal("mx.example.net", result.Policy.PolicyDomain);
        Assert.Equal("mx1.example.net", result.Failures[0].ReceivingMxHostname);
    }

    [Fact]
    public void Read_EscapedStrings_Unescaped()
    {
        var result = Assert.Single(Read(new LibTlsRptDatagramBuilder("example.net", "v=TLSRPTv1; rua=mailto:\"q\"@example.net")
            .Policy(2, "example.net").PolicyString("mode:\ttesting\\").Failure(205, reason: "line\none\u0001").Finish(1).Build()).Results);

        Assert.Equal("v=TLSRPTv1; rua=mailto:\"q\"@example.net", result.TlsRptRecord);
        Assert.Equal("mode:\ttesting\\", Assert.Single(result.Policy.PolicyStrings));
        Assert.Equal("line\none\u0001", result.Failures[0].FailureReasonCode);
    }

    [Fact]
    public void Read_UnknownFields_Ignored()
    {
        var reading = Read("""
            {"dpv": "1","d": "example.net","pr": "v=TLSRPTv1;rua=mailto:a@example.net","x-new":{"nested":[1,2,{"a":null}]},
             "policies":[{"policy-type":2,"policy-domain": "example.net","x-policy":true,
               "failure-details":[{"c":201,"s": "192.0.2.1","x":[1],"zz": "later"}],"t":1,"f":1,"x-later":"y"}],"trailer":0}
            """);

        Assert.Empty(reading.Problems);
        var result = Assert.Single(reading.Results);
        Assert.Equal(TlsRptResultTypes.StartTlsNotSupported, Assert.Single(result.Failures).ResultType);
    }

    [Theory]
    [InlineData(901)]
    [InlineData(207)]
    [InlineData(0)]
    [InlineData(-1)]
    public void Read_UnknownFailureCode_DetailLeftOutSessionCounted(int code)
    {
        var reading = Read(new LibTlsRptDatagramBuilder("example.net", Record).Policy(2, "example.net")
            .Failure(code, "192.0.2.1").Failure(203, "192.0.2.1").Finish(1).Build());

        var result = Assert.Single(reading.Results);
        Assert.False(result.Succeeded);
        Assert.Equal(TlsRptResultTypes.CertificateNotTrusted, Assert.Single(result.Failures).ResultType);
        Assert.Equal(LibTlsRptDatagram.UnknownFailureCode, Assert.Single(reading.Problems).Kind);
        Assert.False(reading.Rejected);
    }

    [Fact]
    public void Read_UnknownPolicyType_ThatPolicyDroppedOthersKept()
    {
        var reading = Read(new LibTlsRptDatagramBuilder("example.net", Record)
            .Policy(3, "example.net").Finish(0)
            .Policy(2, "example.net").Finish(0).Build());

        Assert.Equal(TlsRptPolicyTypes.Sts, Assert.Single(reading.Results).Policy.PolicyType);
        var problem = Assert.Single(reading.Problems);
        Assert.Equal(LibTlsRptDatagram.UnknownPolicyType, problem.Kind);
        Assert.Contains("policy-type 3", problem.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_OnlyAnUnknownPolicyType_Rejected()
    {
        var reading = Read(new LibTlsRptDatagramBuilder("example.net", Record).Policy(4, "example.net").Finish(0).Build());

        Assert.True(reading.Rejected);
        Assert.Equal([LibTlsRptDatagram.UnknownPolicyType], reading.Problems.Select(p => p.Kind));
    }

    [Fact]
    public void Read_OtherProtocolVersion_ReadAndNoted()
    {
        var reading = Read("""{"dpv": "2","d": "example.net","pr": "v=TLSRPTv1;rua=mailto:a@example.net","policies":[{"policy-type":9,"t":0,"f":0}]}""");

        Assert.Single(reading.Results);
        var problem = Assert.Single(reading.Problems);
        Assert.Equal(LibTlsRptDatagram.UnknownVersion, problem.Kind);
        Assert.Contains("'2'", problem.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_FailureCountDisagrees_ReadAndNoted()
    {
        var reading = Read("""{"dpv": "1","d": "example.net","pr": "x","policies":[{"policy-type":9,"failure-details":[{"c":201}],"t":3,"f":1}]}""");

        Assert.Single(Assert.Single(reading.Results).Failures);
        Assert.Equal(LibTlsRptDatagram.FailureCountMismatch, Assert.Single(reading.Problems).Kind);
    }

    [Fact]
    public void Read_RawBytesAbove127_ReadWithReplacementAndNoted()
    {
        // libtlsrpt copies bytes above 127 as they are: an EHLO name in Latin-1 is not UTF-8.
        var text = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(new LibTlsRptDatagramBuilder("example.net", Record)
            .Policy(9, null).Failure(201, mxHelo: "mx-#.example.net").Finish(1).Build()));
        var at = Array.IndexOf(text, (byte)'#');
        text[at] = 0xE9; // 'é' in Latin-1

        var reading = Read(text);

        Assert.Equal("mx-\uFFFD.example.net", Assert.Single(Assert.Single(reading.Results).Failures).ReceivingMxHelo);
        Assert.Equal(LibTlsRptDatagram.InvalidUtf8, Assert.Single(reading.Problems).Kind);
    }

    [Fact]
    public void Read_TrailingNul_Ignored()
    {
        var datagram = new LibTlsRptDatagramBuilder("example.net", Record).Policy(9, null).Finish(0).Build();

        var reading = Read([.. datagram, 0]);

        Assert.Empty(reading.Problems);
        Assert.Single(reading.Results);
    }

    [Fact]
    public void Read_Oversized_Rejected()
    {
        var builder = new LibTlsRptDatagramBuilder("example.net", Record).Policy(1, "example.net");
        for (var i = 0; i < 1000; i++)
        {
            builder.PolicyString("3 1 1 " + new string('A', 64));
        }
        var datagram = builder.Finish(0).Build();
        Assert.True(datagram.Length > LibTlsRptDatagram.MaxBytes);

        var reading = Read(datagram);

        Assert.True(reading.Rejected);
        Assert.Equal(LibTlsRptDatagram.Oversized, Assert.Single(reading.Problems).Kind);
    }

    [Fact]
    public void Read_JustUnderTheLimit_Read()
    {
        var padding = new string('a', LibTlsRptDatagram.MaxBytes - 200);
        var datagram = new LibTlsRptDatagramBuilder("example.net", Record).Policy(9, null).Failure(205, additional: padding).Finish(1).Build();
        Assert.InRange(datagram.Length, LibTlsRptDatagram.MaxBytes - 200, LibTlsRptDatagram.MaxBytes);

        Assert.Equal(padding, Assert.Single(Read(datagram).Results).Failures[0].AdditionalInformation);
    }

    [Theory]
    [InlineData("", LibTlsRptDatagram.InvalidJson)]
    [InlineData("garbage", LibTlsRptDatagram.InvalidJson)]
    [InlineData("{\"dpv\": \"1\",\"d\": \"example.net\",\"policies\":[{\"policy-type\":9,", LibTlsRptDatagram.InvalidJson)] // cut short
    [InlineData("{\"d\": \"example.net\",\"policies\":[{\"policy-type\":9,\"t\":0,\"f\":0}]}{\"d\": \"x.example\"}", LibTlsRptDatagram.InvalidJson)]
    [InlineData("{\"d\": \"example.net\",\"policies\":[{\"policy-type\":9,\"t\":0,\"f\":0}]} trailing", LibTlsRptDatagram.InvalidJson)]
    [InlineData("[1,2]", LibTlsRptDatagram.BadShape)]
    [InlineData("\"text\"", LibTlsRptDatagram.BadShape)]
    [InlineData("{\"d\": \"example.net\",\"policies\":{\"policy-type\":9}}", LibTlsRptDatagram.BadShape)]
    [InlineData("{\"policies\":[{\"policy-type\":9,\"t\":0,\"f\":0}]}", LibTlsRptDatagram.BadDomain)]
    [InlineData("{\"d\": 5,\"policies\":[{\"policy-type\":9,\"t\":0,\"f\":0}]}", LibTlsRptDatagram.BadDomain)]
    [InlineData("{\"d\": \"192.0.2.1\",\"policies\":[{\"policy-type\":9,\"t\":0,\"f\":0}]}", LibTlsRptDatagram.BadDomain)]
    [InlineData("{\"d\": \"bad domain!\",\"policies\":[{\"policy-type\":9,\"t\":0,\"f\":0}]}", LibTlsRptDatagram.BadDomain)]
    [InlineData("{\"d\": \"example.net\"}", LibTlsRptDatagram.NoPolicies)]
    [InlineData("{\"d\": \"example.net\",\"policies\":[]}", LibTlsRptDatagram.NoPolicies)]
    [InlineData("{\"d\": \"example.net\",\"policies\":[{\"policy-type\":9,\"t\":0}]}", LibTlsRptDatagram.BadPolicy)]
    [InlineData("{\"d\": \"example.net\",\"policies\":[{\"t\":0,\"f\":0}]}", LibTlsRptDatagram.BadPolicy)]
    [InlineData("{\"d\": \"example.net\",\"policies\":[{\"policy-type\":9,\"t\":0,\"f\":2}]}", LibTlsRptDatagram.BadPolicy)]
    [InlineData("{\"d\": \"example.net\",\"policies\":[{\"policy-type\":\"9\",\"t\":0,\"f\":0}]}", LibTlsRptDatagram.BadPolicy)]
    [InlineData("{\"d\": \"example.net\",\"policies\":[{\"policy-type\":9,\"policy-string\":\"one\",\"t\":0,\"f\":0}]}", LibTlsRptDatagram.BadPolicy)]
    [InlineData("{\"d\": \"example.net\",\"policies\":[{\"policy-type\":9,\"mx-host\":[1],\"t\":0,\"f\":0}]}", LibTlsRptDatagram.BadPolicy)]
    [InlineData("{\"d\": \"example.net\",\"policies\":[{\"policy-type\":9,\"failure-details\":[5],\"t\":1,\"f\":1}]}", LibTlsRptDatagram.BadPolicy)]
    [InlineData("{\"d\": \"example.net\",\"policies\":[7]}", LibTlsRptDatagram.BadPolicy)]
    [InlineData("{\"d\": \"example.net\",\"policies\":[{\"policy-type\":9,\"t\":0,\"f\":1e400}]}", LibTlsRptDatagram.BadPolicy)]
    public void Read_Malformed_RejectedWithItsKind(string datagram, string kind)
    {
        var reading = Read(datagram);

        Assert.True(reading.Rejected);
        Assert.Empty(reading.Results);
        Assert.Equal(kind, reading.Problems[0].Kind);
        Assert.Contains(kind, LibTlsRptDatagram.Kinds);
    }

    [Fact]
    public void Read_DeeplyNested_RejectedNotThrown()
    {
        var reading = Read("{\"x\":" + new string('[', 100) + new string(']', 100) + ",\"d\": \"example.net\",\"policies\":[{\"policy-type\":9,\"t\":0,\"f\":0}]}");

        Assert.Equal(LibTlsRptDatagram.InvalidJson, Assert.Single(reading.Problems).Kind);
    }

    [Fact]
    public void Read_RandomBytes_NeverThrows()
    {
        var random = new Random(8460);
        var valid = new LibTlsRptDatagramBuilder("example.net", Record).Policy(2, "example.net").PolicyString("version: STSv1")
            .Failure(201, "192.0.2.1", "mx.example.net", "mx", "198.51.100.1", "a", "f").Finish(1).Build();
        for (var i = 0; i < 2000; i++)
        {
            var mutated = (byte[])valid.Clone();
            for (var j = random.Next(1, 4); j > 0; j--)
            {
                mutated[random.Next(mutated.Length)] = (byte)random.Next(256);
            }
            var cut = mutated.AsSpan(0, random.Next(mutated.Length + 1)).ToArray();

            var reading = Read(cut);

            Assert.True(reading.Results.Count > 0 || reading.Problems.Count > 0);
        }
    }
}
