using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net.Sockets;
using System.Security.Authentication;
using Npgsql;
using Rampart.Core;

namespace Rampart.Storage.TlsRpt;

/// <summary>
/// What the PostgreSQL stores (the report store, the session store, the outbox) share: the connection pool they open,
/// their schema check under an advisory lock, and the one-line messages a fault becomes.
/// </summary>
internal static class PostgresStoreFaults
{
    /// <summary>A pool for <paramref name="address"/>; an unusable URL becomes one line naming <paramref name="subject"/>.</summary>
    /// <exception cref="PostgresStoreException">The connection string is refused.</exception>
    public static NpgsqlDataSource CreateDataSource(PostgresStoreAddress address, string subject)
    {
        try
        {
            // The slim builder brings only what is named here: basic types, arrays, TLS (sslmode=) and GSS, without the
            // reflection-based JSON, ranges and records the stores never use.
            return new NpgsqlSlimDataSourceBuilder(address.ConnectionString)
                .EnableArrays().EnableTransportSecurity().EnableIntegratedSecurity().Build();
        }
        catch (ArgumentException ex)
        {
            throw new PostgresStoreException($"{subject} {address.Location} cannot be used: {StateFiles.OneLine(ex.Message)}; fix the URL", ex);
        }
    }

    /// <summary>
    /// In one transaction holding the advisory lock <paramref name="schemaLock"/> (stores opening together do not race):
    /// refuses a schema newer than <paramref name="version"/>, runs <paramref name="create"/> (idempotent DDL) and
    /// records the version in <paramref name="versionTable"/>.
    /// </summary>
    public static async Task CreateSchemaAsync(NpgsqlDataSource dataSource, PostgresStoreAddress address, string subject, long schemaLock,
        string versionTable, int version, string create, CancellationToken cancellationToken)
    {
        try
        {
            var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                await using (transaction.ConfigureAwait(false))
                {
                    using (var lockSchema = new NpgsqlCommand($"""
                        SELECT pg_advisory_xact_lock({schemaLock.ToString(CultureInfo.InvariantCulture)});
                        CREATE TABLE IF NOT EXISTS {versionTable} (version integer NOT NULL)
                        """, connection, transaction))
                    {
                        await lockSchema.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                    }
                    using (var stored = new NpgsqlCommand($"SELECT max(version) FROM {versionTable}", connection, transaction))
                    {
                        if (await stored.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is int v && v > version)
                        {
                            throw new PostgresStoreException(
                                $"{subject} {address.Location} has schema version {v.ToString(CultureInfo.InvariantCulture)}, newer than this " +
                                $"Rampart's {version.ToString(CultureInfo.InvariantCulture)}; run the newer Rampart");
                        }
                    }
                    using (var command = new NpgsqlCommand($"""
                        {create};
                        INSERT INTO {versionTable} (version) SELECT {version.ToString(CultureInfo.InvariantCulture)} WHERE NOT EXISTS (SELECT 1 FROM {versionTable})
                        """, connection, transaction))
                    {
                        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                    }
                    await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (Exception ex) when (IsFault(ex, cancellationToken))
        {
            throw Fault(address, subject, "cannot be used", ex);
        }
    }

    /// <summary>
    /// Runs <paramref name="body"/> on a pooled connection of <paramref name="dataSource"/>; a server or connection fault
    /// becomes one line: <paramref name="subject"/>, the server, <paramref name="what"/> failed, why and what to do.
    /// </summary>
    public static async Task<T> UseAsync<T>(NpgsqlDataSource dataSource, PostgresStoreAddress address, string subject, string what,
        Func<NpgsqlConnection, Task<T>> body, CancellationToken cancellationToken)
    {
        try
        {
            var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                return await body(connection).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (IsFault(ex, cancellationToken))
        {
            throw Fault(address, subject, what, ex);
        }
    }

    /// <summary>A fault of the server or the connection (not a bug, not the caller's cancellation).</summary>
    public static bool IsFault(Exception ex, CancellationToken cancellationToken) =>
        ex is NpgsqlException or TimeoutException
        || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested);

    /// <summary>One line: <paramref name="subject"/>, the server, what failed, why (password removed) and what to do.</summary>
    public static PostgresStoreException Fault(PostgresStoreAddress address, string subject, string what, Exception ex)
    {
        var (detail, advice, transient) = Explain(ex);
        var message = $"{subject} {address.Location} {what}: {detail}; {advice}";
        if (address.Password is { } password)
        {
            message = message.Replace(password, "***", StringComparison.Ordinal);
        }
        return new PostgresStoreException(StateFiles.OneLine(message), ex, transient);
    }

    private static (string Detail, string Advice, bool Transient) Explain(Exception ex)
    {
        if (ex is PostgresException pg)
        {
            var detail = $"{pg.MessageText} (SQLSTATE {pg.SqlState})";
            return pg.SqlState switch
            {
                "28P01" or "28000" => (detail, "check the user name and password (in the URL, PGPASSWORD or ~/.pgpass) and the server's pg_hba.conf", false),
                "3D000" => (detail, "create the database (createdb -O USER DATABASE) or name an existing one", false),
                "42501" => (detail, "let the user create tables in the database (GRANT CREATE ON SCHEMA public TO USER) or have its owner run the first import", false),
                "53300" or "53400" => (detail, "the server has no free connection; try again later or raise max_connections", true),
                "57P01" or "57P02" or "57P03" or "08006" or "08003" or "08001" => (detail, "the server is shutting down or starting up; try again", true),
                "53100" => (detail, "the server's disk is full; free space on it", true),
                "40001" or "40P01" => (detail, "a conflicting transaction; try again", true),
                _ => (detail, "see the server's log", pg.IsTransient),
            };
        }
        var chain = new List<string>();
        for (var e = ex; e is not null; e = e.InnerException)
        {
            var line = StateFiles.OneLine(e.Message);
            if (line.Length > 0 && !chain.Any(c => c.Contains(line, StringComparison.Ordinal)))
            {
                chain.Add(line);
            }
        }
        var text = string.Join(": ", chain);
        var root = ex.GetBaseException();
        if (root is TimeoutException || ex is OperationCanceledException)
        {
            return (text, "no answer in time; check that the server runs and the network lets its port through", true);
        }
        if (root is SocketException or IOException || ex is NpgsqlException { InnerException: SocketException or IOException })
        {
            return (text, "check that PostgreSQL runs there and accepts connections (listen_addresses, port, firewall)", true);
        }
        if (root is AuthenticationException)
        {
            return (text, "the TLS handshake failed; check sslmode and sslrootcert", false);
        }
        return (text, "check the URL and the server", ex is NpgsqlException { IsTransient: true });
    }

    /// <summary>PostgreSQL text cannot hold U+0000; Rampart's data never means it, so it is stored as U+FFFD.</summary>
    [return: NotNullIfNotNull(nameof(value))]
    public static string? Text(string? value) =>
        value is null || !value.Contains('\0', StringComparison.Ordinal) ? value : value.Replace('\0', '\uFFFD');
}
