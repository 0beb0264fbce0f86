using System.Net;
using Rampart.Core;
using Rampart.Core.MtaSts;
using Rampart.Postfix.Config;
using Rampart.Postfix.Socketmap;
using Rampart.Web;
using Rampart.Web.Dashboard;

namespace Rampart.Cli.Tests;

/// <summary><see cref="SettingsMerge"/>: the command line wins over the file, the file over the defaults.</summary>
public sealed class SettingsMergeTests
{
    private const string DaemonFile = """
        listen: 127.0.0.2:8461
        state_dir: /var/lib/from-file
        resolver: 127.0.0.2
        metrics: 127.0.0.2:9461
        max_connections: 500
        default_zone:
          timeout: 8
          require_sni: true
        zones:
          strict:
            strict_testing: true
        """;

    private static readonly DaemonCommandLine s_nothingGiven = new(
        [], null, StrictTesting: false, NoSni: false, TlsRpt: false, Timeout: null, DefaultTimeout: 10, null, null, null, null,
        new ServiceInputs(null, null, null, null, Verbose: false));

    private static DaemonConfigLoadResult File(string yaml) => DaemonConfiguration.Parse(yaml, "/etc/rampart/rampart.yml");

    [Fact]
    public void Daemon_CommandLineGiven_WinsOverTheFile()
    {
        var cli = s_nothingGiven with
        {
            Listen = [SocketmapEndpoint.Parse("127.0.0.1:9000")],
            StateDir = "/var/lib/from-cli",
            Metrics = IPEndPoint.Parse("127.0.0.1:9999"),
            MaxConnections = 2000,
            Timeout = 3,
            NoSni = true,
            TlsRpt = true,
            Services = s_nothingGiven.Services with { Resolver = "127.0.0.1" },
        };

        var merged = SettingsMerge.Daemon(File(DaemonFile), cli);

        var settings = Assert.IsType<Rampart.Postfix.Daemon.DaemonSettings>(merged.Settings);
        Assert.Equal("127.0.0.1:9000", Assert.Single(settings.Listen).ToString());
        Assert.Equal("/var/lib/from-cli", settings.StateDirectory);
        Assert.Equal("127.0.0.1:9999", settings.Metrics?.ToString());
        Assert.Equal(2000, settings.MaxConnections);
        Assert.Equal(TimeSpan.FromSeconds(3), settings.DefaultZone.Timeout);
        Assert.False(settings.DefaultZone.Settings.RequireSni);
        Assert.True(settings.DefaultZone.Settings.TlsRpt);
        Assert.Contains("127.0.0.1", settings.Dns.Endpoint.ToString(), StringComparison.Ordinal);
        Assert.True(settings.Zones["strict"].Settings.StrictTesting); // zones come only from the file
    }

    [Fact]
    public void Daemon_EximListen_FromTheFile_ReplacedByTheCommandLine_SocketOwnerApplied_RestartOnly()
    {
        var file = File(DaemonFile + "\nexim_listen: 127.0.0.1:8462\n");
        var fromFile = Assert.IsType<Rampart.Postfix.Daemon.DaemonSettings>(SettingsMerge.Daemon(file, s_nothingGiven).Settings);
        var fromCli = Assert.IsType<Rampart.Postfix.Daemon.DaemonSettings>(SettingsMerge.Daemon(file, s_nothingGiven with
        {
            EximListen = [SocketmapEndpoint.Parse("unix:/run/rampart/exim.sock:0660")],
            SocketOwner = "root",
        }).Settings);
        var none = Assert.IsType<Rampart.Postfix.Daemon.DaemonSettings>(SettingsMerge.Daemon(File(DaemonFile), s_nothingGiven).Settings);

        Assert.Equal("127.0.0.1:8462", Assert.Single(fromFile.EximListen).ToString());
        var unix = Assert.Single(fromCli.EximListen);
        Assert.Equal(("unix:/run/rampart/exim.sock", "root"), (unix.ToString(), unix.UnixSocketOwner));
        Assert.Empty(none.EximListen);
        Assert.Contains("exim_listen", none.RestartOnlyChanges(fromFile));
        Assert.DoesNotContain("exim_listen", fromFile.RestartOnlyChanges(fromFile with { }));
    }

    [Fact]
    public void Daemon_TlsRptReporting_IntakeFromTheFileAndRestartOnly()
    {
        var without = Assert.IsType<Rampart.Postfix.Daemon.DaemonSettings>(SettingsMerge.Daemon(File(DaemonFile), s_nothingGiven).Settings);
        var with = Assert.IsType<Rampart.Postfix.Daemon.DaemonSettings>(SettingsMerge.Daemon(
            File(DaemonFile + "\ntlsrpt_reporting:\n  datagram_socket: /run/rampart/tlsrpt.sock\n"), s_nothingGiven).Settings);

        Assert.Null(without.TlsRpt);
        Assert.Equal("/run/rampart/tlsrpt.sock", with.TlsRpt?.DatagramSocket);
        Assert.Contains("tlsrpt_reporting", without.RestartOnlyChanges(with));
        Assert.DoesNotContain("tlsrpt_reporting", with.RestartOnlyChanges(with with { }));
    }

    [Fact]
    public void Daemon_NothingOnTheCommandLine_TheFileSays()
    {
        var merged = SettingsMerge.Daemon(File(DaemonFile), s_nothingGiven);

        var settings = Assert.IsType<Rampart.Postfix.Daemon.DaemonSettings>(merged.Settings);
        Assert.Equal("127.0.0.2:8461", Assert.Single(settings.Listen).ToString());
        Assert.Equal("/var/lib/from-file", settings.StateDirectory);
        Assert.Equal("127.0.0.2:9461", settings.Metrics?.ToString());
        Assert.Equal(500, settings.MaxConnections);
        Assert.Equal(TimeSpan.FromSeconds(8), settings.DefaultZone.Timeout);
        Assert.True(settings.DefaultZone.Settings.RequireSni);
        Assert.Contains("127.0.0.2", settings.Dns.Endpoint.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Daemon_NoFileNoOptions_Defaults()
    {
        var merged = SettingsMerge.Daemon(null, s_nothingGiven with { Services = s_nothingGiven.Services with { Resolver = "127.0.0.1" } });

        var settings = Assert.IsType<Rampart.Postfix.Daemon.DaemonSettings>(merged.Settings);
        Assert.Equal(DaemonConfiguration.DefaultListen, Assert.Single(settings.Listen).ToString());
        Assert.Equal(TimeSpan.FromSeconds(10), settings.DefaultZone.Timeout);
        Assert.Null(settings.Metrics);
        Assert.Null(settings.MaxConnections); // the default from the open-files limit
    }

    [Fact]
    public void Daemon_FileWithErrors_NoSettingsEveryErrorPassedOn()
    {
        var merged = SettingsMerge.Daemon(File("port: abc\ncahce: {}\n"), s_nothingGiven);

        Assert.Null(merged.Settings);
        Assert.Equal(
            ["/etc/rampart/rampart.yml:2: unknown key 'cahce' (did you mean 'cache'?)", "/etc/rampart/rampart.yml:1: port: 'abc' is not a port number (1-65535)"],
            merged.Errors);
    }

    /// <summary>What the daemon reads at start, for --check-config and on SIGHUP: a pinned policy Postfix could never be given is refused.</summary>
    [Fact]
    public void Daemon_PinnedPolicyTooLongForPostfix_NoSettingsTheLineNamed()
    {
        var dir = Directory.CreateTempSubdirectory("rampart-merge-");
        try
        {
            var path = Path.Combine(dir.FullName, "overrides");
            System.IO.File.WriteAllText(path, "example.net secure\nexample.org secure match=" + string.Join(':', Enumerable.Range(0, 7000).Select(i => $"mx{i:D4}.long.example.org")) + "\n");

            var merged = SettingsMerge.Daemon(null, s_nothingGiven with { Services = s_nothingGiven.Services with { Resolver = "127.0.0.1", Overrides = path } });

            Assert.Null(merged.Settings);
            Assert.StartsWith($"{path}:2 [example.org]: the reply to Postfix would be ", Assert.Single(merged.Errors), StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static PublishConfig Publish() => PublishConfigFile.Parse("""
        domains:
          - domain: a.test
            mx: mx.a.test
          - domain: b.test
            mx: mx.b.test
        serve:
          listen: 127.0.0.1:8443
          certificates: /etc/from-file
          state_dir: /var/lib/from-file
          max_connections: 500
          metrics: 127.0.0.1:9462
        """, "/etc/rampart/publish.yml");

    [Fact]
    public void Serve_CommandLineGiven_ReplacesTheFilesValues()
    {
        var run = SettingsMerge.Serve(Publish(), new ServeCommandLine([IPEndPoint.Parse("127.0.0.1:9443"), IPEndPoint.Parse("[::1]:9443")], "/etc/from-cli", "/var/lib/from-cli", null, 2000,
            IPEndPoint.Parse("127.0.0.1:9999")));

        Assert.Equal(["127.0.0.1:9443", "[::1]:9443"], run.Config.Serve.Listen.Select(e => e.ToString()));
        Assert.Equal("/etc/from-cli", run.Config.Serve.Certificates);
        Assert.Equal(2000, run.Config.Serve.MaxConnections);
        Assert.Equal("127.0.0.1:9999", run.Config.Serve.Metrics?.ToString());
        Assert.Equal("/var/lib/from-cli", run.StoreStateDir);
        Assert.Null(run.Store);
    }

    [Fact]
    public void Serve_NothingGiven_TheFileSays()
    {
        var run = SettingsMerge.Serve(Publish(), new ServeCommandLine([], null, null, null));

        Assert.Equal("127.0.0.1:8443", Assert.Single(run.Config.Serve.Listen).ToString());
        Assert.Equal("/etc/from-file", run.Config.Serve.Certificates);
        Assert.Equal(500, run.Config.Serve.MaxConnections);
        Assert.Equal("127.0.0.1:9462", run.Config.Serve.Metrics?.ToString());
        Assert.Equal("/var/lib/from-file", run.StoreStateDir);
    }

    [Fact]
    public void Serve_StoreGiven_ReplacesTheFilesStateDir()
    {
        var run = SettingsMerge.Serve(Publish(), new ServeCommandLine([], null, null, "/srv/reports.sqlite"));

        Assert.Equal("/srv/reports.sqlite", run.Store);
        Assert.Null(run.StoreStateDir);
    }

    [Fact]
    public void Serve_Dashboard_OffUnlessGiven_CommandLineMountsAndReplacesTheCredential()
    {
        var withBasic = PublishConfigFile.Parse("domain: a.test\nmx: mx.a.test\nserve:\n  dashboard:\n    path: /ops\n    basic_user: ops\n    password_hash: H\n", "p.yml");

        Assert.Null(SettingsMerge.Serve(Publish(), new ServeCommandLine([], null, null, null)).Config.Serve.Dashboard);
        Assert.Equal(new DashboardMount("/ops", null, "ops", "H"), SettingsMerge.Serve(withBasic, new ServeCommandLine([], null, null, null)).Config.Serve.Dashboard);
        Assert.Equal(new DashboardMount("/dashboard", null, null, null),
            SettingsMerge.Serve(Publish(), new ServeCommandLine([], null, null, null, DashboardPath: "/dashboard")).Config.Serve.Dashboard);
        Assert.Equal(new DashboardMount("/ops", "/etc/t", null, null),
            SettingsMerge.Serve(withBasic, new ServeCommandLine([], null, null, null, DashboardTokenFile: "/etc/t")).Config.Serve.Dashboard);
    }

    [Fact]
    public void Publish_DomainsAndModeGiven_OnlyThoseWithThatMode()
    {
        var domains = SettingsMerge.Publish(Publish(), new PublishCommandLine(["b.test"], MtaStsMode.Enforce));

        var domain = Assert.Single(domains);
        Assert.Equal("b.test", domain.Domain);
        Assert.Equal(MtaStsMode.Enforce, domain.Mode);
    }

    [Fact]
    public void Publish_NothingGiven_EveryDomainAsWritten()
    {
        var domains = SettingsMerge.Publish(Publish(), new PublishCommandLine([], null));

        Assert.Equal(["a.test", "b.test"], domains.Select(d => d.Domain));
        Assert.All(domains, d => Assert.Equal(MtaStsMode.Testing, d.Mode));
    }

    [Fact]
    public void Publish_DomainNotInTheFile_NamesTheFile()
    {
        var ex = Assert.Throws<RampartException>(() => SettingsMerge.Publish(Publish(), new PublishCommandLine(["c.test"], null)));

        Assert.Equal("--domain c.test: not in /etc/rampart/publish.yml", ex.Message);
    }
}
