using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Rampart.Hosting.Configuration;

/*
 * Typed scalars, read as PyYAML (YAML 1.1) types them, because that is how postfix-mta-sts-resolver reads the daemon's
 * file: yes/on are booleans, 0666 is octal, 0x2710 hex, 10_000 ten thousand. Two deliberate differences: a quoted
 * boolean ("false") is an error (the peer would have read the non-empty string as true), and quoted decimal numbers
 * ("8461") are accepted. Each reader returns null after reporting an error in the user's terms.
 */
public sealed partial class ConfigReader
{
    /// <summary>True for YAML's null: nothing, <c>~</c> or <c>null</c> unquoted ("key:" with no value means its default).</summary>
    public static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: ScalarStyle.Plain, Value: null or "" or "~" or "null" or "Null" or "NULL" } scalar
        && scalar.Tag.IsEmpty;

    /// <summary>The scalar's text, or "a list"/"a mapping", for messages that quote the value.</summary>
    public static string ValueText(YamlNode node) => node switch
    {
        YamlScalarNode s => s.Value ?? "",
        YamlSequenceNode => "a list",
        _ => "a mapping",
    };

    /// <summary>"empty", "'text'", "a list" or "a mapping": what was found where something else was expected.</summary>
    public static string Describe(YamlNode node) => node switch
    {
        YamlScalarNode s when IsNull(s) => "empty",
        YamlScalarNode s => $"'{s.Value}'",
        YamlSequenceNode => "a list",
        _ => "a mapping",
    };

    public bool? Bool(YamlNode node, string path)
    {
        ArgumentNullException.ThrowIfNull(node);
        if (node is YamlScalarNode { Style: ScalarStyle.Plain, Value: { } text } scalar && scalar.Tag.IsEmpty)
        {
            switch (text)
            {
                case "true" or "True" or "TRUE" or "yes" or "Yes" or "YES" or "on" or "On" or "ON":
                    return true;
                case "false" or "False" or "FALSE" or "no" or "No" or "NO" or "off" or "Off" or "OFF":
                    return false;
            }
        }
        Error(node, path, node is YamlScalarNode { Style: not ScalarStyle.Plain }
            ? $"'{ValueText(node)}' is quoted text, not a boolean (write true or false without quotes)"
            : $"'{ValueText(node)}' is not a boolean (true or false)");
        return null;
    }

    /// <summary>Non-empty text (a scalar of any style).</summary>
    public string? Text(YamlNode node, string path)
    {
        ArgumentNullException.ThrowIfNull(node);
        if (node is YamlScalarNode { Value: { Length: > 0 } text } && !IsNull(node))
        {
            return text;
        }
        Error(node, path, IsNull(node) ? "is empty" : $"must be text, not {Describe(node)}");
        return null;
    }

    public string? AbsolutePath(YamlNode node, string path)
    {
        if (Text(node, path) is not { } text)
        {
            return null;
        }
        if (!System.IO.Path.IsPathFullyQualified(text))
        {
            Error(node, path, $"'{text}' is not an absolute path");
            return null;
        }
        return text;
    }

    /// <summary>One text or a list of texts (<c>mx: a</c> and <c>mx: [a, b]</c> alike).</summary>
    public IReadOnlyList<string>? TextList(YamlNode node, string path)
    {
        ArgumentNullException.ThrowIfNull(node);
        if (node is YamlScalarNode)
        {
            return Text(node, path) is { } one ? [one] : null;
        }
        if (node is not YamlSequenceNode sequence)
        {
            Error(node, path, "must be a value or a list of values, not a mapping");
            return null;
        }
        var values = new List<string>();
        var ok = true;
        for (var i = 0; i < sequence.Children.Count; i++)
        {
            if (sequence.Children[i] is YamlScalarNode && Text(sequence.Children[i], $"{path}[{i}]") is { } item)
            {
                values.Add(item);
            }
            else
            {
                if (sequence.Children[i] is not YamlScalarNode)
                {
                    Error(sequence.Children[i], $"{path}[{i}]", $"must be a single value, not {Describe(sequence.Children[i])}");
                }
                ok = false;
            }
        }
        return ok ? values : null;
    }

    public int? Int(YamlNode node, string path, int min, int max)
    {
        if (!TryInteger(node, out var value))
        {
            Error(node, path, $"'{ValueText(node)}' is not a whole number");
            return null;
        }
        if (value < min || value > max)
        {
            Error(node, path, $"'{ValueText(node)}' is out of range ({min}..{max})");
            return null;
        }
        return (int)value;
    }

    /// <summary>A TCP port, 1–65535.</summary>
    public int? Port(YamlNode node, string path)
    {
        if (TryInteger(node, out var value) && value is >= 1 and <= 65535)
        {
            return (int)value;
        }
        Error(node, path, $"'{ValueText(node)}' is not a port number (1-65535)");
        return null;
    }

    /// <summary>A finite number (integer or YAML 1.1 float; <c>.nan</c> and <c>.inf</c> are refused).</summary>
    public double? Number(YamlNode node, string path)
    {
        if (TryInteger(node, out var whole))
        {
            return whole;
        }
        if (node is YamlScalarNode { Value: { } text }
            && FloatPattern().IsMatch(text)
            && double.TryParse(text.Replace("_", "", StringComparison.Ordinal), NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
            && double.IsFinite(value))
        {
            return value;
        }
        Error(node, path, $"'{ValueText(node)}' is not a number");
        return null;
    }

    /// <summary>A duration in seconds (a number): more than 0, or 0 too with <paramref name="allowZero"/>; at most <paramref name="max"/>.</summary>
    public TimeSpan? Seconds(YamlNode node, string path, bool allowZero, double? max = null)
    {
        if (Number(node, path) is not { } seconds)
        {
            return null;
        }
        if (seconds < 0 || (!allowZero && seconds == 0) || seconds > TimeSpan.MaxValue.TotalSeconds / 2)
        {
            Error(node, path, $"'{ValueText(node)}' must be a number of seconds {(allowZero ? "of 0 or more" : "greater than 0")}");
            return null;
        }
        if (seconds > max)
        {
            Error(node, path, $"'{ValueText(node)}' is more than {max.Value.ToString(CultureInfo.InvariantCulture)} seconds");
            return null;
        }
        return TimeSpan.FromSeconds(seconds);
    }

    /// <summary>IP:PORT or [IPv6]:PORT with a port other than 0 (an address to listen on or to reach).</summary>
    public IPEndPoint? EndPoint(YamlNode node, string path, string example)
    {
        if (Text(node, path) is not { } text)
        {
            return null;
        }
        if (TryEndPoint(text, out var endPoint) && endPoint.Port != 0)
        {
            return endPoint;
        }
        Error(node, path, $"'{text}' is not IP:PORT ({example})");
        return null;
    }

    /// <summary>IP:PORT or [IPv6]:PORT, port 0 (any free port) to 65535; a bare IPv6 address is not mistaken for one with a port.</summary>
    public static bool TryEndPoint(string text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IPEndPoint? endPoint)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (IPEndPoint.TryParse(text, out endPoint)
            && (text.Contains("]:", StringComparison.Ordinal) || text.Count(c => c == ':') == 1))
        {
            return true;
        }
        endPoint = null;
        return false;
    }

    /// <summary>YAML 1.1 integers: decimal, 0octal, 0x hex, 0b binary, with '_' separators. Quoted decimals are accepted too.</summary>
    public static bool TryInteger(YamlNode node, out long value)
    {
        value = 0;
        if (node is not YamlScalarNode { Value: { } raw } scalar || IsNull(node))
        {
            return false;
        }
        var text = raw.Replace("_", "", StringComparison.Ordinal);
        var negative = text.StartsWith('-');
        var digits = text.TrimStart('-', '+');
        if (digits.Length == 0 || text.Length - digits.Length > 1)
        {
            return false;
        }
        var plain = scalar.Style == ScalarStyle.Plain;
        try
        {
            if (plain && digits.StartsWith("0x", StringComparison.OrdinalIgnoreCase) && digits.Length > 2)
            {
                value = long.Parse(digits[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
            }
            else if (plain && digits.StartsWith("0b", StringComparison.Ordinal) && digits.Length > 2 && digits[2..].All(c => c is '0' or '1'))
            {
                value = Convert.ToInt64(digits[2..], 2);
            }
            else if (plain && digits.Length > 1 && digits[0] == '0' && digits.All(c => c is >= '0' and <= '7'))
            {
                value = Convert.ToInt64(digits, 8);
            }
            else if (digits.All(char.IsAsciiDigit) && (digits.Length == 1 || digits[0] != '0' || !plain))
            {
                value = long.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture);
            }
            else
            {
                return false;
            }
        }
        catch (Exception ex) when (ex is FormatException or OverflowException)
        {
            return false;
        }
        value = negative ? -value : value;
        return true;
    }

    [GeneratedRegex(@"^[-+]?([0-9][0-9_]*)?\.[0-9_]*([eE][-+]?[0-9]+)?$|^[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+$")]
    private static partial Regex FloatPattern();
}
