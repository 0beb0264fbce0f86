using System.Security.Cryptography.X509Certificates;
using Rampart.Core.Check;
using Rampart.Core.Tests.Support;

namespace Rampart.Core.Tests.Check;

/// <summary><c>--next-cert</c> input: files and certbot-style directories, leaf first; bad input is one sentence naming the path.</summary>
public sealed class NextCertificateTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-next-").FullName;
    private readonly TestPki _pki = new("Next");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void TryLoad_ChainFile_LeafFirst()
    {
        var leaf = _pki.Leaf("mx.example.org");
        var path = Write("chain.pem", Pem(leaf, _pki.Intermediate));

        Assert.True(NextCertificate.TryLoad(path, out var next, out var error), error);

        Assert.Equal(leaf.Thumbprint, next.Leaf.Thumbprint);
        Assert.Equal(2, next.Chain.Count);
    }

    [Fact]
    public void TryLoad_CertbotDirectory_PrefersFullchain()
    {
        var leaf = _pki.Leaf("mx.example.org");
        var live = Directory.CreateDirectory(Path.Combine(_dir, "live", "mx.example.org")).FullName;
        File.WriteAllText(Path.Combine(live, "cert.pem"), Pem(_pki.Leaf("other.example.org")));
        File.WriteAllText(Path.Combine(live, "fullchain.pem"), Pem(leaf, _pki.Intermediate));
        File.WriteAllText(Path.Combine(live, "privkey.pem"), "-----BEGIN PRIVATE KEY-----\nnot read\n-----END PRIVATE KEY-----\n");

        Assert.True(NextCertificate.TryLoad(live, out var next, out var error), error);

        Assert.Equal(leaf.Thumbprint, next.Leaf.Thumbprint);
        Assert.EndsWith("fullchain.pem", next.Origin, StringComparison.Ordinal);
    }

    [Fact]
    public void TryLoad_DirectoryWithCertAndChain_Joined()
    {
        var leaf = _pki.Leaf("mx.example.org");
        File.WriteAllText(Path.Combine(_dir, "cert.pem"), Pem(leaf));
        File.WriteAllText(Path.Combine(_dir, "chain.pem"), Pem(_pki.Intermediate));

        Assert.True(NextCertificate.TryLoad(_dir, out var next, out var error), error);

        Assert.Equal([leaf.Thumbprint, _pki.Intermediate.Thumbprint], next.Chain.Select(c => c.Thumbprint));
    }

    [Theory]
    [InlineData("missing", "no such file or directory")]
    [InlineData("empty-dir", "without fullchain.pem or cert.pem")]
    [InlineData("garbage", "is neither PEM")]
    [InlineData("key-only", "holds a key but no certificate")]
    [InlineData("ca-first", "give the chain leaf first")]
    [InlineData("empty", "is empty")]
    public void TryLoad_BadInput_OneSentenceNamingThePath(string kind, string rule)
    {
        var path = kind switch
        {
            "missing" => Path.Combine(_dir, "nope.pem"),
            "empty-dir" => Directory.CreateDirectory(Path.Combine(_dir, "empty-dir")).FullName,
            "garbage" => Write("garbage.pem", "hello, not a certificate"),
            "key-only" => Write("key.pem", System.Security.Cryptography.ECDsa.Create().ExportSubjectPublicKeyInfoPem()),
            "ca-first" => Write("reversed.pem", Pem(_pki.Intermediate, _pki.Leaf("mx.example.org"))),
            _ => Write("empty.pem", ""),
        };

        Assert.False(NextCertificate.TryLoad(path, out _, out var error));

        Assert.StartsWith($"{path}: ", error, StringComparison.Ordinal);
        Assert.Contains(rule, error, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error);
        Assert.DoesNotContain("--next-cert", error, StringComparison.Ordinal); // Core names no CLI flag; the CLI adds it
    }

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static string Pem(params X509Certificate2[] chain) => string.Concat(chain.Select(c => c.ExportCertificatePem() + "\n"));
}
