using Rampart.Core.TlsRpt;
using Rampart.Storage.TlsRpt;

namespace Rampart.Cli.Tests.Support;

/// <summary>
/// Sessions of our own deliveries in the session store of a state directory, as the daemon records them (the real
/// SQLite store): three destinations over the 2 to 6 days before today with seeded counts, each failed session with a
/// failure of one of two types; one destination's name, MX and reason are HTML and script; and a session 45 days ago,
/// outside the dashboard's default 30 days.
/// </summary>
internal static class SentSessions
{
    public const string HostileDestination = "<script>window.__pwned=3</script>evil.example";
    public const string HostileMx = "<img src=x onerror=\"window.__pwned=4\">.evil.example";
    public const string HostileReason = "<svg onload=\"window.__pwned=5\">reason</svg>";
    public const string OldDestination = "long-ago.example";

    public static async Task WriteAsync(string stateDirectory, CancellationToken ct)
    {
        Directory.CreateDirectory(stateDirectory);
        await using var store = await SqliteTlsSessionStore.OpenAsync(SqliteTlsSessionStore.PathIn(stateDirectory), TimeProvider.System, ct);
        var random = new Random(23);
        var today = DateTimeOffset.UtcNow.Date;
        var entries = new List<TlsSessionEntry>();
        foreach (var destination in new[] { "gmail.example", "outlook.example", HostileDestination })
        {
            var hostile = destination == HostileDestination;
            var policy = new TlsSessionPolicy(TlsRptPolicyTypes.Sts, destination, ["version: STSv1", "mode: enforce", $"mx: mx.{destination}"], [$"mx.{destination}"]);
            for (var ago = 2; ago <= 6; ago++)
            {
                var at = new DateTimeOffset(today.AddDays(-ago).AddHours(random.Next(0, 23)), TimeSpan.Zero);
                for (var i = random.Next(5, 40); i > 0; i--)
                {
                    entries.Add(new(new TlsSessionResult(destination, null, policy, true, [], at)));
                }
                for (var i = random.Next(0, 8); i > 0; i--)
                {
                    var failure = random.Next(2) == 0
                        ? new TlsSessionFailure("certificate-expired", "192.0.2.25", hostile ? HostileMx : $"mx.{destination}", null, "198.51.100.25",
                            hostile ? HostileReason : "certificate has expired", hostile ? HostileReason : "certificate_has_expired")
                        : new TlsSessionFailure("starttls-not-supported", "192.0.2.25", hostile ? HostileMx : $"mx.{destination}", null, "198.51.100.26");
                    entries.Add(new(new TlsSessionResult(destination, null, policy, false, [failure], at)));
                }
            }
        }
        var old = new TlsSessionPolicy(TlsRptPolicyTypes.Sts, OldDestination, ["version: STSv1"], []);
        entries.Add(new(new TlsSessionResult(OldDestination, null, old, false, [new TlsSessionFailure("validation-failure")], new DateTimeOffset(today.AddDays(-45), TimeSpan.Zero))));
        await store.AddAsync(TlsSessionSources.Log, entries, null, ct);
    }
}
