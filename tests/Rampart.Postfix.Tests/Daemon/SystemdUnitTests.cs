using System.Diagnostics;
using Rampart.Postfix.Daemon;

namespace Rampart.Postfix.Tests.Daemon;

/// <summary>The shipped systemd units (packaging/systemd/), checked by systemd itself.</summary>
public class SystemdUnitTests
{
    /// <summary>Found above the test binaries, or above this source file (an --artifacts-path build puts bin/ elsewhere).</summary>
    private static string UnitPath(string name = "rampart-daemon.service", [System.Runtime.CompilerServices.CallerFilePath] string sourceFile = "")
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Path.GetDirectoryName(sourceFile) ?? "" })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "packaging", "systemd", name);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }
        throw new FileNotFoundException($"packaging/systemd/{name} not found above " + AppContext.BaseDirectory);
    }

    [Fact]
    public void Service_LimitNOFILE_GivesTheConnectionCapItsCommentSays()
    {
        var text = File.ReadAllText(UnitPath());
        var limit = long.Parse(System.Text.RegularExpressions.Regex.Match(text, @"^LimitNOFILE=(\d+)$", System.Text.RegularExpressions.RegexOptions.Multiline).Groups[1].Value,
            System.Globalization.CultureInfo.InvariantCulture);

        Assert.InRange(Rampart.Hosting.Listening.ConnectionLimit.Default(limit, openNow: 250), 7_900, 8_100);
        Assert.Contains("about 8,000 here", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Units_SystemdAnalyzeVerify_NoFindings()
    {
        var analyze = new[] { "/usr/bin/systemd-analyze", "/bin/systemd-analyze" }.FirstOrDefault(File.Exists);
        Assert.True(analyze is not null, "systemd-analyze not found: apt-get install systemd");
        var dir = Directory.CreateTempSubdirectory("rampart-unit").FullName;
        try
        {
            // verify insists that ExecStart= exists: point it at a stand-in for the published binary
            var binary = Path.Combine(dir, "rampart");
            await File.WriteAllTextAsync(binary, "#!/bin/sh\n", TestContext.Current.CancellationToken);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(binary, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
            // Every shipped unit, verified together (a socket or timer needs the service it activates beside it).
            var units = new List<string>();
            foreach (var shipped in Directory.GetFiles(Path.GetDirectoryName(UnitPath())!).Order(StringComparer.Ordinal))
            {
                var text = await File.ReadAllTextAsync(shipped, TestContext.Current.CancellationToken);
                var unit = Path.Combine(dir, Path.GetFileName(shipped));
                await File.WriteAllTextAsync(unit, text.Replace("ExecStart=/usr/bin/rampart ", $"ExecStart={binary} ", StringComparison.Ordinal), TestContext.Current.CancellationToken);
                units.Add(unit);
            }
            Assert.Equal(6, units.Count); // daemon (+ socket), serve, check --watch, tlsrpt send (+ timer)
            Assert.Contains("ExecStart=/usr/bin/rampart daemon", await File.ReadAllTextAsync(UnitPath(), TestContext.Current.CancellationToken), StringComparison.Ordinal);

            // the man pages of Documentation= are checked installed (packaging/deb/check)
            var info = new ProcessStartInfo(analyze, ["verify", "--man=no", .. units]) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var process = Process.Start(info)!;
            var stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
            var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
            await process.WaitForExitAsync(TestContext.Current.CancellationToken);

            // unknown keys are only warnings (exit 0), so any output is a finding
            Assert.Equal("", (await stdout + await stderr).Trim());
            Assert.Equal(0, process.ExitCode);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Unit_ReloadsWithSighupAndKeepsStateInStateDirectory()
    {
        var lines = await File.ReadAllLinesAsync(UnitPath(), TestContext.Current.CancellationToken);
        Assert.Contains("ExecReload=/bin/kill -HUP $MAINPID", lines);
        Assert.Contains("StateDirectory=rampart", lines);
        Assert.Contains("MemoryDenyWriteExecute=yes", lines); // the installed binary is native (no JIT needing W+X pages)
    }

    [Theory]
    [InlineData("rampart-daemon.service")]
    [InlineData("rampart-serve.service")]
    public async Task LongRunningUnits_AreNotifyWithWatchdog(string name)
    {
        var lines = await File.ReadAllLinesAsync(UnitPath(name), TestContext.Current.CancellationToken);

        Assert.Contains("Type=notify", lines); // READY=1 / STOPPING=1 / WATCHDOG=1: DaemonUnderSystemdTests, ServeUnderSystemdTests
        Assert.Contains("NotifyAccess=main", lines);
        Assert.Contains(lines, l => l.StartsWith("WatchdogSec=", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SocketUnit_ListensWherePostfixLooksByDefault()
    {
        var lines = await File.ReadAllLinesAsync(UnitPath("rampart-daemon.socket"), TestContext.Current.CancellationToken);
        Assert.Contains("ListenStream=127.0.0.1:8461", lines);
        Assert.Contains("WantedBy=sockets.target", lines);
    }
}
