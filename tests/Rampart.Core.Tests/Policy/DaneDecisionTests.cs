using Microsoft.Extensions.Time.Testing;
using Rampart.Core.Dane;
using Rampart.Core.Dns;
using Rampart.Core.MtaSts;
using Rampart.Core.Policy;
using Rampart.Core.Tests.Fakes;

namespace Rampart.Core.Tests.Policy;

/// <summary>RFC 7672 §2.2 TLSA discovery per MX host and the DANE part of the sender decision.</summary>
public class DaneDecisionTests
{
    private const string Ee = "3 1 1 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF";
    private const string PkixEe = "1 1 1 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF";
    private readonly FakeDnsResolver _dns = new();
    private readonly FakePolicyFetcher _fetcher = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private Task<DaneHostResult> Host(string host) => new DaneHostLookup(_dns).LookupAsync(host, Ct);

    private Task<SenderPolicyDecision> Decide(string domain)
    {
        var provider = new MtaStsPolicyProvider(_dns, _fetcher, new InMemoryMtaStsPolicyStore(), new MtaStsPolicySettings(), new FakeTimeProvider());
        return new SenderPolicyResolver(_dns, new DaneHostLookup(_dns), provider, new SenderPolicySettings()).DecideAsync(DomainName.Parse(domain), Ct);
    }

    [Fact]
    public async Task Lookup_SecureAddressAndTlsa_UsableWithHostAsBase()
    {
        _dns.Address("mx.example.org", "192.0.2.1").Tlsa("_25._tcp.mx.example.org", Ee);

        var result = await Host("mx.example.org");

        Assert.Equal(DaneHostStatus.Usable, result.Status);
        Assert.Equal("mx.example.org", result.TlsaBaseDomain);
    }

    [Fact]
    public async Task Lookup_CnameExpanded_TlsaAtTargetFirst()
    {
        _dns.AddressVia("mx.example.org", ["mail.target.net"], "192.0.2.1")
            .Tlsa("_25._tcp.mail.target.net", Ee)
            .Tlsa("_25._tcp.mx.example.org", PkixEe);

        var result = await Host("mx.example.org");

        Assert.Equal(DaneHostStatus.Usable, result.Status);
        Assert.Equal("mail.target.net", result.TlsaBaseDomain);
    }

    [Fact]
    public async Task Lookup_CnameTargetWithoutTlsa_FallsBackToOriginalName()
    {
        _dns.AddressVia("mx.example.org", ["mail.target.net"], "192.0.2.1").Tlsa("_25._tcp.mx.example.org", Ee);

        var result = await Host("mx.example.org");

        Assert.Equal(DaneHostStatus.Usable, result.Status);
        Assert.Equal("mx.example.org", result.TlsaBaseDomain);
    }

    [Fact]
    public async Task Lookup_InsecureAddress_NoTlsaQuery()
    {
        _dns.SecureByDefault = false;
        _dns.Address("mx.example.org", "192.0.2.1");
        _dns.SecureByDefault = true;
        _dns.Tlsa("_25._tcp.mx.example.org", Ee);

        var result = await Host("mx.example.org");

        Assert.Equal(DaneHostStatus.Insecure, result.Status);
        Assert.Equal(0, _dns.Count("TLSA"));
    }

    [Theory]
    [InlineData(DnsErrorKind.ServFail)]
    [InlineData(DnsErrorKind.Timeout)]
    public async Task Lookup_TlsaLookupError_ErrorNeverInsecure(DnsErrorKind error)
    {
        _dns.Address("mx.example.org", "192.0.2.1").Fail("_25._tcp.mx.example.org", "TLSA", error);

        var result = await Host("mx.example.org");

        Assert.Equal(DaneHostStatus.LookupError, result.Status);
    }

    [Fact]
    public async Task Lookup_AddressLookupError_Error()
    {
        _dns.Fail("mx.example.org", "ADDR");

        Assert.Equal(DaneHostStatus.LookupError, (await Host("mx.example.org")).Status);
    }

    [Fact]
    public async Task Lookup_InsecureTlsaRecords_NotUsed()
    {
        _dns.Address("mx.example.org", "192.0.2.1");
        _dns.SecureByDefault = false;
        _dns.Tlsa("_25._tcp.mx.example.org", Ee);

        Assert.Equal(DaneHostStatus.NoTlsa, (await Host("mx.example.org")).Status);
    }

    [Fact]
    public async Task Lookup_OnlyPkixUsages_AllUnusable()
    {
        _dns.Address("mx.example.org", "192.0.2.1").Tlsa("_25._tcp.mx.example.org", PkixEe, "0 0 1 " + new string('A', 64));

        Assert.Equal(DaneHostStatus.AllUnusable, (await Host("mx.example.org")).Status);
    }

    [Fact]
    public async Task Lookup_WrongDigestLength_Unusable()
    {
        _dns.Address("mx.example.org", "192.0.2.1").Tlsa("_25._tcp.mx.example.org", "3 1 1 ABCD");

        Assert.Equal(DaneHostStatus.AllUnusable, (await Host("mx.example.org")).Status);
    }

    [Fact]
    public async Task Decide_EveryMxUsable_DaneOnlyAndStsNotUsed()
    {
        // The MTA-STS lookup runs beside DANE's (issue 18); where DANE applies its answer is never part of the decision.
        _dns.Mx("example.org", (10, "mx.example.org")).Address("mx.example.org", "192.0.2.1").Tlsa("_25._tcp.mx.example.org", Ee);
        _dns.Txt("_mta-sts.example.org", "v=STSv1; id=1");
        _fetcher.Serve("example.org", "version: STSv1\nmode: enforce\nmx: mx.example.org\nmax_age: 86400\n");

        var decision = await Decide("example.org");

        Assert.Equal(SenderPolicyKind.DaneOnly, decision.Kind);
        Assert.Equal(TlsRequirement.DaneOnly, decision.Requirement);
        Assert.Null(decision.MtaStsPolicy);
        Assert.DoesNotContain(decision.Evidence, e => e.Step.StartsWith("mta-sts", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Decide_OneOfTwoMxWithTlsa_Dane()
    {
        _dns.Mx("example.org", (10, "mx1.example.org"), (20, "mx2.example.org"))
            .Address("mx1.example.org", "192.0.2.1").Tlsa("_25._tcp.mx1.example.org", Ee)
            .Address("mx2.example.org", "192.0.2.2");

        var decision = await Decide("example.org");

        Assert.Equal(SenderPolicyKind.Dane, decision.Kind);
        Assert.Equal(TlsRequirement.Dane, decision.Requirement);
    }

    [Fact]
    public async Task Decide_AllUnusable_DaneSoTlsStaysMandatory()
    {
        _dns.Mx("example.org", (10, "mx.example.org")).Address("mx.example.org", "192.0.2.1").Tlsa("_25._tcp.mx.example.org", PkixEe);

        var decision = await Decide("example.org");

        Assert.Equal(SenderPolicyKind.Dane, decision.Kind);
    }

    [Fact]
    public async Task Decide_TlsaLookupError_TempFailNotMtaSts()
    {
        _dns.Mx("example.org", (10, "mx.example.org")).Address("mx.example.org", "192.0.2.1").Fail("_25._tcp.mx.example.org", "TLSA");
        _dns.Txt("_mta-sts.example.org", "v=STSv1; id=1");
        _fetcher.Serve("example.org", "version: STSv1\nmode: enforce\nmx: mx.example.org\nmax_age: 86400\n");

        var decision = await Decide("example.org");

        Assert.Equal(SenderPolicyKind.TempFail, decision.Kind);
        Assert.Equal(TlsRequirementKind.Defer, decision.Requirement.Kind);
        Assert.Null(decision.MtaStsPolicy);
    }

    [Fact]
    public async Task Decide_UnsignedMxWithSecureHostTlsa_DaneNotDaneOnly()
    {
        _dns.SecureByDefault = false;
        _dns.Mx("example.org", (10, "mx.example.org"));
        _dns.SecureByDefault = true;
        _dns.Address("mx.example.org", "192.0.2.1").Tlsa("_25._tcp.mx.example.org", Ee);

        var decision = await Decide("example.org");

        Assert.Equal(SenderPolicyKind.Dane, decision.Kind);
    }

    [Fact]
    public async Task Decide_NoTlsaAnywhere_MtaStsApplies()
    {
        _dns.Mx("example.org", (10, "mx.example.org")).Address("mx.example.org", "192.0.2.1");
        _dns.Txt("_mta-sts.example.org", "v=STSv1; id=1");
        _fetcher.Serve("example.org", "version: STSv1\nmode: enforce\nmx: mx.example.org\nmax_age: 86400\n");

        var decision = await Decide("example.org");

        Assert.Equal(SenderPolicyKind.MtaSts, decision.Kind);
        Assert.Single(decision.Dane!, h => h.Status == DaneHostStatus.NoTlsa);
    }
}
