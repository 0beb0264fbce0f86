using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using MimeKit;
using MimeKit.Cryptography;
using Org.BouncyCastle.Crypto;
using Rampart.Core.Dns;

namespace Rampart.Core.TlsRpt;

/// <summary>The DKIM verdict on the email a report came in (RFC 8460 §3: reports SHOULD be DKIM-signed).</summary>
public enum TlsRptDkimStatus
{
    /// <summary>Not an email, or verification was turned off.</summary>
    NotChecked,
    /// <summary>The email has no DKIM-Signature header.</summary>
    Unsigned,
    /// <summary>At least one signature verified.</summary>
    Pass,
    /// <summary>Signatures present, none verified (bad signature, body changed, no key published, malformed).</summary>
    Fail,
    /// <summary>The key could not be looked up (DNS error): the verdict is unknown.</summary>
    TempError,
}

/// <summary>DKIM verdict, the signing domain (d=) of the signature that decided it, and a one-line detail.</summary>
public sealed record TlsRptDkimResult(TlsRptDkimStatus Status, string? Domain = null, string? Detail = null)
{
    public static TlsRptDkimResult NotChecked { get; } = new(TlsRptDkimStatus.NotChecked);

    /// <summary>The status as stored and printed: not-checked, unsigned, pass, fail, temperror.</summary>
    public string StatusName => StatusNameOf(Status);

    /// <summary>The status a stored name stands for (<see cref="StatusName"/> read back); an unknown name is not-checked.</summary>
    public static TlsRptDkimStatus StatusOf(string name) => name switch
    {
        "unsigned" => TlsRptDkimStatus.Unsigned,
        "pass" => TlsRptDkimStatus.Pass,
        "fail" => TlsRptDkimStatus.Fail,
        "temperror" => TlsRptDkimStatus.TempError,
        _ => TlsRptDkimStatus.NotChecked,
    };

    public static string StatusNameOf(TlsRptDkimStatus status) => status switch
    {
        TlsRptDkimStatus.Unsigned => "unsigned",
        TlsRptDkimStatus.Pass => "pass",
        TlsRptDkimStatus.Fail => "fail",
        TlsRptDkimStatus.TempError => "temperror",
        _ => "not-checked",
    };
}

/// <summary>Why a DKIM key could not be had; <see cref="RampartException.IsTransient"/> for DNS lookup errors.</summary>
public sealed class DkimKeyException(string message, bool transient) : RampartException(message)
{
    public override bool IsTransient { get; } = transient;
}

/// <summary>
/// Verifies the DKIM signatures of a report email with MimeKit. The verdict is recorded with the report and is never a
/// reason to drop it: an operator decides what an unsigned report from a given reporter is worth.
/// </summary>
public sealed partial class TlsRptDkimVerifier
{
    private readonly DkimVerifier _verifier;

    /// <summary>Verifies with keys from <paramref name="keys"/> (tests pass a fixed key).</summary>
    public TlsRptDkimVerifier(IDkimPublicKeyLocator keys) => _verifier = new DkimVerifier(keys);

    /// <summary>Verifies with keys looked up in DNS (TXT at <c>selector._domainkey.domain</c>).</summary>
    public TlsRptDkimVerifier(IDnsResolver dns) : this(new DnsDkimKeyLocator(dns)) { }

    /// <summary>The verdict over every DKIM-Signature header of <paramref name="message"/>.</summary>
    public async Task<TlsRptDkimResult> VerifyAsync(MimeMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var signatures = message.Headers.Where(h => h.Id == HeaderId.DkimSignature).ToList();
        if (signatures.Count == 0)
        {
            return new TlsRptDkimResult(TlsRptDkimStatus.Unsigned);
        }
        TlsRptDkimResult? failure = null;
        TlsRptDkimResult? temporary = null;
        foreach (var signature in signatures)
        {
            var domain = SigningDomain().Match(signature.Value) is { Success: true } m ? m.Groups[1].Value.ToLowerInvariant() : null;
            try
            {
                if (await _verifier.VerifyAsync(message, signature, cancellationToken).ConfigureAwait(false))
                {
                    return new TlsRptDkimResult(TlsRptDkimStatus.Pass, domain);
                }
                failure ??= new TlsRptDkimResult(TlsRptDkimStatus.Fail, domain, "signature or body hash does not verify");
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (DkimKeyException ex) when (ex.IsTransient)
            {
                temporary ??= new TlsRptDkimResult(TlsRptDkimStatus.TempError, domain, ex.Message);
            }
            catch (Exception ex) when (ex is DkimKeyException or FormatException or NotSupportedException or ArgumentException or CryptoException or InvalidOperationException)
            {
                failure ??= new TlsRptDkimResult(TlsRptDkimStatus.Fail, domain, TlsRptReportParser.OneLine(ex.Message));
            }
        }
        return temporary ?? failure!;
    }

    [GeneratedRegex(@"(?:^|;)\s*d\s*=\s*([^;\s]+)", RegexOptions.CultureInvariant)]
    private static partial Regex SigningDomain();

    /// <summary>DKIM keys from DNS TXT records (RFC 6376 §3.6.2.2), one lookup per selector and domain per run.</summary>
    private sealed class DnsDkimKeyLocator(IDnsResolver dns) : DkimPublicKeyLocatorBase
    {
        private readonly ConcurrentDictionary<string, Task<AsymmetricKeyParameter>> _keys = new(StringComparer.OrdinalIgnoreCase);

        public override AsymmetricKeyParameter LocatePublicKey(string methods, string domain, string selector, CancellationToken cancellationToken = default) =>
            LocatePublicKeyAsync(methods, domain, selector, cancellationToken).GetAwaiter().GetResult();

        public override Task<AsymmetricKeyParameter> LocatePublicKeyAsync(string methods, string domain, string selector, CancellationToken cancellationToken = default) =>
            _keys.GetOrAdd($"{selector}._domainkey.{domain}", name => LookupAsync(name, cancellationToken));

        private async Task<AsymmetricKeyParameter> LookupAsync(string name, CancellationToken cancellationToken)
        {
            var answer = await dns.QueryTxtAsync(name, cancellationToken).ConfigureAwait(false);
            if (answer.IsLookupError)
            {
                throw new DkimKeyException($"DKIM key {name}: {answer.Describe()}", transient: true);
            }
            var record = answer.Records.FirstOrDefault(r => r.Contains("p=", StringComparison.Ordinal));
            if (record is null)
            {
                throw new DkimKeyException($"DKIM key {name}: no key published ({answer.Describe()})", transient: false);
            }
            try
            {
                return GetPublicKey(record);
            }
            catch (Exception ex) when (ex is FormatException or ParseException or ArgumentException or CryptoException)
            {
                throw new DkimKeyException($"DKIM key {name}: unusable record ({TlsRptReportParser.OneLine(ex.Message)})", transient: false);
            }
        }
    }
}
