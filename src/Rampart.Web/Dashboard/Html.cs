using System.Globalization;
using System.Net;
using System.Text;
using Rampart.Core;

namespace Rampart.Web.Dashboard;

/// <summary>
/// Builds a page: markup written by Rampart goes in as it is (<see cref="Raw"/>), every value goes through
/// <see cref="Text(string?, int)"/>, which shows controls as <c>\uXXXX</c> (<see cref="DisplayText"/>) and then
/// HTML-encodes <c>&lt; &gt; &amp; " '</c>, so a report's organization-name or reason is text, never markup, in element
/// content and in quoted attributes alike.
/// </summary>
internal sealed class Html
{
    private readonly StringBuilder _sb = new(16 * 1024);

    /// <summary>The encoded form of an untrusted value.</summary>
    public static string Encode(string? value, int maxLength = DisplayText.DefaultMaxLength) =>
        WebUtility.HtmlEncode(DisplayText.Sanitize(value, maxLength));

    /// <summary>A number as the page shows it (invariant, thousands separated).</summary>
    public static string Number(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>A rate as the page shows it.</summary>
    public static string Percent(double rate) => rate.ToString("P1", CultureInfo.InvariantCulture);

    /// <summary>A time as the page shows it (UTC).</summary>
    public static string Stamp(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);

    public Html Raw(string markup)
    {
        _sb.Append(markup);
        return this;
    }

    public Html Text(string? value, int maxLength = DisplayText.DefaultMaxLength)
    {
        _sb.Append(Encode(value, maxLength));
        return this;
    }

    /// <summary>An element holding an untrusted value as text: <c>&lt;tag attrs&gt;value&lt;/tag&gt;</c>.</summary>
    public Html Element(string tag, string? value, string attributes = "", int maxLength = DisplayText.DefaultMaxLength)
    {
        _sb.Append('<').Append(tag).Append(attributes.Length > 0 ? " " + attributes : "").Append('>');
        Text(value, maxLength);
        _sb.Append("</").Append(tag).Append('>');
        return this;
    }

    /// <summary>A table: a header row and one row per item; cells are untrusted text unless <see cref="Cell.Markup"/>.</summary>
    public Html Table<T>(string caption, string id, IReadOnlyList<string> headers, IEnumerable<T> rows, Func<T, IReadOnlyList<Cell>> cells, string empty = "none")
    {
        _sb.Append("<div class=\"scroll\"><table id=\"").Append(id).Append("\"><caption>").Append(WebUtility.HtmlEncode(caption)).Append("</caption><thead><tr>");
        foreach (var header in headers)
        {
            _sb.Append("<th scope=\"col\">").Append(WebUtility.HtmlEncode(header)).Append("</th>");
        }
        _sb.Append("</tr></thead><tbody>");
        var any = false;
        foreach (var row in rows)
        {
            any = true;
            _sb.Append("<tr>");
            foreach (var cell in cells(row))
            {
                _sb.Append(cell.Numeric ? "<td class=\"num\"" : "<td");
                if (cell.Field is { } field)
                {
                    _sb.Append(" data-field=\"").Append(field).Append('"');
                }
                if (cell.DataValue is { } value)
                {
                    _sb.Append(" data-value=\"").Append(WebUtility.HtmlEncode(value)).Append('"');
                }
                _sb.Append('>').Append(cell.Markup ?? Encode(cell.Value, 500)).Append("</td>");
            }
            _sb.Append("</tr>");
        }
        if (!any)
        {
            _sb.Append("<tr><td colspan=\"").Append(headers.Count).Append("\" class=\"empty\">").Append(WebUtility.HtmlEncode(empty)).Append("</td></tr>");
        }
        _sb.Append("</tbody></table></div>");
        return this;
    }

    public override string ToString() => _sb.ToString();
}

/// <summary>One table cell: untrusted <see cref="Value"/>, or <see cref="Markup"/> Rampart built (already encoded).</summary>
/// <param name="Field">A <c>data-field</c> name for tests and scripts that read the page.</param>
/// <param name="DataValue">The exact value (a count without separators) as <c>data-value</c>.</param>
internal sealed record Cell(string? Value, string? Markup = null, bool Numeric = false, string? Field = null, string? DataValue = null)
{
    public static Cell Of(long number, string? field = null) =>
        new(Html.Number(number), null, true, field, number.ToString(CultureInfo.InvariantCulture));

    public static Cell Rate(double rate) => new(Html.Percent(rate), null, true);

    public static implicit operator Cell(string? value) => new(value);
}
