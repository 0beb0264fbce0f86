using System.Text;
using System.Text.Json;
using Rampart.Tests.Shared;

namespace Rampart.Cli.Tests.Commands;

/// <summary>
/// <c>rampart tlsrpt bounce</c> through the real executable, as a pipe transport or an operator runs it: a message that
/// is no bounce read from standard input and left alone (exit 0, so the MTA does not bounce it back), and input it cannot
/// read refused in one line naming it (a device, a file that is not an email), never a stack trace.
/// </summary>
public sealed class TlsRptBounceCommandTests : IDisposable
{
    private readonly string _state = Directory.CreateTempSubdirectory("rampart-tlsrpt-bounce-").FullName;

    public void Dispose() => Directory.Delete(_state, recursive: true);

    [Fact]
    public async Task Stdin_AnOrdinaryMessage_LeftAloneExitZero_NoOutboxCreated()
    {
        var message = Encoding.ASCII.GetBytes("From: a@b.example\r\nTo: c@d.example\r\nSubject: hi\r\n\r\nhello\r\n");

        var result = await CliRunner.RunAsync(["tlsrpt", "bounce", "--state-dir", _state, "--json"], message);

        Assert.True(result.ExitCode == 0, result.ToString());
        using var json = JsonDocument.Parse(result.Stdout);
        var read = Assert.Single(json.RootElement.GetProperty("messages").EnumerateArray());
        Assert.Equal(("(stdin)", "not-a-delivery-status"), (read.GetProperty("message").GetString(), read.GetProperty("kind").GetString()));
        Assert.Empty(Directory.EnumerateFiles(_state));
    }

    [Fact]
    public async Task Device_OneLineExitTwo()
    {
        var result = await CliRunner.RunAsync("tlsrpt", "bounce", "--state-dir", _state, "/dev/zero");

        Assert.Equal(2, result.ExitCode);
        Assert.Equal("rampart: bounce message /dev/zero: is a character device; give a regular file", result.Stderr.Trim());
        Assert.False(CliRunner.HasStackTrace(result), result.ToString());
    }

    [Fact]
    public async Task NotAnEmail_OneLineExitTwo()
    {
        var path = Path.Combine(_state, "binary.eml");
        await File.WriteAllBytesAsync(path, [0, 1, 2, 0xff, 0xfe, (byte)'\n', 0], TestContext.Current.CancellationToken);

        var result = await CliRunner.RunAsync("tlsrpt", "bounce", "--state-dir", _state, path);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Single(result.Stderr.Trim().Split('\n'));
        Assert.Contains("binary.eml: not an email message", result.Stderr, StringComparison.Ordinal);
        Assert.False(CliRunner.HasStackTrace(result), result.ToString());
    }
}
