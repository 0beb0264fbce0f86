using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Rampart.Core;
using Rampart.Core.IO;

namespace Rampart.Web.Dashboard;

/// <summary>
/// Who may read the dashboard: anyone who reaches it (loopback only), a bearer token, or a basic-auth user whose password
/// is kept only as a PBKDF2 hash (<see cref="PasswordHash"/>). Every comparison is constant-time; a verified basic-auth
/// header is remembered by its SHA-256 so the slow hash runs once per credential, not per request.
/// </summary>
internal sealed class DashboardAccess
{
    /// <summary>The basic-auth realm, also named in the 401's WWW-Authenticate.</summary>
    public const string Realm = "rampart dashboard";

    private const int RememberedMax = 64;
    private readonly byte[]? _tokenDigest;
    private readonly string? _user;
    private readonly PasswordHash? _password;
    private readonly HashSet<string> _verified = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    private DashboardAccess(byte[]? tokenDigest, string? user, PasswordHash? password) => (_tokenDigest, _user, _password) = (tokenDigest, user, password);

    /// <summary>No credential: for a dashboard that listens on loopback only.</summary>
    public static DashboardAccess Open { get; } = new(null, null, null);

    /// <summary>True when a request must carry a credential.</summary>
    public bool RequiresCredential => _tokenDigest is not null || _password is not null;

    /// <summary>A bearer token (at least 16 characters).</summary>
    public static DashboardAccess Token(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        if (token.Length < 16)
        {
            throw new RampartException("dashboard token: at least 16 characters (e.g. 'openssl rand -hex 24')");
        }
        return new(SHA256.HashData(Encoding.UTF8.GetBytes(token)), null, null);
    }

    /// <summary>A basic-auth user and the hash of its password.</summary>
    public static DashboardAccess Basic(string user, PasswordHash password)
    {
        ArgumentException.ThrowIfNullOrEmpty(user);
        ArgumentNullException.ThrowIfNull(password);
        if (user.Contains(':', StringComparison.Ordinal))
        {
            throw new RampartException($"dashboard user {DisplayText.Quote(user)}: a user name cannot hold ':'");
        }
        return new(null, user, password);
    }

    /// <summary>How <c>rampart dashboard</c>'s options name the credential, for its messages.</summary>
    public static readonly CredentialKeys CommandLineKeys = new("dashboard", "--token-file", "--basic-user", "--password-hash");

    /// <summary>How <c>serve.dashboard</c> names the credential, for its messages.</summary>
    public static readonly CredentialKeys ServeKeys = new("serve.dashboard", "token_file", "basic_user", "password_hash");

    /// <summary>The names of the three settings of a credential, and whose they are.</summary>
    public sealed record CredentialKeys(string Owner, string TokenFile, string User, string PasswordHash);

    /// <summary>
    /// The credential three settings give: none, a token (the first line of <paramref name="tokenFile"/>), or a basic-auth
    /// user with a password hash; a contradiction or an unreadable file is a one-line <see cref="RampartException"/>
    /// naming the settings as <paramref name="keys"/> does.
    /// </summary>
    public static DashboardAccess From(string? tokenFile, string? user, string? hash, CredentialKeys keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (tokenFile is not null && (user is not null || hash is not null))
        {
            throw new RampartException($"{keys.Owner}: give {keys.TokenFile} or {keys.User}/{keys.PasswordHash}, not both");
        }
        if (tokenFile is not null)
        {
            var text = UserFile.ReadAllText(tokenFile, keys.TokenFile, 4096);
            return Token(text.Split('\n')[0].Trim());
        }
        if ((user is null) != (hash is null))
        {
            throw new RampartException($"{keys.Owner}: give {keys.User} and {keys.PasswordHash} together");
        }
        return user is null ? Open : Basic(user, PasswordHash.Parse(hash!));
    }

    /// <summary>True when <paramref name="request"/> may be answered.</summary>
    public bool Admits(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!RequiresCredential)
        {
            return true;
        }
        var header = request.Headers.Authorization.ToString();
        if (_tokenDigest is not null)
        {
            return header.StartsWith("Bearer ", StringComparison.Ordinal)
                && CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(header[7..].Trim())), _tokenDigest);
        }
        if (!header.StartsWith("Basic ", StringComparison.Ordinal))
        {
            return false;
        }
        var remembered = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(header)));
        lock (_lock)
        {
            if (_verified.Contains(remembered))
            {
                return true;
            }
        }
        string decoded;
        try
        {
            decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim()));
        }
        catch (FormatException)
        {
            return false;
        }
        var colon = decoded.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            return false;
        }
        var userMatches = CryptographicOperations.FixedTimeEquals(
            SHA256.HashData(Encoding.UTF8.GetBytes(decoded[..colon])), SHA256.HashData(Encoding.UTF8.GetBytes(_user!)));
        var passwordMatches = _password!.Verify(decoded[(colon + 1)..]);
        if (!(userMatches && passwordMatches))
        {
            return false;
        }
        lock (_lock)
        {
            if (_verified.Count >= RememberedMax)
            {
                _verified.Clear();
            }
            _verified.Add(remembered);
        }
        return true;
    }

    /// <summary>The 401 answer: which scheme to use, nothing about why.</summary>
    public void Challenge(HttpResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        response.StatusCode = StatusCodes.Status401Unauthorized;
        response.Headers.WWWAuthenticate = _password is not null ? $"Basic realm=\"{Realm}\", charset=\"UTF-8\"" : "Bearer realm=\"" + Realm + "\"";
    }

    /// <summary>True when every address is a loopback address (127.0.0.0/8, ::1).</summary>
    public static bool AllLoopback(IEnumerable<IPEndPoint> endPoints) => endPoints.All(e => IPAddress.IsLoopback(e.Address));
}

/// <summary>
/// A password kept as <c>pbkdf2-sha256$ITERATIONS$SALT$HASH</c> (salt and hash in base64): what
/// <c>rampart dashboard --hash-password</c> prints and <c>--password-hash</c> takes.
/// </summary>
internal sealed class PasswordHash
{
    public const string Scheme = "pbkdf2-sha256";
    public const int DefaultIterations = 210_000;
    private readonly int _iterations;
    private readonly byte[] _salt;
    private readonly byte[] _hash;

    private PasswordHash(int iterations, byte[] salt, byte[] hash) => (_iterations, _salt, _hash) = (iterations, salt, hash);

    /// <summary>A new hash of <paramref name="password"/> with a random 16-byte salt.</summary>
    public static string Create(string password, int iterations = DefaultIterations)
    {
        ArgumentNullException.ThrowIfNull(password);
        var salt = RandomNumberGenerator.GetBytes(16);
        var hash = Rfc2898DeriveBytes.Pbkdf2(password, salt, iterations, HashAlgorithmName.SHA256, 32);
        return $"{Scheme}${iterations}${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}";
    }

    /// <summary>Reads a hash <see cref="Create"/> wrote; anything else is a one-line <see cref="RampartException"/>.</summary>
    public static PasswordHash Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Trim().Split('$');
        if (parts.Length == 4 && parts[0] == Scheme && int.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var iterations)
            && iterations is >= 10_000 and <= 10_000_000)
        {
            try
            {
                var salt = Convert.FromBase64String(parts[2]);
                var hash = Convert.FromBase64String(parts[3]);
                if (salt.Length >= 8 && hash.Length == 32)
                {
                    return new PasswordHash(iterations, salt, hash);
                }
            }
            catch (FormatException)
            {
            }
        }
        throw new RampartException($"password hash: not {Scheme}$ITERATIONS$SALT$HASH as 'rampart dashboard --hash-password' prints it");
    }

    public bool Verify(string password) =>
        CryptographicOperations.FixedTimeEquals(Rfc2898DeriveBytes.Pbkdf2(password, _salt, _iterations, HashAlgorithmName.SHA256, 32), _hash);
}
