namespace Rampart.Core.Dns;

/// <summary>What a DNS question came back with, before any meaning is given to the records.</summary>
public enum DnsOutcome
{
    /// <summary>The name exists and has records of the asked type.</summary>
    Records,
    /// <summary>The name exists but has no records of the asked type (NOERROR, empty answer).</summary>
    NoData,
    /// <summary>The name does not exist (RCODE 3).</summary>
    NxDomain,
    /// <summary>SERVFAIL, timeout, REFUSED, bogus, malformed answer: never read as "no records" (RFC 7672 §2.1.1).</summary>
    LookupError,
}

/// <summary>Why a lookup failed. A validating resolver reports bogus data as SERVFAIL.</summary>
public enum DnsErrorKind
{
    None,
    ServFail,
    Timeout,
    Refused,
    Malformed,
    CnameLoop,
    Other,
}

/// <summary>
/// One DNS answer: outcome, records, and whether the whole chain that produced it was DNSSEC-validated
/// (AD bit from a trusted resolver). Expected outcomes are values; only bugs throw.
/// </summary>
public sealed record DnsResult<T>(
    string QueryName,
    DnsOutcome Outcome,
    bool IsSecure,
    IReadOnlyList<T> Records,
    IReadOnlyList<string> CnameChain,
    DnsErrorKind Error = DnsErrorKind.None,
    string? ErrorMessage = null)
{
    public bool IsLookupError => Outcome == DnsOutcome.LookupError;

    /// <summary>The name the records were found at after following CNAMEs (the query name when there were none).</summary>
    public string CanonicalName => CnameChain.Count > 0 ? CnameChain[^1] : QueryName;

    public static DnsResult<T> Failed(string name, DnsErrorKind error, string message) =>
        new(name, DnsOutcome.LookupError, false, [], [], error, message);

    /// <summary>A short human description: "3 records (secure)", "NXDOMAIN (insecure)", "lookup error: SERVFAIL".</summary>
    public string Describe() => Outcome switch
    {
        DnsOutcome.Records => $"{Records.Count} record{(Records.Count == 1 ? "" : "s")} ({(IsSecure ? "secure" : "insecure")})",
        DnsOutcome.NoData => $"no records ({(IsSecure ? "secure" : "insecure")})",
        DnsOutcome.NxDomain => $"NXDOMAIN ({(IsSecure ? "secure" : "insecure")})",
        _ => $"lookup error: {ErrorMessage ?? Error.ToString()}",
    };
}

/// <summary>An MX record (RFC 5321 §5.1). Exchange is lower case without the trailing dot; "." (null MX, RFC 7505) is kept as "".</summary>
public sealed record MxRecord(ushort Preference, string Exchange);

/// <summary>A TLSA record's RDATA (RFC 6698 §2.1): usage, selector, matching type, association data.</summary>
public sealed record TlsaRecordData(byte Usage, byte Selector, byte MatchingType, byte[] Data);
