using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Rampart.Core;
using Rampart.Storage.Tests.Servers;
using Rampart.Storage.TlsRpt;

namespace Rampart.Storage.Tests.TlsRpt;

/// <summary>No server, or one that never answers: a one-line <see cref="RampartException"/> naming the server (never the password) within seconds.</summary>
public sealed class PostgresTlsReportStoreFaultTests
{
    private const string Secret = "hunter2-Secret";
    private static readonly TimeSpan s_generous = TimeSpan.FromSeconds(30);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Open_NothingListening_OneLineTransientErrorNamingTheServer()
    {
        int port = ServerProcess.FreeLoopbackPort();

        var ex = await Assert.ThrowsAsync<PostgresStoreException>(() =>
            PostgresTlsReportStore.OpenAsync($"postgres://rampart:{Secret}@127.0.0.1:{port}/tlsrpt", TimeProvider.System, Ct).WaitAsync(s_generous, Ct));

        Assert.DoesNotContain('\n', ex.Message);
        Assert.StartsWith($"TLS-RPT store postgres://rampart@127.0.0.1:{port}/tlsrpt cannot be used: ", ex.Message, StringComparison.Ordinal);
        Assert.Contains("refused", ex.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("check that PostgreSQL runs there", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, ex.Message, StringComparison.Ordinal);
        Assert.True(ex.IsTransient);
    }

    [Fact]
    public async Task Open_ServerNeverAnswers_ErrorWithinTheConnectTimeout()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0); // the kernel completes the handshake; nobody ever reads or answers
        silent.Start();
        int port = ((IPEndPoint)silent.LocalEndpoint).Port;
        var clock = Stopwatch.StartNew();

        var ex = await Assert.ThrowsAsync<PostgresStoreException>(() =>
            PostgresTlsReportStore.OpenAsync($"postgres://rampart:{Secret}@127.0.0.1:{port}/tlsrpt?connect_timeout=2", TimeProvider.System, Ct).WaitAsync(s_generous, Ct));

        Assert.True(clock.Elapsed < s_generous, clock.Elapsed.ToString());
        Assert.DoesNotContain('\n', ex.Message);
        Assert.Contains($"127.0.0.1:{port}", ex.Message, StringComparison.Ordinal);
        Assert.Contains("in time", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, ex.Message, StringComparison.Ordinal);
        Assert.True(ex.IsTransient);
    }

    [Fact]
    public async Task Open_NoSocketInTheDirectory_OneLineError()
    {
        var dir = Directory.CreateTempSubdirectory("rampart-nopg").FullName;
        try
        {
            var ex = await Assert.ThrowsAsync<PostgresStoreException>(() =>
                PostgresTlsReportStore.OpenAsync($"postgres://rampart@{Uri.EscapeDataString(dir)}/tlsrpt", TimeProvider.System, Ct).WaitAsync(s_generous, Ct));

            Assert.DoesNotContain('\n', ex.Message);
            Assert.Contains(dir, ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Open_BadUrl_OneLineErrorWithoutThePassword()
    {
        var ex = await Assert.ThrowsAsync<RampartException>(() =>
            PostgresTlsReportStore.OpenAsync($"postgres://rampart:{Secret}@db.example:99999/tlsrpt", TimeProvider.System, Ct));

        Assert.Equal("PostgreSQL store URL 'postgres://rampart:***@db.example:99999/tlsrpt' is not usable: port '99999' must be a number from 1 to 65535", ex.Message);
    }
}
