using System.Text;

namespace Rampart.Postfix.Socketmap;

/// <summary>The status word that starts a socketmap reply (socketmap_table(5)).</summary>
internal enum SocketmapStatus
{
    /// <summary><c>OK value</c>: the key was found.</summary>
    Ok,
    /// <summary><c>NOTFOUND </c>: no entry; Postfix goes on with its own defaults.</summary>
    NotFound,
    /// <summary><c>TEMP reason</c>: a temporary failure; Postfix defers the delivery.</summary>
    Temp,
    /// <summary><c>TIMEOUT reason</c>: the lookup timed out.</summary>
    Timeout,
    /// <summary><c>PERM reason</c>: a permanent failure (a request Postfix should not have sent).</summary>
    Perm,
}

/// <summary>
/// One socketmap reply (socketmap_table(5)), encoded once: <see cref="Text"/> is what is logged and
/// <see cref="Encoded"/> (its UTF-8 bytes) the netstring payload sent, so the two never differ. A reply is at most
/// <see cref="MaxBytes"/> bytes; building a longer one gives <c>TEMP reply too long</c> instead (truncating would hand
/// Postfix a different policy), with <see cref="RefusedBytes"/> saying how long the refused one was.
/// </summary>
internal sealed class SocketmapReply
{
    /// <summary>Replies are at most 100000 bytes (socketmap_table(5), socketmap_max_reply_size).</summary>
    public const int MaxBytes = 100_000;

    private readonly byte[] _encoded;

    private SocketmapReply(SocketmapStatus status, string value, string text, byte[] encoded, int refusedBytes)
    {
        Status = status;
        Value = value;
        Text = text;
        _encoded = encoded;
        RefusedBytes = refusedBytes;
    }

    public static SocketmapReply NotFound { get; } = Create(SocketmapStatus.NotFound, "");

    /// <summary>The reply sent in place of one over <see cref="MaxBytes"/>.</summary>
    public static SocketmapReply TooLong { get; } = Create(SocketmapStatus.Temp, "reply too long");

    public SocketmapStatus Status { get; }

    /// <summary>What follows the status word and its space (for TEMP, TIMEOUT and PERM a one-line reason).</summary>
    public string Value { get; }

    /// <summary>The whole reply as text, e.g. <c>OK dane-only</c> or <c>NOTFOUND </c>.</summary>
    public string Text { get; }

    /// <summary><see cref="Text"/> in UTF-8: the netstring payload, at most <see cref="MaxBytes"/> long.</summary>
    public ReadOnlySpan<byte> Encoded => _encoded;

    /// <summary>The length in bytes of the reply this one replaced because it was over <see cref="MaxBytes"/>; 0 when none was.</summary>
    public int RefusedBytes { get; }

    /// <summary>The status word as the wire spells it.</summary>
    public string StatusWord => Word(Status);

    public static SocketmapReply Ok(string value) => Create(SocketmapStatus.Ok, value);

    /// <summary>TEMP with a one-line reason (control characters become spaces, so the reply stays one line).</summary>
    public static SocketmapReply Temp(string reason) => Create(SocketmapStatus.Temp, OneLine(reason));

    public static SocketmapReply Timeout(string reason) => Create(SocketmapStatus.Timeout, OneLine(reason));

    public static SocketmapReply Perm(string reason) => Create(SocketmapStatus.Perm, OneLine(reason));

    public override string ToString() => Text;

    private static SocketmapReply Create(SocketmapStatus status, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var text = Word(status) + " " + value;
        var encoded = Encoding.UTF8.GetBytes(text);
        return encoded.Length <= MaxBytes
            ? new(status, value, text, encoded, 0)
            : new(TooLong.Status, TooLong.Value, TooLong.Text, TooLong._encoded, encoded.Length);
    }

    private static string Word(SocketmapStatus status) => status switch
    {
        SocketmapStatus.Ok => "OK",
        SocketmapStatus.NotFound => "NOTFOUND",
        SocketmapStatus.Temp => "TEMP",
        SocketmapStatus.Timeout => "TIMEOUT",
        _ => "PERM",
    };

    private static string OneLine(string s) => string.Create(s.Length, s, static (span, source) =>
    {
        for (var i = 0; i < source.Length; i++)
        {
            span[i] = char.IsControl(source[i]) ? ' ' : source[i];
        }
    });
}
