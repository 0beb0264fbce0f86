using Rampart.Core.TlsRpt;

namespace Rampart.Storage.TlsRpt;

/// <summary>
/// A batch of session results summed per policy row (UTC day, report domain, policy key) before it is written, so a
/// burst of alike sessions is a few row updates; rows in key order, so writers that lock them take the locks alike.
/// </summary>
internal sealed class TlsSessionBatchSums
{
    private readonly SortedDictionary<(string Day, string Domain, string Key), Row> _rows = new(RowOrder.Instance);

    /// <summary>How many results were added.</summary>
    public int Counted { get; private set; }

    /// <summary>The rows, in key order.</summary>
    public IEnumerable<KeyValuePair<(string Day, string Domain, string Key), Row>> Rows => _rows;

    public void Add(TlsSessionResult result)
    {
        var key = (TlsSessionKeys.DayText(result.Day), result.ReportDomain, TlsSessionKeys.PolicyKey(result));
        if (!_rows.TryGetValue(key, out var row))
        {
            _rows[key] = row = new Row(result);
        }
        row.Add(result);
        Counted++;
    }

    /// <summary>The sums of one policy row within a batch; failures in key order.</summary>
    internal sealed class Row(TlsSessionResult sample)
    {
        public TlsSessionResult Sample { get; } = sample;
        public long Successful { get; private set; }
        public long Failed { get; private set; }
        public SortedDictionary<string, (TlsSessionFailure Failure, long Sessions)> Failures { get; } = new(StringComparer.Ordinal);

        public void Add(TlsSessionResult result)
        {
            if (result.Succeeded)
            {
                Successful++;
            }
            else
            {
                Failed++;
            }
            foreach (var failure in result.Failures)
            {
                var key = TlsSessionKeys.FailureKey(failure);
                Failures[key] = Failures.TryGetValue(key, out var counted) ? (counted.Failure, counted.Sessions + 1) : (failure, 1);
            }
        }
    }

    private sealed class RowOrder : IComparer<(string Day, string Domain, string Key)>
    {
        public static readonly RowOrder Instance = new();

        public int Compare((string Day, string Domain, string Key) x, (string Day, string Domain, string Key) y)
        {
            var c = string.CompareOrdinal(x.Day, y.Day);
            if (c == 0)
            {
                c = string.CompareOrdinal(x.Domain, y.Domain);
            }
            return c != 0 ? c : string.CompareOrdinal(x.Key, y.Key);
        }
    }
}
