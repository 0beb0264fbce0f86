using System.Net;
using Microsoft.AspNetCore.Builder;
using Rampart.Postfix.Tests.Support;

namespace Rampart.Postfix.Tests.Servers;

/// <summary>A started in-process Kestrel host on one endpoint, with its logs; disposing stops it and removes its Unix socket.</summary>
internal abstract class InProcessServer(WebApplication app, ListLoggerProvider logs, EndPoint endpoint, string? unixPath) : IAsyncDisposable
{
    public EndPoint EndPoint { get; } = endpoint;

    public string? UnixPath { get; } = unixPath;

    public IReadOnlyCollection<LogEntry> Logs => logs.Entries;

    public IEnumerable<LogEntry> LogsWithEventId(int id) => logs.Entries.Where(e => e.EventId.Id == id);

    public Task StopAsync() => app.StopAsync(TestContext.Current.CancellationToken);

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync(CancellationToken.None);
        await app.DisposeAsync();
        if (UnixPath is not null)
        {
            File.Delete(UnixPath);
        }
    }
}
