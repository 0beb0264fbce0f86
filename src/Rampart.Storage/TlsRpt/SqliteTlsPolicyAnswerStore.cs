using Microsoft.Data.Sqlite;
using Rampart.Core;
using Rampart.Core.TlsRpt;

namespace Rampart.Storage.TlsRpt;

/// <summary>
/// The daemon's record of what it answered per next-hop domain (<see cref="TlsPolicyAnswer"/>): one SQLite file
/// (<c>&lt;stateDir&gt;/tlsrpt-answers.sqlite</c>) beside the session store, so that the log follower and
/// <c>rampart tlsrpt ingest-log</c> (a replay, days later) both find the policy each logged session was held to.
/// </summary>
/// <remarks>
/// One row per domain and decision time (milliseconds); the writer records an answer only when it differs from the
/// domain's last one, so the file grows with changes of policy, not with lookups. Lists are JSON arrays, as in
/// <see cref="SqliteTlsSessionStore"/>. Per host: each MTA of a fleet joins its own log with its own daemon's answers,
/// and only the counts go to the shared session store.
/// </remarks>
public sealed class SqliteTlsPolicyAnswerStore : ITlsPolicyAnswerStore
{
    /// <summary>The file name inside the state directory.</summary>
    public const string FileName = "tlsrpt-answers.sqlite";

    internal const int SchemaVersion = 1;

    /// <summary>
    /// How far past a session's time an answer is still taken as in force: a log line's time has whole seconds, the
    /// decision's milliseconds, and the decision comes first.
    /// </summary>
    public static readonly TimeSpan Slack = TimeSpan.FromSeconds(1);

    private readonly SerializedConnection _db;

    private SqliteTlsPolicyAnswerStore(string path, SqliteConnection connection)
    {
        Location = path;
        _db = new SerializedConnection(connection, typeof(SqliteTlsPolicyAnswerStore).FullName!);
    }

    /// <summary>The database file (full path).</summary>
    public string Location { get; }

    /// <summary>The path of the record in <paramref name="stateDirectory"/>.</summary>
    public static string PathIn(string stateDirectory) => Path.Combine(stateDirectory, FileName);

    /// <summary>Opens (creating when missing) the record at <paramref name="path"/>.</summary>
    /// <exception cref="RampartException">The file cannot be used; the message is one line naming the file and what to do.</exception>
    public static async Task<SqliteTlsPolicyAnswerStore> OpenAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var (fullPath, connection) = await StateFiles.OpenDatabaseAsync(path, "TLS-RPT policy answers", 30,
            "move it aside or choose another state directory", InitializeAsync, Advice, cancellationToken).ConfigureAwait(false);
        return new SqliteTlsPolicyAnswerStore(fullPath, connection);
    }

    /// <inheritdoc/>
    public Task RecordAsync(IReadOnlyList<TlsPolicyAnswer> answers, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(answers);
        return UseAsync("cannot record answers", async () =>
        {
            using var transaction = _db.Connection.BeginTransaction();
            using var insert = _db.Command("""
                INSERT INTO tlsrpt_policy_answer (domain, decided_ms, policy_type, policy_domain, policy_string, mx_host, policy_failure)
                VALUES ($domain, $at, $type, $policyDomain, $strings, $mx, $failure)
                ON CONFLICT (domain, decided_ms) DO UPDATE SET policy_type = excluded.policy_type, policy_domain = excluded.policy_domain,
                    policy_string = excluded.policy_string, mx_host = excluded.mx_host, policy_failure = excluded.policy_failure
                """, transaction);
            var domain = insert.Parameters.Add("$domain", SqliteType.Text);
            var at = insert.Parameters.Add("$at", SqliteType.Integer);
            var type = insert.Parameters.Add("$type", SqliteType.Text);
            var policyDomain = insert.Parameters.Add("$policyDomain", SqliteType.Text);
            var strings = insert.Parameters.Add("$strings", SqliteType.Text);
            var mx = insert.Parameters.Add("$mx", SqliteType.Text);
            var failure = insert.Parameters.Add("$failure", SqliteType.Text);
            foreach (var answer in answers)
            {
                domain.Value = answer.Domain;
                at.Value = answer.At.ToUnixTimeMilliseconds();
                type.Value = answer.Policy.PolicyType;
                policyDomain.Value = (object?)answer.Policy.PolicyDomain ?? DBNull.Value;
                strings.Value = TlsSessionKeys.JsonList(answer.Policy.PolicyStrings);
                mx.Value = TlsSessionKeys.JsonList(answer.Policy.MxHostPatterns);
                failure.Value = (object?)answer.PolicyFailure ?? DBNull.Value;
                await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return 0;
        }, cancellationToken);
    }

    /// <inheritdoc/>
    public Task<TlsPolicyAnswer?> FindAsync(string domain, DateTimeOffset at, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(domain);
        return UseAsync("cannot read answers", async () =>
        {
            using var find = _db.Command("""
                SELECT decided_ms, policy_type, policy_domain, policy_string, mx_host, policy_failure FROM tlsrpt_policy_answer
                WHERE domain = $domain AND decided_ms <= $at ORDER BY decided_ms DESC LIMIT 1
                """);
            find.Parameters.AddWithValue("$domain", domain);
            find.Parameters.AddWithValue("$at", (at + Slack).ToUnixTimeMilliseconds());
            using var reader = await find.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return null;
            }
            return new TlsPolicyAnswer(domain, DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(0)),
                new TlsSessionPolicy(reader.GetString(1), TlsSessionKeys.Text(reader, 2),
                    TlsSessionKeys.ReadJsonList(reader.GetString(3)), TlsSessionKeys.ReadJsonList(reader.GetString(4))),
                TlsSessionKeys.Text(reader, 5));
        }, cancellationToken);
    }

    /// <inheritdoc/>
    public Task<int> PurgeBeforeAsync(DateTimeOffset before, CancellationToken cancellationToken) =>
        UseAsync("cannot purge old answers", async () =>
        {
            using var purge = _db.Command("""
                DELETE FROM tlsrpt_policy_answer WHERE decided_ms < $before
                  AND EXISTS (SELECT 1 FROM tlsrpt_policy_answer b WHERE b.domain = tlsrpt_policy_answer.domain
                              AND b.decided_ms > tlsrpt_policy_answer.decided_ms AND b.decided_ms <= $before)
                """);
            purge.Parameters.AddWithValue("$before", before.ToUnixTimeMilliseconds());
            return await purge.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    public ValueTask DisposeAsync() => _db.DisposeAsync();

    private Task<T> UseAsync<T>(string what, Func<Task<T>> body, CancellationToken cancellationToken) =>
        _db.UseAsync(body, ex => StateFiles.Fault("TLS-RPT policy answers", Location, what, ex, Advice(ex, Location)), cancellationToken);

    private static Task InitializeAsync(SqliteConnection connection, string path, CancellationToken cancellationToken) =>
        StateFiles.CreateSchemaAsync(connection, "TLS-RPT policy answers", path, "tlsrpt_answer_schema_version", SchemaVersion, [], """
            CREATE TABLE IF NOT EXISTS tlsrpt_policy_answer (
                domain         TEXT    NOT NULL,
                decided_ms     INTEGER NOT NULL,
                policy_type    TEXT    NOT NULL,
                policy_domain  TEXT,
                policy_string  TEXT    NOT NULL,
                mx_host        TEXT    NOT NULL,
                policy_failure TEXT,
                PRIMARY KEY (domain, decided_ms)
            ) WITHOUT ROWID;
            """, cancellationToken);

    private static string Advice(SqliteException ex, string path) =>
        StateFiles.Advice(ex, path, "move it aside (sessions logged so far lose their policy)", "try again when it is done");
}
