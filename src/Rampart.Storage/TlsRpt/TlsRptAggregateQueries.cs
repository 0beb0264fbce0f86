using System.Data.Common;
using Rampart.Core.TlsRpt;

namespace Rampart.Storage.TlsRpt;

/// <summary>
/// How a report store's tables and filters differ from the other store's, for <see cref="TlsRptAggregateQueries"/>.
/// </summary>
/// <param name="Where">The filter on the policy domain and the range's end, over <c>p</c> (policy) and <c>r</c> (report), in the store's parameter syntax.</param>
/// <param name="StartColumn">The report's range start column.</param>
/// <param name="EndColumn">The report's range end column.</param>
/// <param name="FailureJoin">The condition joining <c>f</c> (failure details) to <c>p</c> (its policy).</param>
/// <param name="ReadTime">Reads a time column (<see cref="StartColumn"/>, <see cref="EndColumn"/>) of a result row.</param>
/// <param name="StartDay">The UTC day the range of <c>r</c> starts on, as <c>YYYY-MM-DD</c> text.</param>
/// <param name="PolicyDomains">An aggregate of the distinct <c>p.policy_domain</c> values of a group, joined with commas.</param>
internal sealed record TlsRptSqlDialect(
    string Where, string StartColumn, string EndColumn, string FailureJoin, Func<DbDataReader, int, DateTimeOffset> ReadTime,
    string StartDay, string PolicyDomains);

/// <summary>
/// The aggregates of a summary, the same for both report stores: one query per (policy domain, reporter) for the
/// report counts and range, and one per failure-details key (result type, receiving MX, sending IP) for the failed
/// sessions, filtered alike and read into <see cref="TlsRptAggregates"/>. A store supplies only its
/// <see cref="TlsRptSqlDialect"/> and commands with the filter's two parameters bound.
/// </summary>
internal static class TlsRptAggregateQueries
{
    /// <summary>
    /// The policy domain a summary filters on, as the stores keep it: trimmed, without its final dot, lower case; null
    /// for every domain.
    /// </summary>
    public static string? Domain(TlsRptSummaryQuery query) => query.PolicyDomain?.Trim().TrimEnd('.').ToLowerInvariant();

    /// <summary>
    /// Runs the summary's queries through <paramref name="filtered"/> (a command for the SQL with the domain and since
    /// parameters of the query bound) and reads their rows.
    /// </summary>
    public static async Task<TlsRptAggregates> ReadAsync(TlsRptSqlDialect dialect, Func<string, DbCommand> filtered, CancellationToken cancellationToken)
    {
        var reporters = new List<TlsRptReporterRow>();
        using (var select = filtered($"""
            SELECT p.policy_domain, r.organization, CAST(COUNT(DISTINCT r.id) AS integer), CAST(SUM(p.successful) AS bigint), CAST(SUM(p.failed) AS bigint),
                   MIN(r.{dialect.StartColumn}), MAX(r.{dialect.EndColumn})
            FROM tlsrpt_policy p JOIN tlsrpt_report r ON r.id = p.report
            WHERE {dialect.Where}
            GROUP BY p.policy_domain, r.organization
            """))
        {
            using var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                reporters.Add(new TlsRptReporterRow(
                    reader.GetString(0), reader.GetString(1), reader.GetInt32(2), reader.GetInt64(3), reader.GetInt64(4),
                    dialect.ReadTime(reader, 5), dialect.ReadTime(reader, 6)));
            }
        }
        return new TlsRptAggregates(
            reporters,
            await FailuresAsync(dialect, "result_type", filtered, cancellationToken).ConfigureAwait(false),
            await FailuresAsync(dialect, "receiving_mx_hostname", filtered, cancellationToken).ConfigureAwait(false),
            await FailuresAsync(dialect, "sending_mta_ip", filtered, cancellationToken).ConfigureAwait(false));
    }

    private static async Task<IReadOnlyList<TlsRptFailureRow>> FailuresAsync(
        TlsRptSqlDialect dialect, string column, Func<string, DbCommand> filtered, CancellationToken cancellationToken)
    {
        var rows = new List<TlsRptFailureRow>();
        using var select = filtered($"""
            SELECT p.policy_domain, r.organization, f.{column}, CAST(SUM(f.failed_session_count) AS bigint)
            FROM tlsrpt_failure f
                 JOIN tlsrpt_policy p ON {dialect.FailureJoin}
                 JOIN tlsrpt_report r ON r.id = p.report
            WHERE {dialect.Where} AND f.{column} IS NOT NULL
            GROUP BY p.policy_domain, r.organization, f.{column}
            """);
        using var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add(new TlsRptFailureRow(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3)));
        }
        return rows;
    }
}
