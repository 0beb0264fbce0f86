namespace Rampart.Core.TlsRpt;

/// <summary>Limits that keep hostile or broken report input from exhausting memory, time or the stack.</summary>
public sealed record TlsRptReadSettings
{
    /// <summary>Default cap on one report's JSON after decompression: 64 MiB.</summary>
    public const long DefaultMaxReportBytes = 64L * 1024 * 1024;

    /// <summary>Default cap on JSON nesting; a real report nests 5 levels deep.</summary>
    public const int DefaultMaxJsonDepth = 32;

    /// <summary>Largest JSON a report may decompress to; larger ones are rejected while reading, never buffered whole.</summary>
    public long MaxReportBytes { get; init; } = DefaultMaxReportBytes;

    /// <summary>Deepest JSON nesting read; deeper input is rejected.</summary>
    public int MaxJsonDepth { get; init; } = DefaultMaxJsonDepth;

    /// <summary>How many containers may nest (an email holding a zip holding a gzip is 3).</summary>
    public int MaxContainerDepth { get; init; } = 4;

    /// <summary>Largest email (or mbox message) read, before decoding its attachments.</summary>
    public long MaxMessageBytes { get; init; } = 2 * DefaultMaxReportBytes;

    /// <summary>Check DKIM signatures of emailed reports (needs DNS); off, reports are marked not checked.</summary>
    public bool VerifyDkim { get; init; } = true;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> for limits that make no sense.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxReportBytes, 1024);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxJsonDepth, 8);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxContainerDepth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxMessageBytes, 1024);
    }
}
