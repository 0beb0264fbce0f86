using System.Text;
using CsCheck;
using Rampart.Core.MtaSts;

namespace Rampart.Core.Tests.MtaSts;

public sealed class MtaStsPropertyTests
{
    private static readonly Gen<string> s_label =
        Gen.Char["abcdefghijklmnopqrstuvwxyz0123456789"].Array[1, 8].Select(a => new string(a));

    private static readonly Gen<string> s_tld =
        Gen.Char["abcdefghijklmnopqrstuvwxyz"].Array[2, 6].Select(a => new string(a));

    /// <summary>A valid host name: 1–3 labels plus an alphabetic top-level label.</summary>
    private static readonly Gen<string> s_hostName =
        Gen.Select(s_label.Array[1, 3], s_tld, (labels, tld) => string.Join('.', labels.Append(tld)));

    private static readonly Gen<string> s_mxValue =
        Gen.Select(Gen.Bool, s_hostName, (wildcard, host) => wildcard ? "*." + host : host);

    /// <summary>Tokens that make text look like a policy, so random input reaches the interesting branches.</summary>
    private static readonly Gen<string> s_policyish = Gen.OneOf(
            "version", "mode", "mx", "max_age", "Mode", "max-age", ":", ": ", " ", "\t", "\n", "\r\n", "\r",
            "STSv1", "enforce", "testing", "none", "*.", "*", ".", "example", "com", "xn--", "xn--bcher-kva", "ü",
            "0", "86400", "31557600", "31557601", "-", "+", "_", "[", "]", "::1", "192.0.2.1", "\0", "\uFEFF",
            "\uD800", "99999999999999999999", "é", "v=STSv1", ";", "=", "id=")
        .Array[0, 40]
        .Select(parts => string.Concat(parts));

    [Fact]
    public void Parse_ArbitraryString_NeverThrowsAndIsConsistent()
    {
        Gen.OneOf(Gen.String, s_policyish).Sample(text =>
        {
            var result = MtaStsPolicyParser.Parse(text);

            Assert.Equal(result.Errors.Count == 0, result.IsValid);
            Assert.All(result.Errors, e => PolicyAssert.OneLineNamingRule(e.Message));
            Assert.All(result.Warnings, w => PolicyAssert.OneLineNamingRule(w.Message));
            Assert.All(result.Errors, e => Assert.InRange(e.Line, 0, text.Count(c => c == '\n') + 1));
            if (result.Policy is { } p)
            {
                Assert.Same(text, p.Text);
                Assert.InRange(p.MaxAge, 0, 31557600);
                Assert.True(p.Mode == MtaStsMode.None || p.Mx.Count > 0);
            }
        }, iter: 20_000);
    }

    [Fact]
    public void Parse_ArbitraryBytes_NeverThrows()
    {
        var policyBytes = s_policyish.Select(s => Encoding.UTF8.GetBytes(s));
        var mutated = Gen.Select(policyBytes, Gen.Byte.Array[0, 4], Gen.Int[0, 1000],
            (bytes, noise, at) => bytes.Take(at % (bytes.Length + 1)).Concat(noise).Concat(bytes.Skip(at % (bytes.Length + 1))).ToArray());

        Gen.OneOf(Gen.Byte.Array[0, 200], policyBytes, mutated).Sample(bytes =>
        {
            var result = MtaStsPolicyParser.Parse(bytes);

            Assert.Equal(result.Errors.Count == 0, result.IsValid);
            Assert.All(result.Errors, e => PolicyAssert.OneLineNamingRule(e.Message));
        }, iter: 20_000);
    }

    [Fact]
    public void Parse_BytesOfAnyString_SameAsString()
    {
        Gen.OneOf(Gen.String, s_policyish)
            .Where(s => Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(s)) == s)
            .Sample(text =>
            {
                var fromBytes = MtaStsPolicyParser.Parse(Encoding.UTF8.GetBytes(text));
                var fromString = MtaStsPolicyParser.Parse(text);

                Assert.Equal(PolicyAssert.Describe(fromString), PolicyAssert.Describe(fromBytes));
            }, iter: 5_000);
    }

    [Fact]
    public void Parse_GeneratedValidPolicy_RoundTrips()
    {
        var gen = Gen.Select(
            Gen.OneOf(MtaStsMode.Enforce, MtaStsMode.Testing, MtaStsMode.None),
            Gen.Long[0, 31_557_600],
            s_mxValue.Array[1, 5],
            Gen.OneOf("\n", "\r\n"),
            Gen.OneOf("", " ", "\t", "  \t"),
            Gen.Int[0, 1000],
            Gen.Bool);

        gen.Sample((mode, maxAge, mx, eol, pad, shuffle, extras) =>
        {
            var lines = new List<string>
            {
                $"version:{pad}STSv1{pad}",
                $"mode:{pad}{MtaStsPolicy.ModeName(mode)}{pad}",
                $"max_age:{pad}{maxAge}{pad}",
            };
            if (extras)
            {
                lines.Add("x_extension: anything: at all");
                lines.Add("");
            }

            // Rotate the single-valued lines so key order varies; mx lines keep their relative order.
            int r = shuffle % lines.Count;
            lines = [.. lines.Skip(r), .. lines.Take(r)];
            lines.InsertRange(shuffle % (lines.Count + 1), mx.Select(m => $"mx:{pad}{m}{pad}"));
            string text = string.Join(eol, lines) + (shuffle % 2 == 0 ? eol : "");

            var result = MtaStsPolicyParser.Parse(text);

            Assert.True(result.IsValid, text + "\n" + PolicyAssert.Describe(result));
            Assert.Empty(result.Warnings);
            var p = result.Policy!;
            Assert.Equal(mode, p.Mode);
            Assert.Equal(maxAge, p.MaxAge);
            Assert.Equal(mx, p.Mx.Select(m => m.Value));
            Assert.Same(text, p.Text);
        }, iter: 2_000);
    }

    [Fact]
    public void MxPatternTryParse_AnyString_NeverThrowsAndAcceptedReparsesToItself()
    {
        var hostish = Gen.OneOf(
                "a", "b", "Z", "0", "9", "-", ".", "*", "*.", "_", ":", "[", "]", " ", "ü", "Ü", "xn--", "xn--bcher-kva",
                "example", "com", "192", "::", "\uD800", "\u3002", "ＡＢＣ", "ß", "e\u0301")
            .Array[0, 12]
            .Select(parts => string.Concat(parts));

        Gen.OneOf(Gen.String, hostish, s_mxValue).Sample(input =>
        {
            if (!MxPattern.TryParse(input, out var pattern, out string? error))
            {
                Assert.False(string.IsNullOrEmpty(error));
                Assert.Throws<FormatException>(() => MxPattern.Parse(input));
                return;
            }

            var again = MxPattern.Parse(pattern.Value);
            Assert.Equal(pattern.Value, again.Value);
            Assert.Equal(pattern.IsWildcard, again.IsWildcard);
            Assert.Equal(pattern.Value.StartsWith("*.", StringComparison.Ordinal), pattern.IsWildcard);
            Assert.True(pattern.Value.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '.' or '*'), pattern.Value);
            Assert.InRange(pattern.Domain.Length, 3, 253);
            Assert.True(pattern.Matches(pattern.IsWildcard ? "x." + pattern.Domain : pattern.Value));
        }, iter: 20_000);
    }

    [Fact]
    public void Matches_GeneratedNames_WildcardCoversExactlyOneLabel()
    {
        var gen = Gen.Select(
            s_label.Array[1, 2],
            s_tld,
            s_label.Array[0, 3],
            Gen.Bool,
            Gen.Bool,
            Gen.Bool);

        gen.Sample((domainLabels, tld, prefix, upper, trailingDot, otherDomain) =>
        {
            string[] domain = [.. domainLabels, tld];
            string[] hostDomain = otherDomain ? [.. domain.Skip(1).Prepend(domain[0] + "x")] : domain;
            string host = string.Join('.', prefix.Concat(hostDomain));
            if (upper)
            {
                host = host.ToUpperInvariant();
            }

            if (trailingDot)
            {
                host += ".";
            }

            var pattern = MxPattern.Parse("*." + string.Join('.', domain));

            // Oracle, label by label: one extra leftmost label, the rest equal ignoring case.
            string[] hostLabels = host.TrimEnd('.').Split('.');
            bool expected = hostLabels.Length == domain.Length + 1
                && hostLabels.Skip(1).SequenceEqual(domain, StringComparer.OrdinalIgnoreCase);

            Assert.Equal(expected, pattern.Matches(host));
        }, iter: 5_000);
    }

    [Fact]
    public void Matches_GeneratedNames_ExactPatternOnlyMatchesItself()
    {
        Gen.Select(s_hostName, s_hostName, Gen.Bool).Sample((a, b, same) =>
        {
            string host = same ? a.ToUpperInvariant() : b;

            Assert.Equal(string.Equals(a, host, StringComparison.OrdinalIgnoreCase), MxPattern.Parse(a).Matches(host));
        }, iter: 2_000);
    }

    [Fact]
    public void TxtTryParse_AnyString_NeverThrows()
    {
        var txtish = Gen.OneOf("v", "=", "STSv1", "STSv10", ";", " ", "id", "abc123", "-", "_", ".", "ü", "\t", "x")
            .Array[0, 20]
            .Select(parts => string.Concat(parts));

        Gen.OneOf(Gen.String, txtish).Sample(text =>
        {
            bool ok = MtaStsTxtRecord.TryParse(text, out var record, out string? error);

            Assert.Equal(ok, record is not null);
            Assert.Equal(ok, error is null);
            if (ok)
            {
                Assert.True(MtaStsTxtRecord.IsStsV1(text));
                Assert.InRange(record!.Id.Length, 1, 32);
            }

            var lookup = MtaStsTxtRecord.Select([text]);
            Assert.Equal(ok ? MtaStsTxtStatus.Found : MtaStsTxtRecord.IsStsV1(text) ? MtaStsTxtStatus.Invalid : MtaStsTxtStatus.NoRecord, lookup.Status);
        }, iter: 10_000);
    }
}
