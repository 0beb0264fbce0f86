using System.Net;
using System.Net.Sockets;
using Rampart.Core;
using StackExchange.Redis;

namespace Rampart.Storage.Tests;

/// <summary>postfix-mta-sts-resolver's <c>cache.options.url</c> forms and StackExchange.Redis configuration strings.</summary>
public sealed class RedisServerAddressTests
{
    [Theory]
    [InlineData("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0", 0, false)]
    [InlineData("redis://127.0.0.1", "redis://127.0.0.1:6379/0", 0, false)]
    [InlineData("redis://cache.internal:6380/4", "redis://cache.internal:6380/4", 4, false)]
    [InlineData("REDIS://Cache.Internal/2", "redis://Cache.Internal:6379/2", 2, false)]
    [InlineData("redis://:secret@10.0.0.5:6379/1", "redis://10.0.0.5:6379/1", 1, false)]
    [InlineData("redis://rampart:secret@10.0.0.5/1", "redis://10.0.0.5:6379/1", 1, false)]
    [InlineData("redis://10.0.0.5/?db=7&password=secret", "redis://10.0.0.5:6379/7", 7, false)]
    [InlineData("redis://[::1]:7000/3", "redis://[::1]:7000/3", 3, false)]
    [InlineData("redis://127.0.0.1/0?socket_timeout=5&socket_connect_timeout=5", "redis://127.0.0.1:6379/0", 0, false)]
    [InlineData("rediss://:secret@cache.example.net:6380/0", "rediss://cache.example.net:6380/0", 0, true)]
    [InlineData("unix:///var/run/redis/redis.sock?db=2", "unix:///var/run/redis/redis.sock?db=2", 2, false)]
    [InlineData("unix://:secret@/var/run/redis/redis.sock", "unix:///var/run/redis/redis.sock?db=0", 0, false)]
    [InlineData("unix:///run/redis.sock?password=secret&db=1", "unix:///run/redis.sock?db=1", 1, false)]
    [InlineData("127.0.0.1:6379,password=secret,defaultDatabase=3", "127.0.0.1:6379/3", 3, false)]
    [InlineData("cache.internal", "cache.internal:6379/0", 0, false)]
    [InlineData("cache.internal:6380,ssl=true,password=secret", "cache.internal:6380/0 (tls)", 0, true)]
    public void Parse_ValidForms_GivesLocationDatabaseAndTlsWithoutThePassword(string url, string location, int database, bool tls)
    {
        var address = RedisServerAddress.Parse(url);

        Assert.Equal(location, address.Location);
        Assert.Equal(database, address.Database);
        Assert.Equal(tls, address.UsesTls);
        Assert.DoesNotContain("secret", address.Location, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_UserAndPercentEncodedPassword_AreDecoded()
    {
        var configuration = RedisServerAddress.Parse("redis://rampart:p%40ss%3Aw%2Frd@10.0.0.5:6379/0").ToConfiguration();

        Assert.Equal("rampart", configuration.User);
        Assert.Equal("p@ss:w/rd", configuration.Password);
        Assert.Equal("10.0.0.5:6379", EndPointCollection.ToString(configuration.EndPoints.Single()));
    }

    [Fact]
    public void Parse_UnixUrl_IsAUnixSocketEndPoint()
    {
        var configuration = RedisServerAddress.Parse("unix://:pw@/var/run/redis.sock?db=2").ToConfiguration();

        var endpoint = Assert.IsType<UnixDomainSocketEndPoint>(configuration.EndPoints.Single());
        Assert.Equal("/var/run/redis.sock", endpoint.ToString());
        Assert.Equal("pw", configuration.Password);
        Assert.Equal(2, configuration.DefaultDatabase);
    }

    [Fact]
    public void Parse_Rediss_VerifiesTheServersName()
    {
        var configuration = RedisServerAddress.Parse("rediss://cache.example.net/0").ToConfiguration();

        Assert.True(configuration.Ssl);
        Assert.Equal("cache.example.net", configuration.SslHost);
    }

    [Fact]
    public void Parse_RedisPyTuningParameters_AreListedAsIgnored()
    {
        var address = RedisServerAddress.Parse("redis://127.0.0.1/0?socket_timeout=5&max_connections=25");

        Assert.Equal(["socket_timeout", "max_connections"], address.IgnoredParameters);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("   ", "empty")]
    [InlineData("http://:secret@127.0.0.1/0", "scheme 'http'")]
    [InlineData("redis://:secret@127.0.0.1:99999/0", "port '99999'")]
    [InlineData("redis://:secret@127.0.0.1:six/0", "port 'six'")]
    [InlineData("redis://:secret@127.0.0.1/zero", "path '/zero'")]
    [InlineData("redis://:secret@127.0.0.1/-1", "path '/-1'")]
    [InlineData("redis://:secret@127.0.0.1/1?db=2", "database is given twice")]
    [InlineData("redis://:secret@127.0.0.1/0?db=x", "db parameter 'x'")]
    [InlineData("redis://:secret@127.0.0.1/0?ttl=5", "parameter 'ttl' is unknown")]
    [InlineData("redis://:secret@[::1/0", "opens '['")]
    [InlineData("redis://:secret@a b/0", "host 'a b'")]
    [InlineData("redis://:secret@127.0.0.1/0#frag", "fragment")]
    [InlineData("unix://:secret@redis.sock", "absolute")]
    [InlineData("unix://:secret@/?db=0", "no socket path")]
    [InlineData("127.0.0.1:6379,password=secret,nonsense=1", "configuration string")]
    [InlineData("password=secret", "names no server")]
    [InlineData("host:6379, password=secret", "no spaces")]
    public void Parse_BadUrl_OneLineErrorNamingTheRuleWithoutThePassword(string url, string rule)
    {
        var ex = Assert.Throws<RampartException>(() => RedisServerAddress.Parse(url));

        Assert.Contains(rule, ex.Message, StringComparison.Ordinal);
        Assert.StartsWith("redis url '", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
        Assert.False(RedisServerAddress.TryParse(url, out _, out string? error));
        Assert.Contains(rule, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("redis://:secret@host/0", "redis://:***@host/0")]
    [InlineData("redis://user:secret@host/0", "redis://user:***@host/0")]
    [InlineData("redis://user@host/0", "redis://user@host/0")]
    [InlineData("unix:///s.sock?db=1&password=secret", "unix:///s.sock?db=1&password=***")]
    [InlineData("host:6379,password=secret,ssl=true", "host:6379,password=***,ssl=true")]
    public void Redact_HidesEveryPasswordForm(string url, string redacted)
    {
        Assert.Equal(redacted, RedisServerAddress.Redact(url));
    }

    [Fact]
    public void Parse_ConfigurationString_KeepsItsOwnSettings()
    {
        var configuration = RedisServerAddress.Parse("10.0.0.5:6380,password=secret,defaultDatabase=2,ssl=true").ToConfiguration();

        Assert.Equal("secret", configuration.Password);
        Assert.Equal(2, configuration.DefaultDatabase);
        Assert.True(configuration.Ssl);
        Assert.IsAssignableFrom<IPEndPoint>(configuration.EndPoints.Single());
    }

    [Fact]
    public void ToConfiguration_IsACopy()
    {
        var address = RedisServerAddress.Parse("redis://127.0.0.1/0");
        var first = address.ToConfiguration();
        first.Password = "changed";

        Assert.Null(address.ToConfiguration().Password);
        Assert.IsType<ConfigurationOptions>(first);
    }
}
