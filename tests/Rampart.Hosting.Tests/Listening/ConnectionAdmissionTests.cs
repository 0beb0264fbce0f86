using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Rampart.Hosting.Listening;

namespace Rampart.Hosting.Tests.Listening;

/// <summary>Memory goes back after a burst of connections closes: one collection, after a delay, at most once per interval.</summary>
public sealed class ConnectionAdmissionTests
{
    private static ConnectionAdmission Create(FakeTimeProvider time) => new(10_000, time, NullLogger.Instance);

    private static void Burst(ConnectionAdmission admission, int connections)
    {
        for (var i = 0; i < connections; i++)
        {
            Assert.True(admission.TryAdmit());
        }
        for (var i = 0; i < connections; i++)
        {
            admission.Release();
        }
    }

    [Fact]
    public void BurstClosed_OneCollectionAfterTheDelay_ASecondBurstWaitsForTheInterval()
    {
        var time = new FakeTimeProvider();
        var admission = Create(time);

        Burst(admission, ConnectionAdmission.CollectAfterClosed + 10);
        Assert.Equal(0, admission.Collections);
        time.Advance(ConnectionAdmission.CollectDelay);
        Assert.Equal(1, admission.Collections);

        Burst(admission, ConnectionAdmission.CollectAfterClosed + 10);
        time.Advance(ConnectionAdmission.CollectDelay);
        Assert.Equal(1, admission.Collections);
        time.Advance(ConnectionAdmission.CollectInterval);
        Assert.Equal(2, admission.Collections);
    }

    [Fact]
    public void SteadyTraffic_ConnectionsComingAndGoing_NeverCollects()
    {
        var time = new FakeTimeProvider();
        var admission = Create(time);

        for (var round = 0; round < 1_000; round++)
        {
            Burst(admission, ConnectionAdmission.CollectAfterClosed - 1); // many connections, never that many closing together
            time.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.Equal(0, admission.Collections);
        Assert.Equal(0, admission.Open);
    }
}
