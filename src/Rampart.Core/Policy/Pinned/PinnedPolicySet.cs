using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Rampart.Core.Policy.Pinned;

/// <summary>
/// The pinned policies the resolver consults at sender decision step 4 (DESIGN.md): local overrides first, then the
/// STARTTLS Policy List. Immutable and thread-safe; reload by building a new set and swapping the reference.
/// </summary>
/// <remarks>
/// Lookup order for a destination domain: an exact overrides key, then the longest overrides suffix key
/// (<c>.example.org</c>), then the policy list (exact key only). An override always wins, even over a list entry in
/// enforce mode. A list entry is not used once the list has expired (see <see cref="StartTlsPolicyList"/>): the lookup
/// then fails with a warning naming the list and the expiry, so the decision falls through to "no policy".
/// </remarks>
public sealed class PinnedPolicySet
{
    private readonly Dictionary<string, PinnedPolicy> _overrides = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PinnedPolicy> _list = new(StringComparer.Ordinal);
    private int _expiryWarned;

    public PinnedPolicySet(PinnedOverrides? overrides, StartTlsPolicyList? list)
    {
        Overrides = overrides ?? PinnedOverrides.Empty;
        List = list;
        foreach (var entry in Overrides.Entries)
        {
            _overrides.TryAdd(entry.Domain, entry);
        }

        foreach (var entry in list?.Entries ?? [])
        {
            _list.TryAdd(entry.Domain, entry);
        }
    }

    /// <summary>A set with no pinned policies.</summary>
    public static PinnedPolicySet Empty { get; } = new(null, null);

    public PinnedOverrides Overrides { get; }

    public StartTlsPolicyList? List { get; }

    /// <summary>Number of domains or suffixes with a pinned policy (overrides plus list).</summary>
    public int Count => _overrides.Count + _list.Count;

    /// <summary>
    /// Finds the pinned policy for <paramref name="domain"/> (any case, optional trailing dot; normalized like
    /// <see cref="DomainName"/>). True with a policy to use, whose <see cref="PinnedPolicy.Mode"/> may be testing
    /// (log, don't enforce). False when none applies; <paramref name="warning"/> is then set when the only policy
    /// found was in an expired list and was ignored, and must be shown to the operator.
    /// </summary>
    public bool TryGet(string domain, DateTimeOffset now, [NotNullWhen(true)] out PinnedPolicy? policy, out string? warning)
    {
        ArgumentNullException.ThrowIfNull(domain);
        policy = null;
        warning = null;
        if (!DomainName.TryNormalize(domain, out string? name, out _))
        {
            return false;
        }

        if (_overrides.TryGetValue(name, out policy))
        {
            return true;
        }

        for (int dot = name.IndexOf('.', StringComparison.Ordinal); dot >= 0; dot = name.IndexOf('.', dot + 1))
        {
            if (_overrides.TryGetValue(name[dot..], out policy))
            {
                return true;
            }
        }

        if (_list.TryGetValue(name, out var listed))
        {
            if (List!.IsExpired(now))
            {
                warning = $"{ExpiredMessage()}; its policy for {name} ({listed.Requirement}, {ModeName(listed.Mode)}) is NOT enforced";
                return false;
            }

            policy = listed;
            return true;
        }

        return false;
    }

    /// <summary>The loud list-wide warning for an expired list, or null when the list is current (or absent).</summary>
    public string? ListWarning(DateTimeOffset now) =>
        List is not null && List.IsExpired(now) && List.Entries.Count > 0
            ? $"{ExpiredMessage()}; none of its {List.Entries.Count} policies are enforced until it is refreshed"
            : null;

    /// <summary>
    /// <see cref="ListWarning"/>, but true only for the first caller after the list expires (per set instance), so a
    /// daemon logs the expiry loudly once instead of once per lookup.
    /// </summary>
    public bool TryClaimExpiryWarning(DateTimeOffset now, [NotNullWhen(true)] out string? warning)
    {
        warning = ListWarning(now);
        return warning is not null && Interlocked.Exchange(ref _expiryWarned, 1) == 0;
    }

    /// <summary>Evidence for a warning returned by <see cref="TryGet"/> or <see cref="ListWarning"/>.</summary>
    public static Evidence WarningEvidence(string warning) =>
        new(PinnedPolicy.EvidenceStep, EvidenceOutcome.Warning, warning, PinnedPolicy.PolicyListReference);

    private string ExpiredMessage() =>
        $"STARTTLS Policy List {List!.Source} expired at {List.Expires!.Value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)}";

    private static string ModeName(PinnedPolicyMode mode) => mode == PinnedPolicyMode.Enforce ? "enforce" : "testing";
}
