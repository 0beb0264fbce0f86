using Microsoft.Extensions.Time.Testing;
using Rampart.Core.Dns;
using Rampart.Core.MtaSts;
using Rampart.Core.Tests.Fakes;
using Rampart.Core.Tls;

namespace Rampart.Core.Tests.Fetch;

/// <summary>The fetch asks Rampart's own validating resolver for the policy host, never the system resolver.</summary>
public class MtaStsPolicyFetcherTests
{
    private static MtaStsPolicyFetcher Fetcher(FakeDnsResolver dns) =>
        new(dns, new WebPkiValidator(TrustAnchors.SystemOnly, TimeProvider.System),
            new MtaStsFetchSettings { TotalTimeout = TimeSpan.FromSeconds(5), ConnectTimeout = TimeSpan.FromSeconds(1) }, new FakeTimeProvider());

    [Fact]
    public async Task Fetch_AddressLookupError_DnsErrorFromOurResolver()
    {
        var dns = new FakeDnsResolver().Fail("mta-sts.example.org", "ADDR", DnsErrorKind.ServFail);

        var result = await Fetcher(dns).FetchAsync("example.org", TestContext.Current.CancellationToken);

        Assert.Equal(MtaStsFetchError.DnsLookupError, result.Error);
        Assert.Contains(("mta-sts.example.org", "ADDR"), dns.Queries);
    }

    [Fact]
    public async Task Fetch_NoAddress_NoAddressError()
    {
        var dns = new FakeDnsResolver().Address("mta-sts.example.org");

        var result = await Fetcher(dns).FetchAsync("example.org", TestContext.Current.CancellationToken);

        Assert.Equal(MtaStsFetchError.NoAddress, result.Error);
    }

    [Fact]
    public async Task Fetch_ClosedPort_ConnectFailedNamingTheAddress()
    {
        var dns = new FakeDnsResolver().Address("mta-sts.example.org", "127.0.0.1");
        var fetcher = new MtaStsPolicyFetcher(dns, new WebPkiValidator(TrustAnchors.SystemOnly, TimeProvider.System),
            new MtaStsFetchSettings { Port = 9, TotalTimeout = TimeSpan.FromSeconds(5), ConnectTimeout = TimeSpan.FromSeconds(1) }, TimeProvider.System);

        var result = await fetcher.FetchAsync("example.org", TestContext.Current.CancellationToken);

        Assert.Equal(MtaStsFetchError.ConnectFailed, result.Error);
        Assert.Contains("127.0.0.1", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PolicyUrl_WellKnownLocation() =>
        Assert.Equal("https://mta-sts.example.org/.well-known/mta-sts.txt", MtaStsPolicyFetcher.PolicyUrl("example.org"));
}
