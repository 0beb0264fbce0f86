using System.Text.Json;
using Rampart.Core.TlsRpt;
using Rampart.Storage.TlsRpt;
using Rampart.Tests.Shared;

namespace Rampart.Cli.Tests.Commands;

/// <summary>
/// <c>rampart tlsrpt suppressed [--json] [--clear RUA]</c> through the real executable, over the outbox a sender left:
/// the ruas in force listed (an expired one not), the receiver's refusal shown through the sanitiser, one cleared, a rua
/// not suppressed refused in one line, and a state directory where nothing was ever sent left without an outbox.
/// </summary>
public sealed class TlsRptSuppressedCommandTests : IDisposable
{
    private readonly string _state = Directory.CreateTempSubdirectory("rampart-tlsrpt-suppressed-").FullName;

    public void Dispose() => Directory.Delete(_state, recursive: true);

    private async Task SeedAsync()
    {
        var now = DateTimeOffset.UtcNow;
        await using var outbox = await SqliteTlsRptOutbox.OpenAsync(SqliteTlsRptOutbox.PathIn(_state), TestContext.Current.CancellationToken);
        await outbox.SuppressAsync(new TlsRptSuppression("mailto:tlsrpt@gone.example", now.AddDays(30), "550 5.1.1 <tlsrpt@gone.example>: \u001b[31mno such user"), TestContext.Current.CancellationToken);
        await outbox.SuppressAsync(new TlsRptSuppression("https://reports.example/tlsrpt", now.AddDays(3), "HTTP 404 Not Found"), TestContext.Current.CancellationToken);
        await outbox.SuppressAsync(new TlsRptSuppression("mailto:old@expired.example", now.AddDays(-1), "550 gone"), TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task Json_ListsTheRuasInForce()
    {
        await SeedAsync();

        var result = await CliRunner.RunAsync("tlsrpt", "suppressed", "--state-dir", _state, "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        using var json = JsonDocument.Parse(result.Stdout);
        var rows = json.RootElement.GetProperty("suppressed").EnumerateArray().ToList();
        Assert.Equal(["https://reports.example/tlsrpt", "mailto:tlsrpt@gone.example"], rows.Select(r => r.GetProperty("rua").GetString()));
        Assert.Equal("HTTP 404 Not Found", rows[0].GetProperty("reason").GetString());
        Assert.True(DateTimeOffset.Parse(rows[1].GetProperty("until").GetString()!, System.Globalization.CultureInfo.InvariantCulture) > DateTimeOffset.UtcNow.AddDays(29));
    }

    [Fact]
    public async Task Human_ReceiverTextSanitised()
    {
        await SeedAsync();

        var result = await CliRunner.RunAsync("tlsrpt", "suppressed", "--state-dir", _state);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.StartsWith("2 rua(s) suppressed", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("mailto:tlsrpt@gone.example until ", result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("\u001b", result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("expired.example", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Clear_LiftsOne_ThenNotSuppressed_Exit1()
    {
        await SeedAsync();

        var cleared = await CliRunner.RunAsync("tlsrpt", "suppressed", "--state-dir", _state, "--clear", "mailto:tlsrpt@gone.example");
        var again = await CliRunner.RunAsync("tlsrpt", "suppressed", "--state-dir", _state, "--clear", "mailto:tlsrpt@gone.example", "--json");
        var left = await CliRunner.RunAsync("tlsrpt", "suppressed", "--state-dir", _state, "--json");

        Assert.True(cleared.ExitCode == 0, cleared.ToString());
        Assert.Contains("mailto:tlsrpt@gone.example: no longer suppressed", cleared.Stdout, StringComparison.Ordinal);
        Assert.Equal(1, again.ExitCode);
        using var json = JsonDocument.Parse(again.Stdout);
        Assert.False(json.RootElement.GetProperty("cleared").GetBoolean());
        using var rest = JsonDocument.Parse(left.Stdout);
        Assert.Equal("https://reports.example/tlsrpt", Assert.Single(rest.RootElement.GetProperty("suppressed").EnumerateArray()).GetProperty("rua").GetString());
    }

    [Fact]
    public async Task NothingEverSent_NoneSuppressed_NoOutboxCreated()
    {
        var list = await CliRunner.RunAsync("tlsrpt", "suppressed", "--state-dir", _state);
        var clear = await CliRunner.RunAsync("tlsrpt", "suppressed", "--state-dir", _state, "--clear", "mailto:a@b.example");

        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.StartsWith("no rua is suppressed", list.Stdout, StringComparison.Ordinal);
        Assert.Equal(1, clear.ExitCode);
        Assert.Equal("rampart: mailto:a@b.example is not suppressed (rampart tlsrpt suppressed lists the ruas that are, exactly as to be given)", clear.Stderr.Trim());
        Assert.False(File.Exists(SqliteTlsRptOutbox.PathIn(_state)));
    }
}
