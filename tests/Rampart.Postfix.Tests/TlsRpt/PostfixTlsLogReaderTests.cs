using Rampart.Core.TlsRpt;
using Rampart.Postfix.TlsRpt;

namespace Rampart.Postfix.Tests.TlsRpt;

/// <summary>
/// Every Postfix 3.7 line format the log source reads (docs/tlsrpt-sending.md, "Postfix 3.7: log lines"), in the forms
/// Postfix's source writes them (tls_misc.c, tls_verify.c, tls_client.c, smtp_proto.c, smtp_tls_policy.c,
/// smtp_trouble.c; FIELD-NOTES §2) and the lab's real Postfix 3.7.11 logged them; the join by process, and what is not a session.
/// </summary>
public sealed class PostfixTlsLogReaderTests
{
    private static readonly DateTimeOffset s_reference = new(2026, 12, 7, 23, 0, 0, TimeSpan.Zero);
    private const string Ours = "tlsrpt-noreply@sender.lab";

    private static (List<PostfixTlsSession> Sessions, PostfixTlsLogReader Reader) Read(params string[] lines)
    {
        var reader = new PostfixTlsLogReader(Ours, TimeZoneInfo.Utc);
        var sessions = new List<PostfixTlsSession>();
        long position = 0;
        foreach (var line in lines)
        {
            reader.Read(line, position, s_reference, sessions);
            position += line.Length + 1;
        }
        return (sessions, reader);
    }

    private static string Smtp(string message, int pid = 4711) => $"Dec  7 18:12:38 mail postfix/smtp[{pid}]: {message}";

    private static string Sent(string rcpt, string relay, string qid = "4F2A31C0B7") =>
        Smtp($"{qid}: to=<{rcpt}>, relay={relay}, delay=0.21, delays=0.03/0.01/0.09/0.08, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 91BD2)");

    private static string Deferred(string rcpt, string relay, string why, string qid = "4F2A31C0B7", int pid = 4711) =>
        Smtp($"{qid}: to=<{rcpt}>, relay={relay}, delay=1.1, delays=0.03/0.01/1/0, dsn=4.7.5, status=deferred ({why})", pid);

    private static TlsSessionFailure Failure(PostfixTlsSession session) => Assert.IsType<TlsSessionFailure>(session.Failure);

    [Theory]
    [InlineData("Verified")]
    [InlineData("Trusted")]
    [InlineData("Untrusted")]
    [InlineData("Anonymous")]
    public void Read_EstablishedThenSent_OneSuccess(string level)
    {
        var (sessions, _) = Read(
            Smtp($"{level} TLS connection established to mx.sts-enforce.test[127.0.1.1]:25: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature ECDSA (P-256) server-digest SHA256"),
            Sent("user@sts-enforce.test", "mx.sts-enforce.test[127.0.1.1]:25"));

        var session = Assert.Single(sessions);
        Assert.True(session.Succeeded);
        Assert.Equal(level, session.TlsLevel);
        Assert.Equal("sts-enforce.test", session.ReportDomain);
        Assert.Equal("4F2A31C0B7", session.QueueId);
        Assert.Equal("mx.sts-enforce.test", session.MxHost);
        Assert.Equal("127.0.1.1", session.MxIp);
        Assert.Equal(new DateTimeOffset(2026, 12, 7, 18, 12, 38, TimeSpan.Zero), session.At);
        var result = session.ToResult(TlsSessionPolicy.NoPolicyFound);
        Assert.True(result.Succeeded);
        Assert.Empty(result.Failures);
    }

    [Theory]
    [InlineData("2026-12-07T18:12:38.402817+00:00 mail postfix/smtp[4711]: ")]   // rsyslog RFC3339
    [InlineData("2026-12-07T18:12:38+0000 mail postfix/smtp[4711]: ")]           // journalctl -o short-iso
    [InlineData("2026-12-07T19:12:38+01:00 mail postfix/smtp[4711]: ")]          // another zone, same instant
    [InlineData("Dec 07 18:12:38 mail postfix/smtp[4711]: ")]                    // Postfix's maillog_file (zero-padded day)
    [InlineData("Dec  7 18:12:38.123456 mail postfix/smtp[4711]: ")]             // fractions
    public void Read_EverySyslogTimestampForm_SameInstant(string prefix)
    {
        var (sessions, _) = Read(
            prefix + "Trusted TLS connection established to mx.nosts.test[127.0.1.31]:25: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)",
            prefix + "4F2A31C0B7: to=<a@nosts.test>, relay=mx.nosts.test[127.0.1.31]:25, delay=0.2, delays=0/0/0.1/0.1, dsn=2.0.0, status=sent (250 ok)");

        var session = Assert.Single(sessions);
        var whole = session.At.UtcDateTime.AddTicks(-(session.At.UtcTicks % TimeSpan.TicksPerSecond));
        Assert.Equal(new DateTime(2026, 12, 7, 18, 12, 38, DateTimeKind.Utc), whole);
    }

    [Theory]
    [InlineData("Dec 31 23:59:59", 2027, 1, 1, 2026)]   // read just after new year: last year's line
    [InlineData("Jan  1 00:00:01", 2027, 1, 1, 2027)]
    [InlineData("Jan  2 00:00:01", 2027, 1, 1, 2027)]   // a day ahead: clocks and zones, still this year
    [InlineData("Mar  1 10:00:00", 2027, 1, 1, 2026)]   // never in the future: last March
    [InlineData("Dec  7 18:12:38", 2026, 12, 7, 2026)]
    public void InferYear_TraditionalTimestamp_YearFromReference(string stamp, int refYear, int refMonth, int refDay, int expected)
    {
        var reader = new PostfixTlsLogReader(null, TimeZoneInfo.Utc);
        var sessions = new List<PostfixTlsSession>();
        var reference = new DateTimeOffset(refYear, refMonth, refDay, 0, 30, 0, TimeSpan.Zero);
        reader.Read($"{stamp} mail postfix/smtp[1]: Verified TLS connection established to mx.a.test[192.0.2.1]:25: TLSv1.3", 0, reference, sessions);
        reader.Read($"{stamp} mail postfix/smtp[1]: ABCDE12345: to=<x@a.test>, relay=mx.a.test[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)", 1, reference, sessions);

        Assert.Equal(expected, Assert.Single(sessions).At.Year);
    }

    [Fact]
    public void Read_StartTlsStripped_StartTlsNotSupported()
    {
        // smtp_proto.c:825 "TLS is required, but was not offered by host %s"; the lab's MitM strip mode.
        var (sessions, _) = Read(Deferred("user@mitm-sts.test", "mx.mitm-sts.test[127.0.1.50]:25", "TLS is required, but was not offered by host mx.mitm-sts.test[127.0.1.50]"));

        var session = Assert.Single(sessions);
        Assert.False(session.Succeeded);
        Assert.Equal(new TlsSessionFailure(TlsRptResultTypes.StartTlsNotSupported, ReceivingMxHostname: "mx.mitm-sts.test", ReceivingIp: "127.0.1.50"), session.Failure);
    }

    [Fact]
    public void Read_StartTlsRefused_StartTlsNotSupported()
    {
        // smtp_proto.c:808 "TLS is required, but host %s refused to start TLS: %s"
        var (sessions, _) = Read(Deferred("u@a.test", "mx.a.test[192.0.2.1]:25",
            "TLS is required, but host mx.a.test[192.0.2.1] refused to start TLS: 454 4.7.0 TLS not available due to local problem"));

        Assert.Equal(TlsRptResultTypes.StartTlsNotSupported, Failure(Assert.Single(sessions)).ResultType);
    }

    [Fact]
    public void Read_HandshakeFailure_ValidationFailureWithPostfixReason()
    {
        var (sessions, _) = Read(
            Smtp("SSL_connect error to mx.a.test[192.0.2.1]:25: -1"),
            Smtp("warning: TLS library problem: error:0A000410:SSL routines::sslv3 alert handshake failure:../ssl/record/rec_layer_s3.c:1584:SSL alert number 40:"),
            Deferred("u@a.test", "mx.a.test[192.0.2.1]:25", "Cannot start TLS: handshake failure"));

        var failure = Failure(Assert.Single(sessions));
        Assert.Equal(TlsRptResultTypes.ValidationFailure, failure.ResultType);
        Assert.Equal("tls-handshake-failure", failure.FailureReasonCode);
        Assert.Equal("192.0.2.1", failure.ReceivingIp);
    }

    [Fact]
    public void Read_HandshakeFailureStatusAlone_ValidationFailure()
    {
        var (sessions, _) = Read(Deferred("u@a.test", "mx.a.test[192.0.2.1]:25", "Cannot start TLS: handshake failure"));

        Assert.Equal("tls-handshake-failure", Failure(Assert.Single(sessions)).FailureReasonCode);
    }

    [Theory]
    // tls_verify.c tls_log_verify_error, each branch; the default branch with OpenSSL's texts (x509_txt.c)
    [InlineData("server certificate verification failed for mx.a.test[192.0.2.1]:25: num=62:hostname mismatch", "certificate-host-mismatch", null)]
    [InlineData("server certificate verification failed for mx.a.test[192.0.2.1]:25: num=64:IP address mismatch", "certificate-host-mismatch", null)]
    [InlineData("server certificate verification failed for mx.a.test[192.0.2.1]:25: certificate has expired", "certificate-expired", null)]
    [InlineData("CA certificate verification failed for mx.a.test[192.0.2.1]:25: certificate has expired", "certificate-expired", null)]
    [InlineData("certificate verification failed for mx.a.test[192.0.2.1]:25: untrusted issuer /C=XX/O=Forged/CN=Evil CA", "certificate-not-trusted", "unable_to_get_local_issuer_certificate")]
    [InlineData("certificate verification failed for mx.a.test[192.0.2.1]:25: self-signed certificate", "certificate-not-trusted", "self-signed_certificate")]
    [InlineData("certificate verification failed for mx.a.test[192.0.2.1]:25: not trusted by local or TLSA policy", "certificate-not-trusted", null)]
    [InlineData("server certificate verification failed for mx.a.test[192.0.2.1]:25: num=65:no matching DANE TLSA records", "tlsa-invalid", "no_matching_DANE_TLSA_records")]
    [InlineData("server certificate verification failed for mx.a.test[192.0.2.1]:25: certificate not yet valid", "validation-failure", "certificate_is_not_yet_valid")]
    [InlineData("certificate verification failed for mx.a.test[192.0.2.1]:25: not designated for use as a server certificate", "validation-failure", "unsupported_certificate_purpose")]
    [InlineData("certificate verification failed for mx.a.test[192.0.2.1]:25: certificate chain longer than limit(9)", "validation-failure", "certificate_chain_too_long")]
    [InlineData("server certificate verification failed for mx.a.test[192.0.2.1]:25: num=7:certificate signature failure", "validation-failure", "certificate_signature_failure")]
    public void Read_VerificationFailureThenDeferred_TypeFromTheCauseLine(string cause, string type, string? reason)
    {
        var (sessions, _) = Read(
            Smtp(cause),
            Smtp("Untrusted TLS connection established to mx.a.test[192.0.2.1]:25: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)"),
            Deferred("u@a.test", "mx.a.test[192.0.2.1]:25", "Server certificate not verified"));

        var session = Assert.Single(sessions);
        Assert.Equal("Untrusted", session.TlsLevel);
        Assert.Equal(new TlsSessionFailure(type, ReceivingMxHostname: "mx.a.test", ReceivingIp: "192.0.2.1", FailureReasonCode: reason), session.Failure);
    }

    [Fact]
    public void Read_NotVerifiedWithoutCause_CertificateNotTrusted()
    {
        // Under "may"-like logging the cause is not logged; the status text alone (smtp_proto.c:1134).
        var (sessions, _) = Read(
            Smtp("Untrusted TLS connection established to mx.a.test[192.0.2.1]:25: TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits)"),
            Deferred("u@a.test", "mx.a.test[192.0.2.1]:25", "Server certificate not verified"));

        Assert.Equal(TlsRptResultTypes.CertificateNotTrusted, Failure(Assert.Single(sessions)).ResultType);
    }

    [Fact]
    public void Read_AllTlsaUnusableThenDelivered_TlsaInvalid()
    {
        // tls_client.c:1023: delivered over unauthenticated TLS, reported as a failure (as Postfix 3.10 does).
        var (sessions, _) = Read(
            Smtp("warning: mx.dane-unusable.test[127.0.2.5]:25: all TLSA records unusable, fallback to unauthenticated TLS"),
            Smtp("Untrusted TLS connection established to mx.dane-unusable.test[127.0.2.5]:25: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)"),
            Sent("u@dane-unusable.test", "mx.dane-unusable.test[127.0.2.5]:25"));

        var failure = Failure(Assert.Single(sessions));
        Assert.Equal(TlsRptResultTypes.TlsaInvalid, failure.ResultType);
        Assert.Equal("all-TLSA-records-unusable", failure.FailureReasonCode);
    }

    [Fact]
    public void Read_TlsaLookupError_DnssecInvalidWithoutConnection()
    {
        // smtp_tls_policy.c:861: deferred before connecting (Postfix 3.10 reports nothing; RFC 8460 §4.3.2.1 dnssec-invalid).
        var (sessions, _) = Read(Deferred("u@bogus.test", "none", "TLSA lookup error for mx.bogus.test:25"));

        var session = Assert.Single(sessions);
        Assert.Equal(new TlsSessionFailure(TlsRptResultTypes.DnssecInvalid, ReceivingMxHostname: "mx.bogus.test", FailureReasonCode: "tlsa-lookup-error"), session.Failure);
        Assert.Null(session.MxIp);
    }

    [Fact]
    public void Read_DaneOnlyInsecureMx_DaneRequired()
    {
        var (sessions, _) = Read(Deferred("u@insecure.test", "mx.insecure.test[127.0.1.30]:25", "non DNSSEC destination"));

        Assert.Equal(TlsRptResultTypes.DaneRequired, Failure(Assert.Single(sessions)).ResultType);
    }

    [Fact]
    public void Read_PolicyTableLookupError_MarkedForTheDaemonsRecord()
    {
        // dict_sockmap.c:278 + smtp_tls_policy.c:246, then 4.7.5 "client TLS configuration problem".
        var (sessions, _) = Read(
            Smtp("warning: socketmap:inet:127.0.0.1:8461:postfix socketmap server temporary error: MTA-STS policy fetch failed"),
            Smtp("warning: smtp_tls_policy_maps, next-hop destination \"sts-404.test\": policy table lookup error"),
            Smtp("warning: TLS policy lookup for sts-404.test/mx.sts-404.test: client TLS configuration problem"),
            Deferred("u@sts-404.test", "none", "client TLS configuration problem"));

        var session = Assert.Single(sessions);
        Assert.True(session.PolicyLookupError);
        Assert.Null(session.Failure);
        Assert.False(session.Succeeded);
    }

    [Fact]
    public void Read_BadPluginReplyWithoutLookupError_NotASession()
    {
        // SPR #76: a local configuration error, nothing to report to the domain.
        var (sessions, _) = Read(
            Smtp("warning: smtp_tls_policy_maps, next-hop destination \"gmail.com\": invalid attribute name: \"servername\""),
            Smtp("warning: TLS policy lookup for gmail.com/gmail-smtp-in.l.google.com: client TLS configuration problem"),
            Deferred("u@gmail.com", "none", "client TLS configuration problem"));

        Assert.Empty(sessions);
    }

    [Fact]
    public void Read_PlaintextAndLocalDeliveries_NotSessions()
    {
        var (sessions, _) = Read(
            Sent("u@plain.test", "mx.plain.test[192.0.2.9]:25"),                           // no TLS line: "may" without STARTTLS
            Smtp("4F2A31C0B8: to=<root@mail>, relay=local, delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (delivered to mailbox)"),
            Deferred("u@b.test", "mx.b.test[192.0.2.2]:25", "host mx.b.test[192.0.2.2] said: 450 4.2.0 mailbox busy (in reply to RCPT TO command)"),
            "Dec  7 18:12:38 mail sshd[99]: Accepted publickey for root",
            "-- Journal begins at Mon 2026-12-07 --");

        Assert.Empty(sessions);
    }

    [Fact]
    public void Read_RecipientDeferredByServerAfterGoodTls_TlsSucceeded()
    {
        var (sessions, _) = Read(
            Smtp("Verified TLS connection established to mx.a.test[192.0.2.1]:25: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)"),
            Deferred("u@a.test", "mx.a.test[192.0.2.1]:25", "host mx.a.test[192.0.2.1] said: 451 4.3.0 try later (in reply to end of DATA command)"));

        Assert.True(Assert.Single(sessions).Succeeded);
    }

    [Fact]
    public void Read_ThreeRecipientsOneConnection_OneSession()
    {
        var (sessions, _) = Read(
            Smtp("Verified TLS connection established to mx.a.test[192.0.2.1]:25: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)"),
            Sent("a@a.test", "mx.a.test[192.0.2.1]:25"),
            Sent("b@a.test", "mx.a.test[192.0.2.1]:25"),
            Sent("c@a.test", "mx.a.test[192.0.2.1]:25"));

        Assert.Single(sessions);
    }

    [Fact]
    public void Read_StrippedWithTwoRecipients_OneSession_NextRunAnother()
    {
        const string Why = "TLS is required, but was not offered by host mx.a.test[192.0.2.1]";
        var (sessions, _) = Read(
            Deferred("a@a.test", "mx.a.test[192.0.2.1]:25", Why),
            Deferred("b@a.test", "mx.a.test[192.0.2.1]:25", Why),
            Deferred("a@a.test", "mx.a.test[192.0.2.1]:25", Why, qid: "5A0B11C2D3"));   // another message: another connection

        Assert.Equal(2, sessions.Count);
        Assert.NotEqual(sessions[0].RecordKey, sessions[1].RecordKey);
    }

    [Fact]
    public void Read_FirstMxFailsSecondDelivers_TwoSessionsUnderTheRecipientDomain()
    {
        // smtp_trouble.c: "QUEUEID: reason" when another MX is still to be tried; the domain comes with the final line.
        var (sessions, _) = Read(
            Smtp("4F2A31C0B7: TLS is required, but was not offered by host mx1.a.test[192.0.2.1]"),
            Smtp("Verified TLS connection established to mx2.a.test[192.0.2.2]:25: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)"),
            Sent("u@a.test", "mx2.a.test[192.0.2.2]:25"));

        Assert.Equal(2, sessions.Count);
        Assert.All(sessions, s => Assert.Equal("a.test", s.ReportDomain));
        Assert.Equal(TlsRptResultTypes.StartTlsNotSupported, Failure(sessions[0]).ResultType);
        Assert.Equal("mx1.a.test", Failure(sessions[0]).ReceivingMxHostname);
        Assert.True(sessions[1].Succeeded);
    }

    [Fact]
    public void Read_InterleavedProcesses_JoinedByPid()
    {
        var (sessions, _) = Read(
            Smtp("server certificate verification failed for mx.bad.test[192.0.2.7]:25: certificate has expired", pid: 200),
            Smtp("Verified TLS connection established to mx.good.test[192.0.2.8]:25: TLSv1.3 with cipher X (256/256 bits)", pid: 100),
            Smtp("Untrusted TLS connection established to mx.bad.test[192.0.2.7]:25: TLSv1.3 with cipher X (256/256 bits)", pid: 200),
            Smtp("AAAAA11111: to=<u@good.test>, relay=mx.good.test[192.0.2.8]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)", pid: 100),
            Deferred("u@bad.test", "mx.bad.test[192.0.2.7]:25", "Server certificate not verified", qid: "BBBBB22222", pid: 200));

        Assert.Equal(2, sessions.Count);
        Assert.True(sessions.Single(s => s.ReportDomain == "good.test").Succeeded);
        Assert.Equal(TlsRptResultTypes.CertificateExpired, Failure(sessions.Single(s => s.ReportDomain == "bad.test")).ResultType);
    }

    [Fact]
    public void Read_TlsProxy_JoinedByEndpoint()
    {
        // smtp_tls_connection_reuse = yes: tlsproxy logs the handshake, smtp the delivery.
        var (sessions, _) = Read(
            "Dec  7 18:12:38 mail postfix/tlsproxy[900]: Verified TLS connection established to mx.a.test[192.0.2.1]:25: TLSv1.3 with cipher X (256/256 bits)",
            Sent("u@a.test", "mx.a.test[192.0.2.1]:25"),
            "Dec  7 18:12:39 mail postfix/tlsproxy[900]: Verified TLS connection reused to mx.a.test[192.0.2.1]:25: TLSv1.3 with cipher X (256/256 bits)",
            Sent("v@a.test", "mx.a.test[192.0.2.1]:25", qid: "CCCCC33333"));

        Assert.True(Assert.Single(sessions).Succeeded); // a reused connection is no new handshake (Postfix 3.10 does not report it either)
    }

    [Fact]
    public void Read_OurOwnReport_NotCounted_CaseInsensitive()
    {
        var (sessions, reader) = Read(
            "Dec  7 18:12:37 mail postfix/qmgr[300]: DDDDD44444: from=<TLSRPT-NoReply@Sender.Lab>, size=2410, nrcpt=1 (queue active)",
            "Dec  7 18:12:37 mail postfix/qmgr[300]: EEEEE55555: from=<someone@sender.lab>, size=900, nrcpt=1 (queue active)",
            Smtp("Verified TLS connection established to mx.a.test[192.0.2.1]:25: TLSv1.3 with cipher X (256/256 bits)"),
            Sent("tlsrpt@a.test", "mx.a.test[192.0.2.1]:25", qid: "DDDDD44444"),
            Smtp("Verified TLS connection established to mx.a.test[192.0.2.1]:25: TLSv1.3 with cipher X (256/256 bits)"),
            Sent("u@a.test", "mx.a.test[192.0.2.1]:25", qid: "EEEEE55555"),
            "Dec  7 18:12:40 mail postfix/qmgr[300]: DDDDD44444: removed");

        Assert.Equal("EEEEE55555", Assert.Single(sessions).QueueId);
        Assert.Equal(1, reader.Counts.OwnReports);
        Assert.Empty(reader.OwnQueueIds);
    }

    [Fact]
    public void Read_OwnQueueIdFromCursor_StillExcluded()
    {
        var reader = new PostfixTlsLogReader(Ours, TimeZoneInfo.Utc);
        reader.RememberOwnQueueIds(["DDDDD44444"], s_reference);
        var sessions = new List<PostfixTlsSession>();
        reader.Read(Deferred("tlsrpt@a.test", "mx.a.test[192.0.2.1]:25", "TLS is required, but was not offered by host mx.a.test[192.0.2.1]", qid: "DDDDD44444"), 1, s_reference, sessions);

        Assert.Empty(sessions);
    }

    [Fact]
    public void RecordKey_SameLineAnyCopy_SameKey_OtherLineOtherKey()
    {
        var line = Sent("u@a.test", "mx.a.test[192.0.2.1]:25");
        Assert.Equal(PostfixTlsLogReader.RecordKeyOf(line), PostfixTlsLogReader.RecordKeyOf(line));
        Assert.NotEqual(PostfixTlsLogReader.RecordKeyOf(line), PostfixTlsLogReader.RecordKeyOf(line.Replace("u@", "v@", StringComparison.Ordinal)));
        Assert.Equal(32, PostfixTlsLogReader.RecordKeyOf(line).Length);
    }

    [Fact]
    public void OldestPendingPosition_TlsLineAwaitingDelivery_ItsStart()
    {
        var reader = new PostfixTlsLogReader(null, TimeZoneInfo.Utc);
        var sessions = new List<PostfixTlsSession>();
        reader.Read(Smtp("Verified TLS connection established to mx.a.test[192.0.2.1]:25: TLSv1.3"), 1000, s_reference, sessions);
        Assert.Equal(1000, reader.OldestPendingPosition);

        reader.Read(Sent("u@a.test", "mx.a.test[192.0.2.1]:25"), 1100, s_reference, sessions);
        Assert.Null(reader.OldestPendingPosition);
    }

    [Fact]
    public void Read_ManyProcessesNeverDelivering_PendingBounded()
    {
        var reader = new PostfixTlsLogReader(null, TimeZoneInfo.Utc);
        var sessions = new List<PostfixTlsSession>();
        for (var pid = 1; pid <= PostfixTlsLogReader.MaxPending + 100; pid++)
        {
            reader.Read(Smtp("Verified TLS connection established to mx.a.test[192.0.2.1]:25: TLSv1.3", pid), pid, s_reference, sessions);
        }

        Assert.Equal(100, reader.Counts.UnjoinedTlsLines);
        Assert.Equal(101, reader.OldestPendingPosition); // the oldest were given up
    }

    [Fact]
    public void Read_RealLabPostfix37Log_EverySessionOnce()
    {
        // TestData/postfix37/lab-mitm.log: the lab's real Postfix 3.7.11 through the MitM (README there).
        var reader = new PostfixTlsLogReader(null, TimeZoneInfo.Utc);
        var sessions = new List<PostfixTlsSession>();
        long position = 0;
        foreach (var line in File.ReadLines(Path.Combine(AppContext.BaseDirectory, "TestData", "postfix37", "lab-mitm.log")))
        {
            reader.Read(line, position, s_reference, sessions);
            position += line.Length + 1;
        }

        Assert.Equal(["dane.test", "nosts.test", "sts-enforce.test"], sessions.Where(s => s.Succeeded).Select(s => s.ReportDomain).Order().ToArray());
        Assert.Equal(["Trusted", "Verified", "Verified"], sessions.Where(s => s.Succeeded).Select(s => s.TlsLevel!).Order().ToArray());
        var stripped = sessions.Where(s => s.Failure?.ResultType == TlsRptResultTypes.StartTlsNotSupported).ToList();
        Assert.Equal(5, stripped.Count); // every attempt, also two by the same smtp process with only qmgr's line between
        Assert.All(stripped, s => Assert.Equal(("mitm-sts.test", "mx.mitm-sts.test", "127.0.1.50"), (s.ReportDomain, s.Failure!.ReceivingMxHostname, s.Failure.ReceivingIp)));
        var forged = sessions.Where(s => s.Failure?.ResultType == TlsRptResultTypes.TlsaInvalid).ToList();
        Assert.Equal(4, forged.Count);
        Assert.All(forged, s => Assert.Equal("no_matching_DANE_TLSA_records", s.Failure!.FailureReasonCode));
        Assert.Equal(12, sessions.Count);
        Assert.Equal(12, sessions.Select(s => s.RecordKey).Distinct().Count());
        Assert.Equal(0, reader.Counts.UnjoinedTlsLines);
        Assert.Null(reader.OldestPendingPosition);
    }

    [Fact]
    public void Read_SameMessageRetriedBySameProcess_TwoSessions()
    {
        // Lines from the real lab log: smtp[22346] tries B5221B1E6C5 twice, 4 s apart, with only qmgr's line between.
        const string Why = "TLS is required, but was not offered by host mx.mitm-sts.test[127.0.1.50]";
        var (sessions, _) = Read(
            "Dec 07 19:02:35 sender postfix/smtp[22346]: B5221B1E6C5: to=<user@mitm-sts.test>, relay=mx.mitm-sts.test[127.0.1.50]:25, delay=3.7, delays=3.7/0/0.03/0, dsn=4.7.4, status=deferred (" + Why + ")",
            "Dec 07 19:02:39 sender postfix/qmgr[22286]: B5221B1E6C5: from=<sender@sender.lab>, size=317, nrcpt=1 (queue active)",
            "Dec 07 19:02:39 sender postfix/smtp[22346]: B5221B1E6C5: to=<user@mitm-sts.test>, relay=mx.mitm-sts.test[127.0.1.50]:25, delay=7.8, delays=7.8/0/0.02/0, dsn=4.7.4, status=deferred (" + Why + ")",
            // without the qmgr line (a log read from its middle): 4 s apart is still another attempt
            "Dec 07 19:02:43 sender postfix/smtp[22346]: B5221B1E6C5: to=<user@mitm-sts.test>, relay=mx.mitm-sts.test[127.0.1.50]:25, delay=12, delays=12/0/0.04/0, dsn=4.7.4, status=deferred (" + Why + ")");

        Assert.Equal(3, sessions.Count);
    }

    [Fact]
    public void Read_ADayOfShortLivedProcesses_StateStaysBounded()
    {
        // smtp processes come and go (max_idle): 50,000 pids each with a delivery and a policy lookup error.
        var reader = new PostfixTlsLogReader(null, TimeZoneInfo.Utc);
        var sessions = new List<PostfixTlsSession>();
        for (var pid = 1; pid <= 50_000; pid++)
        {
            reader.Read(Smtp("Verified TLS connection established to mx.a.test[192.0.2.1]:25: TLSv1.3", pid), pid, s_reference, sessions);
            reader.Read(Smtp($"Q{pid:X8}: to=<u@a.test>, relay=mx.a.test[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)", pid), pid, s_reference, sessions);
            reader.Read(Smtp("warning: smtp_tls_policy_maps, next-hop destination \"b.test\": policy table lookup error", pid), pid, s_reference, sessions);
        }

        Assert.Equal(50_000, sessions.Count);
        Assert.True(reader.TrackedProcesses <= 2 * PostfixTlsLogReader.MaxPending, $"{reader.TrackedProcesses} processes tracked");
    }
}
