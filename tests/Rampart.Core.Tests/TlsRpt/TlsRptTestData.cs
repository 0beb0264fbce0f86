using System.IO.Compression;
using System.Text;
using MimeKit;
using Rampart.Core.TlsRpt;

namespace Rampart.Core.Tests.TlsRpt;

/// <summary>Report JSON and the containers real senders wrap it in, built in memory for the tests.</summary>
internal static class TlsRptTestData
{
    public static string FixturePath(string name) => Path.Combine(AppContext.BaseDirectory, "TestData", "tlsrpt", name);

    public static byte[] Fixture(string name) => File.ReadAllBytes(FixturePath(name));

    /// <summary>A minimal valid report for <paramref name="domain"/> with the given counts and one failure detail when failed &gt; 0.</summary>
    public static string Report(string organization = "Reporter Inc.", string reportId = "r-1", string domain = "rampart.example",
        long successful = 10, long failed = 0, string start = "2025-03-01T00:00:00Z", string end = "2025-03-01T23:59:59Z")
    {
        var details = failed > 0
            ? $$""","failure-details":[{"result-type":"certificate-expired","sending-mta-ip":"192.0.2.1","receiving-mx-hostname":"mx.{{domain}}","failed-session-count":{{failed}}}]"""
            : "";
        return $$"""
            {"organization-name":"{{organization}}","date-range":{"start-datetime":"{{start}}","end-datetime":"{{end}}"},
             "contact-info":"tlsrpt@reporter.example","report-id":"{{reportId}}",
             "policies":[{"policy":{"policy-type":"sts","policy-string":["version: STSv1","mode: enforce","mx: mx.{{domain}}","max_age: 86400"],
               "policy-domain":"{{domain}}","mx-host":["mx.{{domain}}"]},
               "summary":{"total-successful-session-count":{{successful}},"total-failure-session-count":{{failed}}}{{details}}}]}
            """;
    }

    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    public static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest))
        {
            gzip.Write(data);
        }
        return output.ToArray();
    }

    public static byte[] Zip(params (string Name, byte[] Data)[] entries)
    {
        using var output = new MemoryStream();
        using (var zip = new ZipArchive(output, ZipArchiveMode.Create))
        {
            foreach (var (name, data) in entries)
            {
                using var stream = zip.CreateEntry(name).Open();
                stream.Write(data);
            }
        }
        return output.ToArray();
    }

    /// <summary>
    /// A report email as RFC 8460 §5.3 describes it (multipart/report; report-type="tlsrpt", a text part, the report
    /// attachment), with the variations real senders use chosen by the arguments.
    /// </summary>
    public static MimeMessage Email(byte[] attachment, string mediaType = "application/tlsrpt+gzip", string? fileName = "reporter.example!rampart.example!1740787200!1740873599.json.gz",
        ContentEncoding encoding = ContentEncoding.Base64, string reportDomain = "rampart.example", bool htmlFirst = false, bool multipartReport = true,
        string subject = "Report Domain: rampart.example Submitter: reporter.example Report-ID: <r-1@reporter.example>")
    {
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("TLS reports", "noreply-tlsrpt@reporter.example"));
        message.To.Add(new MailboxAddress("", "tlsrpt@rampart.example"));
        message.Subject = subject;
        message.Date = new DateTimeOffset(2025, 3, 2, 1, 0, 0, TimeSpan.Zero);
        message.MessageId = "r-1@reporter.example";
        message.Headers.Add("TLS-Report-Domain", reportDomain);
        message.Headers.Add("TLS-Report-Submitter", "reporter.example");
        var split = mediaType.Split('/');
        var part = new MimePart(split[0], split[1])
        {
            Content = new MimeContent(new MemoryStream(attachment)),
            ContentTransferEncoding = encoding,
        };
        if (fileName is not null)
        {
            part.FileName = fileName;
        }
        var multipart = new Multipart(multipartReport ? "report" : "mixed");
        if (multipartReport)
        {
            multipart.ContentType.Parameters.Add("report-type", "tlsrpt");
        }
        if (htmlFirst)
        {
            multipart.Add(new TextPart("html") { Text = "<p>This is a TLS report.</p>" });
        }
        multipart.Add(new TextPart("plain") { Text = "This is an aggregate TLS report from reporter.example" });
        multipart.Add(part);
        message.Body = multipart;
        return message;
    }

    public static byte[] Bytes(MimeMessage message)
    {
        using var output = new MemoryStream();
        message.WriteTo(output);
        return output.ToArray();
    }

    /// <summary>Reads <paramref name="data"/> as one input and returns everything the reader found.</summary>
    public static async Task<List<TlsRptInput>> ReadAsync(byte[] data, string source = "input", TlsRptReadSettings? settings = null, TlsRptDkimVerifier? dkim = null)
    {
        var found = new List<TlsRptInput>();
        var reader = new TlsRptInputReader(settings ?? new TlsRptReadSettings(), dkim);
        await reader.ReadAsync(new MemoryStream(data), source, input =>
        {
            found.Add(input);
            return Task.CompletedTask;
        }, TestContext.Current.CancellationToken);
        return found;
    }

    /// <summary>Writes <paramref name="data"/> to a file named <paramref name="name"/> in <paramref name="dir"/> and reads it.</summary>
    public static async Task<List<TlsRptInput>> ReadFileAsync(string dir, string name, byte[] data, TlsRptReadSettings? settings = null)
    {
        var path = Path.Combine(dir, name);
        await File.WriteAllBytesAsync(path, data, TestContext.Current.CancellationToken);
        var found = new List<TlsRptInput>();
        await new TlsRptInputReader(settings ?? new TlsRptReadSettings(), null).ReadFileAsync(path, input =>
        {
            found.Add(input);
            return Task.CompletedTask;
        }, TestContext.Current.CancellationToken);
        return found;
    }
}
