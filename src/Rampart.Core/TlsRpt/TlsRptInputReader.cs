using System.IO.Compression;
using System.Text;
using MimeKit;

namespace Rampart.Core.TlsRpt;

/// <summary>One report found in the input, or one piece of input rejected with the reason.</summary>
/// <param name="Source">Where it came from: the file, then <c>#N</c> for the Nth mbox message, <c>/NAME</c> for an email attachment, <c>!NAME</c> for a zip entry.</param>
/// <param name="Report">The report; null when rejected.</param>
/// <param name="Rejection">Why this input is not a report (one line); null for a report.</param>
/// <param name="Dkim">The DKIM verdict on the email it came in (not checked for files that are not emails).</param>
public sealed record TlsRptInput(string Source, TlsRptReport? Report, string? Rejection, TlsRptDkimResult Dkim);

/// <summary>
/// Finds TLS-RPT reports in whatever an operator has: report JSON, gzip (whatever its name says), zip, a whole email
/// (<c>multipart/report; report-type="tlsrpt"</c> and the variants real senders use), or an mbox file. Containers are
/// recognised by their content (magic bytes), never by the file name. Every input yields at least one
/// <see cref="TlsRptInput"/>: a report, or a rejection naming the input and the rule. Never throws for bad input.
/// </summary>
public sealed class TlsRptInputReader
{
    private const int SniffBytes = 512;

    private readonly TlsRptReadSettings _settings;
    private readonly TlsRptDkimVerifier? _dkim;

    /// <param name="settings">Size, depth and nesting limits.</param>
    /// <param name="dkim">Verifier for emailed reports; null (or <see cref="TlsRptReadSettings.VerifyDkim"/> off) records "not checked".</param>
    public TlsRptInputReader(TlsRptReadSettings settings, TlsRptDkimVerifier? dkim)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        _settings = settings;
        _dkim = settings.VerifyDkim ? dkim : null;
    }

    /// <summary>Reads the file at <paramref name="path"/> and hands every report or rejection to <paramref name="sink"/>.</summary>
    public async Task ReadFileAsync(string path, Func<TlsRptInput, Task> sink, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(sink);
        if (IO.UserFile.WhyNotReadable(path, long.MaxValue) is { } why)
        {
            // A FIFO would block the open, a device would never end: refused before opening. Size is bounded per report.
            await sink(Reject(path, why)).ConfigureAwait(false);
            return;
        }
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            await sink(Reject(path, ex is FileNotFoundException or DirectoryNotFoundException ? "no such file" : "cannot be read: " + TlsRptReportParser.OneLine(ex.Message))).ConfigureAwait(false);
            return;
        }
        await using (file.ConfigureAwait(false))
        {
            await ReadAsync(file, path, sink, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Reads one input stream (any supported container) named <paramref name="source"/>.</summary>
    public Task ReadAsync(Stream input, string source, Func<TlsRptInput, Task> sink, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(sink);
        return ReadStreamAsync(input, source, 0, null, TlsRptDkimResult.NotChecked, sink, cancellationToken);
    }

    private enum Kind { Empty, Json, Gzip, Zip, Mbox, Email, Unknown }

    private async Task ReadStreamAsync(
        Stream input, string source, int depth, TlsRptEnvelopeHints? hints, TlsRptDkimResult dkim, Func<TlsRptInput, Task> sink, CancellationToken ct)
    {
        if (depth > _settings.MaxContainerDepth)
        {
            await sink(Reject(source, $"containers nested deeper than {_settings.MaxContainerDepth} levels", dkim)).ConfigureAwait(false);
            return;
        }
        try
        {
            var prefix = new byte[SniffBytes];
            var length = 0;
            int read;
            while (length < prefix.Length && (read = await input.ReadAsync(prefix.AsMemory(length), ct).ConfigureAwait(false)) > 0)
            {
                length += read;
            }
            var kind = Detect(prefix.AsSpan(0, length));
            var rest = new PrefixedReadStream(prefix, length, new NonClosingStream(input));
            switch (kind)
            {
                case Kind.Empty:
                    await sink(Reject(source, "empty: no report in it", dkim)).ConfigureAwait(false);
                    break;
                case Kind.Json:
                    var parsed = await TlsRptReportParser.ParseAsync(rest, _settings, hints, ct).ConfigureAwait(false);
                    await sink(parsed.Report is { } report
                        ? new TlsRptInput(source, WithEnvelopeChecks(report, hints), null, dkim)
                        : Reject(source, parsed.Error!, dkim)).ConfigureAwait(false);
                    break;
                case Kind.Gzip:
                    var gzip = new GZipStream(rest, CompressionMode.Decompress);
                    await using (gzip.ConfigureAwait(false))
                    {
                        var bounded = new BoundedReadStream(gzip, _settings.MaxReportBytes, leaveOpen: true);
                        await ReadStreamAsync(bounded, source, depth + 1, hints, dkim, sink, ct).ConfigureAwait(false);
                    }
                    break;
                case Kind.Zip:
                    await ReadZipAsync(input.CanSeek ? Rewound(input, length) : rest, source, depth, hints, dkim, sink, ct).ConfigureAwait(false);
                    break;
                case Kind.Mbox:
                    await ReadMboxAsync(rest, source, depth, sink, ct).ConfigureAwait(false);
                    break;
                case Kind.Email:
                    MimeMessage message;
                    var limited = new BoundedReadStream(rest, _settings.MaxMessageBytes, leaveOpen: true);
                    await using (limited.ConfigureAwait(false))
                    {
                        message = await MimeMessage.LoadAsync(limited, ct).ConfigureAwait(false);
                    }
                    using (message)
                    {
                        await ReadMessageAsync(message, source, depth, sink, ct).ConfigureAwait(false);
                    }
                    break;
                default:
                    await sink(Reject(source, $"not a TLS-RPT report: neither JSON, gzip, zip, an email nor an mbox ({Describe(prefix.AsSpan(0, length))})", dkim)).ConfigureAwait(false);
                    break;
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw;
        }
        catch (TlsRptSizeLimitException ex)
        {
            await sink(Reject(source, $"larger than {TlsRptReportParser.Size(ex.Limit)} once decompressed or decoded (the limit on one report or message)", dkim)).ConfigureAwait(false);
        }
        catch (InvalidDataException ex)
        {
            await sink(Reject(source, "corrupt compressed data: " + TlsRptReportParser.OneLine(ex.Message), dkim)).ConfigureAwait(false);
        }
        catch (FormatException ex)
        {
            await sink(Reject(source, "not a readable email: " + TlsRptReportParser.OneLine(ex.Message), dkim)).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            await sink(Reject(source, "cannot be read: " + TlsRptReportParser.OneLine(ex.Message), dkim)).ConfigureAwait(false);
        }
    }

    private async Task ReadZipAsync(
        Stream input, string source, int depth, TlsRptEnvelopeHints? hints, TlsRptDkimResult dkim, Func<TlsRptInput, Task> sink, CancellationToken ct)
    {
        if (!input.CanSeek)
        {
            // A zip's directory is at its end: hold a compressed one in memory, within the report limit.
            var copy = new MemoryStream();
            var bounded = new BoundedReadStream(input, _settings.MaxReportBytes, leaveOpen: true);
            await using (bounded.ConfigureAwait(false))
            {
                await bounded.CopyToAsync(copy, ct).ConfigureAwait(false);
            }
            copy.Position = 0;
            input = copy;
        }
        ZipArchive archive;
        try
        {
            archive = await ZipArchive.CreateAsync(input, ZipArchiveMode.Read, leaveOpen: true, entryNameEncoding: null, ct).ConfigureAwait(false);
        }
        catch (InvalidDataException ex)
        {
            await sink(Reject(source, "corrupt or truncated zip archive: " + TlsRptReportParser.OneLine(ex.Message), dkim)).ConfigureAwait(false);
            return;
        }
        await using (archive.ConfigureAwait(false))
        {
            var files = archive.Entries.Where(e => !e.FullName.EndsWith('/')).ToList();
            if (files.Count == 0)
            {
                await sink(Reject(source, "zip archive holds no files", dkim)).ConfigureAwait(false);
            }
            foreach (var entry in files)
            {
                var name = $"{source}!{entry.FullName}";
                if (entry.Length > _settings.MaxReportBytes)
                {
                    await sink(Reject(name, $"larger than {TlsRptReportParser.Size(_settings.MaxReportBytes)} once decompressed (the limit on one report)", dkim)).ConfigureAwait(false);
                    continue;
                }
                try
                {
                    var stream = await entry.OpenAsync(ct).ConfigureAwait(false);
                    await using (stream.ConfigureAwait(false))
                    {
                        var bounded = new BoundedReadStream(stream, _settings.MaxReportBytes, leaveOpen: true);
                        await ReadStreamAsync(bounded, name, depth + 1, hints, dkim, sink, ct).ConfigureAwait(false);
                    }
                }
                catch (InvalidDataException ex)
                {
                    await sink(Reject(name, "corrupt zip entry: " + TlsRptReportParser.OneLine(ex.Message), dkim)).ConfigureAwait(false);
                }
            }
        }
    }

    private async Task ReadMboxAsync(Stream input, string source, int depth, Func<TlsRptInput, Task> sink, CancellationToken ct)
    {
        var parser = new MimeParser(input, MimeFormat.Mbox);
        var index = 0;
        while (!parser.IsEndOfStream)
        {
            index++;
            MimeMessage message;
            try
            {
                message = await parser.ParseMessageAsync(ct).ConfigureAwait(false);
            }
            catch (FormatException ex)
            {
                if (index > 1 && parser.IsEndOfStream)
                {
                    return; // trailing blank lines after the last message
                }
                await sink(Reject($"{source}#{index}", "unreadable mbox message: " + TlsRptReportParser.OneLine(ex.Message))).ConfigureAwait(false);
                return;
            }
            using (message)
            {
                await ReadMessageAsync(message, $"{source}#{index}", depth, sink, ct).ConfigureAwait(false);
            }
        }
    }

    private async Task ReadMessageAsync(MimeMessage message, string source, int depth, Func<TlsRptInput, Task> sink, CancellationToken ct)
    {
        var hints = new TlsRptEnvelopeHints(message.Headers["TLS-Report-Domain"]?.Trim(), message.Headers["TLS-Report-Submitter"]?.Trim());
        var dkim = _dkim is null ? TlsRptDkimResult.NotChecked : await _dkim.VerifyAsync(message, ct).ConfigureAwait(false);
        var found = 0;
        var partIndex = 0;
        foreach (var entity in message.BodyParts)
        {
            partIndex++;
            if (entity is MessagePart { Message: { } inner })
            {
                // A forwarded report (message/rfc822): its own parts; the outer signature is the one recorded.
                found++;
                await ReadMessageAsync(inner, $"{source}/forwarded-{partIndex}", depth + 1, sink, ct).ConfigureAwait(false);
                continue;
            }
            if (entity is not MimePart { Content: not null } part || !IsReportPart(part))
            {
                continue;
            }
            found++;
            var name = $"{source}/{part.FileName ?? $"part-{partIndex}"}";
            var decoded = new MemoryStream();
            await part.Content.DecodeToAsync(decoded, ct).ConfigureAwait(false);
            decoded.Position = 0;
            await ReadStreamAsync(decoded, name, depth + 1, hints, dkim, sink, ct).ConfigureAwait(false);
        }
        if (found == 0)
        {
            var subject = message.Subject is { Length: > 0 } s ? $" (Subject: {Truncate(TlsRptReportParser.OneLine(s), 60)})" : "";
            await sink(Reject(source, $"email without a TLS-RPT report attachment (application/tlsrpt+gzip or application/tlsrpt+json, RFC 8460 §5.3){subject}", dkim)).ConfigureAwait(false);
        }
    }

    /// <summary>Attachments that may hold a report: the RFC's media types, the generic ones senders use, or a report-like file name.</summary>
    private static bool IsReportPart(MimePart part)
    {
        var type = part.ContentType;
        if (type.MediaType.Equals("application", StringComparison.OrdinalIgnoreCase))
        {
            var subtype = type.MediaSubtype.ToLowerInvariant();
            if (subtype.StartsWith("tlsrpt", StringComparison.Ordinal) ||
                subtype is "gzip" or "x-gzip" or "json" or "zip" or "x-zip" or "x-zip-compressed" or "octet-stream")
            {
                return true;
            }
        }
        var file = part.FileName?.ToLowerInvariant();
        return file is not null && (file.EndsWith(".json", StringComparison.Ordinal) || file.EndsWith(".gz", StringComparison.Ordinal) || file.EndsWith(".zip", StringComparison.Ordinal));
    }

    /// <summary>The JSON is authoritative over the email: a TLS-Report-Domain naming another domain is only noted.</summary>
    private static TlsRptReport WithEnvelopeChecks(TlsRptReport report, TlsRptEnvelopeHints? hints)
    {
        if (TlsRptReportParser.Domain(hints?.ReportDomain) is { } header && report.Policies.Count > 0 &&
            !report.Policies.Any(p => p.PolicyDomain == header))
        {
            return report with
            {
                Warnings = [.. report.Warnings, $"TLS-Report-Domain header '{header}' names none of the report's policy-domains; the JSON counts"],
            };
        }
        return report;
    }

    private static Kind Detect(ReadOnlySpan<byte> head)
    {
        if (head.Length == 0)
        {
            return Kind.Empty;
        }
        if (head.Length >= 2 && head[0] == 0x1F && head[1] == 0x8B)
        {
            return Kind.Gzip;
        }
        if (head.Length >= 4 && head[0] == (byte)'P' && head[1] == (byte)'K' && ((head[2] == 3 && head[3] == 4) || (head[2] == 5 && head[3] == 6)))
        {
            return Kind.Zip;
        }
        var text = head;
        if (text.StartsWith("\uFEFF"u8))
        {
            text = text[3..];
        }
        var first = text.IndexOfAnyExcept(" \t\r\n"u8);
        if (first < 0)
        {
            return Kind.Empty;
        }
        if (text[first] is (byte)'{' or (byte)'[')
        {
            return Kind.Json;
        }
        if (text.StartsWith("From "u8))
        {
            return Kind.Mbox;
        }
        // An email starts with a header field: a name of printable characters, then a colon (RFC 5322 §2.2).
        var line = text[..(text.IndexOfAny((byte)'\r', (byte)'\n') is var end and >= 0 ? end : text.Length)];
        var colon = line.IndexOf((byte)':');
        if (colon > 0)
        {
            var name = line[..colon];
            if (name.IndexOfAnyExceptInRange((byte)33, (byte)126) < 0)
            {
                return Kind.Email;
            }
        }
        return Kind.Unknown;
    }

    private static string Describe(ReadOnlySpan<byte> head)
    {
        if (head.Length == 0)
        {
            return "empty";
        }
        var sample = head[..Math.Min(8, head.Length)];
        var printable = sample.IndexOfAnyExceptInRange((byte)32, (byte)126) < 0;
        return printable ? $"starts with \"{Encoding.ASCII.GetString(sample)}\"" : $"starts with bytes {Convert.ToHexString(sample)}";
    }

    private static string Truncate(string text, int max) => text.Length <= max ? text : text[..max] + "…";

    private static Stream Rewound(Stream input, int sniffed)
    {
        input.Seek(-sniffed, SeekOrigin.Current);
        return new NonClosingStream(input);
    }

    private static TlsRptInput Reject(string source, string reason, TlsRptDkimResult? dkim = null) =>
        new(source, null, reason, dkim ?? TlsRptDkimResult.NotChecked);

    /// <summary>Passes everything through but leaves the inner stream open on dispose (the caller owns it).</summary>
    private sealed class NonClosingStream(Stream inner) : Stream
    {
        public override bool CanRead => inner.CanRead;
        public override bool CanSeek => inner.CanSeek;
        public override bool CanWrite => false;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => inner.Position = value; }
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override int Read(Span<byte> buffer) => inner.Read(buffer);
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.ReadAsync(buffer, offset, count, cancellationToken);
        public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);
        public override void Flush() { }
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
