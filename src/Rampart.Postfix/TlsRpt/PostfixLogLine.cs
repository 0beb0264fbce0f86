using System.Globalization;
using System.Text.RegularExpressions;

namespace Rampart.Postfix.TlsRpt;

/*
 * The syslog envelope of a Postfix log line, in the two forms mail logs come in:
 *
 *   RFC 3164 ("traditional": rsyslog's default file format, Postfix's own maillog_file, msg_logger.c "%b %d %H:%M:%S"):
 *     Dec  7 18:12:38 mail postfix/smtp[4711]: 3F1A2B: to=<a@example.com>, relay=…
 *     Dec 07 18:12:38.123456 mail postfix/smtp[4711]: …     (zero-padded day, fractions: accepted)
 *   ISO 8601 (rsyslog's RFC3339 template, journalctl -o short-iso / short-iso-precise):
 *     2026-12-07T18:12:38.123456+00:00 mail postfix/smtp[4711]: …
 *     2026-12-07T18:12:38+0000 mail postfix/smtp[4711]: …
 *
 * The program is the syslog_name plus the service ("postfix/smtp", "postfix/relay", "postfix-out/smtp",
 * "postfix/tlsproxy", "postfix/qmgr"); its last component says which process it is. A traditional timestamp has no
 * year and no zone: it is local time (of the machine reading it: the one that wrote it, for a follower), and its year
 * is inferred from a reference time (see InferYear).
 */

/// <summary>One syslog line of a Postfix process: when, which process (program and pid), and the message.</summary>
/// <param name="At">The line's time.</param>
/// <param name="Program">The program as logged, e.g. <c>postfix/smtp</c>.</param>
/// <param name="Pid">The process id.</param>
/// <param name="Message">What follows <c>program[pid]: </c>.</param>
internal readonly partial record struct PostfixLogLine(DateTimeOffset At, string Program, int Pid, string Message)
{
    /// <summary>The last component of <see cref="Program"/>: <c>smtp</c>, <c>relay</c>, <c>tlsproxy</c>, <c>qmgr</c>, …</summary>
    public ReadOnlySpan<char> Service
    {
        get
        {
            var slash = Program.LastIndexOf('/');
            return slash < 0 ? Program : Program.AsSpan(slash + 1);
        }
    }

    /// <summary>
    /// Reads the envelope of <paramref name="line"/>; false for a line that is not a syslog line of a process with a pid
    /// (a continuation, a header, another format). <paramref name="reference"/> is the time the year of a traditional
    /// timestamp is inferred from; <paramref name="zone"/> the zone of a traditional timestamp.
    /// </summary>
    public static bool TryParse(string line, DateTimeOffset reference, TimeZoneInfo zone, out PostfixLogLine parsed)
    {
        ArgumentNullException.ThrowIfNull(line);
        ArgumentNullException.ThrowIfNull(zone);
        parsed = default;
        var m = Envelope().Match(line);
        if (!m.Success || !int.TryParse(m.Groups["pid"].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
        {
            return false;
        }
        DateTimeOffset at;
        if (m.Groups["iso"].Success)
        {
            var iso = m.Groups["iso"].Value;
            // journalctl writes +0000 (no colon); DateTimeOffset wants +00:00.
            if (iso.Length > 5 && (iso[^5] == '+' || iso[^5] == '-'))
            {
                iso = iso[..^2] + ":" + iso[^2..];
            }
            if (!DateTimeOffset.TryParse(iso, CultureInfo.InvariantCulture, DateTimeStyles.None, out at))
            {
                return false;
            }
        }
        else if (!TryTraditional(m.Groups["mon"].ValueSpan, m.Groups["day"].ValueSpan, m.Groups["time"].ValueSpan, reference, zone, out at))
        {
            return false;
        }
        parsed = new PostfixLogLine(at, m.Groups["prog"].Value, pid, m.Groups["msg"].Value);
        return true;
    }

    private static readonly string[] s_months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

    private static bool TryTraditional(ReadOnlySpan<char> mon, ReadOnlySpan<char> day, ReadOnlySpan<char> time, DateTimeOffset reference, TimeZoneInfo zone,
        out DateTimeOffset at)
    {
        at = default;
        var month = 0;
        for (var i = 0; i < s_months.Length && month == 0; i++)
        {
            month = mon.SequenceEqual(s_months[i]) ? i + 1 : 0;
        }
        if (month == 0 || !int.TryParse(day, NumberStyles.None, CultureInfo.InvariantCulture, out var d)
            || !TimeOnly.TryParseExact(time, "HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.None, out var clock))
        {
            return false;
        }
        var year = InferYear(month, d, reference.ToOffset(zone.GetUtcOffset(reference)));
        if (d > DateTime.DaysInMonth(year, month))
        {
            return false; // Feb 29 in a year without it
        }
        var local = new DateTime(year, month, d, clock.Hour, clock.Minute, clock.Second, DateTimeKind.Unspecified);
        at = new DateTimeOffset(local, zone.GetUtcOffset(local));
        return true;
    }

    /// <summary>
    /// The year of a traditional (year-less) timestamp: the reference's year, or the one before when that would put the
    /// line more than a day after the reference (a December line read in January). A log is read after it is written,
    /// so a line is never far in the reference's future; a day of slack covers clocks and zones.
    /// </summary>
    public static int InferYear(int month, int day, DateTimeOffset reference)
    {
        var year = reference.Year;
        var maxDay = DateTime.DaysInMonth(year, month);
        var candidate = new DateTime(year, month, Math.Min(day, maxDay), 0, 0, 0, DateTimeKind.Unspecified);
        return candidate > reference.DateTime.Date.AddDays(1) ? year - 1 : year;
    }

    [GeneratedRegex(
        @"^(?:(?<mon>[A-Z][a-z]{2}) {1,2}(?<day>\d{1,2}) (?<time>\d{2}:\d{2}:\d{2})(?:\.\d{1,9})?" +
        @"|(?<iso>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})))" +
        @" (?<host>\S+) (?<prog>[^\s\[\]:]+)\[(?<pid>\d{1,9})\]: (?<msg>.*)$",
        RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture)]
    private static partial Regex Envelope();
}
