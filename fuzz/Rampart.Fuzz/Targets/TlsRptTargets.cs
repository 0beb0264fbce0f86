using Rampart.Core.TlsRpt;

namespace Rampart.Fuzz;

/// <summary>
/// TLS-RPT report input as it arrives by mail, by HTTPS POST or as files. Contract: the JSON parser never throws and
/// gives the same verdict from memory and from a stream; a report has an id, an organization and non-negative counts;
/// the container reader never throws, yields at least one report or rejection per input, each exactly one of the two,
/// and the same ones whether or not the stream can seek.
/// </summary>
internal static class TlsRptTargets
{
    private static readonly TlsRptReadSettings s_settings = new()
    {
        MaxReportBytes = 1 << 20,
        MaxMessageBytes = 2 << 20,
        VerifyDkim = false,
    };

    private static readonly TlsRptInputReader s_reader = new(s_settings, null);

    public static void RunJson(byte[] input)
    {
        var fromMemory = TlsRptReportParser.Parse(input, s_settings);
        var fromStream = TlsRptReportParser.ParseAsync(new MemoryStream(input), s_settings).GetAwaiter().GetResult();
        Check(fromMemory, input.Length);
        Check(fromStream, input.Length);
        Contract.Holds((fromMemory.Report is null) == (fromStream.Report is null),
            $"memory and stream disagree: '{fromMemory.Error}' vs '{fromStream.Error}'");
        if (fromMemory.Report is { } a && fromStream.Report is { } b)
        {
            Contract.Holds(a.ReportId == b.ReportId && a.TotalFailed == b.TotalFailed && a.Warnings.SequenceEqual(b.Warnings),
                "memory and stream read different reports");
        }
    }

    public static void RunInput(byte[] input)
    {
        var seekable = Read(new MemoryStream(input));
        var forwardOnly = Read(new ForwardOnlyStream(new MemoryStream(input)));
        Contract.Holds(seekable.Count > 0, "no report and no rejection for an input");
        Contract.Holds(seekable.Count <= 4096, $"{seekable.Count} results from a {input.Length}-byte input");
        Contract.Holds(seekable.Select(Describe).SequenceEqual(forwardOnly.Select(Describe)),
            $"seekable and forward-only streams give different results: {string.Join(" | ", seekable.Select(Describe))} vs {string.Join(" | ", forwardOnly.Select(Describe))}");
        foreach (var item in seekable)
        {
            Contract.Holds((item.Report is null) != (item.Rejection is null), $"{item.Source}: both or neither of report and rejection");
            Check(new TlsRptParseResult(item.Report, item.Rejection), input.Length);
        }
    }

    private static List<TlsRptInput> Read(Stream stream)
    {
        var results = new List<TlsRptInput>();
        s_reader.ReadAsync(stream, "fuzz", item =>
        {
            results.Add(item);
            return Task.CompletedTask;
        }).GetAwaiter().GetResult();
        return results;
    }

    private static string Describe(TlsRptInput item) => $"{item.Source}: {item.Report?.ReportId ?? item.Rejection}";

    private static void Check(TlsRptParseResult result, int inputLength)
    {
        Contract.Holds((result.Report is null) != (result.Error is null), "both or neither of report and error");
        Contract.Bounded(result.Error, inputLength, "the rejection");
        if (result.Report is not { } report)
        {
            return;
        }
        Contract.Holds(report.ReportId.Length > 0 && report.OrganizationName.Length > 0, "a report without id or organization");
        Contract.Holds(report.Policies.All(p => p.TotalSuccessfulSessionCount >= 0 && p.TotalFailureSessionCount >= 0
            && p.FailureDetails.All(d => d.FailedSessionCount >= 0)), "a negative session count");
        Contract.Holds(report.Warnings.Count <= 101, $"{report.Warnings.Count} warnings");
    }

    /// <summary>A stream that cannot seek, as a socket or a pipe delivers the input.</summary>
    private sealed class ForwardOnlyStream(Stream inner) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

/// <summary>
/// A bounce of one of our mailed reports (TlsRptBounceReader), as anyone can mail it to the sender address. Contract:
/// either a reading or a FormatException with one line; the detail is one bounded line; only a bounce has recipients,
/// each an address without control characters and a permanent (5.x.x) status.
/// </summary>
internal static class TlsRptBounceTarget
{
    public static void Run(byte[] input)
    {
        TlsRptBounce bounce;
        try
        {
            bounce = TlsRptBounceReader.ReadAsync(new MemoryStream(input), CancellationToken.None).GetAwaiter().GetResult();
        }
        catch (FormatException ex)
        {
            Contract.OneLine(ex.Message, "the refusal");
            Contract.Bounded(ex.Message, input.Length, "the refusal");
            return;
        }
        Contract.OneLine(bounce.Detail, "the detail");
        Contract.Bounded(bounce.Detail, input.Length, "the detail");
        Contract.Holds((bounce.Kind == TlsRptBounceKind.Bounced) == (bounce.Recipients.Count > 0), $"{bounce.Kind} with {bounce.Recipients.Count} recipients");
        foreach (var recipient in bounce.Recipients)
        {
            Contract.Holds(recipient.Address.Contains('@', StringComparison.Ordinal) && !recipient.Address.Any(char.IsControl), $"recipient '{recipient.Address}'");
            Contract.Holds(recipient.Status.StartsWith("5.", StringComparison.Ordinal), $"status '{recipient.Status}' of a permanent failure");
            Contract.OneLine(recipient.Diagnostic, "the diagnostic");
            Contract.Holds(recipient.Diagnostic is null || recipient.Diagnostic.Length <= 301, "an unbounded diagnostic");
        }
    }
}
