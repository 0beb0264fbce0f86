using System.Security.Cryptography.X509Certificates;
using Rampart.Core.Dns;

namespace Rampart.Core.Dane;

/// <summary>
/// Name checks for DANE-TA (RFC 7672 §3.2.3): the leaf's DNS-IDs (subjectAltName dNSName entries; the subject CN only
/// when there are none) against the reference identifiers (the TLSA base domain, then the MX host / next-hop domain).
/// A wildcard is allowed only as the whole leftmost label and stands for exactly one label.
/// </summary>
public static class DaneNames
{
    /// <summary>Where the TLSA records of a TCP service live (RFC 6698 §3): <c>_PORT._tcp.HOST</c>.</summary>
    public static string TlsaOwner(string host, int port) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"_{port}._tcp.{host}");

    /// <summary>The names a DANE client checks: SAN dNSName entries, else the subject common name(s).</summary>
    public static IReadOnlyList<string> CertificateNames(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var names = new List<string>();
        foreach (var extension in certificate.Extensions)
        {
            if (extension is X509SubjectAlternativeNameExtension san)
            {
                names.AddRange(san.EnumerateDnsNames());
            }
        }
        if (names.Count > 0)
        {
            return names;
        }
        foreach (var rdn in certificate.SubjectName.EnumerateRelativeDistinguishedNames())
        {
            if (!rdn.HasMultipleElements && rdn.GetSingleElementType().Value == "2.5.4.3" && rdn.GetSingleElementValue() is { Length: > 0 } cn)
            {
                names.Add(cn);
            }
        }
        return names;
    }

    /// <summary>The first of <paramref name="certificateNames"/> that covers one of <paramref name="referenceNames"/>, or null.</summary>
    public static (string CertificateName, string ReferenceName)? FirstMatch(IEnumerable<string> certificateNames, IEnumerable<string> referenceNames)
    {
        var references = referenceNames.Select(Reference).Where(r => r.Length > 0).ToList();
        foreach (var name in certificateNames)
        {
            foreach (var reference in references)
            {
                if (Covers(name, reference))
                {
                    return (name, reference);
                }
            }
        }
        return null;
    }

    /// <summary>
    /// True when the certificate name <paramref name="pattern"/> covers <paramref name="host"/>: equal ignoring ASCII case
    /// and a trailing dot, or <c>*.rest</c> where the host is one label followed by <c>.rest</c> and <c>rest</c> has at
    /// least two labels. Partial-label wildcards (<c>x*.example.com</c>, <c>*mx.example.com</c>) never match.
    /// </summary>
    public static bool Covers(string pattern, string host)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        ArgumentNullException.ThrowIfNull(host);
        pattern = pattern.TrimEnd('.').ToLowerInvariant();
        host = host.TrimEnd('.').ToLowerInvariant();
        if (pattern.Length == 0 || host.Length == 0 || host.Contains('*', StringComparison.Ordinal))
        {
            return false;
        }
        if (!pattern.StartsWith("*.", StringComparison.Ordinal))
        {
            return !pattern.Contains('*', StringComparison.Ordinal) && pattern == host;
        }
        var rest = pattern[2..];
        if (rest.Contains('*', StringComparison.Ordinal) || !rest.Contains('.', StringComparison.Ordinal))
        {
            return false;
        }
        var dot = host.IndexOf('.', StringComparison.Ordinal);
        return dot > 0 && host[(dot + 1)..] == rest;
    }

    private static string Reference(string name) =>
        DnsName.TryNormalize(name, out var normalized, out _) ? normalized : name.Trim().TrimEnd('.').ToLowerInvariant();
}
