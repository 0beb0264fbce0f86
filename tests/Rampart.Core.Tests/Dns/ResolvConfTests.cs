using System.Net;
using Rampart.Core.Dns;

namespace Rampart.Core.Tests.Dns;

public sealed class ResolvConfTests
{
    [Fact]
    public void Parse_SeveralNameservers_FirstIsFirstInFileOrder()
    {
        var conf = ResolvConf.Parse("search example.org\nnameserver 192.0.2.1\nnameserver 192.0.2.2\n");

        Assert.Equal(IPAddress.Parse("192.0.2.1"), conf.FirstNameserver?.Address);
        Assert.Equal(53, conf.FirstNameserver?.Port);
        Assert.Equal(2, conf.Nameservers.Count);
        Assert.False(conf.TrustAd);
    }

    [Fact]
    public void Parse_CommentedLines_Ignored()
    {
        var conf = ResolvConf.Parse("# nameserver 192.0.2.9\n; nameserver 192.0.2.8\n  # indented comment\nnameserver 127.0.0.53\n");

        Assert.Equal(IPAddress.Parse("127.0.0.53"), conf.FirstNameserver?.Address);
        Assert.Single(conf.Nameservers);
    }

    [Theory]
    [InlineData("nameserver 192.0.2.1 # primary")]
    [InlineData("nameserver 192.0.2.1#primary")]
    [InlineData("nameserver\t192.0.2.1;primary")]
    [InlineData("  nameserver   192.0.2.1  \r")]
    public void Parse_TrailingCommentOrWhitespace_AddressOnly(string line)
    {
        var conf = ResolvConf.Parse(line + "\n");

        Assert.Equal(IPAddress.Parse("192.0.2.1"), conf.FirstNameserver?.Address);
    }

    [Fact]
    public void Parse_CrLfLines_Parsed()
    {
        var conf = ResolvConf.Parse("nameserver 127.0.0.1\r\noptions trust-ad\r\n");

        Assert.Equal(IPAddress.Loopback, conf.FirstNameserver?.Address);
        Assert.True(conf.TrustAd);
    }

    [Fact]
    public void Parse_NoNameserver_EmptyAndFirstNull()
    {
        var conf = ResolvConf.Parse("search example.org\noptions ndots:2\n");

        Assert.Empty(conf.Nameservers);
        Assert.Null(conf.FirstNameserver);
    }

    [Fact]
    public void Parse_EmptyText_Empty()
    {
        Assert.Null(ResolvConf.Parse("").FirstNameserver);
    }

    [Fact]
    public void Parse_Ipv6Nameserver_Parsed()
    {
        var conf = ResolvConf.Parse("nameserver 2001:db8::53\n");

        Assert.Equal(IPAddress.Parse("2001:db8::53"), conf.FirstNameserver?.Address);
        Assert.Equal("[2001:db8::53]:53", conf.FirstNameserver?.ToString());
    }

    [Fact]
    public void Parse_LinkLocalWithUnknownInterface_SkippedWithNoteAndNextUsed()
    {
        var conf = ResolvConf.Parse("nameserver fe80::1%nosuchif9\nnameserver 192.0.2.2\n");

        Assert.Equal(IPAddress.Parse("192.0.2.2"), conf.FirstNameserver?.Address);
        var note = Assert.Single(conf.Notes);
        Assert.Contains("line 1", note, StringComparison.Ordinal);
        Assert.Contains("nosuchif9", note, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_LinkLocalWithNumericScope_KeptWithScope()
    {
        var conf = ResolvConf.Parse("nameserver fe80::1%2\n");

        Assert.Equal(2, conf.FirstNameserver?.Address.ScopeId);
    }

    [Fact]
    public void Parse_GlobalIpv6WithScope_ScopeStripped()
    {
        var conf = ResolvConf.Parse("nameserver 2001:db8::53%eth0\n");

        Assert.Equal(IPAddress.Parse("2001:db8::53"), conf.FirstNameserver?.Address);
        Assert.Equal(0, conf.FirstNameserver?.Address.ScopeId);
    }

    [Theory]
    [InlineData("nameserver")]
    [InlineData("nameserver dns.example")]
    [InlineData("nameserver 127.0.0.1:5353")]
    public void Parse_UnusableNameserver_SkippedWithNote(string line)
    {
        var conf = ResolvConf.Parse(line + "\n");

        Assert.Empty(conf.Nameservers);
        Assert.Single(conf.Notes);
    }

    [Theory]
    [InlineData("options trust-ad", true)]
    [InlineData("options ndots:1 trust-ad edns0", true)]
    [InlineData("options edns0", false)]
    [InlineData("options edns0 # trust-ad", false)]
    [InlineData("# options trust-ad", false)]
    public void Parse_OptionsLine_TrustAdNoted(string line, bool expected)
    {
        Assert.Equal(expected, ResolvConf.Parse(line + "\n").TrustAd);
    }

    [Fact]
    public void TryLoad_MissingFile_FalseWithErrorNamingPath()
    {
        var path = Path.Combine(Path.GetTempPath(), $"rampart-missing-{Guid.NewGuid():N}", "resolv.conf");

        var ok = ResolvConf.TryLoad(path, out var conf, out var error);

        Assert.False(ok);
        Assert.Null(conf);
        Assert.Equal($"cannot read {path}: file not found", error);
    }

    [Fact]
    public void TryLoad_Directory_FalseWithError()
    {
        var ok = ResolvConf.TryLoad(Path.GetTempPath(), out _, out var error);

        Assert.False(ok);
        Assert.StartsWith($"cannot read {Path.GetTempPath()}", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryLoad_ExistingFile_Parsed()
    {
        var path = Path.Combine(Path.GetTempPath(), $"rampart-resolv-{Guid.NewGuid():N}.conf");
        File.WriteAllText(path, "nameserver 127.0.0.53\noptions edns0 trust-ad\n");
        try
        {
            Assert.True(ResolvConf.TryLoad(path, out var conf, out var error));
            Assert.Null(error);
            Assert.Equal(IPAddress.Parse("127.0.0.53"), conf.FirstNameserver?.Address);
            Assert.True(conf.TrustAd);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
