using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Rampart.Core.Dns;

/// <summary>
/// What Rampart reads from resolv.conf(5): the <c>nameserver</c> lines, in order, and whether
/// <c>options trust-ad</c> is set. Lines starting with <c>#</c> or <c>;</c> are comments; text after a
/// <c>#</c> or <c>;</c> on a nameserver line is ignored. Entries that cannot be used (not an address, a
/// link-local address whose interface does not exist here) are skipped and explained in <see cref="Notes"/>.
/// </summary>
public sealed record ResolvConf(IReadOnlyList<ResolverEndpoint> Nameservers, bool TrustAd, IReadOnlyList<string> Notes)
{
    public const string DefaultPath = "/etc/resolv.conf";

    // resolv.conf is a few lines; anything bigger is not a resolv.conf (or is /dev/zero).
    private const int MaxBytes = 1024 * 1024;

    /// <summary>The first usable nameserver, which is the one Rampart uses; null when there is none.</summary>
    public ResolverEndpoint? FirstNameserver => Nameservers.Count > 0 ? Nameservers[0] : null;

    /// <summary>Parses resolv.conf text. Never throws for bad content: unusable lines become <see cref="Notes"/>.</summary>
    public static ResolvConf Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var nameservers = new List<ResolverEndpoint>();
        var notes = new List<string>();
        var trustAd = false;
        var lineNumber = 0;
        foreach (var rawLine in text.Split('\n'))
        {
            lineNumber++;
            var line = rawLine.TrimEnd('\r').Trim();
            if (line.Length == 0 || line[0] is '#' or ';')
            {
                continue;
            }

            var fields = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            switch (fields[0])
            {
                case "nameserver":
                    var value = fields.Length > 1 ? StripComment(fields[1]) : "";
                    var error = ResolverEndpoint.TryParseAddress(value, out var address);
                    if (error is null)
                    {
                        nameservers.Add(new ResolverEndpoint(address!));
                    }
                    else
                    {
                        notes.Add(string.Create(CultureInfo.InvariantCulture, $"line {lineNumber}: nameserver skipped: {error}"));
                    }

                    break;
                case "options":
                    foreach (var option in fields.Skip(1))
                    {
                        var name = StripComment(option);
                        if (name == "trust-ad")
                        {
                            trustAd = true;
                        }

                        if (name.Length != option.Length)
                        {
                            break; // the rest of the line is a comment
                        }
                    }

                    break;
            }
        }

        return new ResolvConf(nameservers, trustAd, notes);
    }

    /// <summary>
    /// Reads and parses the file at <paramref name="path"/>. Never throws for I/O problems (missing, unreadable,
    /// a directory, too large): returns false with a one-line <paramref name="error"/> that names the path.
    /// Synchronous on purpose: a small local file read once when settings are built.
    /// </summary>
    public static bool TryLoad(
        string path,
        [NotNullWhen(true)] out ResolvConf? conf,
        [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(path);
        conf = null;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            var buffer = new char[MaxBytes + 1];
            var read = reader.ReadBlock(buffer, 0, buffer.Length);
            if (read > MaxBytes)
            {
                error = $"cannot use {path}: larger than {MaxBytes / 1024} KiB, not a resolv.conf";
                return false;
            }

            conf = Parse(new string(buffer, 0, read));
            error = null;
            return true;
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            error = $"cannot read {path}: file not found";
        }
        catch (UnauthorizedAccessException)
        {
            error = $"cannot read {path}: permission denied (or it is a directory)";
        }
        catch (Exception ex) when (ex is IOException or NotSupportedException or ArgumentException)
        {
            error = $"cannot read {path}: {ex.Message}";
        }

        return false;
    }

    private static string StripComment(string field)
    {
        var cut = field.IndexOfAny(['#', ';']);
        return cut < 0 ? field : field[..cut];
    }
}
