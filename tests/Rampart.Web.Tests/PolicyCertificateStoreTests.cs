using Microsoft.Extensions.Logging.Abstractions;

namespace Rampart.Web.Tests;

/// <summary>certbot's layout: live/NAME/*.pem are symlinks into archive/, and a renewal points them at new files.</summary>
public sealed class PolicyCertificateStoreTests
{
    [Fact]
    public async Task Get_CertbotSymlinksRepointed_NewCertificateAfterTheRecheckInterval()
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
        var store = PolicyCertificateStore.Load(pki.Live, new Dictionary<string, string> { ["mta-sts.example.test"] = "mta-sts.example.test" },
            TimeProvider.System, NullLogger.Instance);

        Assert.Equal(first.SerialNumber, store.Get("mta-sts.example.test")!.TargetCertificate.SerialNumber);
        Link("archive-2");
        await Task.Delay(PolicyCertificateStore.RecheckInterval + TimeSpan.FromMilliseconds(300), TestContext.Current.CancellationToken);

        Assert.Equal(second.SerialNumber, store.Get("MTA-STS.example.test.")!.TargetCertificate.SerialNumber);
        Assert.Null(store.Get("mta-sts.unknown.test"));
        Assert.Null(store.Get(null));
    }
}
