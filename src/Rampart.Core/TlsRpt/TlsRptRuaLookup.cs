using Rampart.Core.Dns;

namespace Rampart.Core.TlsRpt;

/// <summary>What the <c>_smtp._tls</c> lookup at send time says about where a domain's report goes.</summary>
public enum TlsRptRuaStatus
{
    /// <summary>Exactly one valid <c>v=TLSRPTv1</c> record: send to its rua.</summary>
    Found,

    /// <summary>No <c>v=TLSRPTv1</c> record (NXDOMAIN, no TXT, other TXT only): the report is dropped (RFC 8460 §3).</summary>
    NoRecord,

    /// <summary>More than one, or one that fails RFC 8460 §3's rules: the report is dropped, never sent to such a rua.</summary>
    Invalid,

    /// <summary>The lookup failed (SERVFAIL, timeout): the report is kept for the next try.</summary>
    LookupError,
}

/// <summary>The lookup's verdict, the record when <see cref="TlsRptRuaStatus.Found"/>, and one line saying why.</summary>
public sealed record TlsRptRuaAnswer(TlsRptRuaStatus Status, TlsRptRecord? Record, string Detail);

/// <summary>
/// Looks up a report domain's TLSRPT record again when its report is sent (RFC 8460 §3, §4: the rua in DNS now, not the
/// one the session saw), applying the same rules as <c>rampart check</c>: exactly one record beginning
/// <c>v=TLSRPTv1</c>, which parses.
/// </summary>
public sealed class TlsRptRuaLookup(IDnsResolver dns)
{
    /// <summary>Looks up <c>_smtp._tls.<paramref name="domain"/></c>.</summary>
    public async Task<TlsRptRuaAnswer> LookupAsync(string domain, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(domain);
        var name = "_smtp._tls." + domain;
        var txt = await dns.QueryTxtAsync(name, cancellationToken).ConfigureAwait(false);
        if (txt.IsLookupError)
        {
            return new(TlsRptRuaStatus.LookupError, null, $"{name} TXT: {txt.Describe()}");
        }
        var candidates = txt.Records.Where(TlsRptRecord.IsTlsRptV1).ToList();
        if (candidates.Count == 0)
        {
            return new(TlsRptRuaStatus.NoRecord, null, $"{name}: no v={TlsRptRecord.Version} record ({txt.Describe()})");
        }
        if (candidates.Count > 1)
        {
            return new(TlsRptRuaStatus.Invalid, null, $"{name}: {candidates.Count} v={TlsRptRecord.Version} records; RFC 8460 §3 needs exactly one");
        }
        return TlsRptRecord.TryParse(candidates[0], out var record, out var errors)
            ? new(TlsRptRuaStatus.Found, record, $"{name}: rua {string.Join(",", record.Rua)}")
            : new(TlsRptRuaStatus.Invalid, null, $"{name}: '{DisplayText.Sanitize(candidates[0])}' is invalid: {string.Join("; ", errors)}");
    }
}
