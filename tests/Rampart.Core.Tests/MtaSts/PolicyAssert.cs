using System.Text;
using Rampart.Core.MtaSts;

namespace Rampart.Core.Tests.MtaSts;

internal static class PolicyAssert
{
    /// <summary>Every diagnostic is one line and cites the RFC section it enforces.</summary>
    public static void OneLineNamingRule(string message)
    {
        Assert.DoesNotContain('\n', message);
        Assert.DoesNotContain('\r', message);
        Assert.Matches(@"RFC \d{4}", message);
    }

    /// <summary>A canonical text form of a parse result, for comparing two results field by field.</summary>
    public static string Describe(MtaStsParseResult result)
    {
        var sb = new StringBuilder();
        if (result.Policy is { } p)
        {
            sb.Append($"policy {p.Version} {MtaStsPolicy.ModeName(p.Mode)} {p.MaxAge} [{string.Join(",", p.Mx)}]\n");
            sb.Append("text ").Append(p.Text.Length).Append('\n');
        }
        else
        {
            sb.Append("no policy\n");
        }

        foreach (var e in result.Errors)
        {
            sb.Append($"E {e.Line} {e.Message}\n");
        }

        foreach (var w in result.Warnings)
        {
            sb.Append($"W {w.Line} {w.Message}\n");
        }

        return sb.ToString();
    }

    public static MtaStsPolicy Valid(string text)
    {
        var result = MtaStsPolicyParser.Parse(text);
        Assert.True(result.IsValid, "expected a valid policy, got: " + Describe(result));
        return result.Policy!;
    }

    public static PolicyDiagnostic SingleError(string text)
    {
        var result = MtaStsPolicyParser.Parse(text);
        Assert.False(result.IsValid);
        return Assert.Single(result.Errors);
    }
}
