using Rampart.Core.TlsRpt;
using Rampart.Storage.Tests.Servers;
using Rampart.Storage.TlsRpt;

namespace Rampart.Storage.Tests.TlsRpt;

/// <summary>The fleet's outbox on a real PostgreSQL server: the outbox contract, each test on its own database.</summary>
[Trait("Category", "integration")]
public sealed class PostgresTlsRptOutboxTests(PostgresServerFixture fixture) : TlsRptOutboxContractTests, IClassFixture<PostgresServerFixture>
{
    private string? _database;

    protected override async Task<ITlsRptOutbox> OpenAsync()
    {
        _database ??= await fixture.Server.CreateDatabaseAsync();
        return await PostgresTlsRptOutbox.OpenAsync(fixture.Server.Url(_database), Ct);
    }
}
