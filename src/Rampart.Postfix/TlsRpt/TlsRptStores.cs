using Rampart.Core.TlsRpt;
using Rampart.Storage.TlsRpt;

namespace Rampart.Postfix.TlsRpt;

/// <summary>
/// <c>tlsrpt_reporting.store</c> and <c>tlsrpt_reporting.host</c>: a fleet's shared PostgreSQL database for the session
/// counts and the outbox, and the name this MTA adds to it as.
/// </summary>
/// <param name="Url">The <c>postgres://</c> URL (it may hold a password: never print it, use <see cref="PostgresStoreAddress.Redact"/>).</param>
/// <param name="Host">This MTA's name in the fleet (record keys and log cursors are kept per host).</param>
internal sealed record TlsRptSharedStore(string Url, string Host)
{
    /// <summary>The host name when <c>host</c> is not set: the machine's (gethostname).</summary>
    public static string DefaultHost() => System.Net.Dns.GetHostName();
}

/// <summary>
/// Opens where our sessions are counted and our reports queued: SQLite files in the state directory, or a fleet's
/// PostgreSQL database (<see cref="TlsRptSharedStore"/>). The daemon, <c>ingest-log</c>, <c>report</c>, <c>send</c> and
/// <c>suppressed</c> all open them here, so they agree.
/// </summary>
internal static class TlsRptStores
{
    /// <summary>The session store.</summary>
    /// <exception cref="Rampart.Core.RampartException">It cannot be opened; one line naming it and what to do.</exception>
    public static async Task<ITlsSessionStore> OpenSessionsAsync(TlsRptSharedStore? shared, string stateDirectory, TimeProvider time, CancellationToken cancellationToken) =>
        shared is { } s
            ? await PostgresTlsSessionStore.OpenAsync(s.Url, s.Host, time, cancellationToken).ConfigureAwait(false)
            : await SqliteTlsSessionStore.OpenAsync(SqliteTlsSessionStore.PathIn(stateDirectory), time, cancellationToken).ConfigureAwait(false);

    /// <summary>The outbox.</summary>
    /// <exception cref="Rampart.Core.RampartException">It cannot be opened; one line naming it and what to do.</exception>
    public static async Task<ITlsRptOutbox> OpenOutboxAsync(TlsRptSharedStore? shared, string stateDirectory, CancellationToken cancellationToken) =>
        shared is { } s
            ? await PostgresTlsRptOutbox.OpenAsync(s.Url, cancellationToken).ConfigureAwait(false)
            : await SqliteTlsRptOutbox.OpenAsync(SqliteTlsRptOutbox.PathIn(stateDirectory), cancellationToken).ConfigureAwait(false);
}
