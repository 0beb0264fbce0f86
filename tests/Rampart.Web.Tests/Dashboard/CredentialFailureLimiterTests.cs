using System.Net;
using Microsoft.Extensions.Time.Testing;
using Rampart.Web.Dashboard;

namespace Rampart.Web.Tests.Dashboard;

/// <summary>The per-address count of wrong dashboard credentials: the threshold, the window, IPv6 per /64, and its bounded table.</summary>
public sealed class CredentialFailureLimiterTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero));

    [Fact]
    public void Failed_UpToTheThreshold_BlocksOnlyFromThere_ForTheRestOfTheWindow()
    {
        var limiter = new CredentialFailureLimiter(_time);
        var client = IPAddress.Parse("198.51.100.7");

        for (var i = 1; i < CredentialFailureLimits.Default.MaxFailures; i++)
        {
            limiter.Failed(client);
        }
        var belowThreshold = limiter.IsBlocked(client, out _);
        limiter.Failed(client);
        _time.Advance(TimeSpan.FromSeconds(30.5));
        var atThreshold = limiter.IsBlocked(client, out var retryAfter);
        _time.Advance(CredentialFailureLimits.Default.Window);
        var afterWindow = limiter.IsBlocked(client, out _);

        Assert.False(belowThreshold);
        Assert.True(atThreshold);
        Assert.Equal((int)CredentialFailureLimits.Default.Window.TotalSeconds - 30, retryAfter);
        Assert.False(afterWindow);
        Assert.Equal(0, limiter.Count);
    }

    [Fact]
    public void Failed_SpreadOverTwoWindows_NeverBlocks_AndSuccessForgets()
    {
        var limiter = new CredentialFailureLimiter(_time);
        var client = IPAddress.Parse("198.51.100.8");

        for (var i = 0; i < CredentialFailureLimits.Default.MaxFailures - 1; i++)
        {
            limiter.Failed(client);
        }
        _time.Advance(CredentialFailureLimits.Default.Window);
        limiter.Failed(client);
        var nextWindow = limiter.IsBlocked(client, out _);
        for (var i = 0; i < CredentialFailureLimits.Default.MaxFailures - 2; i++)
        {
            limiter.Failed(client);
        }
        limiter.Succeeded(client);
        limiter.Failed(client);

        Assert.False(nextWindow);
        Assert.False(limiter.IsBlocked(client, out _));
    }

    [Fact]
    public void Failed_IPv6_CountsPerSlash64_AndIPv4MappedAsIPv4()
    {
        var limiter = new CredentialFailureLimiter(_time);

        for (var i = 1; i <= CredentialFailureLimits.Default.MaxFailures; i++)
        {
            limiter.Failed(IPAddress.Parse($"2001:db8:0:7::{i:x}"));
            limiter.Failed(IPAddress.Parse($"::ffff:192.0.2.{i}"));
        }
        limiter.Failed(IPAddress.Parse("::ffff:192.0.2.200"));

        Assert.True(limiter.IsBlocked(IPAddress.Parse("2001:db8:0:7:ffff:ffff:ffff:ffff"), out _));
        Assert.False(limiter.IsBlocked(IPAddress.Parse("2001:db8:0:8::1"), out _));
        Assert.False(limiter.IsBlocked(IPAddress.Parse("192.0.2.1"), out _));
        Assert.Equal(CredentialFailureLimits.Default.MaxFailures + 2, limiter.Count);
    }

    [Fact]
    public void Failed_FromManyAddresses_TableStaysBounded_AndABlockedAddressStaysBlockedWhileNewer()
    {
        var limiter = new CredentialFailureLimiter(_time);
        var blocked = IPAddress.Parse("203.0.113.1");
        _time.Advance(TimeSpan.FromSeconds(1));
        for (var i = 0; i < CredentialFailureLimits.Default.MaxAddresses + 1000; i++)
        {
            if (i == 10)
            {
                for (var f = 0; f < CredentialFailureLimits.Default.MaxFailures; f++)
                {
                    limiter.Failed(blocked);
                }
            }
            limiter.Failed(new IPAddress(0x0A000000u + (uint)i)); // 10.x.y.z, reversed byte order: all distinct
            _time.Advance(TimeSpan.FromMilliseconds(1));
        }

        Assert.Equal(CredentialFailureLimits.Default.MaxAddresses, limiter.Count);
        Assert.True(limiter.IsBlocked(blocked, out _));
    }

    [Fact]
    public void Limits_AreSettings_ThresholdWindowAndTableSize()
    {
        var limiter = new CredentialFailureLimiter(_time, new CredentialFailureLimits(3, TimeSpan.FromSeconds(60), 16));
        var client = IPAddress.Parse("198.51.100.9");

        limiter.Failed(client);
        limiter.Failed(client);
        var atTwo = limiter.IsBlocked(client, out _);
        limiter.Failed(client);
        var atThree = limiter.IsBlocked(client, out var retryAfter);
        _time.Advance(TimeSpan.FromSeconds(60));
        var afterWindow = limiter.IsBlocked(client, out _);
        for (var i = 0; i < 40; i++)
        {
            limiter.Failed(new IPAddress(0x0B000000u + (uint)i));
            _time.Advance(TimeSpan.FromMilliseconds(1));
        }

        Assert.False(atTwo);
        Assert.True(atThree);
        Assert.Equal(60, retryAfter);
        Assert.False(afterWindow);
        Assert.Equal(16, limiter.Count);
    }
}
