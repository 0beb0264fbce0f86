using BenchmarkDotNet.Attributes;
using Rampart.Core.MtaSts;

namespace Rampart.Benchmarks;

/// <summary><see cref="MtaStsTxtRecord"/>: parsing one record, and discovery over a domain's whole TXT RRset.</summary>
[MemoryDiagnoser]
public class TxtRecordBenchmarks
{
    private const string Record = "v=STSv1; id=20240101T000000Z;";
    private const string RecordWithExtensions = "v=STSv1; id=20240101T000000Z; ext-one=value1; ext_two=value-2";

    // What _mta-sts.<domain> typically returns beside the STS record: nothing. What a sloppy zone returns
    // (the wildcard TXT of the apex leaks in): SPF, a site verification, then the record.
    private static readonly string[] s_one = [Record];
    private static readonly string[] s_mixed =
    [
        "v=spf1 include:_spf.example.com ~all",
        "google-site-verification=abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
        Record,
    ];

    [Benchmark(Baseline = true)]
    public MtaStsTxtRecord Parse() => MtaStsTxtRecord.Parse(Record);

    [Benchmark]
    public MtaStsTxtRecord ParseWithExtensions() => MtaStsTxtRecord.Parse(RecordWithExtensions);

    [Benchmark]
    public MtaStsTxtLookup SelectOne() => MtaStsTxtRecord.Select(s_one);

    [Benchmark]
    public MtaStsTxtLookup SelectAmongThree() => MtaStsTxtRecord.Select(s_mixed);
}

/// <summary><see cref="MxPattern.Matches"/>: run for every MX host of every decision.</summary>
[MemoryDiagnoser]
public class MxPatternBenchmarks
{
    private static readonly MxPattern s_literal = MxPattern.Parse("mail.example.com");
    private static readonly MxPattern s_wildcard = MxPattern.Parse("*.example.com");

    [Benchmark(Baseline = true)]
    public bool LiteralHit() => s_literal.Matches("MAIL.example.com.");

    [Benchmark]
    public bool WildcardHit() => s_wildcard.Matches("mx1.example.com");

    [Benchmark]
    public bool WildcardTwoLabelsMiss() => s_wildcard.Matches("a.mx1.example.com");

    [Benchmark]
    public bool LiteralMiss() => s_literal.Matches("mail.example.org");

    // A U-label host: converted to A-labels (IdnMapping) before the comparison, the slow path.
    [Benchmark]
    public bool UnicodeHostMiss() => s_wildcard.Matches("mx.bücher.example");
}
