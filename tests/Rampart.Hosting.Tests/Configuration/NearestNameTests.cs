using Rampart.Hosting.Configuration;

namespace Rampart.Hosting.Tests.Configuration;

public sealed class NearestNameTests
{
    private static readonly string[] s_keys = ["cache", "cache_grace", "default_zone", "zones", "max_age", "enabled", "listen"];

    [Theory]
    [InlineData("cahce", "cache")]
    [InlineData("cach", "cache")]
    [InlineData("max-age", "max_age")]
    [InlineData("Listen", "listen")]
    [InlineData("enable", "enabled")]
    [InlineData("default-zone", "default_zone")]
    [InlineData("zone", "zones")]
    [InlineData("cache_grase", "cache_grace")]
    public void Find_Typo_NearestKnown(string typed, string expected)
    {
        Assert.Equal(expected, NearestName.Find(typed, s_keys));
    }

    [Theory]
    [InlineData("colour")]
    [InlineData("backlog")]
    [InlineData("x")]
    public void Find_NothingClose_Null(string typed)
    {
        Assert.Null(NearestName.Find(typed, s_keys));
    }
}
