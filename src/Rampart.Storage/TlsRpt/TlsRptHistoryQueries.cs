using System.Data.Common;
using System.Globalization;
using Rampart.Core.TlsRpt;

namespace Rampart.Storage.TlsRpt;

/// <summary>
/// The dashboard's reads (<see cref="ITlsReportHistory"/>), the same SQL for both report stores through their
/// <see cref="TlsRptSqlDialect"/>: sessions per day, failures per day and result type, the list of reports and one
/// report whole. Commands come from the store with the filter's two parameters bound, as for
/// <see cref="TlsRptAggregateQueries"/>; a report key is a number written into the SQL, never text.
/// </summary>
internal static class TlsRptHistoryQueries
{
    /// <summary>
    /// The per-day series from the per-day tables (see <see cref="TlsRptAggregateQueries"/>), plus, with Since, the
    /// reports ending on the day of Since from the report tables; <paramref name="filtered"/> binds the parameters of a summary.
    /// </summary>
    public static Task<TlsRptDaily> DailyAsync(TlsRptSqlDialect dialect, Func<string, DbCommand> filtered, bool since, CancellationToken cancellationToken) =>
        ReadDailyAsync(filtered(TlsRptAggregateQueries.Summed(since, "policy_domain, day",
            "CAST(SUM(reports) AS integer), CAST(SUM(successful) AS bigint), CAST(SUM(failed) AS bigint)",
            $"SELECT a.policy_domain, a.start_day AS day, a.reports, a.successful, a.failed FROM tlsrpt_day a WHERE {dialect.DayWhere}",
            $"""
            SELECT p.policy_domain, {dialect.StartDay}, COUNT(DISTINCT r.id), SUM(p.successful), SUM(p.failed)
            FROM tlsrpt_policy p JOIN tlsrpt_report r ON r.id = p.report
            WHERE {dialect.SinceDayWhere}
            GROUP BY p.policy_domain, {dialect.StartDay}
            """, "ORDER BY 2, 1")), filtered(TlsRptAggregateQueries.Summed(since, "policy_domain, day, item", "CAST(SUM(sessions) AS bigint)",
            $"SELECT a.policy_domain, a.start_day AS day, a.item, a.sessions FROM tlsrpt_day_failure a WHERE a.dimension = 0 AND {dialect.DayWhere}",
            $"""
            SELECT p.policy_domain, {dialect.StartDay}, f.result_type, SUM(f.failed_session_count)
            FROM tlsrpt_failure f
                 JOIN tlsrpt_policy p ON {dialect.FailureJoin}
                 JOIN tlsrpt_report r ON r.id = p.report
            WHERE {dialect.SinceDayWhere}
            GROUP BY p.policy_domain, {dialect.StartDay}, f.result_type
            """, "ORDER BY 2, 1, 3")), cancellationToken);

    /// <summary>The same series computed from every stored report and failure detail, with the two-parameter filter of <see cref="TlsRptSqlDialect.Where"/>.</summary>
    public static Task<TlsRptDaily> ScanDailyAsync(TlsRptSqlDialect dialect, Func<string, DbCommand> filtered, CancellationToken cancellationToken) =>
        ReadDailyAsync(filtered($"""
            SELECT p.policy_domain, {dialect.StartDay}, CAST(COUNT(DISTINCT r.id) AS integer), CAST(SUM(p.successful) AS bigint), CAST(SUM(p.failed) AS bigint)
            FROM tlsrpt_policy p JOIN tlsrpt_report r ON r.id = p.report
            WHERE {dialect.Where}
            GROUP BY p.policy_domain, {dialect.StartDay}
            ORDER BY 2, 1
            """), filtered($"""
            SELECT p.policy_domain, {dialect.StartDay}, f.result_type, CAST(SUM(f.failed_session_count) AS bigint)
            FROM tlsrpt_failure f
                 JOIN tlsrpt_policy p ON {dialect.FailureJoin}
                 JOIN tlsrpt_report r ON r.id = p.report
            WHERE {dialect.Where}
            GROUP BY p.policy_domain, {dialect.StartDay}, f.result_type
            ORDER BY 2, 1, 3
            """), cancellationToken);

    private static async Task<TlsRptDaily> ReadDailyAsync(DbCommand dayCommand, DbCommand typeCommand, CancellationToken cancellationToken)
    {
        var days = new List<TlsRptDayRow>();
        using (var select = dayCommand)
        {
            using var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                days.Add(new TlsRptDayRow(reader.GetString(0), Day(reader.GetString(1)), reader.GetInt32(2), reader.GetInt64(3), reader.GetInt64(4)));
            }
        }
        var types = new List<TlsRptDayFailureRow>();
        using (var select = typeCommand)
        {
            using var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                types.Add(new TlsRptDayFailureRow(reader.GetString(0), Day(reader.GetString(1)), reader.GetString(2), reader.GetInt64(3)));
            }
        }
        return new TlsRptDaily(days, types);
    }

    public static async Task<IReadOnlyList<TlsRptReportListing>> ListAsync(TlsRptSqlDialect dialect, Func<string, DbCommand> filtered, int limit,
        CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        var reports = new List<TlsRptReportListing>();
        using var select = filtered($"""
            SELECT r.id, r.organization, r.report_id, r.{dialect.StartColumn}, r.{dialect.EndColumn}, r.dkim,
                   {dialect.PolicyDomains}, CAST(SUM(p.successful) AS bigint), CAST(SUM(p.failed) AS bigint)
            FROM tlsrpt_policy p JOIN tlsrpt_report r ON r.id = p.report
            WHERE {dialect.Where}
            GROUP BY r.id, r.organization, r.report_id, r.{dialect.StartColumn}, r.{dialect.EndColumn}, r.dkim
            ORDER BY r.{dialect.StartColumn} DESC, r.id DESC
            LIMIT {limit.ToString(CultureInfo.InvariantCulture)}
            """);
        using var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            reports.Add(new TlsRptReportListing(
                reader.GetInt64(0), reader.GetString(1), reader.GetString(2), dialect.ReadTime(reader, 3), dialect.ReadTime(reader, 4),
                reader.GetString(6).Split(',').Order(StringComparer.Ordinal).ToList(), reader.GetInt64(7), reader.GetInt64(8), reader.GetString(5)));
        }
        return reports;
    }

    /// <summary>The report under <paramref name="key"/>; its policies' failure-details rows only with <paramref name="failureDetails"/>.</summary>
    public static async Task<TlsRptStoredReport?> ReadAsync(TlsRptSqlDialect dialect, Func<string, DbCommand> filtered, long key, bool failureDetails, CancellationToken cancellationToken)
    {
        var id = key.ToString(CultureInfo.InvariantCulture);
        var failures = new List<(int Policy, TlsRptFailureDetail Detail)>();
        if (failureDetails)
        {
            using (var select = filtered($"""
                SELECT p.ordinal, f.result_type, f.sending_mta_ip, f.receiving_mx_hostname, f.receiving_mx_helo, f.receiving_ip,
                       f.failed_session_count, f.additional_information, f.failure_reason_code
                FROM tlsrpt_failure f
                     JOIN tlsrpt_policy p ON {dialect.FailureJoin}
                     JOIN tlsrpt_report r ON r.id = p.report
                WHERE {dialect.Where} AND r.id = {id}
                """))
            {
                using var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    failures.Add((reader.GetInt32(0), new TlsRptFailureDetail(
                        reader.GetString(1), Text(reader, 2), Text(reader, 3), Text(reader, 4), Text(reader, 5), reader.GetInt64(6), Text(reader, 7), Text(reader, 8))));
                }
            }
        }
        var byPolicy = failures.ToLookup(f => f.Policy, f => f.Detail);
        var policies = new List<TlsRptPolicyResult>();
        using (var select = filtered($"""
            SELECT p.ordinal, p.policy_type, p.policy_domain, p.policy_string, p.mx_host, p.successful, p.failed
            FROM tlsrpt_policy p JOIN tlsrpt_report r ON r.id = p.report
            WHERE {dialect.Where} AND r.id = {id}
            ORDER BY p.ordinal
            """))
        {
            using var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var ordinal = reader.GetInt32(0);
                policies.Add(new TlsRptPolicyResult(
                    reader.GetString(1), Lines(reader.GetString(3)), reader.GetString(2), Lines(reader.GetString(4)), reader.GetInt64(5), reader.GetInt64(6),
                    byPolicy[ordinal].ToList()));
            }
        }
        using (var select = filtered($"""
            SELECT r.organization, r.report_id, r.{dialect.StartColumn}, r.{dialect.EndColumn}, r.contact_info, r.source, r.dkim, r.dkim_domain,
                   r.dkim_detail, r.warnings
            FROM tlsrpt_report r
            WHERE r.id = {id} AND EXISTS (SELECT 1 FROM tlsrpt_policy p WHERE p.report = r.id AND {dialect.Where})
            """))
        {
            using var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return null;
            }
            var report = new TlsRptReport(reader.GetString(0), dialect.ReadTime(reader, 2), dialect.ReadTime(reader, 3), Text(reader, 4), reader.GetString(1), policies)
            {
                Warnings = Lines(reader.GetString(9)),
            };
            return new TlsRptStoredReport(report, reader.GetString(5),
                new TlsRptDkimResult(TlsRptDkimResult.StatusOf(reader.GetString(6)), Text(reader, 7), Text(reader, 8)));
        }
    }

    private static DateOnly Day(string text) => DateOnly.ParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static string? Text(DbDataReader reader, int column) => reader.IsDBNull(column) ? null : reader.GetString(column);

    /// <summary>A list the stores keep joined with newlines (none of its entries can hold one); empty text is no entry.</summary>
    private static List<string> Lines(string text) => text.Length == 0 ? [] : [.. text.Split('\n')];
}
