using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Rampart.Tests.Shared;

namespace Rampart.Cli.Tests.Support;

/// <summary>
/// A month of TLS-RPT reports as reporters send them (RFC 8460 JSON files): every day of November 2026, three
/// reporters about two policy domains with seeded counts; from day 21 one reporter sees <c>certificate-expired</c> on
/// alpha.example's MX. <see cref="Hostile"/> adds a report whose organization-name, MX name and reasons are HTML and script.
/// </summary>
internal static class MonthOfReports
{
    /// <summary>One policy domain's numbers from <c>tlsrpt summary --json</c>.</summary>
    public sealed record SummaryNumbers(long Reports, long Successful, long Failed, Dictionary<string, long> FailureTypes);

    public static readonly DateOnly First = new(2026, 11, 1);
    public const int Days = 30;

    /// <summary>The organization-name of the hostile report: it must show as text and run nothing.</summary>
    public const string HostileOrganization = "<script>window.__pwned=1</script>Evil <b>Org</b>";

    /// <summary>The failure reason of the hostile report.</summary>
    public const string HostileReason = "<img src=x onerror=\"window.__pwned=2\">";

    public const string HostileDomain = "gamma.example";

    /// <summary>Writes the month (and the hostile report) into <paramref name="directory"/>; returns how many files.</summary>
    public static int Write(string directory)
    {
        Directory.CreateDirectory(directory);
        var random = new Random(17);
        var files = 0;
        string[] reporters = ["Google LLC", "Microsoft Corporation", "Mail.Ru"];
        for (var day = 0; day < Days; day++)
        {
            var date = First.AddDays(day);
            foreach (var reporter in reporters)
            {
                var policies = new JsonArray();
                foreach (var domain in new[] { "alpha.example", "beta.example" })
                {
                    var ok = random.Next(200, 2000);
                    var failures = new JsonArray();
                    long failed = 0;
                    if (domain == "alpha.example" && reporter == "Google LLC" && day >= 20)
                    {
                        var expired = random.Next(20, 80);
                        failed += expired;
                        failures.Add(Failure("certificate-expired", "192.0.2." + (day % 5 + 1).ToString(CultureInfo.InvariantCulture), "mx1.alpha.example", expired, "certificate has expired"));
                    }
                    if (domain == "beta.example" && reporter == "Mail.Ru" && day % 3 == 0)
                    {
                        var stripped = random.Next(1, 10);
                        failed += stripped;
                        failures.Add(Failure("starttls-not-supported", "198.51.100.7", "mx.beta.example", stripped, null));
                    }
                    policies.Add(Policy(domain, ok, failed, failures));
                }
                Write(directory, $"{reporter}-{date:yyyyMMdd}", reporter, date, policies);
                files++;
            }
        }
        Write(directory, "hostile", HostileOrganization, First.AddDays(Days - 1),
            [Policy(HostileDomain, 10, 5, [Failure("validation-failure", "203.0.113.9", "<b>mx</b>.gamma.example", 5, HostileReason)])]);
        return files + 1;
    }

    /// <summary>
    /// Writes the month into <paramref name="directory"/>/reports, imports it with the real CLI into
    /// <paramref name="state"/> and returns each policy domain's numbers as <c>tlsrpt summary --json</c> gives them.
    /// </summary>
    public static async Task<Dictionary<string, SummaryNumbers>> ImportAsync(string directory, string state)
    {
        var reports = Path.Combine(directory, "reports");
        var files = Write(reports);
        var import = await CliRunner.RunAsync(["tlsrpt", "import", reports, "--state-dir", state, "--no-dkim", "--json"], null, TimeSpan.FromSeconds(120));
        Assert.True(import.ExitCode == 0, import.ToString());
        using (var imported = JsonDocument.Parse(import.Stdout))
        {
            Assert.Equal(files, imported.RootElement.GetProperty("imported").GetInt32());
        }
        var summary = await CliRunner.RunAsync(["tlsrpt", "summary", "--json", "--state-dir", state], null, TimeSpan.FromSeconds(60));
        Assert.True(summary.ExitCode == 0, summary.ToString());
        var numbers = new Dictionary<string, SummaryNumbers>(StringComparer.Ordinal);
        using var json = JsonDocument.Parse(summary.Stdout);
        foreach (var d in json.RootElement.GetProperty("domains").EnumerateArray())
        {
            numbers[d.GetProperty("policy_domain").GetString()!] = new SummaryNumbers(
                d.GetProperty("reports").GetInt64(), d.GetProperty("successful").GetInt64(), d.GetProperty("failed").GetInt64(),
                d.GetProperty("failure_types").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt64()));
        }
        Assert.Equal(3, numbers.Count);
        return numbers;
    }

    private static JsonObject Policy(string domain, long ok, long failed, JsonArray failures) => new()
    {
        ["policy"] = new JsonObject
        {
            ["policy-type"] = "sts",
            ["policy-string"] = new JsonArray("version: STSv1", domain == "beta.example" ? "mode: testing" : "mode: enforce", $"mx: mx.{domain}", "max_age: 86400"),
            ["policy-domain"] = domain,
            ["mx-host"] = new JsonArray($"mx.{domain}"),
        },
        ["summary"] = new JsonObject { ["total-successful-session-count"] = ok, ["total-failure-session-count"] = failed },
        ["failure-details"] = failures,
    };

    private static JsonObject Failure(string type, string sendingIp, string mx, long count, string? reason)
    {
        var failure = new JsonObject
        {
            ["result-type"] = type,
            ["sending-mta-ip"] = sendingIp,
            ["receiving-mx-hostname"] = mx,
            ["failed-session-count"] = count,
        };
        if (reason is not null)
        {
            failure["failure-reason-code"] = reason;
            failure["additional-information"] = reason;
        }
        return failure;
    }

    private static void Write(string directory, string name, string organization, DateOnly date, JsonArray policies)
    {
        var start = date.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc);
        var report = new JsonObject
        {
            ["organization-name"] = organization,
            ["date-range"] = new JsonObject
            {
                ["start-datetime"] = start.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
                ["end-datetime"] = start.AddDays(1).AddSeconds(-1).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            },
            ["contact-info"] = "tlsrpt@reporter.example",
            ["report-id"] = name.Replace(' ', '_'),
            ["policies"] = policies,
        };
        File.WriteAllText(Path.Combine(directory, name.Replace(' ', '_') + ".json"), report.ToJsonString());
    }
}
