using System.ComponentModel.DataAnnotations;
using System.Globalization;

namespace Rampart.Postfix.Socketmap;

/// <summary>
/// A <see cref="TimeSpan"/> setting between two limits (c# constant strings such as <c>"00:01:30"</c>), checked by the
/// source-generated options validator. <c>[Range(typeof(TimeSpan), …)]</c> does the same through a type converter found
/// by reflection, which trimming and native AOT cannot keep.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class TimeSpanRangeAttribute(string minimum, string maximum) : ValidationAttribute("The field {0} must be between {1} and {2}.")
{
    private readonly TimeSpan _minimum = TimeSpan.Parse(minimum, CultureInfo.InvariantCulture);
    private readonly TimeSpan _maximum = TimeSpan.Parse(maximum, CultureInfo.InvariantCulture);

    public string Minimum => minimum;

    public string Maximum => maximum;

    public override bool IsValid(object? value) => value is TimeSpan span && span >= _minimum && span <= _maximum;

    public override string FormatErrorMessage(string name) =>
        string.Format(CultureInfo.CurrentCulture, ErrorMessageString, name, Minimum, Maximum);
}
