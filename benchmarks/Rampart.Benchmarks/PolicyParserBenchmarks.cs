using System.Text;
using BenchmarkDotNet.Attributes;
using Rampart.Core.MtaSts;

namespace Rampart.Benchmarks;

/// <summary>
/// <see cref="MtaStsPolicyParser"/> on the three shapes a fetcher meets: a typical policy (4 keys, 2 mx), a large
/// valid one (~200 mx lines, about 6 KiB) and an invalid one (every kind of error, so the error path is measured).
/// Both entry points: the string one and the UTF-8 one the fetcher uses (UTF-8 and control-byte checks first).
/// </summary>
[MemoryDiagnoser]
public class PolicyParserBenchmarks
{
    private string _text = "";
    private byte[] _utf8 = [];

    [Params("typical", "large", "invalid")]
    public string Policy { get; set; } = "typical";

    [GlobalSetup]
    public void Setup()
    {
        _text = Policies.Get(Policy);
        _utf8 = Encoding.UTF8.GetBytes(_text);
        // A benchmark of the wrong path is worse than none: check the inputs mean what their names say.
        var result = MtaStsPolicyParser.Parse(_text);
        if (result.IsValid != (Policy != "invalid"))
        {
            throw new InvalidOperationException($"policy '{Policy}' parsed as valid={result.IsValid}: {string.Join("; ", result.Errors)}");
        }
    }

    [Benchmark(Baseline = true)]
    public MtaStsParseResult ParseString() => MtaStsPolicyParser.Parse(_text);

    [Benchmark]
    public MtaStsParseResult ParseUtf8() => MtaStsPolicyParser.Parse(_utf8);
}

/// <summary>The benchmark inputs, built once.</summary>
internal static class Policies
{
    public const string Typical =
        "version: STSv1\r\n" +
        "mode: enforce\r\n" +
        "mx: mail.example.com\r\n" +
        "mx: *.backup.example.net\r\n" +
        "max_age: 604800\r\n";

    public static readonly string Large = BuildLarge(200);

    // Wrong version case, unknown mode, out-of-range max_age, an IP and an empty mx, a line without ':',
    // a repeated key and a near-miss key: the parser collects every error and warning.
    public const string Invalid =
        "version: stsv1\n" +
        "mode: enforcing\n" +
        "max_age: 99999999999\n" +
        "mx: 192.0.2.25\n" +
        "mx:\n" +
        "mx: mail..example.com\n" +
        "this line has no colon\n" +
        "mode: testing\n" +
        "Max_Age: 86400\n";

    public static string Get(string name) => name switch
    {
        "typical" => Typical,
        "large" => Large,
        "invalid" => Invalid,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "typical, large or invalid"),
    };

    private static string BuildLarge(int mxCount)
    {
        var text = new StringBuilder("version: STSv1\nmode: enforce\n");
        for (int i = 0; i < mxCount; i++)
        {
            text.Append(i % 4 == 0 ? $"mx: *.pool{i}.mail.example.com\n" : $"mx: mx{i}.customer-{i % 17}.example.net\n");
        }
        return text.Append("max_age: 31557600\n").ToString();
    }
}
