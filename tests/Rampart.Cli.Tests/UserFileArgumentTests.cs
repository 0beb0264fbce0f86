using System.Diagnostics;
using Rampart.Tests.Shared;

namespace Rampart.Cli.Tests;

/// <summary>
/// A device or a FIFO named where a file belongs: one line naming it, exit 2, at once — never an unbounded read, an
/// out-of-memory stack trace, or a hang waiting for a writer (issue 13).
/// </summary>
public sealed class UserFileArgumentTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-userfile-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<string[]> Commands => new()
    {
        { ["tlsa", "match", "--chain", "FILE", "--tlsa", "3 1 1 " + new string('a', 64)] },
        { ["tlsa", "generate", "--cert", "FILE"] },
        { ["mta-sts", "parse", "FILE"] },
        { ["resolve", "example.org", "--overrides", "FILE", "--resolver", "127.0.0.1:9"] },
        { ["resolve", "example.org", "--policy-list", "FILE", "--resolver", "127.0.0.1:9"] },
        { ["resolve", "example.org", "--ca-file", "FILE", "--resolver", "127.0.0.1:9"] },
        { ["daemon", "--config", "FILE", "--check-config"] },
        { ["publish", "--config", "FILE"] },
        { ["check", "--watch", "FILE", "--once", "--resolver", "127.0.0.1:9"] },
    };

    [Theory]
    [MemberData(nameof(Commands))]
    public async Task DevZero_OneLineExitTwoAtOnce(string[] command)
    {
        await AssertRefusedAsync(command, "/dev/zero", "is a character device");
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public async Task Fifo_OneLineExitTwoWithoutWaitingForAWriter(string[] command)
    {
        var fifo = Path.Combine(_dir, "fifo");
        using (var mkfifo = Process.Start("mkfifo", [fifo]))
        {
            await mkfifo.WaitForExitAsync(TestContext.Current.CancellationToken);
        }

        await AssertRefusedAsync(command, fifo, "is a FIFO (named pipe)");
    }

    private static async Task AssertRefusedAsync(string[] command, string path, string rule)
    {
        var started = Stopwatch.StartNew();

        var result = await CliRunner.RunAsync([.. command.Select(a => a == "FILE" ? path : a)],
            timeout: TimeSpan.FromSeconds(30));

        var stderr = result.Stderr.Trim();
        var expected = command[0] == "check" ? 3 : 2; // check is a monitoring plugin: unusable input is UNKNOWN
        Assert.True(result.ExitCode == expected, $"exit {result.ExitCode}: {stderr}");
        Assert.Contains(path, stderr, StringComparison.Ordinal);
        Assert.Contains(rule, stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(20), $"took {started.Elapsed}");
    }
}
