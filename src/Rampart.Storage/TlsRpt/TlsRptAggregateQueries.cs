using System.Data.Common;
using System.Globalization;
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
/// <param name="EndDay">The UTC day the range of <c>r</c> ends on, as <c>YYYY-MM-DD</c> text.</param>
/// <param name="DayWhere">
/// The filter of a summary over <c>a</c>, a row of the per-day tables: the policy domain, and the range ending on a
/// day after the day of Since (those reports all end after Since).
/// </param>
/// <param name="SinceDayWhere">
/// The rest of a summary with Since, over <c>p</c> and <c>r</c>: reports ending on the day of Since, at or after it
/// (false without Since). With <paramref name="DayWhere"/> it covers <paramref name="Where"/>, each report once.
/// </param>
/// <param name="Least">The function of two values that gives the smaller (SQLite's two-argument min).</param>
/// <param name="Greatest">The function of two values that gives the larger.</param>
/// <param name="DomainWhere">The filter on the policy domain alone, over <c>a</c> (a row of the per-domain item tables).</param>
/// <param name="DomainParameter">The policy domain's parameter (the first a command has bound), for a query run once per domain with it set.</param>
/// <param name="Bytewise">What follows a text column in ORDER BY to sort it by its UTF-8 bytes, as SQLite does (PostgreSQL: COLLATE "C").</param>
internal sealed partial record TlsRptSqlDialect(
    string Where, string StartColumn, string EndColumn, string FailureJoin, Func<DbDataReader, int, DateTimeOffset> ReadTime,
    string StartDay, string PolicyDomains, string EndDay, string DayWhere, string SinceDayWhere, string Least, string Greatest,
    string DomainWhere, string DomainParameter, string Bytewise)
{
    /// <summary>
    /// The dialect for <paramref name="query"/>: when it names a domain, the filters compare the domain without the
    /// "parameter IS NULL OR" that keeps SQLite and PostgreSQL from using the domain's index (bound parameters are not
    /// known when the plan is made), so a domain's reports are found through the index instead of by a scan of all.
    /// </summary>
    public TlsRptSqlDialect For(TlsRptSummaryQuery query) =>
        TlsRptAggregateQueries.Domain(query) is null ? this
            : this with { Where = Narrow(Where), DayWhere = Narrow(DayWhere), SinceDayWhere = Narrow(SinceDayWhere), DomainWhere = Narrow(DomainWhere) };

    private static string Narrow(string filter) => AnyDomain().Replace(filter, "$1");

    [System.Text.RegularExpressions.GeneratedRegex(@"\(\$\w+(?:::text)? IS NULL OR (\w\.policy_domain = \$\w+)\)")]
    private static partial System.Text.RegularExpressions.Regex AnyDomain();
}

/// <summary>
/// The aggregates of a summary, the same for both report stores, read from the per-day tables the stores keep at
/// import (<c>tlsrpt_day</c>: reports, sessions and range per policy domain, reporter, start day and end day;
/// <c>tlsrpt_day_failure</c>: failed sessions per the same and result type), so a summary reads a row per
/// domain, reporter and day instead of every failure detail. A summary with Since adds the reports ending on the day of
/// Since, read from the report tables (a day's worth). A store supplies its <see cref="TlsRptSqlDialect"/> and commands
/// with the filter's parameters bound.
/// </summary>
/// <remarks>
/// <para>
/// Receiving MX hosts and sending IPs can be as many as the failure details (a large receiver's senders), so a summary
/// lists each domain's top N and counts the rest (<see cref="TlsRptAggregates.MxHostsNotListed"/>). Without Since they
/// come from two more tables kept at import: <c>tlsrpt_item</c> (failed sessions per dimension, policy domain and item,
/// over all time, with an index in the order of the top N) and <c>tlsrpt_item_domain</c> (per dimension and domain:
/// how many items, how many sessions), so the top N is an index range of N rows per domain. With Since they are ranked
/// from the failure details of the period's reports (slower on a store with many distinct senders; per-day rows of
/// MX hosts and IPs would be about as many as the failure details, which name one each, so none are kept).
/// </para>
/// <para>
/// <see cref="ScanAsync"/> computes the same from the report tables alone (every failure detail): the definition the
/// per-day tables must agree with, kept for the tests that check they do.
/// </para>
/// </remarks>
internal static class TlsRptAggregateQueries
{
    /// <summary>
    /// The failure-details keys by <c>dimension</c> number: the per-day failure table keeps result types (0), the item
    /// tables MX hosts (1) and sending IPs (2).
    /// </summary>
    private static readonly string[] Dimensions = ["result_type", "receiving_mx_hostname", "sending_mta_ip"];

    /// <summary>The dimensions a summary lists the top N of (MX hosts, sending IPs), kept in the per-domain item tables too.</summary>
    private static readonly int[] ListedDimensions = [1, 2];

    /// <summary>
    /// The statements that add the reports <paramref name="reports"/> selects (a condition over <c>r</c>, the report
    /// table) to the per-day tables, in the order to run them in the transaction that stored those reports. The rows
    /// are upserted in key order, so importers running at the same time lock them in the same order.
    /// </summary>
    public static IReadOnlyList<string> AddToDays(TlsRptSqlDialect dialect, string reports)
    {
        var statements = new List<string>
        {
            $"""
            INSERT INTO tlsrpt_day (policy_domain, organization, start_day, end_day, reports, successful, failed, first_start, last_end)
            SELECT p.policy_domain, r.organization, {dialect.StartDay}, {dialect.EndDay}, COUNT(DISTINCT r.id), SUM(p.successful), SUM(p.failed),
                   MIN(r.{dialect.StartColumn}), MAX(r.{dialect.EndColumn})
            FROM tlsrpt_policy p JOIN tlsrpt_report r ON r.id = p.report
            WHERE {reports}
            GROUP BY 1, 2, 3, 4
            ORDER BY 1, 2, 3, 4
            ON CONFLICT (policy_domain, organization, start_day, end_day) DO UPDATE SET
                reports = tlsrpt_day.reports + excluded.reports,
                successful = tlsrpt_day.successful + excluded.successful,
                failed = tlsrpt_day.failed + excluded.failed,
                first_start = {dialect.Least}(tlsrpt_day.first_start, excluded.first_start),
                last_end = {dialect.Greatest}(tlsrpt_day.last_end, excluded.last_end)
            """,
        };
        statements.Add($"""
            INSERT INTO tlsrpt_day_failure (dimension, policy_domain, organization, item, start_day, end_day, sessions)
            SELECT 0, p.policy_domain, r.organization, f.result_type, {dialect.StartDay}, {dialect.EndDay}, SUM(f.failed_session_count)
            FROM tlsrpt_failure f
                 JOIN tlsrpt_policy p ON {dialect.FailureJoin}
                 JOIN tlsrpt_report r ON r.id = p.report
            WHERE {reports}
            GROUP BY 2, 3, 4, 5, 6
            ORDER BY 2, 3, 4, 5, 6
            ON CONFLICT (dimension, policy_domain, organization, item, start_day, end_day) DO UPDATE SET
                sessions = tlsrpt_day_failure.sessions + excluded.sessions
            """);
        foreach (var dimension in ListedDimensions)
        {
            var items = $"""
                SELECT p.policy_domain, f.{Dimensions[dimension]} AS item, SUM(f.failed_session_count) AS sessions
                FROM tlsrpt_failure f
                     JOIN tlsrpt_policy p ON {dialect.FailureJoin}
                     JOIN tlsrpt_report r ON r.id = p.report
                WHERE ({reports}) AND f.{Dimensions[dimension]} IS NOT NULL
                GROUP BY 1, 2
                """;
            statements.AddRange(AddToItems(dimension, items));
        }
        return statements;
    }

    /// <summary>
    /// The statements that add <paramref name="items"/> (a query of policy_domain, item, sessions; one row per domain
    /// and item) to the per-domain item tables: first the count of items new to each domain (before they are added),
    /// then the items. Their writers must not run at the same time (one SQLite writer; PostgreSQL: a lock per transaction).
    /// </summary>
    private static IEnumerable<string> AddToItems(int dimension, string items)
    {
        yield return $"""
            INSERT INTO tlsrpt_item_domain (dimension, policy_domain, items, sessions)
            SELECT {dimension}, b.policy_domain,
                   SUM(CASE WHEN EXISTS (SELECT 1 FROM tlsrpt_item i WHERE i.dimension = {dimension} AND i.policy_domain = b.policy_domain AND i.item = b.item)
                            THEN 0 ELSE 1 END),
                   SUM(b.sessions)
            FROM ({items}) b
            WHERE true
            GROUP BY b.policy_domain
            ORDER BY b.policy_domain
            ON CONFLICT (dimension, policy_domain) DO UPDATE SET
                items = tlsrpt_item_domain.items + excluded.items,
                sessions = tlsrpt_item_domain.sessions + excluded.sessions
            """;
        yield return $"""
            INSERT INTO tlsrpt_item (dimension, policy_domain, item, sessions)
            SELECT {dimension}, b.policy_domain, b.item, b.sessions
            FROM ({items}) b
            WHERE true
            ORDER BY 2, 3
            ON CONFLICT (dimension, policy_domain, item) DO UPDATE SET
                sessions = tlsrpt_item.sessions + excluded.sessions
            """;
    }

    /// <summary>
    /// The statements that fill the (empty) per-domain item tables from the per-day failure table, then delete its MX
    /// and IP rows (version 3 keeps result types only there): a version 2 store's upgrade.
    /// </summary>
    public static IReadOnlyList<string> FillItemsFromDays() =>
        [
            .. ListedDimensions.SelectMany(dimension => AddToItems(dimension,
                $"SELECT a.policy_domain, a.item, SUM(a.sessions) AS sessions FROM tlsrpt_day_failure a WHERE a.dimension = {dimension} GROUP BY 1, 2")),
            "DELETE FROM tlsrpt_day_failure WHERE dimension <> 0",
        ];

    /// <summary>
    /// Reads the summary's aggregates from the per-day tables (plus, with Since, the day of Since from the report tables)
    /// through <paramref name="filtered"/>: a command for the SQL with the query's parameters bound (domain, since, the
    /// day of since, the start of the next day).
    /// </summary>
    public static async Task<TlsRptAggregates> ReadAsync(TlsRptSqlDialect dialect, Func<string, DbCommand> filtered, bool since, int top, CancellationToken cancellationToken)
    {
        var reporters = await ReportersAsync(dialect, filtered(Summed(since,
            "policy_domain, organization", "CAST(SUM(reports) AS integer), CAST(SUM(successful) AS bigint), CAST(SUM(failed) AS bigint), MIN(first_start), MAX(last_end)",
            $"SELECT a.policy_domain, a.organization, a.reports, a.successful, a.failed, a.first_start, a.last_end FROM tlsrpt_day a WHERE {dialect.DayWhere}",
            $"""
            SELECT p.policy_domain, r.organization, COUNT(DISTINCT r.id), SUM(p.successful), SUM(p.failed), MIN(r.{dialect.StartColumn}), MAX(r.{dialect.EndColumn})
            FROM tlsrpt_policy p JOIN tlsrpt_report r ON r.id = p.report
            WHERE {dialect.SinceDayWhere}
            GROUP BY p.policy_domain, r.organization
            """)), cancellationToken).ConfigureAwait(false);
        var types = await FailureRowsAsync(filtered(Summed(since, "policy_domain, organization, item", "CAST(SUM(sessions) AS bigint)",
            $"SELECT a.policy_domain, a.organization, a.item, a.sessions FROM tlsrpt_day_failure a WHERE a.dimension = 0 AND {dialect.DayWhere}",
            $"""
            SELECT p.policy_domain, r.organization, f.result_type, SUM(f.failed_session_count)
            FROM tlsrpt_failure f
                 JOIN tlsrpt_policy p ON {dialect.FailureJoin}
                 JOIN tlsrpt_report r ON r.id = p.report
            WHERE {dialect.SinceDayWhere}
            GROUP BY p.policy_domain, r.organization, f.result_type
            """)), cancellationToken).ConfigureAwait(false);
        var (mx, otherMx) = since
            ? await RankedAsync(dialect, filtered, 1, top, cancellationToken).ConfigureAwait(false)
            : await TopAsync(dialect, filtered, 1, top, cancellationToken).ConfigureAwait(false);
        var (ips, otherIps) = since
            ? await RankedAsync(dialect, filtered, 2, top, cancellationToken).ConfigureAwait(false)
            : await TopAsync(dialect, filtered, 2, top, cancellationToken).ConfigureAwait(false);
        return new TlsRptAggregates(reporters, types, mx, ips) { MxHostsNotListed = otherMx, SendingIpsNotListed = otherIps };
    }

    /// <summary>
    /// The top <paramref name="top"/> items of <paramref name="dimension"/> per domain from the per-domain item tables:
    /// the domains with their counts, then an index range of at most <paramref name="top"/> rows for each (the command
    /// run again with the domain parameter set), so the cost grows with domains × N, not with the items stored.
    /// </summary>
    private static async Task<(IReadOnlyList<TlsRptFailureRow>, IReadOnlyList<TlsRptNotListedRow>)> TopAsync(
        TlsRptSqlDialect dialect, Func<string, DbCommand> filtered, int dimension, int top, CancellationToken cancellationToken)
    {
        var domains = new List<(string Domain, long Items, long Sessions)>();
        using (var select = filtered($"SELECT a.policy_domain, a.items, a.sessions FROM tlsrpt_item_domain a WHERE a.dimension = {dimension} AND {dialect.DomainWhere}"))
        using (var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                domains.Add((reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2)));
            }
        }
        var listed = new List<TlsRptFailureRow>();
        var notListed = new List<TlsRptNotListedRow>();
        using var each = filtered(string.Create(CultureInfo.InvariantCulture, $"""
            SELECT a.item, a.sessions FROM tlsrpt_item a
            WHERE a.dimension = {dimension} AND a.policy_domain = {dialect.DomainParameter}
            ORDER BY a.sessions DESC, a.item{dialect.Bytewise}
            LIMIT {top}
            """));
        foreach (var (domain, items, sessions) in domains)
        {
            each.Parameters[0].Value = domain;
            var (count, sum) = (0L, 0L);
            using (var reader = await each.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    listed.Add(new TlsRptFailureRow(domain, "", reader.GetString(0), reader.GetInt64(1)));
                    (count, sum) = (count + 1, sum + reader.GetInt64(1));
                }
            }
            if (items > count)
            {
                notListed.Add(new TlsRptNotListedRow(domain, items - count, sessions - sum));
            }
        }
        return (listed, notListed);
    }

    /// <summary>
    /// The top <paramref name="top"/> items of <paramref name="dimension"/> per domain of a summary with Since, ranked in
    /// SQL from the failure details of the reports ending at or after Since (through the index on the range's end).
    /// </summary>
    private static async Task<(IReadOnlyList<TlsRptFailureRow>, IReadOnlyList<TlsRptNotListedRow>)> RankedAsync(
        TlsRptSqlDialect dialect, Func<string, DbCommand> filtered, int dimension, int top, CancellationToken cancellationToken)
    {
        var column = Dimensions[dimension];
        var items = $"""
            SELECT p.policy_domain, f.{column} AS item, CAST(SUM(f.failed_session_count) AS bigint) AS sessions
            FROM tlsrpt_failure f
                 JOIN tlsrpt_policy p ON {dialect.FailureJoin}
                 JOIN tlsrpt_report r ON r.id = p.report
            WHERE {dialect.Where} AND f.{column} IS NOT NULL
            GROUP BY p.policy_domain, f.{column}
            """;
        var listed = new List<TlsRptFailureRow>();
        var notListed = new List<TlsRptNotListedRow>();
        using var select = filtered(string.Create(CultureInfo.InvariantCulture, $"""
            SELECT policy_domain, item, sessions, items, total FROM (
                SELECT policy_domain, item, sessions,
                       ROW_NUMBER() OVER (PARTITION BY policy_domain ORDER BY sessions DESC, item{dialect.Bytewise}) AS place,
                       CAST(COUNT(*) OVER (PARTITION BY policy_domain) AS bigint) AS items,
                       CAST(SUM(sessions) OVER (PARTITION BY policy_domain) AS bigint) AS total
                FROM ({items}) g
            ) ranked
            WHERE place <= {top}
            ORDER BY policy_domain, place
            """));
        using var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var (current, count, sum, itemsOfDomain, total) = ((string?)null, 0L, 0L, 0L, 0L);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var domain = reader.GetString(0);
            if (domain != current)
            {
                Rest();
                (current, count, sum, itemsOfDomain, total) = (domain, 0, 0, reader.GetInt64(3), reader.GetInt64(4));
            }
            listed.Add(new TlsRptFailureRow(domain, "", reader.GetString(1), reader.GetInt64(2)));
            (count, sum) = (count + 1, sum + reader.GetInt64(2));
        }
        Rest();
        return (listed, notListed);

        void Rest()
        {
            if (current is not null && itemsOfDomain > count)
            {
                notListed.Add(new TlsRptNotListedRow(current, itemsOfDomain - count, total - sum));
            }
        }
    }

    /// <summary>
    /// A query grouping rows of a per-day table (<paramref name="days"/>, whose columns are named as in the table) by
    /// <paramref name="keys"/> into <paramref name="sums"/>; with Since, the same over those rows and the day of Since
    /// read from the report tables (<paramref name="sinceDay"/>, columns in the same order). Without Since the per-day
    /// rows are grouped directly, in the order of their primary key.
    /// </summary>
    public static string Summed(bool since, string keys, string sums, string days, string sinceDay, string orderBy = "") =>
        since
            ? $"SELECT {keys}, {sums} FROM ({days} UNION ALL {sinceDay}) t GROUP BY {keys} {orderBy}"
            : $"SELECT {keys}, {sums} FROM ({days}) t GROUP BY {keys} {orderBy}";

    /// <summary>
    /// The policy domain a summary filters on, as the stores keep it: trimmed, without its final dot, lower case; null
    /// for every domain.
    /// </summary>
    public static string? Domain(TlsRptSummaryQuery query) => query.PolicyDomain?.Trim().TrimEnd('.').ToLowerInvariant();

    /// <summary>
    /// The UTC day of the query's Since (cut to whole milliseconds, as the stores keep times) as <c>YYYY-MM-DD</c>, and
    /// the start of the next day: the per-day tables answer for reports ending after that day, the report tables for
    /// the day itself. Both null without Since.
    /// </summary>
    public static (string? Day, DateTimeOffset? Next) SinceDay(TlsRptSummaryQuery query)
    {
        if (query.Since is not { } since)
        {
            return (null, null);
        }
        var day = DateTimeOffset.FromUnixTimeMilliseconds(since.ToUnixTimeMilliseconds()).UtcDateTime.Date;
        return (day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), new DateTimeOffset(day.AddDays(1), TimeSpan.Zero));
    }

    /// <summary>
    /// The same aggregates computed from every stored failure detail, with the two-parameter filter of
    /// <see cref="TlsRptSqlDialect.Where"/>; the top items by <see cref="TlsRptSummaryBuilder.Top"/>, their definition.
    /// </summary>
    public static async Task<TlsRptAggregates> ScanAsync(TlsRptSqlDialect dialect, Func<string, DbCommand> filtered, int top, CancellationToken cancellationToken)
    {
        var reporters = await ReportersAsync(dialect, filtered($"""
            SELECT p.policy_domain, r.organization, CAST(COUNT(DISTINCT r.id) AS integer), CAST(SUM(p.successful) AS bigint), CAST(SUM(p.failed) AS bigint),
                   MIN(r.{dialect.StartColumn}), MAX(r.{dialect.EndColumn})
            FROM tlsrpt_policy p JOIN tlsrpt_report r ON r.id = p.report
            WHERE {dialect.Where}
            GROUP BY p.policy_domain, r.organization
            """), cancellationToken).ConfigureAwait(false);
        var (mx, otherMx) = TlsRptSummaryBuilder.Top(await FailuresAsync(dialect, "receiving_mx_hostname", filtered, cancellationToken).ConfigureAwait(false), top);
        var (ips, otherIps) = TlsRptSummaryBuilder.Top(await FailuresAsync(dialect, "sending_mta_ip", filtered, cancellationToken).ConfigureAwait(false), top);
        return new TlsRptAggregates(reporters, await FailuresAsync(dialect, "result_type", filtered, cancellationToken).ConfigureAwait(false), mx, ips)
        {
            MxHostsNotListed = otherMx,
            SendingIpsNotListed = otherIps,
        };
    }

    private static async Task<IReadOnlyList<TlsRptReporterRow>> ReportersAsync(TlsRptSqlDialect dialect, DbCommand command, CancellationToken cancellationToken)
    {
        var reporters = new List<TlsRptReporterRow>();
        using var select = command;
        using var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            reporters.Add(new TlsRptReporterRow(
                reader.GetString(0), reader.GetString(1), reader.GetInt32(2), reader.GetInt64(3), reader.GetInt64(4),
                dialect.ReadTime(reader, 5), dialect.ReadTime(reader, 6)));
        }
        return reporters;
    }

    private static Task<IReadOnlyList<TlsRptFailureRow>> FailuresAsync(
        TlsRptSqlDialect dialect, string column, Func<string, DbCommand> filtered, CancellationToken cancellationToken) =>
        FailureRowsAsync(filtered($"""
            SELECT p.policy_domain, r.organization, f.{column}, CAST(SUM(f.failed_session_count) AS bigint)
            FROM tlsrpt_failure f
                 JOIN tlsrpt_policy p ON {dialect.FailureJoin}
                 JOIN tlsrpt_report r ON r.id = p.report
            WHERE {dialect.Where} AND f.{column} IS NOT NULL
            GROUP BY p.policy_domain, r.organization, f.{column}
            """), cancellationToken);

    private static async Task<IReadOnlyList<TlsRptFailureRow>> FailureRowsAsync(DbCommand command, CancellationToken cancellationToken)
    {
        var rows = new List<TlsRptFailureRow>();
        using var select = command;
        using var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add(new TlsRptFailureRow(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3)));
        }
        return rows;
    }
}
