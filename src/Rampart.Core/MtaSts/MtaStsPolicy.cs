namespace Rampart.Core.MtaSts;

/// <summary>Policy mode (RFC 8461 §3.2). Wire values are the lower-case names.</summary>
public enum MtaStsMode
{
    Enforce,
    Testing,
    None,
}

/// <summary>A problem found in a policy text, tied to its 1-based line (0 when it concerns the whole text).</summary>
public sealed record PolicyDiagnostic(int Line, string Message);

/// <summary>
/// A parsed, valid MTA-STS policy (RFC 8461 §3.2). <see cref="Text"/> keeps the exact text it came from,
/// so reports (TLS-RPT policy-string) and caches can reproduce it.
/// </summary>
public sealed record MtaStsPolicy(string Version, MtaStsMode Mode, long MaxAge, IReadOnlyList<MxPattern> Mx, string Text)
{
    public static string ModeName(MtaStsMode mode) => mode switch
    {
        MtaStsMode.Enforce => "enforce",
        MtaStsMode.Testing => "testing",
        _ => "none",
    };

    /// <summary>True when <paramref name="host"/> is covered by at least one mx pattern (RFC 8461 §4.1).</summary>
    public bool MatchesMx(string host) => Mx.Any(p => p.Matches(host));

    /// <summary>
    /// The policy's lines as TLS-RPT's <c>policy-string</c> carries them (RFC 8460 §4.4): in the policy's order, line
    /// ends and surrounding white space removed, blank lines left out.
    /// </summary>
    public IReadOnlyList<string> PolicyStrings() =>
        Text.Split('\n').Select(line => line.Trim()).Where(line => line.Length > 0).ToList();

    /// <summary>
    /// The mx values exactly as the policy wrote them (case, trailing dot and U-labels kept), in the policy's order; the
    /// normalized <see cref="Mx"/> patterns when the text holds no such lines (a policy built in code).
    /// </summary>
    public IReadOnlyList<string> MxAsWritten()
    {
        var written = PolicyStrings()
            .Select(line => line.Split(':', 2))
            .Where(kv => kv.Length == 2 && kv[0].Trim() == "mx")
            .Select(kv => kv[1].Trim())
            .ToList();
        return written.Count == Mx.Count ? written : Mx.Select(p => p.Value).ToList();
    }
}

/// <summary>The verdict on a policy text: a policy when valid, and every error and warning found (all of them, not the first).</summary>
public sealed record MtaStsParseResult(MtaStsPolicy? Policy, IReadOnlyList<PolicyDiagnostic> Errors, IReadOnlyList<PolicyDiagnostic> Warnings)
{
    public bool IsValid => Policy is not null;
}
