using Rampart.Tests.Shared;

namespace Rampart.Cli.Tests.Support;

/// <summary>
/// A browser test's site: a month of reports imported with the real CLI into a state directory (with the summary
/// <c>tlsrpt summary --json</c> gives), a server the subclass starts over it, and a headless Chromium; all stopped
/// and deleted at the end.
/// </summary>
public abstract class DashboardSite : IAsyncLifetime
{
    /// <summary>The temporary directory everything is in.</summary>
    protected string Dir { get; } = Directory.CreateTempSubdirectory("rampart-dashboard-").FullName;

    /// <summary>The state directory the reports were imported into.</summary>
    public string StateDir => Path.Combine(Dir, "state");

    /// <summary>Where the pages are (scheme, host and port).</summary>
    public string Url { get; protected set; } = "";

    internal Dictionary<string, MonthOfReports.SummaryNumbers> Summary { get; private set; } = [];

    internal HeadlessChromium Browser { get; private protected set; } = null!;

    /// <summary>The server the subclass started (stopped at the end).</summary>
    private protected RampartProcess? Server { get; set; }

    public async ValueTask InitializeAsync()
    {
        Summary = await MonthOfReports.ImportAsync(Dir, StateDir);
        await StartAsync(TestContext.Current.CancellationToken);
    }

    /// <summary>Starts the server over <see cref="StateDir"/> and the browser, and sets <see cref="Url"/>.</summary>
    protected abstract Task StartAsync(CancellationToken ct);

    public async ValueTask DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }
        if (Server is not null)
        {
            await Server.DisposeAsync();
        }
        Directory.Delete(Dir, recursive: true);
        GC.SuppressFinalize(this);
    }
}
