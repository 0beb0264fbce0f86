using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Rampart.Core.Dane;

/// <summary>
/// What a DANE match is checked against. <paramref name="ReferenceNames"/>: the TLSA base domain first, then the MX
/// host name or next-hop domain (RFC 7672 §3.2.2); used by DANE-TA only. <paramref name="VerificationTime"/>: "now",
/// taken by the caller from its <see cref="TimeProvider"/>; DANE-TA checks every date on the path at this time.
/// </summary>
public sealed record DaneMatchOptions(IReadOnlyList<string> ReferenceNames, DateTimeOffset VerificationTime);

/// <summary>Why a DANE match failed; maps onto TLS-RPT result types (RFC 8460 §4.3).</summary>
public enum DaneFailure
{
    None,
    /// <summary>No usable record: TLS is still mandatory, unauthenticated (tlsa-invalid).</summary>
    NoUsableRecords,
    /// <summary>The server sent no certificate.</summary>
    NoCertificate,
    /// <summary>No record matched any certificate or key (validation-failure).</summary>
    NoMatch,
    /// <summary>A DANE-TA record matched but the path to it does not verify (validation-failure).</summary>
    ChainInvalid,
    /// <summary>A DANE-TA record matched but a certificate on the path is outside its dates (certificate-expired).</summary>
    Expired,
    /// <summary>A DANE-TA chain verified but the leaf's names do not cover a reference name (certificate-host-mismatch).</summary>
    NameMismatch,
}

/// <summary>
/// The DANE verdict on a presented chain. <see cref="Usable"/> counts usable records left after digest agility;
/// <see cref="Record"/> and <see cref="Depth"/> (0 = leaf) name what matched; <see cref="Reason"/> is one sentence;
/// <see cref="Details"/> holds one line per record that was skipped or did not match.
/// </summary>
public sealed record DaneMatchResult(bool Matched, int Usable, TlsaRecord? Record, int? Depth, string Reason)
{
    public DaneFailure Failure { get; init; }

    public IReadOnlyList<string> Details { get; init; } = [];
}

/// <summary>
/// DANE certificate matching for SMTP (RFC 7672 §3, RFC 7671, RFC 6698), a pure function of records, the presented chain
/// (leaf first, as sent) and <see cref="DaneMatchOptions"/>:
/// <list type="bullet">
/// <item>only DANE-TA(2) and DANE-EE(3) with a known selector and matching type and the right digest length are usable;</item>
/// <item>digest agility (RFC 7671 §9): per usage and selector, SHA-256 records are ignored when SHA-512 ones exist; full (0) records always count;</item>
/// <item>DANE-EE matches the leaf certificate or its key, with no name and no date check (RFC 7672 §3.1.1);</item>
/// <item>DANE-TA matches a certificate above the leaf, or is a full <c>2 0 0</c>/<c>2 1 0</c> anchor the server did not send;
/// the path from the leaf to it must verify at the verification time and the leaf's names must cover a reference name
/// (RFC 7672 §3.1.2, §3.2.3). A DANE-TA match on the leaf itself fails, except <c>2 1 0</c> on a self-signed leaf's own key.</item>
/// </list>
/// </summary>
public static class DaneMatcher
{
    public static DaneMatchResult Match(IReadOnlyList<TlsaRecord> records, IReadOnlyList<X509Certificate2> presentedChain, DaneMatchOptions options)
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(presentedChain);
        ArgumentNullException.ThrowIfNull(options);
        var details = new List<string>();
        var considered = UsableAfterAgility(records, details);
        if (considered.Count == 0)
        {
            var why = records.Count == 0 ? "there are no TLSA records" : $"none of the {records.Count} TLSA record(s) is usable ({details[0]})";
            return new(false, 0, null, null, $"no usable TLSA record: {why}; TLS is still mandatory, but unauthenticated (RFC 7672 §2.2)")
            {
                Failure = DaneFailure.NoUsableRecords,
                Details = details,
            };
        }
        if (presentedChain.Count == 0)
        {
            return new(false, considered.Count, null, null, "the server presented no certificate") { Failure = DaneFailure.NoCertificate, Details = details };
        }
        var notes = new List<string>();
        var failure = DaneFailure.NoMatch;
        foreach (var record in considered.Where(r => r.Usage == TlsaUsage.DaneEe))
        {
            if (TlsaAssociation.Matches(record, presentedChain[0]))
            {
                return new(true, considered.Count, record, 0,
                    $"{Label(record)} matched the leaf's {Selected(record.Selector)}; DANE-EE skips name and date checks (RFC 7672 §3.1.1)")
                {
                    Details = details,
                };
            }
            var note = $"{Label(record)} {Abbreviate(record.Data)} ≠ leaf {Value(record, presentedChain[0])}";
            var above = Enumerable.Range(1, presentedChain.Count - 1).FirstOrDefault(d => TlsaAssociation.Matches(record, presentedChain[d]));
            notes.Add(above > 0 ? $"{note} (it matches depth {above}, but DANE-EE pins the leaf only)" : note);
        }
        foreach (var record in considered.Where(r => r.Usage == TlsaUsage.DaneTa))
        {
            var (verdict, anchorText) = TrustAnchor(record, presentedChain, options.VerificationTime);
            if (!verdict.IsValid)
            {
                notes.Add($"{Label(record)} {Abbreviate(record.Data)}: {verdict.Message}");
                failure = failure == DaneFailure.NoMatch ? verdict.Failure : failure;
                continue;
            }
            var leafNames = DaneNames.CertificateNames(presentedChain[0]);
            if (DaneNames.FirstMatch(leafNames, options.ReferenceNames) is not { } names)
            {
                notes.Add($"{Label(record)} {Abbreviate(record.Data)}: the chain verifies to {anchorText}, but the leaf's names " +
                          $"[{string.Join(", ", leafNames)}] do not cover {References(options)} (RFC 7672 §3.2.3)");
                failure = failure is DaneFailure.NoMatch or DaneFailure.ChainInvalid ? DaneFailure.NameMismatch : failure;
                continue;
            }
            return new(true, considered.Count, record, verdict.Depth,
                $"{Label(record)} matched {anchorText}; the chain verifies at {options.VerificationTime:u} ({verdict.Method}) and the leaf name " +
                $"{names.CertificateName} covers {names.ReferenceName} (RFC 7672 §3.1.2)")
            {
                Details = details,
            };
        }
        var ignored = records.Count(r => r.IsUsable) - considered.Count;
        var agility = ignored > 0 ? $" ({ignored} SHA-256 record(s) ignored because SHA-512 ones exist, RFC 7671 §9)" : "";
        details.AddRange(notes);
        return new(false, considered.Count, null, null, $"no usable record matched{agility}: {string.Join("; ", notes)}")
        {
            Failure = failure,
            Details = details,
        };
    }

    /// <summary>Usable records, minus SHA-256 ones shadowed by SHA-512 for the same usage and selector (RFC 7671 §9).</summary>
    private static List<TlsaRecord> UsableAfterAgility(IReadOnlyList<TlsaRecord> records, List<string> details)
    {
        var usable = new List<TlsaRecord>();
        foreach (var record in records)
        {
            if (record.UnusableReason is { } why)
            {
                details.Add($"{Label(record)} {Abbreviate(record.Data)} is unusable: {why}");
            }
            else
            {
                usable.Add(record);
            }
        }
        var strongest = usable
            .Where(r => r.MatchingType != TlsaMatchingType.Full)
            .GroupBy(r => (r.Usage, r.Selector))
            .ToDictionary(g => g.Key, g => g.Max(r => r.MatchingType));
        var considered = new List<TlsaRecord>();
        foreach (var record in usable)
        {
            if (record.MatchingType == TlsaMatchingType.Full || strongest[(record.Usage, record.Selector)] == record.MatchingType)
            {
                considered.Add(record);
            }
            else
            {
                details.Add($"{Label(record)} {Abbreviate(record.Data)} is ignored: a SHA-512 record exists for usage {(byte)record.Usage} " +
                            $"selector {(byte)record.Selector} (digest agility, RFC 7671 §9)");
            }
        }
        return considered;
    }

    /// <summary>Finds the DANE-TA anchor a record designates and verifies the path to it.</summary>
    private static (ChainVerdict Verdict, string AnchorText) TrustAnchor(TlsaRecord record, IReadOnlyList<X509Certificate2> chain, DateTimeOffset at)
    {
        ChainVerdict? firstFailure = null;
        var presentedMatch = false;
        for (var depth = 1; depth < chain.Count; depth++)
        {
            if (!TlsaAssociation.Matches(record, chain[depth]))
            {
                continue;
            }
            presentedMatch = true;
            var verdict = DaneChainVerifier.Verify(chain, DaneAnchor.Presented(chain[depth], depth), at);
            var text = (record.Selector == TlsaSelector.Cert ? "" : "the public key of ") + DaneChainVerifier.Describe(chain[depth], depth);
            if (verdict.IsValid)
            {
                return (verdict, text);
            }
            firstFailure ??= verdict with { Message = $"matched {text}, but {verdict.Message}" };
        }
        if (TlsaAssociation.Matches(record, chain[0]))
        {
            presentedMatch = true;
            if (record is { Selector: TlsaSelector.Spki, MatchingType: TlsaMatchingType.Full })
            {
                var verdict = DaneChainVerifier.VerifySelfSignedLeaf(chain[0], at);
                if (verdict.IsValid)
                {
                    return (verdict, "the self-signed leaf's own key (2 1 0, RFC 7671 §5.2)");
                }
                firstFailure ??= verdict;
            }
            else
            {
                firstFailure ??= ChainVerdict.Fail(DaneFailure.ChainInvalid,
                    "it matched the leaf itself; a DANE-TA record must match a certificate or key above the leaf (RFC 7672 §3.1.2)");
            }
        }
        if (presentedMatch)
        {
            return (firstFailure!.Value, "");
        }
        if (record.MatchingType != TlsaMatchingType.Full)
        {
            return (ChainVerdict.Fail(DaneFailure.NoMatch, $"matches no certificate above the leaf ({string.Join(", ", AboveLeaf(record, chain))})"), "");
        }
        return UnsentAnchor(record, chain, at);
    }

    /// <summary>A full <c>2 0 0</c> certificate or <c>2 1 0</c> key the server did not send: it must sign the top of the presented path.</summary>
    private static (ChainVerdict, string) UnsentAnchor(TlsaRecord record, IReadOnlyList<X509Certificate2> chain, DateTimeOffset at)
    {
        DaneAnchor anchor;
        string text;
        if (record.Selector == TlsaSelector.Cert)
        {
            X509Certificate2 certificate;
            try
            {
                certificate = X509CertificateLoader.LoadCertificate(record.Data);
            }
            catch (CryptographicException)
            {
                return (ChainVerdict.Fail(DaneFailure.NoMatch, "the data is not a certificate, and no presented certificate equals it"), "");
            }
            anchor = new DaneAnchor(TlsaAssociation.SubjectPublicKeyInfo(certificate), certificate, null);
            text = $"a trust-anchor certificate the server did not send ({certificate.Subject})";
        }
        else
        {
            try
            {
                PublicKey.CreateFromSubjectPublicKeyInfo(record.Data, out _);
            }
            catch (CryptographicException)
            {
                return (ChainVerdict.Fail(DaneFailure.NoMatch, "the data is not a SubjectPublicKeyInfo, and no presented key equals it"), "");
            }
            anchor = new DaneAnchor(record.Data, null, null);
            text = "a trust-anchor public key the server did not send";
        }
        var verdict = DaneChainVerifier.Verify(chain, anchor, at);
        return verdict.IsValid
            ? (verdict, text)
            : (verdict with { Message = $"no presented certificate equals it, and as {text}: {verdict.Message}" }, "");
    }

    private static IEnumerable<string> AboveLeaf(TlsaRecord record, IReadOnlyList<X509Certificate2> chain) =>
        chain.Count == 1
            ? ["the server sent only the leaf"]
            : Enumerable.Range(1, chain.Count - 1).Select(d => $"depth {d} {Value(record, chain[d])}");

    private static string Label(TlsaRecord r) => $"{(byte)r.Usage} {(byte)r.Selector} {(byte)r.MatchingType}";

    private static string Selected(TlsaSelector selector) => selector == TlsaSelector.Cert ? "certificate" : "public key";

    private static string Value(TlsaRecord record, X509Certificate2 certificate)
    {
        var kind = record.Selector == TlsaSelector.Cert ? "cert" : "SPKI";
        var digest = record.MatchingType switch
        {
            TlsaMatchingType.Sha256 => "sha256",
            TlsaMatchingType.Sha512 => "sha512",
            _ => "full",
        };
        return $"{kind} {digest} = {Abbreviate(TlsaAssociation.Compute(certificate, record.Selector, record.MatchingType))}";
    }

    private static string Abbreviate(byte[] data)
    {
        var hex = Convert.ToHexString(data.AsSpan(0, Math.Min(data.Length, 8)));
        return data.Length > 8 ? hex + "…" : hex;
    }

    private static string References(DaneMatchOptions options) =>
        options.ReferenceNames.Count == 0 ? "any reference name (none was given)" : string.Join(" or ", options.ReferenceNames);
}
