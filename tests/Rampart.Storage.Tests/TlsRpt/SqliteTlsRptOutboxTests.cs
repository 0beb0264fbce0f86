using Rampart.Core.TlsRpt;
using Rampart.Storage.Tests.Support;
using Rampart.Storage.TlsRpt;

namespace Rampart.Storage.Tests.TlsRpt;

/// <summary>The outbox in the state directory (<c>tlsrpt-outbox.sqlite</c>): the outbox contract.</summary>
public sealed class SqliteTlsRptOutboxTests : TlsRptOutboxContractTests, IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    protected override async Task<ITlsRptOutbox> OpenAsync() => await SqliteTlsRptOutbox.OpenAsync(SqliteTlsRptOutbox.PathIn(_dir.Path), Ct);
}
