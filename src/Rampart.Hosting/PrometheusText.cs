using System.Globalization;
using System.Text;

namespace Rampart.Hosting;

/// <summary>
/// Prometheus' text exposition format 0.0.4, written once for every host's /metrics (the daemon, the check watcher,
/// serve): a family's <c># HELP</c> and <c># TYPE</c> lines, then its samples, label values escaped
/// (backslash, double quote, newline).
/// </summary>
public sealed class PrometheusText
{
    /// <summary>The Content-Type /metrics answers with.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private readonly StringBuilder _text = new();

    /// <summary>Starts a metric family: <paramref name="type"/> is counter, gauge or histogram.</summary>
    public PrometheusText Family(string name, string type, string help)
    {
        _text.Append("# HELP ").Append(name).Append(' ').Append(help).Append("\n# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
        return this;
    }

    /// <summary>One sample without labels.</summary>
    public PrometheusText Sample(string name, long value) => Sample(name, [], value);

    /// <summary>One sample with labels, e.g. <c>name{policy="dane",answer="OK"} 3</c>.</summary>
    public PrometheusText Sample(string name, ReadOnlySpan<(string Name, string Value)> labels, long value) =>
        Sample(name, labels, value.ToString(CultureInfo.InvariantCulture));

    /// <summary>One sample with a fractional value (a histogram's sum, a timestamp).</summary>
    public PrometheusText Sample(string name, ReadOnlySpan<(string Name, string Value)> labels, double value) =>
        Sample(name, labels, value.ToString(CultureInfo.InvariantCulture));

    public override string ToString() => _text.ToString();

    private PrometheusText Sample(string name, ReadOnlySpan<(string Name, string Value)> labels, string value)
    {
        _text.Append(name);
        for (int i = 0; i < labels.Length; i++)
        {
            _text.Append(i == 0 ? '{' : ',').Append(labels[i].Name).Append("=\"");
            foreach (char c in labels[i].Value)
            {
                _ = c switch
                {
                    '\\' => _text.Append("\\\\"),
                    '"' => _text.Append("\\\""),
                    '\n' => _text.Append("\\n"),
                    _ => _text.Append(c),
                };
            }
            _text.Append('"');
        }
        if (labels.Length > 0)
        {
            _text.Append('}');
        }
        _text.Append(' ').Append(value).Append('\n');
        return this;
    }
}
