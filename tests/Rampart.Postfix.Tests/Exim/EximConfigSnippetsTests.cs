namespace Rampart.Postfix.Tests.Exim;

/// <summary>
/// The Exim configuration ships once: packaging/exim/conf.d (which the lab includes as it is) and docs/exim.md must show
/// the same text, so the documented configuration is the tested one.
/// </summary>
public sealed class EximConfigSnippetsTests
{
    [Theory]
    [InlineData("main/03_rampart")]
    [InlineData("router/150_rampart")]
    [InlineData("transport/30_rampart")]
    public void Docs_ShowEachShippedSnippetVerbatim(string snippet)
    {
        var repo = RepositoryRoot();
        var text = File.ReadAllText(Path.Combine(repo, "packaging", "exim", "conf.d", snippet));
        var docs = File.ReadAllText(Path.Combine(repo, "docs", "exim.md"));

        Assert.Contains($"`/etc/exim4/conf.d/{snippet}`:\n\n```\n{text}```\n", docs, StringComparison.Ordinal);
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (Directory.Exists(Path.Combine(dir.FullName, "packaging", "exim")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("packaging/exim not found above " + AppContext.BaseDirectory);
    }
}
