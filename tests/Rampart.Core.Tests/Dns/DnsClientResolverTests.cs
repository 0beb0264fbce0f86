using System.Diagnostics;
using System.Net;
using Rampart.Core.Dns;
using Rampart.Core.Tests.Servers;

namespace Rampart.Core.Tests.Dns;

public sealed class DnsClientResolverTests
{
    private const string Sts = "_mta-sts.example.org";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static DnsClientResolver Resolver(
        ScriptedDnsServer server,
        bool trustAd = true,
        int timeoutMs = 2000,
        int retries = 0,
        bool tcpFallback = true,
        int maxCnameHops = 8) =>
        new(new DnsResolverSettings
        {
            Endpoint = server.Endpoint,
            Source = ResolverSource.Explicit,
            TrustAd = trustAd,
            Timeout = TimeSpan.FromMilliseconds(timeoutMs),
            Retries = retries,
            UseTcpFallback = tcpFallback,
            MaxCnameHops = maxCnameHops,
        });

    private static ScriptedDnsServer StsTxt(bool ad, params string[] strings) =>
        ScriptedDnsServer.Start(_ => ScriptedReply.Records(ad, ScriptedRecord.Txt(Sts, strings)));

    [Fact]
    public async Task QueryTxt_AdFromTrustedLoopbackResolver_Secure()
    {
        await using var server = StsTxt(ad: true, "v=STSv1; id=abc");

        var result = await Resolver(server).QueryTxtAsync(Sts, Ct);

        Assert.Equal(DnsOutcome.Records, result.Outcome);
        Assert.True(result.IsSecure);
        Assert.Equal(["v=STSv1; id=abc"], result.Records);
    }

    [Fact]
    public async Task QueryTxt_AdSetButAdNotTrusted_Insecure()
    {
        await using var server = StsTxt(ad: true, "v=STSv1; id=abc");

        var result = await Resolver(server, trustAd: false).QueryTxtAsync(Sts, Ct);

        Assert.Equal(DnsOutcome.Records, result.Outcome);
        Assert.False(result.IsSecure);
    }

    [Fact]
    public async Task QueryTxt_AdClear_Insecure()
    {
        await using var server = StsTxt(ad: false, "v=STSv1; id=abc");

        var result = await Resolver(server).QueryTxtAsync(Sts, Ct);

        Assert.Equal(DnsOutcome.Records, result.Outcome);
        Assert.False(result.IsSecure);
    }

    [Fact]
    public async Task QueryTxt_Always_SendsDoBitOverUdp()
    {
        await using var server = StsTxt(ad: true, "v=STSv1; id=abc");

        await Resolver(server).QueryTxtAsync(Sts, Ct);

        var query = Assert.Single(server.Queries);
        Assert.True(query.DnssecOk);
        Assert.False(query.OverTcp);
        Assert.Equal((Sts, RrType.Txt), (query.Name, query.Type));
    }

    [Fact]
    public async Task QueryTxt_ServFail_LookupErrorNamingServerAndQuery()
    {
        await using var server = ScriptedDnsServer.Start(_ => ScriptedReply.WithRcode(2));

        var result = await Resolver(server).QueryTxtAsync(Sts, Ct);

        Assert.Equal(DnsOutcome.LookupError, result.Outcome);
        Assert.Equal(DnsErrorKind.ServFail, result.Error);
        Assert.False(result.IsSecure);
        Assert.Empty(result.Records);
        Assert.Equal($"SERVFAIL from {server.Endpoint} for {Sts} TXT (validation failure or upstream error)", result.ErrorMessage);
    }

    [Fact]
    public async Task QueryTxt_ServFailWithAd_StillLookupError()
    {
        await using var server = ScriptedDnsServer.Start(_ => new ScriptedReply { Rcode = 2, Ad = true });

        var result = await Resolver(server).QueryTxtAsync(Sts, Ct);

        Assert.True(result.IsLookupError);
        Assert.False(result.IsSecure);
    }

    [Fact]
    public async Task QueryTxt_ServerSilent_TimeoutAfterConfiguredTries()
    {
        await using var server = ScriptedDnsServer.Start(_ => ScriptedReply.Silence);
        var stopwatch = Stopwatch.StartNew();

        var result = await Resolver(server, timeoutMs: 300, retries: 1).QueryTxtAsync(Sts, Ct);

        Assert.Equal(DnsOutcome.LookupError, result.Outcome);
        Assert.Equal(DnsErrorKind.Timeout, result.Error);
        Assert.Contains(server.Endpoint.ToString(), result.ErrorMessage, StringComparison.Ordinal);
        Assert.Contains(Sts, result.ErrorMessage, StringComparison.Ordinal);
        Assert.InRange(stopwatch.Elapsed, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(5));
        Assert.Equal(2, server.Queries.Count);
    }

    [Fact]
    public async Task QueryTxt_Refused_LookupErrorRefused()
    {
        await using var server = ScriptedDnsServer.Start(_ => ScriptedReply.WithRcode(5));

        var result = await Resolver(server).QueryTxtAsync(Sts, Ct);

        Assert.Equal(DnsOutcome.LookupError, result.Outcome);
        Assert.Equal(DnsErrorKind.Refused, result.Error);
        Assert.StartsWith("REFUSED from ", result.ErrorMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1, "FORMERR")]
    [InlineData(4, "NOTIMP")]
    [InlineData(9, "RCODE 9")]
    public async Task QueryTxt_OtherRcode_LookupErrorOther(int rcode, string expected)
    {
        await using var server = ScriptedDnsServer.Start(_ => ScriptedReply.WithRcode(rcode));

        var result = await Resolver(server).QueryTxtAsync(Sts, Ct);

        Assert.Equal(DnsOutcome.LookupError, result.Outcome);
        Assert.Equal(DnsErrorKind.Other, result.Error);
        Assert.StartsWith(expected, result.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task QueryTxt_NxDomainWithAd_SecureNxDomain()
    {
        await using var server = ScriptedDnsServer.Start(_ => ScriptedReply.NxDomain(ad: true));

        var result = await Resolver(server).QueryTxtAsync(Sts, Ct);

        Assert.Equal(DnsOutcome.NxDomain, result.Outcome);
        Assert.True(result.IsSecure);
        Assert.Empty(result.Records);
    }

    [Fact]
    public async Task QueryTxt_NoErrorEmptyAnswer_NoData()
    {
        await using var server = ScriptedDnsServer.Start(_ => ScriptedReply.NoData(ad: false));

        var result = await Resolver(server).QueryTxtAsync(Sts, Ct);

        Assert.Equal(DnsOutcome.NoData, result.Outcome);
        Assert.False(result.IsSecure);
        Assert.Single(server.Queries);
    }

    [Fact]
    public async Task QueryTxt_AnswerOnlyForOtherName_NoData()
    {
        await using var server = ScriptedDnsServer.Start(_ => ScriptedReply.Records(true, ScriptedRecord.Txt("other.example", "x")));

        var result = await Resolver(server).QueryTxtAsync(Sts, Ct);

        Assert.Equal(DnsOutcome.NoData, result.Outcome);
    }

    [Fact]
    public async Task QueryTxt_MultipleStrings_JoinedWithoutSeparator()
    {
        await using var server = StsTxt(ad: true, "v=STSv1;", " id=abc");

        var result = await Resolver(server).QueryTxtAsync(Sts, Ct);

        Assert.Equal(["v=STSv1; id=abc"], result.Records);
    }

    [Fact]
    public async Task QueryTxt_QuotesBackslashesAndNonAscii_ReturnedRawNotEscaped()
    {
        await using var server = StsTxt(ad: true, "a\"b\\c; d", "é");

        var result = await Resolver(server).QueryTxtAsync(Sts, Ct);

        Assert.Equal(["a\"b\\c; dé"], result.Records);
    }

    [Fact]
    public async Task QueryTxt_TwoRecords_TwoEntries()
    {
        await using var server = ScriptedDnsServer.Start(_ => ScriptedReply.Records(true,
            ScriptedRecord.Txt(Sts, "v=STSv1; id=1"), ScriptedRecord.Txt(Sts, "v=spf1 -all")));

        var result = await Resolver(server).QueryTxtAsync(Sts, Ct);

        Assert.Equal(["v=STSv1; id=1", "v=spf1 -all"], result.Records);
    }

    [Fact]
    public async Task QueryTxt_CnameChainInOneAnswer_RecordsAtEndAndCanonicalName()
    {
        await using var server = ScriptedDnsServer.Start(_ => ScriptedReply.Records(true,
            ScriptedRecord.Cname(Sts, "Policy.Provider.Example."),
            ScriptedRecord.Cname("policy.provider.example", "sts.provider.example"),
            ScriptedRecord.Txt("STS.provider.example", "v=STSv1; id=cname"),
            ScriptedRecord.Txt("unrelated.example", "v=STSv1; id=wrong")));

        var result = await Resolver(server).QueryTxtAsync(Sts, Ct);

        Assert.Equal(DnsOutcome.Records, result.Outcome);
        Assert.Equal(["v=STSv1; id=cname"], result.Records);
        Assert.Equal(["policy.provider.example", "sts.provider.example"], result.CnameChain);
        Assert.Equal("sts.provider.example", result.CanonicalName);
        Assert.Equal(Sts, result.QueryName);
        Assert.True(result.IsSecure);
        Assert.Single(server.Queries);
    }

    [Fact]
    public async Task QueryTxt_AnswerEndsAtCnameTarget_RequeriesTarget()
    {
        await using var server = ScriptedDnsServer.Start(q => q.Name switch
        {
            Sts => ScriptedReply.Records(true, ScriptedRecord.Cname(Sts, "sts.provider.example")),
            "sts.provider.example" => ScriptedReply.Records(true, ScriptedRecord.Txt("sts.provider.example", "v=STSv1; id=2")),
            _ => ScriptedReply.NxDomain(),
        });

        var result = await Resolver(server).QueryTxtAsync(Sts, Ct);

        Assert.Equal(["v=STSv1; id=2"], result.Records);
        Assert.Equal("sts.provider.example", result.CanonicalName);
        Assert.True(result.IsSecure);
        Assert.Equal([Sts, "sts.provider.example"], server.Queries.Select(q => q.Name));
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public async Task QueryTxt_OneResponseOfCnameChainInsecure_WholeResultInsecure(bool firstAd, bool secondAd)
    {
        await using var server = ScriptedDnsServer.Start(q => q.Name switch
        {
            Sts => ScriptedReply.Records(firstAd, ScriptedRecord.Cname(Sts, "sts.provider.example")),
            _ => ScriptedReply.Records(secondAd, ScriptedRecord.Txt("sts.provider.example", "v=STSv1; id=2")),
        });

        var result = await Resolver(server).QueryTxtAsync(Sts, Ct);

        Assert.Equal(DnsOutcome.Records, result.Outcome);
        Assert.False(result.IsSecure);
    }

    [Fact]
    public async Task QueryTxt_CnameToNxDomainTarget_NxDomainWithChain()
    {
        await using var server = ScriptedDnsServer.Start(_ => new ScriptedReply
        {
            Rcode = 3,
            Ad = true,
            Answers = [ScriptedRecord.Cname(Sts, "gone.provider.example")],
        });

        var result = await Resolver(server).QueryTxtAsync(Sts, Ct);

        Assert.Equal(DnsOutcome.NxDomain, result.Outcome);
        Assert.Equal("gone.provider.example", result.CanonicalName);
    }

    [Fact]
    public async Task QueryTxt_CnameLoopInOneAnswer_CnameLoopError()
    {
        await using var server = ScriptedDnsServer.Start(_ => ScriptedReply.Records(true,
            ScriptedRecord.Cname(Sts, "a.example"),
            ScriptedRecord.Cname("a.example", Sts)));

        var result = await Resolver(server).QueryTxtAsync(Sts, Ct);

        Assert.Equal(DnsOutcome.LookupError, result.Outcome);
        Assert.Equal(DnsErrorKind.CnameLoop, result.Error);
        Assert.Equal($"CNAME loop for {Sts} TXT: {Sts} -> a.example -> {Sts}", result.ErrorMessage);
    }

    [Fact]
    public async Task QueryTxt_CnameLoopAcrossQueries_CnameLoopError()
    {
        await using var server = ScriptedDnsServer.Start(q => q.Name switch
        {
            "a.example" => ScriptedReply.Records(false, ScriptedRecord.Cname("a.example", "b.example")),
            _ => ScriptedReply.Records(false, ScriptedRecord.Cname("b.example", "a.example")),
        });

        var result = await Resolver(server).QueryTxtAsync("a.example", Ct);

        Assert.Equal(DnsErrorKind.CnameLoop, result.Error);
        Assert.Equal(2, server.Queries.Count);
    }

    [Fact]
    public async Task QueryTxt_CnameChainLongerThanLimit_CnameLoopError()
    {
        await using var server = ScriptedDnsServer.Start(q =>
        {
            var next = int.Parse(q.Name.Split('.')[0][1..], System.Globalization.CultureInfo.InvariantCulture) + 1;
            return ScriptedReply.Records(false, ScriptedRecord.Cname(q.Name, $"h{next}.example"));
        });

        var result = await Resolver(server, maxCnameHops: 3).QueryTxtAsync("h0.example", Ct);

        Assert.Equal(DnsErrorKind.CnameLoop, result.Error);
        Assert.Contains("longer than 3", result.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(4, server.Queries.Count);
    }

    [Fact]
    public async Task QueryTxt_CnameChainAtLimit_Followed()
    {
        await using var server = ScriptedDnsServer.Start(_ => ScriptedReply.Records(true,
            ScriptedRecord.Cname("h0.example", "h1.example"),
            ScriptedRecord.Cname("h1.example", "h2.example"),
            ScriptedRecord.Txt("h2.example", "ok")));

        var result = await Resolver(server, maxCnameHops: 2).QueryTxtAsync("h0.example", Ct);

        Assert.Equal(["ok"], result.Records);
    }

    [Fact]
    public async Task QueryTxt_CallerCancels_ThrowsOperationCanceledQuickly()
    {
        await using var server = ScriptedDnsServer.Start(_ => ScriptedReply.Silence);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        cts.CancelAfter(TimeSpan.FromMilliseconds(200));
        var stopwatch = Stopwatch.StartNew();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => Resolver(server, timeoutMs: 10_000, retries: 2).QueryTxtAsync(Sts, cts.Token));

        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(5), $"took {stopwatch.Elapsed}");
    }

    [Fact]
    public async Task QueryTxt_AlreadyCancelledToken_ThrowsWithoutQuery()
    {
        await using var server = StsTxt(ad: true, "v=STSv1; id=abc");

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => Resolver(server).QueryTxtAsync(Sts, new CancellationToken(canceled: true)));

        Assert.Empty(server.Queries);
    }

    [Fact]
    public async Task QueryAddresses_CallerCancels_ThrowsOperationCanceled()
    {
        await using var server = ScriptedDnsServer.Start(_ => ScriptedReply.Silence);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        cts.CancelAfter(TimeSpan.FromMilliseconds(200));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => Resolver(server, timeoutMs: 10_000).QueryAddressesAsync("mx.example", cts.Token));
    }

    [Fact]
    public async Task QueryTxt_TruncatedOverUdp_RetriedOverTcp()
    {
        await using var server = ScriptedDnsServer.Start(_ => new ScriptedReply
        {
            Ad = true,
            TruncateOverUdp = true,
            Answers = [ScriptedRecord.Txt(Sts, "v=STSv1; id=tcp")],
        });

        var result = await Resolver(server).QueryTxtAsync(Sts, Ct);

        Assert.Equal(["v=STSv1; id=tcp"], result.Records);
        Assert.True(result.IsSecure);
        Assert.Equal([false, true], server.Queries.Select(q => q.OverTcp));
    }

    [Fact]
    public async Task QueryTxt_TruncatedWithoutTcpFallback_Malformed()
    {
        await using var server = ScriptedDnsServer.Start(_ => new ScriptedReply
        {
            TruncateOverUdp = true,
            Answers = [ScriptedRecord.Txt(Sts, "v=STSv1; id=tcp")],
        });

        var result = await Resolver(server, tcpFallback: false).QueryTxtAsync(Sts, Ct);

        Assert.Equal(DnsOutcome.LookupError, result.Outcome);
        Assert.Equal(DnsErrorKind.Malformed, result.Error);
        Assert.All(server.Queries, q => Assert.False(q.OverTcp));
    }

    [Fact]
    public async Task QueryTxt_GarbageAnswer_Malformed()
    {
        // A header claiming one answer record, followed by nothing.
        byte[] garbage = [0, 0, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 3, (byte)'a', (byte)'b', (byte)'c', 0, 0, 16, 0, 1, 0xC0];
        await using var server = ScriptedDnsServer.Start(_ => new ScriptedReply { Raw = garbage });

        var result = await Resolver(server).QueryTxtAsync(Sts, Ct);

        Assert.Equal(DnsOutcome.LookupError, result.Outcome);
        Assert.Equal(DnsErrorKind.Malformed, result.Error);
    }

    [Fact]
    public async Task QueryTxt_AnswerForAnotherQuestion_Malformed()
    {
        await using var server = ScriptedDnsServer.Start(_ => new ScriptedReply
        {
            Ad = true,
            QuestionName = "evil.example",
            Answers = [ScriptedRecord.Txt("evil.example", "v=STSv1; id=evil")],
        });

        var result = await Resolver(server).QueryTxtAsync(Sts, Ct);

        Assert.Equal(DnsOutcome.LookupError, result.Outcome);
        Assert.Equal(DnsErrorKind.Malformed, result.Error);
    }

    [Fact]
    public async Task QueryTxt_UpperCaseUnicodeNameWithTrailingDot_AsksNormalizedALabel()
    {
        await using var server = ScriptedDnsServer.Start(q => ScriptedReply.Records(true, ScriptedRecord.Txt(q.Name, "ok")));

        var result = await Resolver(server).QueryTxtAsync("_MTA-STS.Bücher.Example.", Ct);

        Assert.Equal(["ok"], result.Records);
        Assert.Equal("_mta-sts.xn--bcher-kva.example", Assert.Single(server.Queries).Name);
        Assert.Equal("_mta-sts.xn--bcher-kva.example", result.QueryName);
    }

    [Fact]
    public async Task QueryTxt_InvalidName_LookupErrorWithoutQuery()
    {
        await using var server = StsTxt(ad: true, "v=STSv1; id=abc");

        var result = await Resolver(server).QueryTxtAsync("bad..name", Ct);

        Assert.Equal(DnsOutcome.LookupError, result.Outcome);
        Assert.Equal(DnsErrorKind.Other, result.Error);
        Assert.Empty(server.Queries);
    }

    [Fact]
    public async Task QueryMx_Records_ExchangeLowerCasedWithoutTrailingDot()
    {
        await using var server = ScriptedDnsServer.Start(_ => ScriptedReply.Records(true,
            ScriptedRecord.Mx("example.org", 10, "MX1.Example.ORG."),
            ScriptedRecord.Mx("example.org", 20, "mx2.example.org")));

        var result = await Resolver(server).QueryMxAsync("example.org", Ct);

        Assert.Equal([new MxRecord(10, "mx1.example.org"), new MxRecord(20, "mx2.example.org")], result.Records);
        Assert.True(result.IsSecure);
    }

    [Fact]
    public async Task QueryMx_NullMx_EmptyExchange()
    {
        await using var server = ScriptedDnsServer.Start(_ => ScriptedReply.Records(true, ScriptedRecord.Mx("example.org", 0, ".")));

        var result = await Resolver(server).QueryMxAsync("example.org", Ct);

        Assert.Equal([new MxRecord(0, "")], result.Records);
    }

    [Fact]
    public async Task QueryAddresses_AAndAaaa_MergedAndSecure()
    {
        await using var server = ScriptedDnsServer.Start(q => q.Type switch
        {
            RrType.A => ScriptedReply.Records(true, ScriptedRecord.A("mx.example", "192.0.2.25")),
            _ => ScriptedReply.Records(true, ScriptedRecord.Aaaa("mx.example", "2001:db8::25")),
        });

        var result = await Resolver(server).QueryAddressesAsync("mx.example", Ct);

        Assert.Equal(DnsOutcome.Records, result.Outcome);
        Assert.Equal([IPAddress.Parse("192.0.2.25"), IPAddress.Parse("2001:db8::25")], result.Records);
        Assert.True(result.IsSecure);
        Assert.Equal([RrType.A, RrType.Aaaa], server.Queries.Select(q => q.Type).Order());
    }

    [Fact]
    public async Task QueryAddresses_AaaaNoDataInsecure_RecordsButInsecure()
    {
        await using var server = ScriptedDnsServer.Start(q => q.Type switch
        {
            RrType.A => ScriptedReply.Records(true, ScriptedRecord.A("mx.example", "192.0.2.25")),
            _ => ScriptedReply.NoData(ad: false),
        });

        var result = await Resolver(server).QueryAddressesAsync("mx.example", Ct);

        Assert.Equal([IPAddress.Parse("192.0.2.25")], result.Records);
        Assert.False(result.IsSecure);
    }

    [Fact]
    public async Task QueryAddresses_AaaaServFail_LookupError()
    {
        await using var server = ScriptedDnsServer.Start(q => q.Type switch
        {
            RrType.A => ScriptedReply.Records(true, ScriptedRecord.A("mx.example", "192.0.2.25")),
            _ => ScriptedReply.WithRcode(2),
        });

        var result = await Resolver(server).QueryAddressesAsync("mx.example", Ct);

        Assert.Equal(DnsOutcome.LookupError, result.Outcome);
        Assert.Equal(DnsErrorKind.ServFail, result.Error);
        Assert.Contains("AAAA", result.ErrorMessage, StringComparison.Ordinal);
        Assert.Empty(result.Records);
    }

    [Fact]
    public async Task QueryAddresses_BothNxDomain_NxDomain()
    {
        await using var server = ScriptedDnsServer.Start(_ => ScriptedReply.NxDomain(ad: true));

        var result = await Resolver(server).QueryAddressesAsync("mx.example", Ct);

        Assert.Equal(DnsOutcome.NxDomain, result.Outcome);
        Assert.True(result.IsSecure);
    }

    [Fact]
    public async Task QueryAddresses_NoAddresses_NoData()
    {
        await using var server = ScriptedDnsServer.Start(_ => ScriptedReply.NoData(ad: true));

        var result = await Resolver(server).QueryAddressesAsync("mx.example", Ct);

        Assert.Equal(DnsOutcome.NoData, result.Outcome);
        Assert.True(result.IsSecure);
    }

    [Fact]
    public async Task QueryAddresses_ViaCname_CanonicalNameSet()
    {
        await using var server = ScriptedDnsServer.Start(q => q.Type switch
        {
            RrType.A => ScriptedReply.Records(true, ScriptedRecord.Cname("mx.example", "host.example"), ScriptedRecord.A("host.example", "192.0.2.25")),
            _ => ScriptedReply.Records(true, ScriptedRecord.Cname("mx.example", "host.example")),
        });

        var result = await Resolver(server).QueryAddressesAsync("mx.example", Ct);

        Assert.Equal([IPAddress.Parse("192.0.2.25")], result.Records);
        Assert.Equal("host.example", result.CanonicalName);
    }

    [Fact]
    public async Task QueryTlsa_Record_MappedField()
    {
        byte[] digest = [.. Enumerable.Range(0, 32).Select(i => (byte)i)];
        await using var server = ScriptedDnsServer.Start(_ => ScriptedReply.Records(true,
            ScriptedRecord.Tlsa("_25._tcp.mx.example", 3, 1, 1, digest)));

        var result = await Resolver(server).QueryTlsaAsync("_25._tcp.mx.example", Ct);

        var record = Assert.Single(result.Records);
        Assert.Equal("3 1 1", $"{record.Usage} {record.Selector} {record.MatchingType}");
        Assert.Equal(digest, record.Data);
        Assert.True(result.IsSecure);
        Assert.Equal(RrType.Tlsa, Assert.Single(server.Queries).Type);
    }
}
