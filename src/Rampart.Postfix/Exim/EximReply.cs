using System.Runtime.CompilerServices;
using System.Text;
using Rampart.Core.Policy;

namespace Rampart.Postfix.Exim;

/// <summary>The first word of an Exim line reply: what the Exim configuration (docs/exim.md) does with it.</summary>
internal enum EximAnswer
{
    /// <summary><c>dane-only</c>: every MX host must be authenticated by DANE (<c>hosts_require_dane = *</c>).</summary>
    DaneOnly,
    /// <summary><c>dane</c>: DANE where the MX host has TLSA records (<c>hosts_try_dane = *</c>), Exim's default elsewhere.</summary>
    Dane,
    /// <summary><c>secure HOST[:HOST…]</c>: only these MX hosts, each over TLS with a WebPKI-valid certificate for its name.</summary>
    Secure,
    /// <summary><c>none</c>: no policy; Exim's own default (opportunistic TLS) applies.</summary>
    None,
    /// <summary><c>tempfail REASON</c>: defer the delivery.</summary>
    Tempfail,
}

/// <summary>
/// One reply of the Exim line listener (docs/exim.md, "The protocol"): one line, <see cref="Text"/> followed by a
/// newline, built once per decision so what is logged is what is sent. The mapping from a sender decision:
/// <list type="bullet">
/// <item>DANE → <c>dane-only</c> / <c>dane</c>;</item>
/// <item>MTA-STS enforce (and strict testing) and pinned <c>secure</c>/<c>verify</c> → <c>secure</c> with the MX host
///   names the policy allows: literal names as written, a policy wildcard expanded to the DNS MX hosts it covers (as the
///   Postfix reply's <c>match=</c>), or, when the MX set was unknown, <c>*.example.com</c> (Exim's domain-list suffix
///   pattern: any depth, as Postfix's <c>.example.com</c>); <c>*</c> alone means any MX host, verified against its own name;</item>
/// <item>pinned <c>encrypt</c> → <c>secure *</c> (Exim cannot be told "TLS, any certificate" per domain through one
///   word; verifying is stricter, never weaker);</item>
/// <item>no policy, MTA-STS testing, mode none, pinned <c>may</c>/<c>none</c> → <c>none</c>;</item>
/// <item>a decision that must wait → <c>tempfail REASON</c>.</item>
/// </list>
/// </summary>
internal sealed class EximReply
{
    /// <summary>Any MX host name, verified against its own name.</summary>
    public const string AnyHost = "*";

    private static readonly EximReply s_daneOnly = new(EximAnswer.DaneOnly, "dane-only");
    private static readonly EximReply s_dane = new(EximAnswer.Dane, "dane");
    private static readonly ConditionalWeakTable<SenderPolicyDecision, EximReply> s_replies = new();

    private readonly byte[] _encoded;

    private EximReply(EximAnswer answer, string text)
    {
        Answer = answer;
        Text = text;
        _encoded = Encoding.UTF8.GetBytes(text + "\n");
    }

    public static EximReply None { get; } = new(EximAnswer.None, "none");

    public EximAnswer Answer { get; }

    /// <summary>The reply line without its newline, e.g. <c>secure mx1.example.com:mx2.example.com</c>.</summary>
    public string Text { get; }

    /// <summary>The first word: <c>dane-only</c>, <c>dane</c>, <c>secure</c>, <c>none</c> or <c>tempfail</c> (the metrics' answer label).</summary>
    public string Word => Answer switch
    {
        EximAnswer.DaneOnly => "dane-only",
        EximAnswer.Dane => "dane",
        EximAnswer.Secure => "secure",
        EximAnswer.None => "none",
        _ => "tempfail",
    };

    /// <summary><see cref="Text"/> and its newline in UTF-8: what the listener writes before it closes.</summary>
    public ReadOnlyMemory<byte> Encoded => _encoded;

    /// <summary><c>tempfail REASON</c>, the reason on one line (control characters become spaces).</summary>
    public static EximReply Tempfail(string reason)
    {
        ArgumentException.ThrowIfNullOrEmpty(reason);
        return new(EximAnswer.Tempfail, "tempfail " + string.Create(reason.Length, reason, static (span, source) =>
        {
            for (var i = 0; i < source.Length; i++)
            {
                span[i] = char.IsControl(source[i]) ? ' ' : source[i];
            }
        }));
    }

    /// <summary><c>secure HOST[:HOST…]</c>; <paramref name="hosts"/> non-empty, each a host name, <c>*.suffix</c> or <c>*</c>.</summary>
    public static EximReply Secure(IReadOnlyList<string> hosts)
    {
        ArgumentNullException.ThrowIfNull(hosts);
        ArgumentOutOfRangeException.ThrowIfZero(hosts.Count);
        return new(EximAnswer.Secure, "secure " + string.Join(':', hosts.Contains(AnyHost) ? [AnyHost] : hosts));
    }

    /// <summary>The reply for <paramref name="decision"/>, built on its first use (a cached decision is one object).</summary>
    public static EximReply For(SenderPolicyDecision decision)
    {
        ArgumentNullException.ThrowIfNull(decision);
        return s_replies.GetValue(decision, static d => Map(d.Requirement, d.Domain));
    }

    public override string ToString() => Text;

    private static EximReply Map(TlsRequirement requirement, string domain)
    {
        switch (requirement.Kind)
        {
            case TlsRequirementKind.NoPolicy:
                return None;
            case TlsRequirementKind.Defer:
                return Tempfail(requirement.DeferReason!);
        }
        return requirement.Level switch
        {
            TlsLevel.DaneOnly => s_daneOnly,
            TlsLevel.Dane => s_dane,
            TlsLevel.Secure or TlsLevel.Verify => Secure(HostPatterns(requirement, domain)),
            TlsLevel.Encrypt => Secure([AnyHost]),
            _ => None,
        };
    }

    /// <summary>
    /// The MX host patterns a <c>secure</c>/<c>verify</c> requirement's certificate names stand for. Exim checks the
    /// certificate against the MX host name (<c>tls_verify_cert_hostnames</c>), so a name becomes "MX hosts of that name":
    /// <c>.suffix</c> → <c>*.suffix</c>; <c>hostname</c> → <c>*</c>; <c>nexthop</c> → the domain; <c>dot-nexthop</c> →
    /// <c>*.domain</c>. No names: <c>secure</c>'s default <c>nexthop:dot-nexthop</c>, <c>verify</c>'s <c>hostname</c>.
    /// </summary>
    private static List<string> HostPatterns(TlsRequirement requirement, string domain)
    {
        IEnumerable<string> names = requirement.MatchNames.Count > 0 ? requirement.MatchNames
            : requirement.Level == TlsLevel.Verify ? [TlsRequirement.MxHostName] : ["nexthop", "dot-nexthop"];
        return names.Select(name => name switch
        {
            TlsRequirement.MxHostName => AnyHost,
            "nexthop" => domain,
            "dot-nexthop" => "*." + domain,
            _ when name.StartsWith('.') => "*" + name,
            _ => name,
        }).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
    }
}
