using Microsoft.AspNetCore.Http;
using Rampart.Core;

namespace Rampart.Web.Dashboard;

/// <summary>
/// <c>serve.dashboard</c> (or <c>serve --dashboard PATH</c>): the dashboard mounted in <c>rampart serve</c> under
/// <see cref="Path"/> on every hosted name, behind a credential. The serve listener is public by design (port 443 for
/// the world's senders), so the credential is always required there; TLS it has already.
/// </summary>
internal sealed record DashboardMount(string Path, string? TokenFile, string? BasicUser, string? PasswordHash)
{
    /// <summary><c>max_credential_failures</c>, <c>credential_failure_window</c>, <c>credential_failure_addresses</c>.</summary>
    public CredentialFailureLimits FailureLimits { get; init; } = CredentialFailureLimits.Default;

    /// <summary>The mount with every key at its default: <c>/dashboard</c>, no credential yet.</summary>
    public static DashboardMount Default { get; } = new("/dashboard", null, null, null);

    /// <summary>
    /// True when <paramref name="path"/> can be a mount point: absolute, not <c>/</c>, no trailing slash, segments of
    /// letters, digits, '-', '_' and '.' only (no '..'), so it needs no encoding in a link.
    /// </summary>
    public static bool IsValidPath(string path, out string error)
    {
        ArgumentNullException.ThrowIfNull(path);
        error = "";
        var segments = path.Length > 1 && path[0] == '/' ? path[1..].Split('/') : null;
        if (segments is null || segments.Any(s => s.Length == 0 || s == "." || s == ".." || !s.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')))
        {
            error = $"'{DisplayText.Sanitize(path, 200)}' must be an absolute URL path other than / such as /dashboard (letters, digits, '-', '_', '.'; no trailing '/')";
            return false;
        }
        return true;
    }

    /// <summary>
    /// The credential the mount names (<c>token_file</c>, or <c>basic_user</c> with <c>password_hash</c>), refused when
    /// there is none or the path collides with what serve answers itself: each a one-line <see cref="RampartException"/>
    /// naming the key.
    /// </summary>
    public DashboardAccess Access(string reportPath)
    {
        ArgumentNullException.ThrowIfNull(reportPath);
        if (!IsValidPath(Path, out var error))
        {
            throw new RampartException($"serve.dashboard.path (--dashboard): {error}");
        }
        foreach (var own in new[] { reportPath, "/healthz", PublishConfigFile.MtaStsWellKnown })
        {
            if (new PathString(own).StartsWithSegments(Path, StringComparison.Ordinal))
            {
                throw new RampartException($"serve.dashboard.path (--dashboard): {Path} would hide {own}, which serve answers itself; choose another path such as /dashboard");
            }
        }
        var access = DashboardAccess.From(TokenFile, BasicUser, PasswordHash, DashboardAccess.ServeKeys);
        return access.RequiresCredential
            ? access
            : throw new RampartException($"serve: the dashboard at {Path} needs a credential, as the serve listener is public: " +
                                         "serve.dashboard.token_file (or --dashboard-token-file), or serve.dashboard.basic_user with password_hash");
    }

    /// <summary>
    /// True when <paramref name="path"/> is the mount point or under it; <paramref name="rest"/> is then the dashboard's
    /// own path (<c>/</c> for the mount point itself).
    /// </summary>
    public static bool Covers(string mount, PathString path, out PathString rest)
    {
        if (!path.StartsWithSegments(mount, StringComparison.Ordinal, out rest))
        {
            return false;
        }
        if (!rest.HasValue || rest.Value == "")
        {
            rest = "/";
        }
        return true;
    }
}
