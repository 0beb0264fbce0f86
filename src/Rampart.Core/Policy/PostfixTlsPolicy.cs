namespace Rampart.Core.Policy;

/// <summary>The status part of a Postfix socketmap reply (socketmap_table(5)).</summary>
public enum PostfixReplyStatus
{
    Ok,
    NotFound,
    Temp,
    Perm,
}

/// <summary>
/// A Postfix TLS policy answer as the socketmap sends it: <c>OK dane-only</c>, <c>OK secure match=… servername=hostname</c>,
/// <c>NOTFOUND </c> or <c>TEMP reason</c>. <see cref="Reply"/> is the exact payload (without netstring framing).
/// </summary>
public sealed record PostfixTlsPolicy(PostfixReplyStatus Status, string Value)
{
    /// <summary>Replies are at most 100000 bytes (socketmap_table(5), socketmap_max_reply_size).</summary>
    public const int MaxReplyBytes = 100_000;

    public static PostfixTlsPolicy NotFound { get; } = new(PostfixReplyStatus.NotFound, "");

    public static PostfixTlsPolicy DaneOnly { get; } = new(PostfixReplyStatus.Ok, "dane-only");

    public static PostfixTlsPolicy Dane { get; } = new(PostfixReplyStatus.Ok, "dane");

    /// <summary>TEMP with a one-line reason (control characters removed so the reply stays one netstring payload).</summary>
    public static PostfixTlsPolicy Temp(string reason) => new(PostfixReplyStatus.Temp, OneLine(reason));

    /// <summary><c>secure match=a:b servername=hostname</c> (RFC 8461 §4.1: the MX name must match a policy pattern).</summary>
    public static PostfixTlsPolicy Secure(IReadOnlyList<string> match, bool sendServerName = true)
    {
        ArgumentOutOfRangeException.ThrowIfZero(match.Count);
        var value = "secure match=" + string.Join(':', match) + (sendServerName ? " servername=hostname" : "");
        return new(PostfixReplyStatus.Ok, value);
    }

    /// <summary>
    /// This answer plus Postfix 3.10's TLSRPT attributes for the MTA-STS policy that produced it: <c>policy_type=sts</c>,
    /// <c>policy_domain</c>, <c>policy_ttl</c> (the policy's max_age), one <c>mx_host_pattern</c> per mx line verbatim (RFC 8460 §4.4 mx-host),
    /// and one <c>{ policy_string = … }</c> per policy line in the policy's order (RFC 8460 §4.4). A line holding a brace
    /// cannot be written in Postfix's attribute syntax and is left out (as postfix-tlspol does); when the attributes
    /// would push the reply past <see cref="MaxReplyBytes"/>, the policy strings are left out.
    /// </summary>
    public PostfixTlsPolicy WithTlsRpt(string policyDomain, MtaSts.MtaStsPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        var attributes = new System.Text.StringBuilder();
        attributes.Append(" policy_type=sts policy_domain=").Append(policyDomain)
            .Append(" policy_ttl=").Append(policy.MaxAge.ToString(System.Globalization.CultureInfo.InvariantCulture));
        foreach (var pattern in policy.MxAsWritten())
        {
            attributes.Append(" mx_host_pattern=").Append(pattern);
        }
        var withoutStrings = Value + attributes;
        foreach (var line in policy.PolicyStrings().Where(l => !l.Contains('{', StringComparison.Ordinal) && !l.Contains('}', StringComparison.Ordinal)))
        {
            attributes.Append(" { policy_string = ").Append(line).Append(" }");
        }
        var value = Value + attributes;
        return this with { Value = System.Text.Encoding.UTF8.GetByteCount(value) + 3 <= MaxReplyBytes ? value : withoutStrings };
    }

    public string Reply => Status switch
    {
        PostfixReplyStatus.Ok => "OK " + Value,
        PostfixReplyStatus.NotFound => "NOTFOUND " + Value,
        PostfixReplyStatus.Temp => "TEMP " + Value,
        _ => "PERM " + Value,
    };

    public override string ToString() => Reply;

    private static string OneLine(string s) => new(s.Select(c => char.IsControl(c) ? ' ' : c).ToArray());
}
