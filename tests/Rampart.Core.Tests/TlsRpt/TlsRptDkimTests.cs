using System.Security.Cryptography;
using MimeKit;
using MimeKit.Cryptography;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.OpenSsl;
using Rampart.Core.Tests.Fakes;
using Rampart.Core.TlsRpt;
using static Rampart.Core.Tests.TlsRpt.TlsRptTestData;

namespace Rampart.Core.Tests.TlsRpt;

/// <summary>DKIM of emailed reports is verified and recorded per report, and never a reason to drop one.</summary>
public sealed class TlsRptDkimTests
{
    private static readonly RSA s_key = RSA.Create(2048);

    /// <summary>Answers every key lookup with the test key, or with a fault.</summary>
    private static FixedDkimKeyLocator FixedKeyLocator(Exception? fault = null) => new(s_key, fault);

    private static byte[] SignedEmail(Action<MimeMessage>? tamper = null)
    {
        var message = Email(Gzip(Utf8(Report(failed: 2))));
        using var pem = new StringReader(s_key.ExportPkcs8PrivateKeyPem());
        var privateKey = (AsymmetricKeyParameter)new PemReader(pem).ReadObject();
        var signer = new DkimSigner(privateKey, "reporter.example", "sel")
        {
            HeaderCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed,
            BodyCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed,
        };
        message.Prepare(EncodingConstraint.SevenBit);
        signer.Sign(message, [HeaderId.From, HeaderId.Subject, HeaderId.Date, HeaderId.To]);
        var bytes = Bytes(message);
        if (tamper is not null)
        {
            var loaded = MimeMessage.Load(new MemoryStream(bytes));
            tamper(loaded);
            bytes = Bytes(loaded);
        }
        return bytes;
    }

    [Fact]
    public async Task Read_SignedEmail_DkimPassRecorded()
    {
        var input = Assert.Single(await ReadAsync(SignedEmail(), dkim: new TlsRptDkimVerifier(FixedKeyLocator())));

        Assert.NotNull(input.Report);
        Assert.Equal(TlsRptDkimStatus.Pass, input.Dkim.Status);
        Assert.Equal("reporter.example", input.Dkim.Domain);
    }

    [Fact]
    public async Task Read_TamperedSignedEmail_DkimFailButReportKept()
    {
        var input = Assert.Single(await ReadAsync(SignedEmail(m => m.Subject = "changed in transit"), dkim: new TlsRptDkimVerifier(FixedKeyLocator())));

        Assert.Equal(TlsRptDkimStatus.Fail, input.Dkim.Status);
        Assert.Equal(2, input.Report?.TotalFailed);
    }

    [Fact]
    public async Task Read_KeyLookupTransientError_TempErrorReportKept()
    {
        var verifier = new TlsRptDkimVerifier(FixedKeyLocator(new DkimKeyException("DKIM key sel._domainkey.reporter.example: lookup error: SERVFAIL", transient: true)));

        var input = Assert.Single(await ReadAsync(SignedEmail(), dkim: verifier));

        Assert.Equal(TlsRptDkimStatus.TempError, input.Dkim.Status);
        Assert.Contains("SERVFAIL", input.Dkim.Detail, StringComparison.Ordinal);
        Assert.NotNull(input.Report);
    }

    [Fact]
    public async Task Read_NoKeyPublished_FailReportKept()
    {
        var verifier = new TlsRptDkimVerifier(FixedKeyLocator(new DkimKeyException("no key published", transient: false)));

        var input = Assert.Single(await ReadAsync(SignedEmail(), dkim: verifier));

        Assert.Equal(TlsRptDkimStatus.Fail, input.Dkim.Status);
        Assert.NotNull(input.Report);
    }

    [Fact]
    public async Task Read_UnsignedEmail_Unsigned()
    {
        var input = Assert.Single(await ReadAsync(Bytes(Email(Gzip(Utf8(Report())))), dkim: new TlsRptDkimVerifier(FixedKeyLocator())));

        Assert.Equal(TlsRptDkimStatus.Unsigned, input.Dkim.Status);
    }

    [Fact]
    public async Task Read_PlainJsonOrVerificationOff_NotChecked()
    {
        var plain = Assert.Single(await ReadAsync(Utf8(Report()), dkim: new TlsRptDkimVerifier(FixedKeyLocator())));
        var off = Assert.Single(await ReadAsync(SignedEmail(), settings: new TlsRptReadSettings { VerifyDkim = false }, dkim: new TlsRptDkimVerifier(FixedKeyLocator())));

        Assert.Equal(TlsRptDkimStatus.NotChecked, plain.Dkim.Status);
        Assert.Equal(TlsRptDkimStatus.NotChecked, off.Dkim.Status);
        Assert.Equal("not-checked", off.Dkim.StatusName);
    }
}
