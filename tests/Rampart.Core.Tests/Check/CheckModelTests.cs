using System.Text.RegularExpressions;
using Rampart.Core.Check;
using Rampart.Core.TlsRpt;

namespace Rampart.Core.Tests.Check;

public partial class CheckModelTests
{
    [Fact]
    public void Catalog_Ids_UniqueStableAndDocumented()
    {
        var docs = File.ReadAllText(FindDocs());
        var ids = CheckCatalog.All.Select(d => d.Id).ToList();

        Assert.True(ids.Count > 40);
        Assert.Equal(ids.Count, ids.Distinct().Count());
        foreach (var definition in CheckCatalog.All)
        {
            Assert.Matches(IdPattern(), definition.Id);
            var row = docs.Split('\n').FirstOrDefault(l => l.StartsWith($"| `{definition.Id}` |", StringComparison.Ordinal));
            Assert.True(row is not null, $"docs/checks.md has no row for {definition.Id}");
            Assert.Contains($"| {CheckFinding.SeverityName(definition.Severity)}", row, StringComparison.Ordinal);
            Assert.False(string.IsNullOrEmpty(definition.Reference), definition.Id);
            Assert.True(definition.Severity == CheckSeverity.Ok || definition.Fix.Length > 0, $"{definition.Id} needs a fix");
        }
    }

    [Fact]
    public void Catalog_Fixes_OneShortSentence_LongMaterialInDetail()
    {
        foreach (var definition in CheckCatalog.All.Where(d => d.Fix.Length > 0))
        {
            Assert.True(definition.Fix.Length <= CheckDefinition.MaxFixLength, $"{definition.Id}: {definition.Fix.Length} characters: {definition.Fix}");
            Assert.EndsWith(".", definition.Fix, StringComparison.Ordinal);
            Assert.False(SentenceBreak().IsMatch(definition.Fix.TrimEnd('.')), $"{definition.Id}: more than one sentence: {definition.Fix}");
        }
        Assert.Contains(RotationRunbook.Steps, CheckCatalog.DaneNoMatch.Detail, StringComparison.Ordinal);
        Assert.Equal(RotationRunbook.Steps, CheckCatalog.DaneRotationNextNotCovered.Detail);
        Assert.Contains("<domain>", CheckCatalog.TlsRptNone.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Finding_CarriesTheDefinitionsDetail_RecordsOnlyWhenGiven()
    {
        var plain = CheckCatalog.StsTestingTooLong.For("example.org", "m");
        var withRecords = CheckCatalog.DaneNoMatch.ForWithRecords("mx [192.0.2.1]", "m", ["_25._tcp.mx. IN TLSA 3 1 1 AB"], CheckSeverity.Warning);

        Assert.Equal(CheckCatalog.StsTestingTooLong.Detail, plain.Detail);
        Assert.Empty(plain.Records);
        Assert.Equal(["_25._tcp.mx. IN TLSA 3 1 1 AB"], withRecords.Records);
        Assert.Equal(CheckSeverity.Warning, withRecords.Severity);
        Assert.Equal(CheckCatalog.DaneNoMatch.Fix, withRecords.Fix);
        Assert.Equal(CheckCatalog.DaneNoMatch.Detail, withRecords.Detail);
    }

    [Theory]
    [InlineData(new CheckSeverity[0], CheckStatus.Ok)]
    [InlineData(new[] { CheckSeverity.Ok, CheckSeverity.Info }, CheckStatus.Ok)]
    [InlineData(new[] { CheckSeverity.Info, CheckSeverity.Warning, CheckSeverity.Ok }, CheckStatus.Warning)]
    [InlineData(new[] { CheckSeverity.Warning, CheckSeverity.Failure }, CheckStatus.Failure)]
    public void Status_WorstSeverity(CheckSeverity[] severities, CheckStatus status)
    {
        var report = new DomainCheckReport("example.org", severities.Select(s => new CheckFinding("x.y", s, "example.org", "m", "f", "r")).ToList());

        Assert.Equal(status, report.Status);
    }

    [Theory]
    [InlineData("v=TLSRPTv1; rua=mailto:tlsrpt@example.org", true)]
    [InlineData("v=TLSRPTv1;rua=mailto:a@example.org,https://reports.example.org/tlsrpt;", true)]
    [InlineData("v=TLSRPTv1; rua=mailto:a@example.org; ext=1", true)]
    [InlineData("v=TLSRPTv1", false)]
    [InlineData("v=TLSRPTv1; rua=http://reports.example.org/", false)]
    [InlineData("v=TLSRPTv1; rua=mailto:nobody", false)]
    [InlineData("v=TLSRPTv1; rua=mailto:a@example.org; rua=mailto:b@example.org", false)]
    [InlineData("v=TLSRPTv2; rua=mailto:a@example.org", false)]
    public void TlsRptRecord_Parse(string text, bool valid)
    {
        Assert.Equal(valid, TlsRptRecord.TryParse(text, out _, out var errors));
        Assert.Equal(valid, errors.Count == 0);
    }

    [Fact]
    public void TlsRptRecord_SeveralProblems_AllReported()
    {
        Assert.False(TlsRptRecord.TryParse("v=TLSRPTv1; rua=ftp://x.example,mailto:bad; junk", out _, out var errors));

        Assert.Equal(3, errors.Count);
    }

    private static string FindDocs()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "docs", "checks.md");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        var fromSource = Path.GetFullPath(Path.Combine(ThisDirectory(), "..", "..", "..", "docs", "checks.md"));
        return File.Exists(fromSource) ? fromSource : throw new FileNotFoundException("docs/checks.md not found above " + AppContext.BaseDirectory);
    }

    private static string ThisDirectory([System.Runtime.CompilerServices.CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;

    [GeneratedRegex("^[a-z0-9-]+(\\.[a-z0-9-]+)+$")]
    private static partial Regex IdPattern();

    /// <summary>A full stop, question or exclamation mark followed by a new sentence (not "e.g. '3 1 1'" nor "docs/dane.md").</summary>
    [GeneratedRegex("[.!?] +[A-Z]")]
    private static partial Regex SentenceBreak();
}
