using System.Net;
using System.Net.Sockets;

namespace Rampart.Web.Dashboard;

/// <summary>
/// How many wrong dashboard credentials an address may send (<see cref="MaxFailures"/> within <see cref="Window"/>) and
/// how many addresses are counted at once (<see cref="MaxAddresses"/>): the settings <c>max_credential_failures</c>,
/// <c>credential_failure_window</c> and <c>credential_failure_addresses</c> of <c>serve.dashboard</c>, and the
/// <c>rampart dashboard</c> options of the same names.
/// </summary>
internal sealed record CredentialFailureLimits(int MaxFailures, TimeSpan Window, int MaxAddresses)
{
    /// <summary>The bounds each setting is checked against (the config reader and the options name the setting out of range).</summary>
    public const int MostFailures = 1000;
    public const int FewestAddresses = 16;
    public const int MostAddresses = 1 << 20;
    public const int MostWindowSeconds = 86400;

    /// <summary>10 wrong credentials per 10 minutes, 4,096 addresses.</summary>
    public static CredentialFailureLimits Default { get; } = new(10, TimeSpan.FromMinutes(10), 4096);
}

/// <summary>
/// Wrong credentials counted per client address: after <see cref="CredentialFailureLimits.MaxFailures"/> within
/// <see cref="CredentialFailureLimits.Window"/> (counted from the first of them), the address is refused (429 with
/// Retry-After) until that window ends, even with the right credential, and no password hash is computed for it
/// meanwhile. IPv6 clients count per /64 (one host usually has a whole /64). The table holds at most
/// <see cref="CredentialFailureLimits.MaxAddresses"/> addresses: when full, ended windows are dropped first, then the
/// oldest address not refused (the oldest refused one only when all are), so memory stays bounded whatever the number
/// of addresses and a flood of new ones does not free a refused one.
/// </summary>
internal sealed class CredentialFailureLimiter(TimeProvider time, CredentialFailureLimits? limits = null)
{
    private readonly CredentialFailureLimits _limits = limits ?? CredentialFailureLimits.Default;

    private readonly Dictionary<IPAddress, (DateTimeOffset Since, int Failures)> _clients = [];
    private readonly Lock _lock = new();

    /// <summary>Addresses in the table now.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _clients.Count;
            }
        }
    }

    /// <summary>True when <paramref name="client"/> is refused now; <paramref name="retryAfter"/> is then how long (whole seconds, at least 1).</summary>
    public bool IsBlocked(IPAddress? client, out int retryAfter)
    {
        retryAfter = 0;
        var now = time.GetUtcNow();
        lock (_lock)
        {
            if (!_clients.TryGetValue(Key(client), out var entry) || entry.Failures < _limits.MaxFailures)
            {
                return false;
            }
            var left = entry.Since + _limits.Window - now;
            if (left <= TimeSpan.Zero)
            {
                _clients.Remove(Key(client));
                return false;
            }
            retryAfter = Math.Max(1, (int)Math.Ceiling(left.TotalSeconds));
            return true;
        }
    }

    /// <summary>Counts a wrong credential from <paramref name="client"/>.</summary>
    public void Failed(IPAddress? client)
    {
        var key = Key(client);
        var now = time.GetUtcNow();
        lock (_lock)
        {
            if (_clients.TryGetValue(key, out var entry) && entry.Since + _limits.Window > now)
            {
                _clients[key] = (entry.Since, entry.Failures + 1);
                return;
            }
            if (!_clients.ContainsKey(key) && _clients.Count >= _limits.MaxAddresses)
            {
                MakeRoom(now);
            }
            _clients[key] = (now, 1);
        }
    }

    /// <summary>Forgets <paramref name="client"/>'s failures once it has given the right credential.</summary>
    public void Succeeded(IPAddress? client)
    {
        lock (_lock)
        {
            _clients.Remove(Key(client));
        }
    }

    private void MakeRoom(DateTimeOffset now)
    {
        foreach (var ended in _clients.Where(c => c.Value.Since + _limits.Window <= now).Select(c => c.Key).ToList())
        {
            _clients.Remove(ended);
        }
        if (_clients.Count >= _limits.MaxAddresses)
        {
            // The oldest address not yet refused, so a flood of new addresses cannot free one that is.
            var victim = _clients.Where(c => c.Value.Failures < _limits.MaxFailures).DefaultIfEmpty(_clients.MinBy(c => c.Value.Since)).MinBy(c => c.Value.Since);
            _clients.Remove(victim.Key);
        }
    }

    /// <summary>The address counted for <paramref name="client"/>: IPv4 (also as IPv4-mapped IPv6) whole, IPv6 its /64.</summary>
    private static IPAddress Key(IPAddress? client)
    {
        if (client is null)
        {
            return IPAddress.None;
        }
        if (client.IsIPv4MappedToIPv6)
        {
            return client.MapToIPv4();
        }
        if (client.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return client;
        }
        var bytes = client.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes);
    }
}
