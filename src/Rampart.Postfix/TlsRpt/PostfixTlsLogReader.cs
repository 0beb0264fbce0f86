using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Rampart.Core;
using Rampart.Core.TlsRpt;

namespace Rampart.Postfix.TlsRpt;

/*
 * Postfix before 3.10 (Debian 12: 3.7) reports no TLS outcome anywhere but its log, and only with
 * smtp_tls_loglevel >= 1 (tls_misc.c: level 1 = TLS_LOG_SUMMARY). One SMTP connection's lines, all from one
 * smtp[PID] (or, with smtp_tls_connection_reuse = yes, the TLS lines from tlsproxy[PID]):
 *
 *   1. what went wrong in the handshake or the verification, if anything (tls_verify.c tls_log_verify_error,
 *      tls_client.c):  certificate verification failed for mx[ip]:25: …  |  warning: mx[ip]:25: all TLSA records
 *      unusable, …  |  SSL_connect error to mx[ip]:25: …
 *   2. the summary (tls_misc.c tls_log_summary):  Verified|Trusted|Untrusted|Anonymous TLS connection established to mx[ip]:25: …
 *   3. the delivery (smtp_trouble.c / smtp_rcpt.c via log_adhoc.c), one per recipient:
 *        QUEUEID: to=<rcpt>, relay=mx[ip]:25, delay=…, dsn=…, status=sent|deferred|bounced (text)
 *      or, when another MX is still to be tried, the reason alone:  QUEUEID: TLS is required, but was not offered by host mx[ip]
 *
 * None of the TLS lines names the queue id or the recipient, so the connection is the process: lines 1-2 are held per
 * smtp[PID] (per mx[ip]:port for tlsproxy) until the delivery line that names the same mx[ip]:port. A connection that
 * never reached TLS (STARTTLS stripped, a TLSA lookup error before connecting) has only line 3: its status text says it.
 *
 * The session's report domain is the recipient's domain (Postfix's next-hop domain when no transport or relayhost
 * redirects it; what smtp_tls_policy_maps is asked about, and what libtlsrpt's "d" is). qmgr's "QUEUEID:
 * from=<sender>, …" line names the envelope sender; sessions that carried a message from the excluded sender (our own
 * reports) are left out. The policy the session was held to is not in the log: the caller joins it (the daemon's record
 * of what it answered, PolicyAnswers), by report domain and time.
 */

/// <summary>One TLS session attempt read from a Postfix log, before its policy is joined.</summary>
/// <param name="ReportDomain">The recipient's domain, lower case: where the report goes.</param>
/// <param name="QueueId">The queue id of the message the session carried.</param>
/// <param name="MxHost">receiving-mx-hostname (null when the log names none).</param>
/// <param name="MxIp">receiving-ip (null when the session never connected).</param>
/// <param name="TlsLevel">What the summary line said (<c>Verified</c>, <c>Trusted</c>, <c>Untrusted</c>, <c>Anonymous</c>), or null.</param>
/// <param name="Failure">Why the session failed; null for a success.</param>
/// <param name="PolicyLookupError">
/// True when Postfix could not look the policy up (<c>policy table lookup error</c>: the daemon answered TEMP or was
/// unreachable). Such a session is not a TLS failure of the MX: only the daemon's record can say whether it was an
/// MTA-STS fetch failure to report.
/// </param>
/// <param name="At">The delivery line's time.</param>
/// <param name="RecordKey">What identifies the session in any copy of the log: a hash of its delivery line's text.</param>
internal sealed record PostfixTlsSession(
    string ReportDomain,
    string QueueId,
    string? MxHost,
    string? MxIp,
    string? TlsLevel,
    TlsSessionFailure? Failure,
    bool PolicyLookupError,
    DateTimeOffset At,
    string RecordKey)
{
    public bool Succeeded => Failure is null && !PolicyLookupError;

    /// <summary>The result to count under <paramref name="policy"/> (<paramref name="policyFailure"/>: a failure only the policy's source knows, which wins).</summary>
    public TlsSessionResult ToResult(TlsSessionPolicy policy, TlsSessionFailure? policyFailure = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        var failure = policyFailure ?? Failure;
        return new TlsSessionResult(ReportDomain, null, policy, failure is null, failure is null ? [] : [failure], At);
    }
}

/// <summary>What the reader saw besides sessions, for metrics and the ingest summary.</summary>
internal sealed class PostfixTlsLogCounts
{
    public long Lines { get; set; }
    public long NotSyslog { get; set; }
    public long Sessions { get; set; }
    public long OwnReports { get; set; }
    public long UnjoinedTlsLines { get; set; }
}

/// <summary>
/// Joins a Postfix log's TLS lines to its delivery lines (see above), one line at a time, producing a
/// <see cref="PostfixTlsSession"/> per SMTP connection that attempted TLS or had to. Memory is bounded: at most
/// <see cref="MaxPending"/> connections wait for their delivery line (the oldest is given up first), and only the queue
/// ids of the excluded sender are remembered. Not thread-safe: one reader per log.
/// </summary>
internal sealed partial class PostfixTlsLogReader
{
    /// <summary>Connections held at most while their delivery line is awaited (Postfix runs 100 smtp processes by default).</summary>
    public const int MaxPending = 4096;

    /// <summary>How far apart two delivery lines of one message to one MX may be and still be one connection's recipients.</summary>
    public static readonly TimeSpan SameConnection = TimeSpan.FromSeconds(1);

    /// <summary>Queue ids of our own reports remembered at most.</summary>
    public const int MaxOwnQueueIds = 4096;

    private readonly Dictionary<string, Pending> _pending = new(StringComparer.Ordinal);
    private readonly Dictionary<int, string> _policyErrors = [];
    private readonly Dictionary<string, DateTimeOffset> _ownQueueIds = new(StringComparer.Ordinal);
    private readonly Dictionary<int, (string QueueId, string Relay, DateTimeOffset At)> _lastDelivery = [];
    private readonly string? _excludedSender;
    private readonly TimeZoneInfo _zone;
    private long _sequence;

    /// <param name="excludedSender">The envelope sender of our own reports (<c>tlsrpt_reporting.sender_address</c>): their sessions are never counted; null = none.</param>
    /// <param name="zone">The zone of traditional (year-less, zone-less) timestamps; the machine's by default.</param>
    public PostfixTlsLogReader(string? excludedSender, TimeZoneInfo? zone = null)
    {
        _excludedSender = string.IsNullOrWhiteSpace(excludedSender) ? null : excludedSender.Trim();
        _zone = zone ?? TimeZoneInfo.Local;
    }

    public PostfixTlsLogCounts Counts { get; } = new();

    /// <summary>Per-process entries held (last deliveries and policy lookup errors): bounded by <see cref="MaxPending"/> each.</summary>
    internal int TrackedProcesses => _lastDelivery.Count + _policyErrors.Count;

    /// <summary>The queue ids of the excluded sender's messages seen and not yet removed (kept in a follower's cursor).</summary>
    public IReadOnlyCollection<string> OwnQueueIds => _ownQueueIds.Keys;

    /// <summary>Remembers queue ids of our own reports from a saved cursor.</summary>
    public void RememberOwnQueueIds(IEnumerable<string> queueIds, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(queueIds);
        foreach (var id in queueIds)
        {
            RememberOwn(id, at);
        }
    }

    /// <summary>
    /// The position (as given with the line) of the oldest line still needed: a connection's first TLS line whose
    /// delivery line has not come. A follower that restarts there reads every session whole (and the store's record
    /// keys skip what was counted); null when nothing waits.
    /// </summary>
    public long? OldestPendingPosition => _pending.Count == 0 ? null : _pending.Values.Min(p => p.Position);

    /// <summary>
    /// Reads one line (without its line end) and adds the sessions it completes to <paramref name="sessions"/>.
    /// <paramref name="position"/> is where the line starts in its source (kept for <see cref="OldestPendingPosition"/>);
    /// <paramref name="reference"/> the time a traditional timestamp's year is inferred from.
    /// </summary>
    public void Read(string line, long position, DateTimeOffset reference, List<PostfixTlsSession> sessions)
    {
        ArgumentNullException.ThrowIfNull(line);
        ArgumentNullException.ThrowIfNull(sessions);
        Counts.Lines++;
        if (!PostfixLogLine.TryParse(line, reference, _zone, out var log))
        {
            Counts.NotSyslog++;
            return;
        }
        var message = log.Message;
        var service = log.Service;
        if (service.SequenceEqual("qmgr"))
        {
            ReadQmgr(message, log.At);
            return;
        }
        var isProxy = service.SequenceEqual("tlsproxy");
        if (Cause(message) is { } cause)
        {
            Hold(isProxy, log, cause.Endpoint, position).Failure ??= cause.Failure;
        }
        else if (Established().Match(message) is { Success: true } established)
        {
            Hold(isProxy, log, established.Groups["ep"].Value, position).Level = established.Groups["level"].Value;
        }
        else if (isProxy)
        {
        }
        else if (PolicyLookupError().Match(message) is { Success: true } policyError)
        {
            if (_policyErrors.Count >= MaxPending)
            {
                _policyErrors.Clear(); // processes that never logged the deferral: smtp pids change all day
            }
            _policyErrors[log.Pid] = policyError.Groups["dest"].Value;
        }
        else if (Delivery().Match(message) is { Success: true } delivery)
        {
            ReadDelivery(log, line, delivery, sessions);
        }
        else if (Attempt().Match(message) is { Success: true } attempt)
        {
            ReadAttempt(log, line, attempt);
        }
    }

    private sealed class Pending(string endpoint, long position, DateTimeOffset at, long sequence)
    {
        public string Endpoint { get; } = endpoint;
        public long Position { get; } = position;
        public DateTimeOffset At { get; } = at;
        public long Sequence { get; } = sequence;
        public TlsSessionFailure? Failure { get; set; }
        public string? Level { get; set; }
    }

    private Pending Hold(bool isProxy, PostfixLogLine log, string endpoint, long position)
    {
        var key = isProxy ? "p " + endpoint : ProcessKey(log.Pid);
        if (_pending.TryGetValue(key, out var held) && held.Endpoint == endpoint && held.Level is null)
        {
            return held; // the same connection: a cause line, then its summary
        }
        if (held is not null)
        {
            Counts.UnjoinedTlsLines++; // the process moved on without a delivery line for the last connection
        }
        else if (_pending.Count >= MaxPending)
        {
            var oldest = _pending.MinBy(p => p.Value.Sequence).Key;
            _pending.Remove(oldest);
            Counts.UnjoinedTlsLines++;
        }
        var fresh = new Pending(endpoint, position, log.At, ++_sequence);
        _pending[key] = fresh;
        _lastDelivery.Remove(log.Pid);
        return fresh;
    }

    private void ReadDelivery(PostfixLogLine log, string line, Match delivery, List<PostfixTlsSession> sessions)
    {
        var queueId = delivery.Groups["qid"].Value;
        var relay = delivery.Groups["relay"].Value;
        var recipient = delivery.Groups["to"].Value;
        var at = recipient.LastIndexOf('@');
        var attempts = _attempts.Remove(log.Pid, out var held) && held.QueueId == queueId ? held.Sessions : null;
        if (at < 0 || !DomainName.TryNormalize(recipient[(at + 1)..], out var domain, out _))
        {
            TakePending(log.Pid, relay);
            return; // a local recipient: no next-hop domain to report to
        }
        // The MX hosts tried before this one, in the same delivery attempt: now that the domain is known.
        foreach (var attempt in attempts ?? [])
        {
            if (Count(attempt with { ReportDomain = domain }) is { } counted)
            {
                sessions.Add(counted);
            }
        }
        if (Complete(log, line, queueId, relay, delivery.Groups["text"].Value, domain) is { } session && Count(session) is { } countedSession)
        {
            sessions.Add(countedSession);
        }
    }

    private void ReadAttempt(PostfixLogLine log, string line, Match attempt)
    {
        // Another MX will be tried (smtp_trouble.c: "QUEUEID: reason"): the recipient, and so the domain, comes with the
        // delivery line that ends the attempt; until then the session waits with the process.
        var queueId = attempt.Groups["qid"].Value;
        var relay = _pending.TryGetValue(ProcessKey(log.Pid), out var p) ? p.Endpoint
            : HostInText().Match(attempt.Groups["text"].Value) is { Success: true } host ? host.Groups["ep"].Value + ":25"
            : "none";
        if (Complete(log, line, queueId, relay, attempt.Groups["text"].Value, domain: "") is not { } session)
        {
            return;
        }
        if (!_attempts.TryGetValue(log.Pid, out var held) || held.QueueId != queueId)
        {
            if (_attempts.Count >= MaxPending)
            {
                _attempts.Clear();
            }
            _attempts[log.Pid] = held = (queueId, []);
        }
        if (held.Sessions.Count < 64)
        {
            held.Sessions.Add(session);
        }
    }

    private readonly Dictionary<int, (string QueueId, List<PostfixTlsSession> Sessions)> _attempts = [];

    private PostfixTlsSession? Count(PostfixTlsSession session)
    {
        if (_ownQueueIds.ContainsKey(session.QueueId))
        {
            Counts.OwnReports++;
            return null;
        }
        Counts.Sessions++;
        return session;
    }

    private PostfixTlsSession? Complete(PostfixLogLine log, string line, string queueId, string relay, string text, string domain)
    {
        var pending = TakePending(log.Pid, relay);
        var (mxHost, mxIp) = SplitEndpoint(relay);
        var failure = pending?.Failure;
        var policyLookup = false;
        if (StatusFailure(text, mxHost, mxIp) is { } fromText)
        {
            failure ??= fromText;
        }
        else if (text.Contains("client TLS configuration problem", StringComparison.Ordinal) && _policyErrors.Remove(log.Pid, out _))
        {
            policyLookup = true;
        }
        else if (pending?.Level is null && failure is null)
        {
            _lastDelivery.Remove(log.Pid);
            return null; // no TLS attempted and none required (plaintext under "may", a local error)
        }

        // Further recipients of the same message over the same connection: one session, counted on its first line.
        // Postfix logs them together; a later attempt of the message (a retry) starts with qmgr's "queue active"
        // line, which forgets the last delivery, and comes at least minimal_backoff_time later.
        if (pending is null && _lastDelivery.TryGetValue(log.Pid, out var last) && last.QueueId == queueId && last.Relay == relay
            && (log.At - last.At).Duration() <= SameConnection)
        {
            return null;
        }
        if (_lastDelivery.Count >= MaxPending && !_lastDelivery.ContainsKey(log.Pid))
        {
            _lastDelivery.Clear(); // a process's last delivery matters only for its next line: smtp pids change all day
        }
        _lastDelivery[log.Pid] = (queueId, relay, log.At);
        return new PostfixTlsSession(domain, queueId, mxHost, mxIp, pending?.Level, failure, policyLookup && failure is null, log.At, RecordKeyOf(line));
    }

    private static string ProcessKey(int pid) => "s " + pid.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private Pending? TakePending(int pid, string relay)
    {
        if (_pending.Remove(ProcessKey(pid), out var own))
        {
            if (own.Endpoint == relay)
            {
                return own;
            }
            Counts.UnjoinedTlsLines++;
        }
        return _pending.Remove("p " + relay, out var proxied) ? proxied : null;
    }

    private void ReadQmgr(string message, DateTimeOffset at)
    {
        if (QmgrFrom().Match(message) is { Success: true } from)
        {
            // A new attempt of the message: its next delivery lines are a new connection.
            var queueId = from.Groups["qid"].Value;
            foreach (var pid in _lastDelivery.Where(e => e.Value.QueueId == queueId).Select(e => e.Key).ToList())
            {
                _lastDelivery.Remove(pid);
            }
            if (_excludedSender is not null && string.Equals(from.Groups["from"].Value, _excludedSender, StringComparison.OrdinalIgnoreCase))
            {
                RememberOwn(queueId, at);
            }
        }
        else if (QmgrRemoved().Match(message) is { Success: true } removed)
        {
            _ownQueueIds.Remove(removed.Groups["qid"].Value);
        }
    }

    private void RememberOwn(string queueId, DateTimeOffset at)
    {
        if (_ownQueueIds.Count >= MaxOwnQueueIds && !_ownQueueIds.ContainsKey(queueId))
        {
            _ownQueueIds.Remove(_ownQueueIds.MinBy(e => e.Value).Key);
        }
        _ownQueueIds[queueId] = at;
    }

    /// <summary>A hash of the line: the same session read from the live file, a rotated copy or the journal has one key.</summary>
    public static string RecordKeyOf(string line) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(line)).AsSpan(0, 16));

    private static (string? Host, string? Ip) SplitEndpoint(string relay)
    {
        var m = EndpointParts().Match(relay);
        return m.Success ? (m.Groups["host"].Value, m.Groups["ip"].Value) : (null, null);
    }

    private readonly record struct CauseLine(string Endpoint, TlsSessionFailure Failure);

    /// <summary>A line that says why a connection's TLS failed (the mapping table in docs/tlsrpt-sending.md).</summary>
    private static CauseLine? Cause(string message)
    {
        if (VerifyFailed().Match(message) is { Success: true } verify)
        {
            var ep = verify.Groups["ep"].Value;
            var (host, ip) = SplitEndpoint(ep);
            var (type, reason) = VerifyFailure(verify.Groups["why"].Value);
            return new CauseLine(ep, new TlsSessionFailure(type, ReceivingMxHostname: host, ReceivingIp: ip, FailureReasonCode: reason));
        }
        if (TlsaUnusable().Match(message) is { Success: true } unusable)
        {
            var ep = unusable.Groups["ep"].Value;
            var (host, ip) = SplitEndpoint(ep);
            return new CauseLine(ep, new TlsSessionFailure(TlsRptResultTypes.TlsaInvalid, ReceivingMxHostname: host, ReceivingIp: ip,
                FailureReasonCode: "all-TLSA-records-unusable"));
        }
        if (HandshakeError().Match(message) is { Success: true } handshake)
        {
            var ep = handshake.Groups["ep"].Value;
            var (host, ip) = SplitEndpoint(ep);
            return new CauseLine(ep, new TlsSessionFailure(TlsRptResultTypes.ValidationFailure, ReceivingMxHostname: host, ReceivingIp: ip,
                FailureReasonCode: "tls-handshake-failure"));
        }
        return null;
    }

    /// <summary>
    /// tls_verify.c tls_log_verify_error's texts → RFC 8460 §4.3 result type and a failure-reason-code (OpenSSL's error
    /// text with '_' for spaces, as Postfix 3.10 reports it).
    /// </summary>
    internal static (string Type, string? Reason) VerifyFailure(string why)
    {
        if (why.StartsWith("self-signed certificate", StringComparison.Ordinal))
        {
            return (TlsRptResultTypes.CertificateNotTrusted, "self-signed_certificate");
        }
        if (why.StartsWith("untrusted issuer", StringComparison.Ordinal))
        {
            return (TlsRptResultTypes.CertificateNotTrusted, "unable_to_get_local_issuer_certificate");
        }
        if (why.StartsWith("not trusted by local or TLSA policy", StringComparison.Ordinal))
        {
            return (TlsRptResultTypes.CertificateNotTrusted, null);
        }
        if (why.StartsWith("certificate has expired", StringComparison.Ordinal))
        {
            return (TlsRptResultTypes.CertificateExpired, null);
        }
        if (why.StartsWith("certificate not yet valid", StringComparison.Ordinal))
        {
            return (TlsRptResultTypes.ValidationFailure, "certificate_is_not_yet_valid");
        }
        if (why.StartsWith("not designated for use as a", StringComparison.Ordinal))
        {
            return (TlsRptResultTypes.ValidationFailure, "unsupported_certificate_purpose");
        }
        if (why.StartsWith("certificate chain longer than limit", StringComparison.Ordinal))
        {
            return (TlsRptResultTypes.ValidationFailure, "certificate_chain_too_long");
        }
        if (NumberedError().Match(why) is { Success: true } numbered)
        {
            var text = numbered.Groups["text"].Value;
            return numbered.Groups["num"].Value switch
            {
                "10" => (TlsRptResultTypes.CertificateExpired, null),                 // X509_V_ERR_CERT_HAS_EXPIRED
                "18" or "19" or "20" or "21" or "27" => (TlsRptResultTypes.CertificateNotTrusted, Code(text)),
                "62" or "64" => (TlsRptResultTypes.CertificateHostMismatch, null),     // X509_V_ERR_HOSTNAME_MISMATCH, _IP_ADDRESS_MISMATCH
                "65" => (TlsRptResultTypes.TlsaInvalid, Code(text)),                   // X509_V_ERR_DANE_NO_MATCH
                _ => (TlsRptResultTypes.ValidationFailure, Code(text)),
            };
        }
        return (TlsRptResultTypes.ValidationFailure, Code(why));
    }

    private static string Code(string text) => DisplayText.Sanitize(text.Trim(), 100).Replace(' ', '_');

    /// <summary>A delivery status text that is itself the TLS failure (smtp_proto.c, smtp_tls_policy.c); null when it is not one.</summary>
    internal static TlsSessionFailure? StatusFailure(string text, string? mxHost, string? mxIp)
    {
        if (text.StartsWith("TLS is required, but was not offered", StringComparison.Ordinal)
            || (text.StartsWith("TLS is required, but host ", StringComparison.Ordinal) && text.Contains("refused to start TLS", StringComparison.Ordinal)))
        {
            return new TlsSessionFailure(TlsRptResultTypes.StartTlsNotSupported, ReceivingMxHostname: mxHost, ReceivingIp: mxIp);
        }
        if (text.StartsWith("Cannot start TLS: handshake failure", StringComparison.Ordinal))
        {
            return new TlsSessionFailure(TlsRptResultTypes.ValidationFailure, ReceivingMxHostname: mxHost, ReceivingIp: mxIp, FailureReasonCode: "tls-handshake-failure");
        }
        if (text.StartsWith("Server certificate not verified", StringComparison.Ordinal))
        {
            return new TlsSessionFailure(TlsRptResultTypes.CertificateNotTrusted, ReceivingMxHostname: mxHost, ReceivingIp: mxIp);
        }
        if (TlsaLookupError().Match(text) is { Success: true } tlsa)
        {
            return new TlsSessionFailure(TlsRptResultTypes.DnssecInvalid, ReceivingMxHostname: mxHost ?? tlsa.Groups["host"].Value, ReceivingIp: mxIp,
                FailureReasonCode: "tlsa-lookup-error");
        }
        if (text.StartsWith("non DNSSEC destination", StringComparison.Ordinal))
        {
            return new TlsSessionFailure(TlsRptResultTypes.DaneRequired, ReceivingMxHostname: mxHost, ReceivingIp: mxIp);
        }
        return null;
    }

    private const string Endpoint = @"(?<ep>[^\s\[\]]+\[[^\]\s]+\]:\d+)";

    [GeneratedRegex(@"^(?:(?:server|client|CA) )?certificate verification failed for " + Endpoint + @": (?<why>.*)$", RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture)]
    private static partial Regex VerifyFailed();

    [GeneratedRegex(@"^warning: " + Endpoint + @": all TLSA records unusable", RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture)]
    private static partial Regex TlsaUnusable();

    [GeneratedRegex(@"^SSL_connect error to " + Endpoint + @": ", RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture)]
    private static partial Regex HandshakeError();

    [GeneratedRegex(@"^(?<level>Verified|Trusted|Untrusted|Anonymous) TLS connection established to " + Endpoint + ":", RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture)]
    private static partial Regex Established();

    [GeneratedRegex(@"^warning: smtp_tls_policy_maps, next-hop destination ""(?<dest>[^""]*)"": policy table lookup error", RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture)]
    private static partial Regex PolicyLookupError();

    [GeneratedRegex(@"^(?<qid>[0-9A-Za-z]{5,}): to=<(?<to>[^>]*)>, (?:orig_to=<[^>]*>, )?relay=(?<relay>[^,\s]+), .*\bstatus=(?<status>[a-z]+)(?: \((?<text>.*)\))?$",
        RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture)]
    private static partial Regex Delivery();

    [GeneratedRegex(@"^(?<qid>[0-9A-Za-z]{5,}): (?<text>(?:TLS is required, |Server certificate not verified|Cannot start TLS: |TLSA lookup error for |non DNSSEC destination).*)$",
        RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture)]
    private static partial Regex Attempt();

    [GeneratedRegex(@"\bhost (?<ep>[^\s\[\]]+\[[^\]\s]+\])", RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture)]
    private static partial Regex HostInText();

    [GeneratedRegex(@"^(?<host>[^\[\]]+)\[(?<ip>[^\]]+)\](?::\d+)?$", RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture)]
    private static partial Regex EndpointParts();

    [GeneratedRegex(@"^TLSA lookup error for (?<host>[^\s:]+)", RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture)]
    private static partial Regex TlsaLookupError();

    [GeneratedRegex(@"^num=(?<num>\d+):(?<text>.*)$", RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture)]
    private static partial Regex NumberedError();

    [GeneratedRegex(@"^(?<qid>[0-9A-Za-z]{5,}): from=<(?<from>[^>]*)>, size=", RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture)]
    private static partial Regex QmgrFrom();

    [GeneratedRegex(@"^(?<qid>[0-9A-Za-z]{5,}): removed$", RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture)]
    private static partial Regex QmgrRemoved();
}
