namespace Rampart.Core.TlsRpt;

/// <summary>
/// The reports an import has read and not yet handed to the store, bounded in count and in size: the importer stores
/// them together (<see cref="ITlsReportStore.AddBatchAsync"/>, one transaction) when <see cref="IsFull"/>, and at the
/// end. Nothing in it is stored yet, so nothing in it may be counted as imported.
/// </summary>
/// <typeparam name="T">What the importer keeps beside each report (where it came from).</typeparam>
public sealed class TlsRptImportBatch<T>
{
    /// <summary>At most this many reports in one transaction.</summary>
    public const int DefaultMaxReports = 500;

    /// <summary>At most about this much report text (UTF-16 characters × 2) in one transaction, so memory stays bounded with large reports.</summary>
    public const long DefaultMaxBytes = 16L * 1024 * 1024;

    private readonly List<(T Item, TlsRptStoredReport Report)> _pending = [];
    private readonly int _maxReports;
    private readonly long _maxBytes;

    public TlsRptImportBatch(int maxReports = DefaultMaxReports, long maxBytes = DefaultMaxBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxReports);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBytes);
        _maxReports = maxReports;
        _maxBytes = maxBytes;
    }

    /// <summary>Reports waiting.</summary>
    public int Count => _pending.Count;

    /// <summary>The estimated size of the reports waiting.</summary>
    public long Bytes { get; private set; }

    /// <summary>The batch has reached one of its bounds: store it before adding more.</summary>
    public bool IsFull => _pending.Count >= _maxReports || Bytes >= _maxBytes;

    /// <summary>Adds a report read from <paramref name="item"/>.</summary>
    public void Add(T item, TlsRptStoredReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        _pending.Add((item, report));
        Bytes += EstimatedBytes(report.Report);
    }

    /// <summary>The reports waiting, in the order they were read, and an empty batch.</summary>
    public IReadOnlyList<(T Item, TlsRptStoredReport Report)> Take()
    {
        var taken = _pending.ToList();
        _pending.Clear();
        Bytes = 0;
        return taken;
    }

    /// <summary>About the memory a report's text takes: its strings (two bytes a character) and a fixed cost per object.</summary>
    public static long EstimatedBytes(TlsRptReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        long bytes = 256 + Text(report.OrganizationName) + Text(report.ReportId) + Text(report.ContactInfo) + report.Warnings.Sum(Text);
        foreach (var policy in report.Policies)
        {
            bytes += 128 + Text(policy.PolicyType) + Text(policy.PolicyDomain) + policy.PolicyString.Sum(Text) + policy.MxHosts.Sum(Text);
            foreach (var d in policy.FailureDetails)
            {
                bytes += 96 + Text(d.ResultType) + Text(d.SendingMtaIp) + Text(d.ReceivingMxHostname) + Text(d.ReceivingMxHelo) + Text(d.ReceivingIp)
                         + Text(d.AdditionalInformation) + Text(d.FailureReasonCode);
            }
        }
        return bytes;

        static long Text(string? text) => text is null ? 0 : 24 + 2L * text.Length;
    }
}
