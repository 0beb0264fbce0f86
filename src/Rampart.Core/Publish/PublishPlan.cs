using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Rampart.Core.Dane;
using Rampart.Core.IO;

namespace Rampart.Core.Publish;

/// <summary>Everything <c>rampart publish</c> produces for one domain: the policy file and the DNS records.</summary>
public sealed record PublishPlan(PublishDomain Domain, PolicyDocument Policy, IReadOnlyList<DnsRecordAdvice> Records, IReadOnlyList<string> Notes)
{
    /// <summary>
    /// Renders the policy and the records for <paramref name="domain"/>: <c>_mta-sts</c> TXT, the policy host
    /// (A/AAAA/CNAME when <c>policy_host</c> is given, advice otherwise), <c>_smtp._tls</c> TXT when report addresses
    /// are given, and TLSA (<c>3 1 1</c> per certificate and next key, <c>2 1 1</c> when asked). A certificate file
    /// that cannot be used is a <see cref="RampartException"/> naming the file.
    /// </summary>
    public static PublishPlan Create(PublishDomain domain)
    {
        ArgumentNullException.ThrowIfNull(domain);
        var policy = PolicyDocument.For(domain);
        var records = new List<DnsRecordAdvice>
        {
            new($"_mta-sts.{domain.Domain}", "TXT", DnsRecordAdvice.TxtData(policy.TxtValue),
                "MTA-STS announcement; the id changes whenever the policy changes (RFC 8461 §3.1)"),
        };
        var hostName = domain.PolicyHostName;
        var hostComment = $"policy host: 'rampart serve' with a WebPKI certificate for {hostName} (RFC 8461 §3.3)";
        if (domain.PolicyHost is null)
        {
            records.Add(new DnsRecordAdvice(hostName, "A", "<address of the host running rampart serve>", hostComment, IsAdvice: true));
        }
        else if (IPAddress.TryParse(domain.PolicyHost, out var address))
        {
            records.Add(new DnsRecordAdvice(hostName, address.AddressFamily == AddressFamily.InterNetworkV6 ? "AAAA" : "A", address.ToString(), hostComment));
        }
        else
        {
            records.Add(new DnsRecordAdvice(hostName, "CNAME", domain.PolicyHost + ".", hostComment));
        }
        if (domain.TlsRpt.Count > 0)
        {
            records.Add(new DnsRecordAdvice($"_smtp._tls.{domain.Domain}", "TXT",
                DnsRecordAdvice.TxtData("v=TLSRPTv1; rua=" + string.Join(',', domain.TlsRpt)), "TLS-RPT report addresses (RFC 8460 §3)"));
        }
        var notes = new List<string>();
        foreach (var tlsa in domain.Tlsa)
        {
            records.AddRange(TlsaRecords(tlsa, notes));
        }
        return new PublishPlan(domain, policy, records, notes);
    }

    private static IEnumerable<DnsRecordAdvice> TlsaRecords(PublishTlsa tlsa, List<string> notes)
    {
        var current = ReadBundle(tlsa.Cert);
        if (current.Certificates.Count == 0)
        {
            throw new RampartException($"{tlsa.Cert}: holds no certificate (tlsa cert needs the MX host's certificate or chain, leaf first)");
        }
        var leaf = current.Certificates[0];
        var host = tlsa.Host ?? FirstName(leaf) ??
                   throw new RampartException($"{tlsa.Cert}: the certificate names no usable host; give tlsa host:");
        var owner = DaneNames.TlsaOwner(host, tlsa.Port);
        var list = new List<DnsRecordAdvice>
        {
            new(owner, "TLSA", TlsaAssociation.For(leaf, TlsaUsage.DaneEe, TlsaSelector.Spki, TlsaMatchingType.Sha256).ToString(),
                $"DANE-EE, SHA-256 of the current key of {leaf.Subject}, expires {leaf.NotAfter.ToUniversalTime():u}"),
        };
        if (tlsa.Next is { } nextPath)
        {
            var next = ReadBundle(nextPath);
            var record = next.Certificates.Count > 0
                ? TlsaAssociation.For(next.Certificates[0], TlsaUsage.DaneEe, TlsaSelector.Spki, TlsaMatchingType.Sha256)
                : TlsaAssociation.ForPublicKey(next.PublicKeys[0], TlsaUsage.DaneEe, TlsaMatchingType.Sha256);
            if (list.Any(r => r.Data == record.ToString()))
            {
                notes.Add($"{nextPath}: the next key is the current key of {host}; nothing extra to publish");
            }
            else
            {
                list.Add(new DnsRecordAdvice(owner, "TLSA", record.ToString(), $"DANE-EE, SHA-256 of the NEXT key ({Path.GetFileName(nextPath)}): publish before the rotation"));
            }
        }
        if (tlsa.DaneTa)
        {
            var top = current.Certificates[^1];
            if (current.Certificates.Count < 2 || top.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault() is not { CertificateAuthority: true })
            {
                throw new RampartException($"{tlsa.Cert}: dane_ta needs the chain with its CA certificate after the leaf (fullchain.pem), " +
                                           "because a DANE-TA record for the leaf itself never authenticates (RFC 7672 §3.1.2)");
            }
            list.Add(new DnsRecordAdvice(owner, "TLSA", TlsaAssociation.For(top, TlsaUsage.DaneTa, TlsaSelector.Spki, TlsaMatchingType.Sha256).ToString(),
                $"DANE-TA, SHA-256 of the issuing CA key {top.Subject}: breaks when the CA changes its key"));
        }
        return list;
    }

    private static string? FirstName(X509Certificate2 leaf) =>
        DaneNames.CertificateNames(leaf).Where(n => !n.Contains('*', StringComparison.Ordinal))
            .Select(n => DomainName.TryNormalize(n, out var name, out _) ? name : null).FirstOrDefault(n => n is not null);

    private static PemBundle ReadBundle(string path)
    {
        var content = UserFile.ReadAllBytes(path, "certificate file", UserFile.Limits.Pem);
        return PemBundle.TryRead(content, out var bundle, out var error) ? bundle : throw new RampartException($"{path}: {error}");
    }
}
