using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using Rampart.Core.MtaSts;

namespace Rampart.Core.Publish;

/// <summary>A TLSA source that passed validation: files, host and which records to make.</summary>
public sealed record PublishTlsa(string? Host, string Cert, string? Next, bool DaneTa, int Port);

/// <summary>A validated receiving domain: what <c>rampart publish</c> renders and <c>rampart serve</c> serves.</summary>
public sealed record PublishDomain(
    string Domain,
    MtaStsMode Mode,
    long MaxAge,
    IReadOnlyList<MxPattern> Mx,
    IReadOnlyList<string> TlsRpt,
    IReadOnlyList<PublishTlsa> Tlsa,
    string? PolicyHost,
    string CertName)
{
    /// <summary>One day: the default max_age and the first step of the ramp.</summary>
    public const long DefaultMaxAge = 86_400;

    /// <summary>The policy host name, <c>mta-sts.&lt;domain&gt;</c> (RFC 8461 §3.3).</summary>
    public string PolicyHostName => MtaStsPolicyFetcher.PolicyHost(Domain);

    /// <summary>Validates <paramref name="options"/>; <paramref name="where"/> prefixes every error (<c>domains[2]</c>). Collects all errors.</summary>
    public static bool TryFrom(PublishDomainOptions options, string where, [NotNullWhen(true)] out PublishDomain? domain, out IReadOnlyList<string> errors)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = new List<string>();
        domain = null;
        string name = "";
        if (string.IsNullOrWhiteSpace(options.Domain))
        {
            problems.Add($"{where}.domain: required (the mail domain, e.g. example.com)");
        }
        else if (!DomainName.TryNormalize(options.Domain, out var normalized, out var nameError))
        {
            problems.Add($"{where}.domain '{options.Domain}': {nameError}");
        }
        else
        {
            name = normalized;
        }
        var mode = MtaStsMode.Testing;
        if (options.Mode is { } modeText && !TryMode(modeText, out mode))
        {
            problems.Add($"{where}.mode '{modeText}': must be testing, enforce or none (RFC 8461 §3.2)");
        }
        long maxAge = DefaultMaxAge;
        if (options.MaxAge is { } maxAgeText
            && (!long.TryParse(maxAgeText, NumberStyles.None, CultureInfo.InvariantCulture, out maxAge) || maxAge > MtaStsPolicyParser.MaxMaxAge))
        {
            problems.Add($"{where}.max_age '{maxAgeText}': must be whole seconds from 0 to {MtaStsPolicyParser.MaxMaxAge} (RFC 8461 §3.2)");
        }
        var mx = new List<MxPattern>();
        for (var i = 0; i < options.Mx.Count; i++)
        {
            if (MxPattern.TryParse(options.Mx[i], out var pattern, out var mxError))
            {
                if (!mx.Contains(pattern))
                {
                    mx.Add(pattern);
                }
            }
            else
            {
                problems.Add($"{where}.mx[{i}] '{options.Mx[i]}': {mxError}");
            }
        }
        if (mx.Count == 0 && mode != MtaStsMode.None && options.Mx.Count == 0)
        {
            problems.Add($"{where}.mx: at least one MX host or '*.' pattern is required unless mode is none (RFC 8461 §3.2)");
        }
        var rua = new List<string>();
        for (var i = 0; i < options.TlsRpt.Count; i++)
        {
            var text = options.TlsRpt[i].Trim();
            if (TryRua(text, out var ruaError))
            {
                rua.Add(text);
            }
            else
            {
                problems.Add($"{where}.tlsrpt[{i}] '{text}': {ruaError}");
            }
        }
        var tlsa = new List<PublishTlsa>();
        for (var i = 0; i < options.Tlsa.Count; i++)
        {
            var t = options.Tlsa[i];
            var at = $"{where}.tlsa[{i}]";
            string? host = null;
            if (t.Host is { } hostText && !DomainName.TryNormalize(hostText, out host, out var hostError))
            {
                problems.Add($"{at}.host '{hostText}': {hostError}");
            }
            if (string.IsNullOrWhiteSpace(t.Cert))
            {
                problems.Add($"{at}.cert: required (PEM certificate or chain of the MX host, leaf first)");
            }
            var port = 25;
            if (t.Port is { } portText && (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535))
            {
                problems.Add($"{at}.port '{portText}': must be a port from 1 to 65535");
            }
            if (!string.IsNullOrWhiteSpace(t.Cert))
            {
                tlsa.Add(new PublishTlsa(host, t.Cert, string.IsNullOrWhiteSpace(t.Next) ? null : t.Next, t.DaneTa, port));
            }
        }
        string? policyHost = null;
        if (options.PolicyHost is { } policyHostText)
        {
            if (IPAddress.TryParse(policyHostText, out var address))
            {
                policyHost = address.ToString();
            }
            else if (DomainName.TryNormalize(policyHostText, out var host, out var hostError))
            {
                policyHost = host;
            }
            else
            {
                problems.Add($"{where}.policy_host '{policyHostText}': an IP address or a host name; {hostError}");
            }
        }
        var certName = options.CertName;
        if (certName is not null && (certName.Length == 0 || certName.Contains('/', StringComparison.Ordinal) || certName is "." or ".."))
        {
            problems.Add($"{where}.cert_name '{certName}': a certbot lineage name (the folder under live/), not a path");
        }
        errors = problems;
        if (problems.Count > 0)
        {
            return false;
        }
        domain = new PublishDomain(name, mode, maxAge, mx, rua, tlsa, policyHost, certName ?? MtaStsPolicyFetcher.PolicyHost(name));
        return true;
    }

    private static bool TryMode(string text, out MtaStsMode mode)
    {
        switch (text.Trim())
        {
            case "testing":
                mode = MtaStsMode.Testing;
                return true;
            case "enforce":
                mode = MtaStsMode.Enforce;
                return true;
            case "none":
                mode = MtaStsMode.None;
                return true;
            default:
                mode = MtaStsMode.Testing;
                return false;
        }
    }

    /// <summary>A TLS-RPT <c>rua</c> URI (RFC 8460 §3) as <see cref="Rampart.Core.TlsRpt.TlsRptRecord"/> reads it, and without commas, semicolons or spaces (they would split the record).</summary>
    private static bool TryRua(string text, [NotNullWhen(false)] out string? error)
    {
        error = null;
        if (text.Contains(',', StringComparison.Ordinal) || text.Contains(';', StringComparison.Ordinal) || text.Any(char.IsWhiteSpace))
        {
            error = "commas, semicolons and spaces must be percent-encoded in a rua URI (RFC 8460 §3)";
            return false;
        }
        // the same rule `check` applies to the published record
        return Rampart.Core.TlsRpt.TlsRptRecord.TryParseUri(text, out _, out error);
    }
}
