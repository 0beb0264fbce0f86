using System.Text.RegularExpressions;
using Rampart.Postfix.Config;
using Rampart.Postfix.TlsRpt;

namespace Rampart.Postfix.Tests.Config;

/// <summary><c>tlsrpt_reporting:</c> in the daemon's file: the datagram intake's socket, its mode and owner.</summary>
public sealed class TlsRptReportingConfigTests
{
    private const string Source = "/etc/rampart/rampart.yml";

    private static DaemonConfigLoadResult Parse(string yaml) => DaemonConfiguration.Parse(yaml, Source);

    [Fact]
    public void Parse_DatagramSocket_IntakeSettings()
    {
        var result = Parse("tlsrpt_reporting:\n  datagram_socket: /var/spool/postfix/run/tlsrpt/tlsrpt.sock\n  datagram_socket_mode: \"0620\"\n  datagram_socket_owner: rampart:postfix\n");

        Assert.Empty(result.Errors);
        Assert.Equal(DaemonConfigDialect.Rampart, result.Configuration.Dialect);
        Assert.Equal(
            new TlsRptIntakeSettings("/var/spool/postfix/run/tlsrpt/tlsrpt.sock") { Mode = (UnixFileMode)0b110_010_000, Owner = "rampart:postfix" },
            result.Configuration.TlsRptReporting?.Intake);
    }

    [Fact]
    public void Parse_DatagramSocketAlone_WritableByEveryone()
    {
        var intake = Parse("tlsrpt_reporting:\n  datagram_socket: /run/rampart/tlsrpt.sock\n").Configuration.TlsRptReporting?.Intake;

        Assert.Equal((UnixFileMode)0b110_110_110, intake?.Mode);
        Assert.Null(intake?.Owner);
    }

    [Theory]
    [InlineData("")]
    [InlineData("tlsrpt_reporting:\n")]
    [InlineData("tlsrpt_reporting:\n  datagram_socket_mode: \"0660\"\n")]
    public void Parse_NoDatagramSocket_NoIntake(string yaml)
    {
        var result = Parse(yaml);

        Assert.Empty(result.Errors);
        Assert.Null(result.Configuration.TlsRptReporting?.Intake);
    }

    [Theory]
    [InlineData("tlsrpt_reporting:\n  datagram_socket: run/tlsrpt.sock", "tlsrpt_reporting.datagram_socket: 'run/tlsrpt.sock' is not an absolute path")]
    [InlineData("tlsrpt_reporting:\n  datagram_socket: /x.sock\n  datagram_socket_mode: rw", "tlsrpt_reporting.datagram_socket_mode: 'rw' is not a file mode (octal with a leading zero, such as 0660)")]
    [InlineData("tlsrpt_reporting:\n  datagram_sokcet: /x.sock", "unknown key 'datagram_sokcet' in 'tlsrpt_reporting' (did you mean 'datagram_socket'?)")]
    [InlineData("tlsrpt_reporting: /x.sock", "tlsrpt_reporting: must be a mapping of keys, not '/x.sock'")]
    public void Parse_BadValue_OneLineNamingTheKey(string yaml, string expected)
    {
        var result = Parse(yaml + "\n");

        Assert.Matches("^" + Regex.Escape(Source) + @":\d+: " + Regex.Escape(expected), Assert.Single(result.Errors));
    }

    [Fact]
    public void Parse_StoreAndHost_TheFleetsSharedStore()
    {
        var reporting = Parse("tlsrpt_reporting:\n  store: postgres://rampart@db1.example.net/tlsrpt\n  host: mx1\n").Configuration.TlsRptReporting;

        Assert.Equal(new TlsRptSharedStore("postgres://rampart@db1.example.net/tlsrpt", "mx1"), reporting?.SharedStore);
    }

    [Fact]
    public void Parse_StoreWithoutHost_TheMachinesName_NoStoreIsSqlite()
    {
        Assert.Equal(System.Net.Dns.GetHostName(), Parse("tlsrpt_reporting:\n  store: postgres:///tlsrpt\n").Configuration.TlsRptReporting?.SharedStore?.Host);
        Assert.Null(Parse("tlsrpt_reporting:\n  host: mx1\n").Configuration.TlsRptReporting?.SharedStore);
    }

    [Theory]
    [InlineData("tlsrpt_reporting:\n  store: /var/lib/rampart/tlsrpt.sqlite", "tlsrpt_reporting.store: ")]
    [InlineData("tlsrpt_reporting:\n  store: postgres://u:s3cret@db/x?bogus=1", "tlsrpt_reporting.store: ")]
    [InlineData("tlsrpt_reporting:\n  host: \"mx 1\"", "tlsrpt_reporting.host: 'mx 1' must not contain spaces or control characters")]
    public void Parse_BadStoreOrHost_OneLineNamingTheKey(string yaml, string expected)
    {
        var error = Assert.Single(Parse(yaml + "\n").Errors);

        Assert.Matches("^" + Regex.Escape(Source) + @":\d+: " + Regex.Escape(expected), error);
        Assert.DoesNotContain("s3cret", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_PostfixLogJournal_Accepted()
    {
        var result = Parse("tlsrpt_reporting:\n  postfix_log: journal\n");

        Assert.Empty(result.Errors);
        Assert.True(result.Configuration.TlsRptReporting?.LogSource?.IsJournal);
    }
}
