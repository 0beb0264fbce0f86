using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Rampart.Web.Tests.Support;

namespace Rampart.Web.Tests;

/// <summary>certbot's layout: live/NAME/*.pem are symlinks into archive/, and a renewal points them at new files.</summary>
public sealed class PolicyCertificateStoreTests
{
    [Fact]
    public void Get_CertbotSymlinksRepointed_NewCertificateAfterTheRecheckInterval()
    {
        using var pki = new WebTestPki();
        var first = pki.IssueInto("archive-1", "mta-sts.example.test");
        var second = pki.IssueInto("archive-2", "mta-sts.example.test");
        var lineage = Path.Combine(pki.Live, "mta-sts.example.test");
        Directory.CreateDirectory(lineage);
        void Link(string version)
        {
            foreach (var file in new[] { "fullchain.pem", "privkey.pem" })
            {
                var link = Path.Combine(lineage, file);
                File.Delete(link);
                File.CreateSymbolicLink(link, Path.Combine(pki.Live, version, file));
            }
        }
        Link("archive-1");
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var store = PolicyCertificateStore.Load(pki.Live, new Dictionary<string, string> { ["mta-sts.example.test"] = "mta-sts.example.test" },
            time, NullLogger.Instance);

        Assert.Equal(first.SerialNumber, store.Get("mta-sts.example.test")!.TargetCertificate.SerialNumber);
        Link("archive-2");
        time.Advance(PolicyCertificateStore.RecheckInterval - TimeSpan.FromMilliseconds(1));
        Assert.Equal(first.SerialNumber, store.Get("mta-sts.example.test")!.TargetCertificate.SerialNumber); // not rechecked yet
        time.Advance(TimeSpan.FromMilliseconds(1));

        Assert.Equal(second.SerialNumber, store.Get("MTA-STS.example.test.")!.TargetCertificate.SerialNumber);
        Assert.Null(store.Get("mta-sts.unknown.test"));
        Assert.Null(store.Get(null));
    }
}
