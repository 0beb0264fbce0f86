using System.Text.RegularExpressions;
using Rampart.Cli.Tests.Support;

namespace Rampart.Cli.Tests;

/// <summary>
/// Every <c>docs/PAGE.md#anchor</c> the program prints (fix texts, help, messages: any in src/) and every link between
/// the docs pages names a page that exists and a heading on it, so no fix points to a section that is not there.
/// </summary>
public sealed partial class DocsAnchorTests
{
    [Fact]
    public void EveryDocsAnchor_InSourceAndBetweenPages_IsAHeading()
    {
        var targets = new List<(string Where, string Page, string Anchor)>();
        foreach (var file in Directory.EnumerateFiles(Path.Combine(DocsPages.Root, "src"), "*.cs", SearchOption.AllDirectories))
        {
            targets.AddRange(SourceAnchor().Matches(File.ReadAllText(file))
                .Where(m => m.Groups[2].Value != "section") // CheckDocs' own summary: docs/checks.md#section
                .Select(m => (Path.GetRelativePath(DocsPages.Root, file), "docs/" + m.Groups[1].Value, m.Groups[2].Value)));
        }
        foreach (var page in Directory.EnumerateFiles(Path.Combine(DocsPages.Root, "docs"), "*.md"))
        {
            targets.AddRange(PageLink().Matches(File.ReadAllText(page))
                .Select(m => (Path.GetRelativePath(DocsPages.Root, page), "docs/" + (m.Groups[1].Success ? m.Groups[1].Value : Path.GetFileName(page)), m.Groups[2].Value)));
        }

        Assert.True(targets.Count > 20, $"only {targets.Count} anchors found: is the pattern still right?");
        var broken = targets.Where(t => !File.Exists(Path.Combine(DocsPages.Root, t.Page)) || !DocsPages.Anchors(t.Page).Contains(t.Anchor))
            .Select(t => $"{t.Where}: {t.Page}#{t.Anchor}").Distinct().ToList();
        Assert.True(broken.Count == 0, "anchors without a heading:\n" + string.Join("\n", broken));
    }

    [GeneratedRegex(@"docs/([\w\-]+\.md)#([\w\-]+)")]
    private static partial Regex SourceAnchor();

    [GeneratedRegex(@"\]\(([\w\-]+\.md)?#([\w\-]+)\)")]
    private static partial Regex PageLink();
}
