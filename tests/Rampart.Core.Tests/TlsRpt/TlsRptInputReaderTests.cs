using System.Text;
using MimeKit;
using Rampart.Core.TlsRpt;
using static Rampart.Core.Tests.TlsRpt.TlsRptTestData;

namespace Rampart.Core.Tests.TlsRpt;

/// <summary>Every container a report arrives in, recognised by content; broken and hostile containers give a clear rejection.</summary>
public sealed class TlsRptInputReaderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rampart-tlsrpt").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static TlsRptReport Single(List<TlsRptInput> found)
    {
        var input = Assert.Single(found);
        Assert.True(input.Report is not null, input.Rejection);
        return input.Report!;
    }

    private static string Rejection(List<TlsRptInput> found)
    {
        var input = Assert.Single(found);
        Assert.Null(input.Report);
        Assert.NotNull(input.Rejection);
        Assert.DoesNotContain('\n', input.Rejection);
        return input.Rejection;
    }

    [Fact]
    public async Task Read_PlainJsonFile_OneReport()
    {
        var report = Single(await ReadFileAsync(_dir, "report.json", Fixture("rfc-shape.json")));

        Assert.Equal(970, report.TotalSuccessful);
    }

    [Fact]
    public async Task Read_JsonWithBomAndLeadingWhitespace_OneReport()
    {
        Assert.Equal(10, Single(await ReadAsync([0xEF, 0xBB, 0xBF, (byte)'\n', .. Utf8(Report())])).TotalSuccessful);
    }

    [Fact]
    public async Task Read_JsonGz_Decompressed()
    {
        Assert.Equal(30, Single(await ReadFileAsync(_dir, "r.json.gz", Gzip(Fixture("rfc-shape.json")))).TotalFailed);
    }

    [Fact]
    public async Task Read_GzipNamedJson_DetectedByContent()
    {
        var found = await ReadFileAsync(_dir, "misleading.json", Gzip(Utf8(Report(failed: 2))));

        Assert.Equal(2, Single(found).TotalFailed);
    }

    [Fact]
    public async Task Read_JsonNamedGz_DetectedByContent()
    {
        Assert.Equal(10, Single(await ReadFileAsync(_dir, "report.json.gz", Utf8(Report()))).TotalSuccessful);
    }

    [Fact]
    public async Task Read_Zip_EveryEntryARreport()
    {
        var zip = Zip(("a.json", Utf8(Report(reportId: "a"))), ("dir/b.json.gz", Gzip(Utf8(Report(reportId: "b")))));

        var found = await ReadFileAsync(_dir, "reports.bin", zip);

        Assert.Equal(["a", "b"], found.Select(f => f.Report!.ReportId));
        Assert.EndsWith("reports.bin!dir/b.json.gz", found[1].Source, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Read_GzippedZip_NestedContainersRead()
    {
        Assert.Equal("z", Single(await ReadAsync(Gzip(Zip(("z.json", Utf8(Report(reportId: "z"))))))).ReportId);
    }

    [Fact]
    public async Task Read_TruncatedZip_RejectedAsCorrupt()
    {
        var zip = Zip(("a.json", Utf8(Report())));

        var reason = Rejection(await ReadFileAsync(_dir, "truncated.zip", zip[..(zip.Length / 2)]));

        Assert.Contains("zip", reason, StringComparison.Ordinal);
        Assert.Contains("corrupt", reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Read_CorruptGzip_RejectedAsCorrupt()
    {
        var gz = Gzip(Utf8(Report()));
        for (var i = 12; i < gz.Length - 8; i++)
        {
            gz[i] ^= 0x5A;
        }

        var reason = Rejection(await ReadFileAsync(_dir, "corrupt.json.gz", gz));

        Assert.True(reason.Contains("corrupt", StringComparison.Ordinal) || reason.Contains("not valid JSON", StringComparison.Ordinal), reason);
    }

    [Fact]
    public async Task Read_TruncatedGzip_Rejected()
    {
        var gz = Gzip(Utf8(Report()));

        var reason = Rejection(await ReadAsync(gz[..(gz.Length / 2)]));

        Assert.True(reason.Contains("corrupt", StringComparison.Ordinal) || reason.Contains("not valid JSON", StringComparison.Ordinal), reason);
    }

    [Fact]
    public async Task Read_GzipBomb_StopsAtTheLimit()
    {
        // 200 MiB of spaces compress to ~200 KiB: rejected while decompressing, at the 1 MiB limit.
        using var compressed = new MemoryStream();
        using (var gzip = new System.IO.Compression.GZipStream(compressed, System.IO.Compression.CompressionLevel.Optimal, leaveOpen: true))
        {
            gzip.Write("{\"report-id\":\"x\","u8);
            var spaces = new byte[1024 * 1024];
            Array.Fill(spaces, (byte)' ');
            for (var i = 0; i < 200; i++)
            {
                gzip.Write(spaces);
            }
        }

        var reason = Rejection(await ReadAsync(compressed.ToArray(), settings: new TlsRptReadSettings { MaxReportBytes = 1024 * 1024 }));

        Assert.Contains("larger than 1 MiB", reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Read_EmptyAndBinaryFiles_RejectedWithReason()
    {
        Assert.Contains("empty", Rejection(await ReadFileAsync(_dir, "empty.json", [])), StringComparison.Ordinal);
        Assert.Contains("starts with bytes 89504E47", Rejection(await ReadFileAsync(_dir, "image.json", [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Read_MissingFile_RejectedNotThrown()
    {
        var found = new List<TlsRptInput>();
        await new TlsRptInputReader(new TlsRptReadSettings(), null).ReadFileAsync(Path.Combine(_dir, "nope.json"), i =>
        {
            found.Add(i);
            return Task.CompletedTask;
        }, TestContext.Current.CancellationToken);

        Assert.Equal("no such file", Rejection(found));
    }

    [Theory]
    [InlineData("fifo", "is a FIFO (named pipe); give a regular file")]
    [InlineData("/dev/zero", "is a character device; give a regular file")]
    public async Task Read_FifoOrDevice_RejectedAtOnceNotRead(string name, string rejection)
    {
        var path = name.StartsWith('/') ? name : Path.Combine(_dir, name);
        if (!name.StartsWith('/'))
        {
            using var mkfifo = System.Diagnostics.Process.Start("mkfifo", [path]);
            await mkfifo.WaitForExitAsync(TestContext.Current.CancellationToken);
        }
        var found = new List<TlsRptInput>();

        await new TlsRptInputReader(new TlsRptReadSettings(), null).ReadFileAsync(path, i =>
        {
            found.Add(i);
            return Task.CompletedTask;
        }, TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);

        Assert.Equal(rejection, Rejection(found));
    }

    [Theory]
    [InlineData("application/tlsrpt+gzip", "r.json.gz", true, ContentEncoding.Base64)]
    [InlineData("application/tlsrpt+json", "r.json", false, ContentEncoding.SevenBit)]
    [InlineData("application/tlsrpt", "r.json", false, ContentEncoding.QuotedPrintable)]
    [InlineData("application/gzip", "r.json.gz", true, ContentEncoding.Base64)]
    [InlineData("application/octet-stream", "google.com!rampart.example!1!2!001.json.gz", true, ContentEncoding.Base64)]
    [InlineData("application/octet-stream", null, true, ContentEncoding.Base64)]
    [InlineData("text/plain", "report.json", false, ContentEncoding.SevenBit)]
    public async Task Read_EmailVariants_ReportFound(string mediaType, string? fileName, bool gzip, ContentEncoding encoding)
    {
        var json = Utf8(Report(failed: 1));
        var email = Email(gzip ? Gzip(json) : json, mediaType, fileName, encoding);

        var report = Single(await ReadFileAsync(_dir, "message.eml", Bytes(email)));

        Assert.Equal(1, report.TotalFailed);
    }

    [Fact]
    public async Task Read_EmailWithHtmlFirstAndMultipartMixed_ReportFound()
    {
        var email = Email(Gzip(Utf8(Report())), htmlFirst: true, multipartReport: false);

        Assert.Equal(10, Single(await ReadAsync(Bytes(email))).TotalSuccessful);
    }

    [Fact]
    public async Task Read_EmailWhoseSubjectAndFileNameDisagree_JsonCounts()
    {
        var email = Email(Gzip(Utf8(Report(reportId: "json-id", start: "2025-02-08T00:00:00Z", end: "2025-02-09T00:00:00Z"))),
            fileName: "google.com!rampart.example!1778544000!1778630399!001.json.gz", subject: "Report-ID: <other-id@reporter.example>");

        var report = Single(await ReadAsync(Bytes(email)));

        Assert.Equal("json-id", report.ReportId);
        Assert.Equal(new DateTimeOffset(2025, 2, 8, 0, 0, 0, TimeSpan.Zero), report.StartDatetime);
    }

    [Fact]
    public async Task Read_EmailWhoseHeaderNamesAnotherDomain_WarningJsonCounts()
    {
        var report = Single(await ReadAsync(Bytes(Email(Gzip(Utf8(Report())), reportDomain: "header.example"))));

        Assert.Equal("rampart.example", report.Policies[0].PolicyDomain);
        Assert.Contains(report.Warnings, w => w.Contains("TLS-Report-Domain header 'header.example'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Read_EmailWithoutAttachment_RejectedNamingSubject()
    {
        var message = new MimeMessage { Subject = "Cron <root@host> backup" };
        message.From.Add(new MailboxAddress("", "root@host.example"));
        message.Body = new TextPart("plain") { Text = "done" };

        var reason = Rejection(await ReadAsync(Bytes(message)));

        Assert.Contains("email without a TLS-RPT report attachment", reason, StringComparison.Ordinal);
        Assert.Contains("Cron <root@host> backup", reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Read_ForwardedReport_FoundInsideMessagePart()
    {
        var forward = new MimeMessage { Subject = "Fwd: TLS report" };
        forward.From.Add(new MailboxAddress("", "admin@rampart.example"));
        forward.Body = new Multipart("mixed") { new TextPart("plain") { Text = "see attached" }, new MessagePart { Message = Email(Gzip(Utf8(Report()))) } };

        Assert.Equal(10, Single(await ReadAsync(Bytes(forward))).TotalSuccessful);
    }

    [Fact]
    public async Task Read_Mbox_EveryMessageReadNoiseRejected()
    {
        var mbox = new StringBuilder();
        foreach (var bytes in new[] { Bytes(Email(Gzip(Utf8(Report(reportId: "m1"))))), Bytes(Email(Utf8(Report(reportId: "m2")), "application/tlsrpt+json", "r.json", ContentEncoding.SevenBit)) })
        {
            mbox.Append("From noreply@reporter.example Sun Mar  2 01:00:00 2025\n").Append(Encoding.ASCII.GetString(bytes).ReplaceLineEndings("\n")).Append('\n');
        }
        mbox.Append("From root@host Sun Mar  2 02:00:00 2025\nFrom: root@host\nSubject: noise\n\n>From the cron daemon, nothing to report\n\n");

        var found = await ReadFileAsync(_dir, "reports.mbox", Encoding.ASCII.GetBytes(mbox.ToString()));

        Assert.Equal(3, found.Count);
        Assert.Equal("m1", found[0].Report?.ReportId);
        Assert.Equal("m2", found[1].Report?.ReportId);
        Assert.Null(found[2].Report);
        Assert.EndsWith("reports.mbox#3", found[2].Source, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Expand_Maildir_CurAndNewReadTmpAndIndexSkipped()
    {
        var maildir = Path.Combine(_dir, "Maildir");
        foreach (var sub in new[] { "cur", "new", "tmp", ".Reports/cur", ".Reports/new", ".Reports/tmp" })
        {
            Directory.CreateDirectory(Path.Combine(maildir, sub));
        }
        await File.WriteAllBytesAsync(Path.Combine(maildir, "cur", "1.host:2,S"), Bytes(Email(Gzip(Utf8(Report(reportId: "cur"))))), TestContext.Current.CancellationToken);
        await File.WriteAllBytesAsync(Path.Combine(maildir, "new", "2.host"), Bytes(Email(Gzip(Utf8(Report(reportId: "new"))))), TestContext.Current.CancellationToken);
        await File.WriteAllBytesAsync(Path.Combine(maildir, "tmp", "3.host"), Bytes(Email(Gzip(Utf8(Report(reportId: "tmp"))))), TestContext.Current.CancellationToken);
        await File.WriteAllBytesAsync(Path.Combine(maildir, ".Reports", "new", "4.host"), Bytes(Email(Gzip(Utf8(Report(reportId: "sub"))))), TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(Path.Combine(maildir, "dovecot-uidlist"), "3 V1 N5\n", TestContext.Current.CancellationToken);

        var list = TlsRptInputFiles.Expand([maildir, Path.Combine(_dir, "missing")]);

        Assert.Equal(["cur/1.host:2,S", "new/2.host", ".Reports/new/4.host"],
            list.Files.Select(f => Path.GetRelativePath(maildir, f).Replace('\\', '/')));
        Assert.Equal([$"{Path.Combine(_dir, "missing")}: no such file or directory"], list.Errors);
    }

    [Fact]
    public async Task Expand_Folder_RecursiveHiddenSkippedEachFileOnce()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "a", "b"));
        Directory.CreateDirectory(Path.Combine(_dir, ".git"));
        await File.WriteAllTextAsync(Path.Combine(_dir, "a", "1.json"), Report(), TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(Path.Combine(_dir, "a", "b", "2.json"), Report(), TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(Path.Combine(_dir, "a", ".DS_Store"), "x", TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(Path.Combine(_dir, ".git", "HEAD"), "x", TestContext.Current.CancellationToken);

        var list = TlsRptInputFiles.Expand([_dir, Path.Combine(_dir, "a", "1.json")]);

        Assert.Equal(["a/1.json", "a/b/2.json"], list.Files.Select(f => Path.GetRelativePath(_dir, f).Replace('\\', '/')));
        Assert.Empty(list.Errors);
    }

    [Fact]
    public async Task Read_ContainersNestedTooDeep_Rejected()
    {
        var data = Utf8(Report());
        for (var i = 0; i < 6; i++)
        {
            data = Gzip(data);
        }

        Assert.Contains("nested deeper", Rejection(await ReadAsync(data)), StringComparison.Ordinal);
    }
}
