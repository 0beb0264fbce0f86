using System.Data.Common;
using Rampart.Core.TlsRpt;

namespace Rampart.Storage.TlsRpt;

/// <summary>
/// Reads the known-file index (<c>tlsrpt_file</c>: per file hash and position, the de-duplication key of a report),
/// the same SQL for both stores: a file's reports are found by their key in the report table, with their policies'
/// counts. A file is known only when every report it was remembered with is still there.
/// </summary>
internal static class TlsRptFileIndexQueries
{
    /// <param name="dialect">The store's time columns and reader.</param>
    /// <param name="command">A command for the SQL with the hashes bound; <paramref name="hashes"/> is the condition over <c>f.sha256</c> that selects them.</param>
    /// <param name="hashes">The condition on <c>f.sha256</c>.</param>
    public static async Task<IReadOnlyDictionary<string, IReadOnlyList<TlsRptStoredReport>>> ReadAsync(
        TlsRptSqlDialect dialect, Func<string, DbCommand> command, string hashes, CancellationToken cancellationToken)
    {
        var rows = new List<(string Sha, int Ordinal, string Suffix, TlsRptReport Report, TlsRptDkimResult Dkim, TlsRptPolicyResult? Policy, int Files)>();
        using (var select = command($"""
            SELECT f.sha256, f.ordinal, f.suffix, r.organization, r.report_id, r.{dialect.StartColumn}, r.{dialect.EndColumn}, r.contact_info,
                   r.dkim, r.dkim_domain, r.dkim_detail, r.warnings, p.policy_type, p.policy_domain, p.successful, p.failed,
                   (SELECT CAST(COUNT(*) AS integer) FROM tlsrpt_file g WHERE g.sha256 = f.sha256)
            FROM tlsrpt_file f
                 JOIN tlsrpt_report r ON r.organization = f.organization AND r.report_id = f.report_id
                                      AND r.{dialect.StartColumn} = f.{dialect.StartColumn} AND r.{dialect.EndColumn} = f.{dialect.EndColumn}
                 LEFT JOIN tlsrpt_policy p ON p.report = r.id
            WHERE {hashes}
            ORDER BY f.sha256, f.ordinal, p.ordinal
            """))
        {
            using var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var report = new TlsRptReport(reader.GetString(3), dialect.ReadTime(reader, 5), dialect.ReadTime(reader, 6), Text(reader, 7), reader.GetString(4), [])
                {
                    Warnings = reader.GetString(11).Length == 0 ? [] : reader.GetString(11).Split('\n'),
                };
                var dkim = new TlsRptDkimResult(TlsRptDkimResult.StatusOf(reader.GetString(8)), Text(reader, 9), Text(reader, 10));
                var policy = reader.IsDBNull(12) ? null
                    : new TlsRptPolicyResult(reader.GetString(12), [], reader.GetString(13), [], reader.GetInt64(14), reader.GetInt64(15), []);
                rows.Add((reader.GetString(0), reader.GetInt32(1), reader.GetString(2), report, dkim, policy, reader.GetInt32(16)));
            }
        }
        var known = new Dictionary<string, IReadOnlyList<TlsRptStoredReport>>(StringComparer.Ordinal);
        foreach (var file in rows.GroupBy(r => r.Sha, StringComparer.Ordinal))
        {
            var reports = file.GroupBy(r => r.Ordinal).Select(g =>
            {
                var first = g.First();
                return new TlsRptStoredReport(first.Report with { Policies = g.Select(r => r.Policy).OfType<TlsRptPolicyResult>().ToList() }, first.Suffix, first.Dkim);
            }).ToList();
            if (reports.Count == file.First().Files)
            {
                known[file.Key] = reports;
            }
        }
        return known;
    }

    /// <summary>
    /// Of the files <paramref name="hashes"/> selects, those known (every report they were remembered with still
    /// stored) and how many reports each holds: what an import that lists no report needs, without reading the reports.
    /// </summary>
    public static async Task<IReadOnlyDictionary<string, int>> CountAsync(
        TlsRptSqlDialect dialect, Func<string, DbCommand> command, string hashes, CancellationToken cancellationToken)
    {
        var known = new Dictionary<string, int>(StringComparer.Ordinal);
        using var select = command($"""
            SELECT f.sha256, CAST(COUNT(*) AS integer), CAST(COUNT(r.id) AS integer)
            FROM tlsrpt_file f
                 LEFT JOIN tlsrpt_report r ON r.organization = f.organization AND r.report_id = f.report_id
                                           AND r.{dialect.StartColumn} = f.{dialect.StartColumn} AND r.{dialect.EndColumn} = f.{dialect.EndColumn}
            WHERE {hashes}
            GROUP BY f.sha256
            """);
        using var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (reader.GetInt32(1) == reader.GetInt32(2))
            {
                known[reader.GetString(0)] = reader.GetInt32(1);
            }
        }
        return known;
    }

    /// <summary>A SHA-256 as the index keeps it (64 lower-case hex digits), else an argument error: hashes are written into a JSON list.</summary>
    public static string Checked(string sha256)
    {
        ArgumentNullException.ThrowIfNull(sha256);
        if (sha256.Length != 64 || !sha256.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f'))
        {
            throw new ArgumentException("not a lower-case hex SHA-256: " + sha256, nameof(sha256));
        }
        return sha256;
    }

    private static string? Text(DbDataReader reader, int column) => reader.IsDBNull(column) ? null : reader.GetString(column);
}
