using Microsoft.Extensions.Time.Testing;
using Rampart.Hosting.Listening;

namespace Rampart.Hosting.Tests.Listening;

public sealed class ConnectionLimitTests
{
    [Theory]
    [InlineData(1024, 220, 370)]     // the reported reproduction: prlimit --nofile=1024:1024 under dotnet
    [InlineData(16384, 250, 8035)]   // the systemd units' LimitNOFILE
    [InlineData(65536, 60, 32706)]   // a native build opens few descriptors
    [InlineData(256, 191, 8)]        // less room than that: the floor
    [InlineData(100, 300, 8)]        // already over the limit: still the floor, never zero or negative
    public void Default_HalfOfTheRoomTheLimitLeavesAfterTheReserve(long openFilesLimit, int openNow, int expected)
    {
        Assert.Equal(expected, ConnectionLimit.Default(openFilesLimit, openNow));
    }

    [Theory]
    [InlineData(1024, 220, 740)]
    [InlineData(256, 191, 8)]
    public void Ceiling_AllTheRoomTheReserveKept(long openFilesLimit, int openNow, int expected)
    {
        Assert.Equal(expected, ConnectionLimit.Ceiling(openFilesLimit, openNow));
    }

    [Fact]
    public void Default_UnlimitedOpenFiles_ClampedToAnInt()
    {
        Assert.Equal(int.MaxValue, ConnectionLimit.Default(long.MaxValue, 200));
    }

    [Fact]
    public void Admission_MaxConnectionsAboveTheCeiling_LoweredToIt()
    {
        var admission = new ConnectionAdmission(int.MaxValue, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);

        Assert.Equal(ConnectionLimit.Ceiling(admission.OpenFilesLimit, ConnectionLimit.OpenDescriptors()), admission.Limit, tolerance: 16);
        Assert.True(admission.Limit < int.MaxValue || admission.OpenFilesLimit == long.MaxValue);
    }

    [Fact]
    public void OpenFilesLimit_IsTheSoftLimitOfThisProcess()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "reads RLIMIT_NOFILE and /proc");
        var line = File.ReadLines("/proc/self/limits").Single(l => l.StartsWith("Max open files", StringComparison.Ordinal));
        var soft = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];

        Assert.Equal(soft == "unlimited" ? long.MaxValue : long.Parse(soft, System.Globalization.CultureInfo.InvariantCulture), ConnectionLimit.OpenFilesLimit());
        Assert.InRange(ConnectionLimit.OpenDescriptors(), 3, int.MaxValue);
    }

    [Fact]
    public void AcceptBackoff_DoublesFrom10MsTo1sAndStartsOverAfterASuccess()
    {
        var backoff = new AcceptBackoff();

        var delays = Enumerable.Range(0, 9).Select(_ => (int)backoff.Next().TotalMilliseconds).ToList();
        backoff.Reset();

        Assert.Equal([10, 20, 40, 80, 160, 320, 640, 1000, 1000], delays);
        Assert.Equal(TimeSpan.FromMilliseconds(10), backoff.Next());
    }

    [Fact]
    public void IntervalGate_OneLinePerIntervalCountingTheEventsBetween()
    {
        var time = new FakeTimeProvider();
        var gate = new IntervalGate(time, TimeSpan.FromSeconds(10));

        Assert.True(gate.TryPass(out var first));
        var held = Enumerable.Range(0, 5).Count(_ => gate.TryPass(out long _));
        time.Advance(TimeSpan.FromSeconds(9.9));
        Assert.False(gate.TryPass(out _));
        time.Advance(TimeSpan.FromSeconds(0.1));
        Assert.True(gate.TryPass(out var next));

        Assert.Equal(1, first);
        Assert.Equal(0, held);
        Assert.Equal(7, next); // the 5 held, the one at 9.9 s and this one
    }
}
