using Rampart.Core.MtaSts;

namespace Rampart.Core.Policy;

/// <summary>
/// A TLS security level for delivery to a destination (the levels of Postfix's TLS_README, which the overrides file is
/// written in): from <see cref="None"/> (no TLS) up to <see cref="Secure"/> (TLS with a WebPKI-verified certificate
/// whose name matches).
/// </summary>
public enum TlsLevel
{
    /// <summary>No TLS, even where the server offers it.</summary>
    None,
    /// <summary>Opportunistic TLS: use it when offered, accept any certificate.</summary>
    May,
    /// <summary>Mandatory TLS, any certificate.</summary>
    Encrypt,
    /// <summary>DANE where usable TLSA records exist (RFC 7672), otherwise opportunistic TLS.</summary>
    Dane,
    /// <summary>Mandatory DANE: every MX host must be authenticated by its TLSA records (RFC 7672).</summary>
    DaneOnly,
    /// <summary>Mandatory TLS with a verified certificate; the MX name may come from insecure DNS.</summary>
    Verify,
    /// <summary>Mandatory TLS with a verified certificate whose name matches one of <see cref="TlsRequirement.MatchNames"/>.</summary>
    Secure,
}

/// <summary>What a <see cref="TlsRequirement"/> asks of the delivery.</summary>
public enum TlsRequirementKind
{
    /// <summary>No policy applies: the MTA's own default TLS level is used.</summary>
    NoPolicy,
    /// <summary>Deliver at <see cref="TlsRequirement.Level"/> (with its certificate names and SNI).</summary>
    Enforce,
    /// <summary>The decision could not be made (a lookup failed): delivery must wait, never fall back.</summary>
    Defer,
}

/// <summary>
/// How strictly TLS must be enforced towards a destination: no policy, a level to enforce (with the certificate names
/// that must match and the name to send as SNI), or a temporary failure with its reason. The edges render it in their
/// own formats (the reply to Postfix, the CLI's JSON); this type holds no wire syntax.
/// </summary>
public sealed record TlsRequirement
{
    /// <summary><see cref="ServerName"/> that asks the MTA to send the MX host name as SNI.</summary>
    public const string MxHostName = "hostname";

    private TlsRequirement(TlsRequirementKind kind, TlsLevel level, IReadOnlyList<string> matchNames, string? serverName, string? deferReason)
    {
        Kind = kind;
        Level = level;
        MatchNames = matchNames;
        ServerName = serverName;
        DeferReason = deferReason;
    }

    public TlsRequirementKind Kind { get; }

    /// <summary>The level to enforce (meaningful for <see cref="TlsRequirementKind.Enforce"/> only).</summary>
    public TlsLevel Level { get; }

    /// <summary>
    /// Names the server certificate must match, in order: host names, <c>.suffix</c> names (any name below the suffix,
    /// at any depth) and the keywords <c>hostname</c>, <c>nexthop</c> and <c>dot-nexthop</c> an overrides file may
    /// give. Empty when the level's own default applies.
    /// </summary>
    public IReadOnlyList<string> MatchNames { get; }

    /// <summary>The SNI name to send: <c>hostname</c> (the MX host name), <c>nexthop</c> or a host name; null to send none.</summary>
    public string? ServerName { get; }

    /// <summary>Why the delivery must wait (for <see cref="TlsRequirementKind.Defer"/>), in a postmaster's words.</summary>
    public string? DeferReason { get; }

    /// <summary>No policy applies.</summary>
    public static TlsRequirement NoPolicy { get; } = new(TlsRequirementKind.NoPolicy, TlsLevel.None, [], null, null);

    /// <summary>Every MX host is authenticated by DANE.</summary>
    public static TlsRequirement DaneOnly { get; } = Enforce(TlsLevel.DaneOnly, [], null);

    /// <summary>DANE where it applies, otherwise opportunistic TLS.</summary>
    public static TlsRequirement Dane { get; } = Enforce(TlsLevel.Dane, [], null);

    /// <summary>TLS with a verified certificate matching one of <paramref name="matchNames"/> (RFC 8461 §4.1), optionally sending the MX host name as SNI.</summary>
    public static TlsRequirement Secure(IReadOnlyList<string> matchNames, bool sendServerName = true)
    {
        ArgumentNullException.ThrowIfNull(matchNames);
        ArgumentOutOfRangeException.ThrowIfZero(matchNames.Count);
        return Enforce(TlsLevel.Secure, matchNames, sendServerName ? MxHostName : null);
    }

    /// <summary>Any level, as a pinned policy writes it.</summary>
    public static TlsRequirement Enforce(TlsLevel level, IReadOnlyList<string> matchNames, string? serverName)
    {
        ArgumentNullException.ThrowIfNull(matchNames);
        return new(TlsRequirementKind.Enforce, level, matchNames, serverName, null);
    }

    /// <summary>Delivery must wait: <paramref name="reason"/> says why.</summary>
    public static TlsRequirement Defer(string reason)
    {
        ArgumentException.ThrowIfNullOrEmpty(reason);
        return new(TlsRequirementKind.Defer, TlsLevel.None, [], null, reason);
    }

    /// <summary>The level's name as TLS_README and the overrides file spell it: <c>none</c>, <c>may</c>, … <c>dane-only</c>, <c>secure</c>.</summary>
    public static string LevelName(TlsLevel level) => level switch
    {
        TlsLevel.None => "none",
        TlsLevel.May => "may",
        TlsLevel.Encrypt => "encrypt",
        TlsLevel.Dane => "dane",
        TlsLevel.DaneOnly => "dane-only",
        TlsLevel.Verify => "verify",
        _ => "secure",
    };

    /// <summary>The level named <paramref name="name"/> (lower case), as <see cref="LevelName"/> spells it.</summary>
    public static bool TryParseLevel(string name, out TlsLevel level)
    {
        foreach (var candidate in Enum.GetValues<TlsLevel>())
        {
            if (LevelName(candidate) == name)
            {
                level = candidate;
                return true;
            }
        }
        level = default;
        return false;
    }

    public bool Equals(TlsRequirement? other) =>
        other is not null && Kind == other.Kind && Level == other.Level && ServerName == other.ServerName
        && DeferReason == other.DeferReason && MatchNames.SequenceEqual(other.MatchNames);

    public override int GetHashCode() => HashCode.Combine(Kind, Level, ServerName, DeferReason, MatchNames.Count);

    /// <summary>In words, for evidence and logs: <c>secure (certificate name mx.example.org or .example.net; SNI: hostname)</c>.</summary>
    public override string ToString() => Kind switch
    {
        TlsRequirementKind.NoPolicy => "no policy",
        TlsRequirementKind.Defer => "defer: " + DeferReason,
        _ => LevelName(Level) + Details(),
    };

    private string Details()
    {
        var details = new List<string>(2);
        if (MatchNames.Count > 0)
        {
            details.Add("certificate name " + string.Join(" or ", MatchNames));
        }
        if (ServerName is not null)
        {
            details.Add("SNI: " + ServerName);
        }
        return details.Count == 0 ? "" : " (" + string.Join("; ", details) + ")";
    }
}

/// <summary>
/// The MTA-STS policy a requirement was drawn from, as a TLS-RPT report names it (RFC 8460 §4.4: policy-type sts,
/// policy-domain, policy-string, mx-host), so an MTA that reports TLS failures itself can say which policy it applied.
/// </summary>
public sealed record TlsRptPolicy(string PolicyDomain, MtaStsPolicy Policy);
