using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Rampart.Postfix.Socketmap;

/// <summary>
/// Socketmap server limits, bound from the <c>Socketmap</c> configuration section. Postfix (socketmap_table(5)) drops an
/// idle connection after 10 s and gives up on a request after 100 s; our limits sit inside those.
/// </summary>
internal sealed record SocketmapOptions
{
    public const string SectionName = "Socketmap";

    /// <summary>Largest request payload (<c>name key</c>) accepted; a longer length prefix closes the connection.</summary>
    [Range(512, Netstring.MaxLength)]
    public int MaxRequestBytes { get; set; } = 16 * 1024;

    /// <summary>Deadline per request; a slower lookup is answered <c>TEMP lookup timed out</c>. Well under Postfix's 100 s.</summary>
    [TimeSpanRange("00:00:00.001", "00:01:30")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a connection may make no progress (no bytes in, replies not taken) before it is closed.</summary>
    [TimeSpanRange("00:00:00.001", "1.00:00:00")]
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(5);
}

[OptionsValidator]
internal sealed partial class SocketmapOptionsValidator : IValidateOptions<SocketmapOptions>;
