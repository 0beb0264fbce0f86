using System.Net;
using Rampart.Core.Dns;

namespace Rampart.Core.Tests.Dns;

public sealed class DnsResolverSettingsTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"rampart-dns-settings-{Guid.NewGuid():N}");

    public DnsResolverSettingsTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string ResolvConfWith(string text)
    {
        var path = Path.Combine(_dir, "resolv.conf");
        File.WriteAllText(path, text);
        return path;
    }

    private string MissingPath => Path.Combine(_dir, "absent.conf");

    [Fact]
    public void FromOptions_ExplicitLoopbackResolver_TrustedWithoutWarning()
    {
        var settings = DnsResolverSettings.FromOptions(new DnsResolverOptions { Resolver = "127.0.0.1:5353" }, MissingPath);

        Assert.Equal(new ResolverEndpoint(IPAddress.Loopback, 5353), settings.Endpoint);
        Assert.Equal(ResolverSource.Explicit, settings.Source);
        Assert.True(settings.TrustAd);
        Assert.Null(settings.Warning);
    }

    [Fact]
    public void FromOptions_ExplicitRemoteResolver_TrustedBecauseOperatorNamedIt()
    {
        var path = ResolvConfWith("nameserver 127.0.0.53\n");

        var settings = DnsResolverSettings.FromOptions(new DnsResolverOptions { Resolver = "192.0.2.53" }, path);

        Assert.Equal(IPAddress.Parse("192.0.2.53"), settings.Endpoint.Address);
        Assert.Equal(ResolverSource.Explicit, settings.Source);
        Assert.True(settings.TrustAd);
        Assert.Null(settings.Warning);
    }

    [Fact]
    public void FromOptions_ResolvConfLoopback_Trusted()
    {
        var path = ResolvConfWith("nameserver 127.0.0.53\nnameserver 192.0.2.1\n");

        var settings = DnsResolverSettings.FromOptions(new DnsResolverOptions(), path);

        Assert.Equal(new ResolverEndpoint(IPAddress.Parse("127.0.0.53")), settings.Endpoint);
        Assert.Equal(ResolverSource.ResolvConf, settings.Source);
        Assert.True(settings.TrustAd);
        Assert.Null(settings.Warning);
    }

    [Fact]
    public void FromOptions_ResolvConfIpv6Loopback_Trusted()
    {
        var settings = DnsResolverSettings.FromOptions(new DnsResolverOptions(), ResolvConfWith("nameserver ::1\n"));

        Assert.True(settings.TrustAd);
    }

    [Fact]
    public void FromOptions_ResolvConfRemote_UntrustedWithWarningSayingHowToFix()
    {
        var path = ResolvConfWith("nameserver 192.0.2.1\n");

        var settings = DnsResolverSettings.FromOptions(new DnsResolverOptions(), path);

        Assert.Equal(IPAddress.Parse("192.0.2.1"), settings.Endpoint.Address);
        Assert.False(settings.TrustAd);
        Assert.NotNull(settings.Warning);
        Assert.Contains("192.0.2.1:53", settings.Warning, StringComparison.Ordinal);
        Assert.Contains("insecure", settings.Warning, StringComparison.Ordinal);
        Assert.Contains("resolver setting", settings.Warning, StringComparison.Ordinal);
        Assert.DoesNotContain("--resolver", settings.Warning, StringComparison.Ordinal); // Core names the setting; the CLI adds its flag
        Assert.Contains("loopback", settings.Warning, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', settings.Warning);
    }

    [Fact]
    public void FromOptions_ResolvConfRemoteWithTrustAdOption_StillUntrustedAndWarningMentionsIt()
    {
        var path = ResolvConfWith("nameserver 192.0.2.1\noptions trust-ad\n");

        var settings = DnsResolverSettings.FromOptions(new DnsResolverOptions(), path);

        Assert.False(settings.TrustAd);
        Assert.Contains("trust-ad", settings.Warning, StringComparison.Ordinal);
    }

    [Fact]
    public void FromOptions_EmptyResolverString_FallsBackToResolvConf()
    {
        var settings = DnsResolverSettings.FromOptions(new DnsResolverOptions { Resolver = " " }, ResolvConfWith("nameserver 127.0.0.1\n"));

        Assert.Equal(ResolverSource.ResolvConf, settings.Source);
    }

    [Fact]
    public void FromOptions_Defaults_ThreeSecondsOneRetryTcpFallbackEightHops()
    {
        var settings = DnsResolverSettings.FromOptions(new DnsResolverOptions { Resolver = "127.0.0.1" }, MissingPath);

        Assert.Equal(TimeSpan.FromSeconds(3), settings.Timeout);
        Assert.Equal(1, settings.Retries);
        Assert.True(settings.UseTcpFallback);
        Assert.Equal(8, settings.MaxCnameHops);
    }

    [Fact]
    public void FromOptions_CustomValues_Carried()
    {
        var options = new DnsResolverOptions
        {
            Resolver = "127.0.0.1",
            Timeout = TimeSpan.FromMilliseconds(750),
            Retries = 3,
            UseTcpFallback = false,
            MaxCnameHops = 4,
        };

        var settings = DnsResolverSettings.FromOptions(options, MissingPath);

        Assert.Equal((TimeSpan.FromMilliseconds(750), 3, false, 4),
            (settings.Timeout, settings.Retries, settings.UseTcpFallback, settings.MaxCnameHops));
    }

    [Fact]
    public void TryFromOptions_MissingResolvConf_ErrorNamingPathAndFix()
    {
        var ok = DnsResolverSettings.TryFromOptions(new DnsResolverOptions(), MissingPath, out var settings, out var errors);

        Assert.False(ok);
        Assert.Null(settings);
        var error = Assert.Single(errors);
        Assert.Contains(MissingPath, error, StringComparison.Ordinal);
        Assert.Contains("resolver setting", error, StringComparison.Ordinal);
        Assert.DoesNotContain("--resolver", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryFromOptions_ResolvConfWithoutNameserver_Error()
    {
        var path = ResolvConfWith("search example.org\n");

        var ok = DnsResolverSettings.TryFromOptions(new DnsResolverOptions(), path, out _, out var errors);

        Assert.False(ok);
        Assert.Contains("no usable nameserver", Assert.Single(errors), StringComparison.Ordinal);
    }

    [Fact]
    public void TryFromOptions_BadResolver_ErrorFromParser()
    {
        var ok = DnsResolverSettings.TryFromOptions(new DnsResolverOptions { Resolver = "dns.example" }, MissingPath, out _, out var errors);

        Assert.False(ok);
        Assert.Contains("dns.example", Assert.Single(errors), StringComparison.Ordinal);
    }

    [Fact]
    public void TryFromOptions_SeveralBadValues_CollectsAllErrors()
    {
        var options = new DnsResolverOptions
        {
            Resolver = "127.0.0.1:0",
            Timeout = TimeSpan.Zero,
            Retries = -1,
            MaxCnameHops = 0,
        };

        var ok = DnsResolverSettings.TryFromOptions(options, MissingPath, out _, out var errors);

        Assert.False(ok);
        Assert.Equal(4, errors.Count);
    }

    [Fact]
    public void FromOptions_Invalid_ThrowsArgumentExceptionWithMessages()
    {
        var ex = Assert.Throws<ArgumentException>(
            () => DnsResolverSettings.FromOptions(new DnsResolverOptions { Resolver = "nope" }, MissingPath));

        Assert.Contains("nope", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ForEndpoint_Any_ExplicitAndTrusted()
    {
        var settings = DnsResolverSettings.ForEndpoint(ResolverEndpoint.Parse("192.0.2.53"));

        Assert.True(settings.TrustAd);
        Assert.Equal(ResolverSource.Explicit, settings.Source);
    }
}
