using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Rampart.Core.Policy;
using Rampart.Core.Policy.Pinned;

namespace Rampart.Postfix.Socketmap;

/// <summary>
/// The one mapping from a sender decision to the socketmap reply Postfix gets for <c>smtp_tls_policy_maps</c>
/// (socketmap_table(5), TLS_README's policy table): no policy → <c>NOTFOUND </c>; a requirement →
/// <c>OK level [match=a:b] [servername=hostname]</c>, plus Postfix 3.10's TLSRPT attributes when the decision carries
/// its MTA-STS policy; a deferral → <c>TEMP reason</c>. Each decision is mapped and encoded once: the cached decision
/// answers every later lookup with the same reply object, so what the daemon logs and counts is what it sends.
/// </summary>
internal static class SocketmapPolicyReply
{
    private static readonly SocketmapReply s_daneOnly = SocketmapReply.Ok(TlsRequirement.LevelName(TlsLevel.DaneOnly));
    private static readonly SocketmapReply s_dane = SocketmapReply.Ok(TlsRequirement.LevelName(TlsLevel.Dane));

    // Keyed by object (not value): a cached decision is one object, mapped on its first lookup. Without TLS-RPT
    // attributes the reply depends on the requirement alone, which the decision cache keeps once for every domain that
    // has an equal one (SenderPolicyCache.SharedParts): those domains share one reply.
    private static readonly ConditionalWeakTable<TlsRequirement, SocketmapReply> s_byRequirement = new();
    private static readonly ConditionalWeakTable<SenderPolicyDecision, SocketmapReply> s_withTlsRpt = new();

    /// <summary>The reply for <paramref name="decision"/>, built and encoded on its first use.</summary>
    public static SocketmapReply For(SenderPolicyDecision decision)
    {
        ArgumentNullException.ThrowIfNull(decision);
        return decision.TlsRpt is null
            ? s_byRequirement.GetValue(decision.Requirement, static r => Map(r, tlsRpt: null))
            : s_withTlsRpt.GetValue(decision, static d => Map(d.Requirement, d.TlsRpt));
    }

    /// <summary>
    /// The enforced pinned policies Postfix could never be given: each one's reply would be over
    /// <see cref="SocketmapReply.MaxBytes"/>, so every lookup for it would answer <c>TEMP reply too long</c>. One line
    /// each, naming the file and line (or the list's key) and the rule, so the daemon refuses them when it loads them
    /// (start, <c>--check-config</c>, SIGHUP) instead of deferring mail for those domains.
    /// </summary>
    public static IReadOnlyList<string> TooLongForPostfix(PinnedPolicySet pinned)
    {
        ArgumentNullException.ThrowIfNull(pinned);
        var errors = new List<string>();
        foreach (var policy in pinned.Overrides.Entries.Concat(pinned.List?.Entries ?? []))
        {
            if (policy.IsEnforced && Map(policy.Requirement, tlsRpt: null) is { RefusedBytes: > 0 } refused)
            {
                var source = policy.Source;
                var list = source.Origin == PinnedPolicyOrigin.Override ? "match= list" : "mxs list";
                errors.Add(new PinnedDiagnostic(source.File, source.Line, source.Key,
                    $"the reply to Postfix would be {refused.RefusedBytes} bytes, more than the {SocketmapReply.MaxBytes} a socketmap reply may have " +
                    $"(socketmap_table(5)), so every lookup for {policy.Domain} would answer TEMP; shorten its {list}").ToString());
            }
        }
        return errors;
    }

    private static SocketmapReply Map(TlsRequirement requirement, TlsRptPolicy? tlsRpt)
    {
        switch (requirement.Kind)
        {
            case TlsRequirementKind.NoPolicy:
                return SocketmapReply.NotFound;
            case TlsRequirementKind.Defer:
                return SocketmapReply.Temp(requirement.DeferReason!);
        }
        if (requirement == TlsRequirement.DaneOnly)
        {
            return s_daneOnly;
        }
        if (requirement == TlsRequirement.Dane)
        {
            return s_dane;
        }

        var value = new StringBuilder(TlsRequirement.LevelName(requirement.Level));
        if (requirement.MatchNames.Count > 0)
        {
            value.Append(" match=").AppendJoin(':', requirement.MatchNames);
        }
        if (requirement.ServerName is { } serverName)
        {
            value.Append(" servername=").Append(serverName);
        }
        return tlsRpt is null ? SocketmapReply.Ok(value.ToString()) : WithTlsRpt(value, tlsRpt);
    }

    /// <summary>
    /// The reply plus Postfix 3.10's TLSRPT attributes for the MTA-STS policy that produced it: <c>policy_type=sts</c>,
    /// <c>policy_domain</c>, <c>policy_ttl</c> (the policy's max_age), one <c>mx_host_pattern</c> per mx line verbatim
    /// (RFC 8460 §4.4 mx-host), and one <c>{ policy_string = … }</c> per policy line in the policy's order (RFC 8460
    /// §4.4). A line holding a brace cannot be written in Postfix's attribute syntax and is left out (as postfix-tlspol
    /// does); when the policy strings would push the reply past <see cref="SocketmapReply.MaxBytes"/>, they are left out.
    /// </summary>
    private static SocketmapReply WithTlsRpt(StringBuilder value, TlsRptPolicy tlsRpt)
    {
        var policy = tlsRpt.Policy;
        value.Append(" policy_type=sts policy_domain=").Append(tlsRpt.PolicyDomain)
            .Append(" policy_ttl=").Append(policy.MaxAge.ToString(CultureInfo.InvariantCulture));
        foreach (var pattern in policy.MxAsWritten())
        {
            value.Append(" mx_host_pattern=").Append(pattern);
        }
        var withoutStrings = value.ToString();
        foreach (var line in policy.PolicyStrings())
        {
            if (!line.Contains('{', StringComparison.Ordinal) && !line.Contains('}', StringComparison.Ordinal))
            {
                value.Append(" { policy_string = ").Append(line).Append(" }");
            }
        }
        var full = SocketmapReply.Ok(value.ToString());
        return full.RefusedBytes == 0 ? full : SocketmapReply.Ok(withoutStrings);
    }
}
