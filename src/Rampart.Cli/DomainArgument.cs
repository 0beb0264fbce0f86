using System.CommandLine;
using System.CommandLine.Parsing;
using System.Net;
using Rampart.Core;

namespace Rampart.Cli;

/// <summary>
/// Domain and host-name arguments (<c>resolve DOMAIN</c>, <c>check DOMAIN…</c>, <c>tlsa verify HOST</c>), checked
/// while parsing: what is plainly something else (a mail address, a URL, an IP address, a bracketed Postfix next hop,
/// a host with a port) is a usage error that says what to give instead, never a lookup that answers NOTFOUND.
/// </summary>
internal static class DomainArgument
{
    /// <summary>A mail domain, the part after @.</summary>
    public static Argument<string> MailDomain(string name, string description) => Checked(new Argument<string>(name) { Description = description });

    /// <summary>A host name, such as an MX host (the same rules: a name, not an address or a next hop).</summary>
    public static Argument<string> HostName(string name, string description) => Checked(new Argument<string>(name) { Description = description });

    /// <summary>Mail domains, each as in <see cref="MailDomain"/>.</summary>
    public static Argument<string[]> MailDomains(string name, string description) =>
        Checked(new Argument<string[]>(name) { Description = description, Arity = ArgumentArity.ZeroOrMore });

    /// <summary>The normalised name (A-labels, lower case); the argument was checked while parsing.</summary>
    public static string Normalized(string text) => Parsed(text).Value;

    /// <summary>The parsed name; one that passed <see cref="Problem"/> but breaks a name rule is a one-line error.</summary>
    public static DomainName Parsed(string text) =>
        DomainName.TryParse(text, out var name, out var error) ? name : throw new RampartException(error);

    private static Argument<T> Checked<T>(Argument<T> argument)
    {
        argument.Validators.Add(Validate);
        return argument;
    }

    private static void Validate(ArgumentResult result)
    {
        foreach (var token in result.Tokens)
        {
            // A token that looks like an option is reported as an unknown option, not judged as a domain.
            if (!token.Value.StartsWith('-') && Problem(token.Value) is { } problem)
            {
                result.AddError(result.Argument.Arity.MaximumNumberOfValues > 1 ? $"domain {problem}" : problem);
                return;
            }
        }
    }

    /// <summary>Why <paramref name="text"/> is not a domain, with what to give instead; null when it is one.</summary>
    internal static string? Problem(string text)
    {
        var trimmed = text.Trim();
        if (trimmed.Contains("://", StringComparison.Ordinal))
        {
            return Uri.TryCreate(trimmed, UriKind.Absolute, out var url) && url.Host.Length > 0
                ? $"'{trimmed}' is a URL; give the domain alone: {url.IdnHost}"
                : $"'{trimmed}' is a URL; give the domain alone";
        }
        var at = trimmed.LastIndexOf('@');
        if (at >= 0)
        {
            var domainPart = trimmed[(at + 1)..];
            return domainPart.Length > 0 && DomainName.TryNormalize(domainPart, out var part, out _)
                ? $"'{trimmed}' is a mail address; give its domain part: {part}"
                : $"'{trimmed}' is a mail address; give its domain part, the text after @";
        }
        if (trimmed.StartsWith('['))
        {
            var close = trimmed.IndexOf(']', StringComparison.Ordinal);
            var inside = close > 0 ? trimmed[1..close] : trimmed[1..];
            return IPAddress.TryParse(inside, out _)
                ? $"'{trimmed}' is an IP address in brackets (a Postfix next hop), not a domain; give the mail domain"
                : $"'{trimmed}' is a bracketed Postfix next hop (no MX lookup; the daemon answers NOTFOUND for it), not a domain; give the name without brackets: {inside}";
        }
        if (IPAddress.TryParse(trimmed.TrimEnd('.'), out _))
        {
            return $"'{trimmed}' is an IP address; give a domain name (Rampart looks up the MX hosts and their addresses itself)";
        }
        var colon = trimmed.LastIndexOf(':');
        if (colon > 0 && int.TryParse(trimmed[(colon + 1)..], out _))
        {
            return $"'{trimmed}' has a port; give the name alone: {trimmed[..colon]}";
        }
        return DomainName.TryNormalize(trimmed, out _, out var error) ? null : $"'{trimmed}': {error}";
    }
}
