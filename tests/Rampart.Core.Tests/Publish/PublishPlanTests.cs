using System.Diagnostics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Rampart.Core.Check;
using Rampart.Core.MtaSts;
using Rampart.Core.Publish;

namespace Rampart.Core.Tests.Publish;

public class PublishPlanTests
{
    private static PublishDomain Domain(Action<PublishDomainOptions>? change = null)
    {
        var options = new PublishDomainOptions { Domain = "example.test", Mode = "enforce", MaxAge = "604800" };
        options.Mx.AddRange(["mx1.example.test", "*.backup.example.test"]);
        change?.Invoke(options);
        Assert.True(PublishDomain.TryFrom(options, "d", out var domain, out var errors), string.Join("; ", errors));
        return domain;
    }

    [Fact]
    public void Policy_RenderedText_ParsesBackToTheSamePolicy()
    {
        var domain = Domain();

        var parsed = MtaStsPolicyParser.Parse(PolicyDocument.For(domain).Bytes);

        Assert.True(parsed.IsValid);
        Assert.Empty(parsed.Warnings);
        Assert.Equal(MtaStsMode.Enforce, parsed.Policy!.Mode);
        Assert.Equal(604800, parsed.Policy.MaxAge);
        Assert.Equal(["mx1.example.test", "*.backup.example.test"], parsed.Policy.Mx.Select(m => m.Value));
        Assert.Equal("version: STSv1\r\nmode: enforce\r\nmx: mx1.example.test\r\nmx: *.backup.example.test\r\nmax_age: 604800\r\n", parsed.Policy.Text);
    }

    [Fact]
    public void Id_SamePolicy_SameId_AnyChange_NewId()
    {
        var id = PolicyDocument.For(Domain()).Id;

        Assert.Equal(id, PolicyDocument.For(Domain()).Id);
        Assert.NotEqual(id, PolicyDocument.For(Domain(o => o.MaxAge = "604801")).Id);
        Assert.NotEqual(id, PolicyDocument.For(Domain(o => o.Mode = "testing")).Id);
        Assert.NotEqual(id, PolicyDocument.For(Domain(o => o.Mx.Add("mx2.example.test"))).Id);
        Assert.Equal(id, PolicyDocument.For(Domain(o => o.TlsRpt.Add("mailto:a@example.test"))).Id); // not part of the policy
    }

    [Fact]
    public void Txt_RecordValue_IsAValidStsRecordWithTheId()
    {
        var plan = PublishPlan.Create(Domain());
        var txt = plan.Records.Single(r => r.Name == "_mta-sts.example.test");

        Assert.True(MtaStsTxtRecord.TryParse(DnsRecordAdvice.TxtValue(txt.Data), out var record, out var error), error);
        Assert.Equal(plan.Policy.Id, record.Id);
        Assert.Equal(32, record.Id.Length);
    }

    [Fact]
    public void TlsRpt_Addresses_JoinedInOneRecord()
    {
        var plan = PublishPlan.Create(Domain(o => o.TlsRpt.AddRange(["mailto:tlsrpt@example.test", "https://r.example.test/tlsrpt"])));

        var record = plan.Records.Single(r => r.Name == "_smtp._tls.example.test");
        Assert.Equal("v=TLSRPTv1; rua=mailto:tlsrpt@example.test,https://r.example.test/tlsrpt", DnsRecordAdvice.TxtValue(record.Data));
        Assert.Equal("_smtp._tls.example.test. IN TXT \"v=TLSRPTv1; rua=mailto:tlsrpt@example.test,https://r.example.test/tlsrpt\"", record.ZoneLine);
    }

    [Fact]
    public void PolicyHost_AddressOrName_AOrCname_OtherwiseAdviceComment()
    {
        Assert.Equal("mta-sts.example.test. IN A 192.0.2.10", PublishPlan.Create(Domain(o => o.PolicyHost = "192.0.2.10")).Records[1].ZoneLine);
        Assert.Equal("mta-sts.example.test. IN AAAA 2001:db8::10", PublishPlan.Create(Domain(o => o.PolicyHost = "2001:db8::10")).Records[1].ZoneLine);
        Assert.Equal("mta-sts.example.test. IN CNAME web.example.net.", PublishPlan.Create(Domain(o => o.PolicyHost = "web.example.net")).Records[1].ZoneLine);
        Assert.StartsWith("; ", PublishPlan.Create(Domain()).Records[1].ZoneLine, StringComparison.Ordinal);
    }

    [Fact]
    public void Txt_LongValue_SplitInto255ByteStrings()
    {
        var value = new string('a', 600);

        var data = DnsRecordAdvice.TxtData(value);

        Assert.Equal(3, data.Split(' ').Length);
        Assert.Equal(value, DnsRecordAdvice.TxtValue(data));
    }

    [Theory]
    [InlineData("ftp://x.test/r")]
    [InlineData("mailto:")]
    [InlineData("https://a.test/r,b")]
    public void TlsRpt_BadAddress_ErrorNamesTheEntry(string rua)
    {
        var options = new PublishDomainOptions { Domain = "example.test" };
        options.Mx.Add("mx.example.test");
        options.TlsRpt.Add(rua);

        Assert.False(PublishDomain.TryFrom(options, "domains[0]", out _, out var errors));
        Assert.Contains(errors, e => e.StartsWith("domains[0].tlsrpt[0]", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_ManyFaults_AllReported()
    {
        var options = new PublishDomainOptions { Domain = "-bad-", Mode = "strict", MaxAge = "31557601" };
        options.Mx.Add("192.0.2.1");

        Assert.False(PublishDomain.TryFrom(options, "d", out _, out var errors));
        Assert.Equal(4, errors.Count);
    }

    [Fact]
    public void ModeNone_NoMx_Valid()
    {
        var options = new PublishDomainOptions { Domain = "example.test", Mode = "none" };

        Assert.True(PublishDomain.TryFrom(options, "d", out var domain, out _));
        Assert.True(MtaStsPolicyParser.Parse(PolicyDocument.For(domain).Text).IsValid);
    }
}

public class PublishReadinessTests
{
    private static PublishDomain Domain(string mode, long maxAge, params string[] mx)
    {
        var options = new PublishDomainOptions { Domain = "example.test", Mode = mode, MaxAge = maxAge.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        options.Mx.AddRange(mx.Length == 0 ? ["mx1.example.test", "*.backup.example.test"] : mx);
        Assert.True(PublishDomain.TryFrom(options, "d", out var domain, out var errors), string.Join("; ", errors));
        return domain;
    }

    private static MtaStsPolicy Current(string mode, long maxAge) =>
        MtaStsPolicyParser.Parse($"version: STSv1\nmode: {mode}\nmx: mx1.example.test\nmax_age: {maxAge}\n").Policy!;

    [Fact]
    public void UncoveredMx_WildcardOneLabelOnly()
    {
        var domain = Domain("testing", 86400);

        var missing = PublishReadiness.UncoveredMx(domain, ["mx1.example.test", "a.backup.example.test", "b.c.backup.example.test", "mx2.example.test", ""]);

        Assert.Equal(["b.c.backup.example.test", "mx2.example.test"], missing);
    }

    [Fact]
    public void Ramp_FirstPolicyTestingOneDay_NoWarning()
    {
        Assert.Empty(PublishReadiness.RampWarnings(Domain("testing", 86400), null));
    }

    [Fact]
    public void Ramp_EnforceWithoutTesting_Warns()
    {
        Assert.Contains(PublishReadiness.RampWarnings(Domain("enforce", 86400), null), w => w.Contains("testing first", StringComparison.Ordinal));
    }

    [Fact]
    public void Ramp_TestingToEnforceOneDay_NoWarning()
    {
        Assert.Empty(PublishReadiness.RampWarnings(Domain("enforce", 86400), Current("testing", 86400)));
    }

    [Fact]
    public void Ramp_TestingToEnforceOneYear_WarnsJump()
    {
        Assert.Contains(PublishReadiness.RampWarnings(Domain("enforce", 31557600), Current("testing", 86400)), w => w.Contains("jumps", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(86400, 604800, false)]
    [InlineData(86400, 1209600, true)]
    [InlineData(604800, 31557600, false)]
    [InlineData(604800, 604800, false)]
    public void Ramp_EnforceSteps_WarnOnlyWhenSkippingAStep(long current, long next, bool warns)
    {
        var warnings = PublishReadiness.RampWarnings(Domain("enforce", next), Current("enforce", current));

        Assert.Equal(warns, warnings.Any(w => w.Contains("jumps", StringComparison.Ordinal)));
    }

    [Fact]
    public void Ramp_EnforceUnderOneDay_Warns()
    {
        Assert.Contains(PublishReadiness.RampWarnings(Domain("enforce", 3600), Current("enforce", 3600)), w => w.Contains("under one day", StringComparison.Ordinal));
    }

    [Fact]
    public void Enforce_CertificateAndStartTlsFindings_Block_InfoAndExpiringDoNot()
    {
        var report = new DomainCheckReport("example.test",
        [
            CheckCatalog.MxOk.For("example.test", "ok"),
            CheckCatalog.SmtpStartTlsMissing.For("mx1.example.test", "no STARTTLS"),
            CheckCatalog.CertUntrusted.For("mx2.example.test", "self-signed"),
            CheckCatalog.CertExpiring.For("mx3.example.test", "in 5 days"),
            CheckCatalog.DnssecInsecure.For("example.test", "unsigned"),
        ]);

        var verdict = PublishReadiness.EnforceReadiness(report);

        Assert.False(verdict.IsReady);
        Assert.Equal(2, verdict.Blockers.Count);
        Assert.Contains(verdict.Blockers, b => b.StartsWith("smtp.starttls-missing", StringComparison.Ordinal));
        Assert.Contains(verdict.Blockers, b => b.StartsWith("tls.cert.untrusted", StringComparison.Ordinal));
        Assert.Single(verdict.Warnings);
    }

    [Fact]
    public void Enforce_AllGood_Ready()
    {
        var report = new DomainCheckReport("example.test", [CheckCatalog.MxOk.For("example.test", "ok"), CheckCatalog.CertValid.For("mx1.example.test", "valid")]);

        Assert.True(PublishReadiness.EnforceReadiness(report).IsReady);
    }
}

/// <summary>TLSA from <c>publish</c> against what the openssl CLI computes for the same certificate.</summary>
public sealed class PublishTlsaOpensslTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-publish-tlsa-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string WriteCert(string name, out X509Certificate2 certificate, bool rsa = false)
    {
        CertificateRequest request;
        if (rsa)
        {
            using var key = RSA.Create(2048);
            request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            certificate = Finish(request, name);
        }
        else
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
            certificate = Finish(request, name);
        }
        var path = Path.Combine(_dir, name + ".pem");
        File.WriteAllText(path, certificate.ExportCertificatePem());
        return path;
    }

    private static X509Certificate2 Finish(CertificateRequest request, string name)
    {
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(name);
        request.CertificateExtensions.Add(san.Build());
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
    }

    private static string OpensslSpkiSha256(string pemPath)
    {
        var info = new ProcessStartInfo("sh") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add($"openssl x509 -in '{pemPath}' -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum");
        Process process;
        try
        {
            process = Process.Start(info)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            Assert.Fail($"this test needs the openssl CLI and sha256sum: apt-get install -y openssl coreutils ({ex.Message})");
            throw;
        }
        using (process)
        {
            var output = process.StandardOutput.ReadToEnd();
            var error = process.StandardError.ReadToEnd();
            process.WaitForExit();
            Assert.True(process.ExitCode == 0 && output.Length >= 64, $"openssl failed (apt-get install -y openssl): {error}");
            return output[..64];
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Tlsa_CurrentAndNext_EqualOpensslDigests(bool rsa)
    {
        var current = WriteCert("mx.example.test", out _, rsa);
        var next = WriteCert("mx-next.example.test", out _, !rsa);
        var options = new PublishDomainOptions { Domain = "example.test" };
        options.Mx.Add("mx.example.test");
        options.Tlsa.Add(new PublishTlsaOptions { Cert = current, Next = next });
        Assert.True(PublishDomain.TryFrom(options, "d", out var domain, out _));

        var tlsa = PublishPlan.Create(domain).Records.Where(r => r.Type == "TLSA").ToList();

        Assert.Equal(2, tlsa.Count);
        Assert.All(tlsa, r => Assert.Equal("_25._tcp.mx.example.test", r.Name));
        Assert.Equal("3 1 1 " + OpensslSpkiSha256(current), tlsa[0].Data, ignoreCase: true);
        Assert.Equal("3 1 1 " + OpensslSpkiSha256(next), tlsa[1].Data, ignoreCase: true);
    }

    [Fact]
    public void Tlsa_DaneTaOnALeafAlone_RefusedNamingTheFile()
    {
        var current = WriteCert("mx.example.test", out _);
        var options = new PublishDomainOptions { Domain = "example.test" };
        options.Mx.Add("mx.example.test");
        options.Tlsa.Add(new PublishTlsaOptions { Cert = current, DaneTa = true });
        Assert.True(PublishDomain.TryFrom(options, "d", out var domain, out _));

        var ex = Assert.Throws<RampartException>(() => PublishPlan.Create(domain));

        Assert.Contains(current, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Tlsa_MissingFile_RefusedNamingTheFile()
    {
        var options = new PublishDomainOptions { Domain = "example.test" };
        options.Mx.Add("mx.example.test");
        options.Tlsa.Add(new PublishTlsaOptions { Cert = "/nonexistent/cert.pem" });
        Assert.True(PublishDomain.TryFrom(options, "d", out var domain, out _));

        var ex = Assert.ThrowsAny<RampartException>(() => PublishPlan.Create(domain));

        Assert.Equal("certificate file /nonexistent/cert.pem: no such file", ex.Message);
    }
}
