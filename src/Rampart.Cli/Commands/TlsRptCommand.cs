using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Rampart.Core;
using Rampart.Core.TlsRpt;
using Rampart.Hosting;
using Rampart.Postfix.Daemon;
using Rampart.Storage.TlsRpt;

namespace Rampart.Cli.Commands;

/// <summary>
/// <c>rampart tlsrpt import PATH…</c> and <c>rampart tlsrpt summary</c>: read TLS-RPT aggregate reports (RFC 8460) from
/// files, folders, mbox files and Maildirs into the report store, and tell the operator what they say.
/// </summary>
internal static class TlsRptCommand
{
    public static Command Create()
    {
        var stateDir = GlobalOptions.StateDir;
        var store = new Option<string?>("--store")
        {
            Description = "Where reports are kept, instead of the state directory: a PostgreSQL URL " +
                          "(postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=…]; leave the password out and use PGPASSWORD or " +
                          "~/.pgpass) for a store shared by several hosts, or the path of a SQLite file.",
            HelpName = "URL|FILE",
            Recursive = true,
        };
        var where = new StoreChoice(stateDir, store);
        return new Command("tlsrpt",
            "TLS-RPT (RFC 8460) aggregate reports: import what reporters (Google, Microsoft, Mail.ru, …) send, and summarise them per domain; " +
            "build and send our own reports about the mail we send (report, send, suppressed). " +
            $"The report store is {SqliteTlsReportStore.FileName} in --state-dir unless --store names another.")
        {
            store, Import(where), Summary(where), TlsRptIngestLogCommand.Create(store), TlsRptReportCommand.Report(store), TlsRptReportCommand.Send(store), TlsRptReportCommand.Suppressed(store), TlsRptReportCommand.Bounce(store),
        };
    }

    /// <summary>The two options that say where the report store is: <c>--store URL|FILE</c>, else <c>--state-dir</c>, else the default state directory.</summary>
    private sealed record StoreChoice(Option<string?> StateDir, Option<string?> Store)
    {
        public Task<ITlsReportStore> OpenAsync(ParseResult parse, CancellationToken ct) =>
            OpenStoreAsync(parse.GetValue(Store), parse.GetValue(StateDir), ct);
    }

    /// <summary>
    /// Opens the report store <paramref name="store"/> names (a postgres:// URL or a SQLite file), else the SQLite store
    /// in <paramref name="stateDir"/>, else in the default state directory. Both given is an error. Shared with
    /// <c>rampart serve</c>, whose POST receiver stores into the same place.
    /// </summary>
    internal static async Task<ITlsReportStore> OpenStoreAsync(string? store, string? stateDir, CancellationToken ct)
    {
        if (store is null)
        {
            var directory = StateDirectory.Choose(stateDir);
            StateDirectory.RequireWritable(directory);
            return await SqliteTlsReportStore.OpenInDirectoryAsync(directory, TimeProvider.System, Notice, ct).ConfigureAwait(false);
        }
        if (string.IsNullOrWhiteSpace(store))
        {
            throw new RampartException("--store '': give a postgres:// URL or the path of a SQLite file");
        }
        if (stateDir is not null)
        {
            throw new RampartException($"--store and --state-dir both say where the reports are kept; give only one (--store {PostgresStoreAddress.Redact(store)})");
        }
        return PostgresStoreAddress.IsPostgresUrl(store)
            ? await PostgresTlsReportStore.OpenAsync(store, TimeProvider.System, Notice, ct).ConfigureAwait(false)
            : await SqliteTlsReportStore.OpenAsync(store, TimeProvider.System, Notice, ct).ConfigureAwait(false);

        static void Notice(string line) => Console.Error.WriteLine("rampart: " + DisplayText.Sanitize(line, 500));
    }

    private static Command Import(StoreChoice where)
    {
        var paths = new Argument<string[]>("path")
        {
            Description = "Report files (.json, .json.gz, .zip, .eml, whatever their names), folders (read recursively), mbox files or Maildirs.",
            Arity = ArgumentArity.OneOrMore,
        };
        var json = new Option<bool>("--json") { Description = "Write the outcome as JSON (keys: store, files, imported, duplicates, rejected, reports, rejections)." };
        var maxSize = OptionValues.Count("--max-report-size", "Largest report accepted once decompressed, in MiB.",
            (int)(TlsRptReadSettings.DefaultMaxReportBytes / (1024 * 1024)), 1, 4096, "MiB", "MIB");
        var noDkim = new Option<bool>("--no-dkim") { Description = "Do not verify DKIM signatures of emailed reports (no DNS lookups); they are recorded as not checked." };
        var command = new Command("import",
            "Import reports into the store. Containers are recognised by content: gzip, zip, an email (multipart/report), an mbox. " +
            "A report already stored (same organization, report-id and date range) is counted as a duplicate and left as it is, so " +
            "importing a folder again changes nothing; a file imported before (same SHA-256, all its reports stored) is not read again, its " +
            "reports are counted as duplicates as stored. Reports are committed in batches (500 reports or about 16 MiB); the counts printed " +
            "are of committed reports. DKIM signatures of emailed reports are verified and recorded, never a reason " +
            "to reject. Exit 0 when nothing was rejected, 1 when some input was rejected (each is listed with the reason), 2 on a " +
            "usage or I/O error.")
        {
            paths, json, maxSize, noDkim,
        };
        command.WithNetwork(webPki: false).WithStateDir();
        command.SetAction((parse, ct) => Verb.RunAsync(async () =>
        {
            var size = parse.GetValue(maxSize);
            var settings = new TlsRptReadSettings
            {
                MaxReportBytes = size * 1024L * 1024,
                MaxMessageBytes = Math.Max(2L * size * 1024 * 1024, TlsRptReadSettings.DefaultMaxReportBytes),
                VerifyDkim = !parse.GetValue(noDkim),
            };
            var inputs = TlsRptInputFiles.Expand(parse.GetValue(paths)!);
            if (inputs.Errors.Count > 0)
            {
                foreach (var error in inputs.Errors)
                {
                    Console.Error.WriteLine("rampart: " + error);
                }
                return ExitCodes.InputError;
            }
            TlsRptDkimVerifier? dkim = null;
            if (settings.VerifyDkim)
            {
                dkim = new TlsRptDkimVerifier(Services.Create(parse).Dns);
            }
            var store = await where.OpenAsync(parse, ct).ConfigureAwait(false);
            await using (store.ConfigureAwait(false))
            {
                var listed = parse.GetValue(json) || parse.GetValue(GlobalOptions.Verbose);
                var outcome = await ImportAsync(store, new TlsRptInputReader(settings, dkim), inputs.Files, listed, ct).ConfigureAwait(false);
                if (parse.GetValue(json))
                {
                    WriteImportJson(store.Location, inputs.Files.Count, outcome);
                }
                else
                {
                    WriteImportHuman(store.Location, inputs.Files.Count, outcome, parse.GetValue(GlobalOptions.Verbose));
                }
                return outcome.Rejected.Count > 0 ? ExitCodes.Invalid : ExitCodes.Ok;
            }
        }, ct));
        return command;
    }

    /// <summary>What the listing (<c>--json</c>, <c>-v</c>) shows of one stored report: not the report with its failure details.</summary>
    private sealed record ImportedReport(
        string Source, bool Imported, string Organization, string ReportId, DateTimeOffset Start, DateTimeOffset End,
        IReadOnlyList<string> PolicyDomains, long Successful, long Failed, TlsRptDkimResult Dkim, IReadOnlyList<string> Warnings)
    {
        public static ImportedReport Of(string source, TlsRptReport r, TlsRptDkimResult dkim, TlsRptStoreOutcome outcome) =>
            new(source, outcome == TlsRptStoreOutcome.Imported, r.OrganizationName, r.ReportId, r.StartDatetime, r.EndDatetime,
                [.. r.Policies.Select(p => p.PolicyDomain).Distinct(StringComparer.Ordinal)], r.TotalSuccessful, r.TotalFailed, dkim, r.Warnings);
    }

    /// <summary>
    /// The counts, the rejections, and (only when <paramref name="listed"/>: the output lists them) a line per stored
    /// report: an import of 100,000 reports without <c>--json</c> or <c>-v</c> keeps no per-report state.
    /// </summary>
    private sealed class ImportOutcome(bool listed)
    {
        public List<ImportedReport> Reports { get; } = [];
        public List<TlsRptInput> Rejected { get; } = [];
        public int Imported { get; private set; }
        public int Duplicates { get; private set; }

        /// <summary>Counts <paramref name="count"/> duplicates the output does not list (a known file's reports, not read).</summary>
        public void AddDuplicates(int count)
        {
            Debug.Assert(!listed, "a listing import reads a known file's reports");
            Duplicates += count;
        }

        public void Add(string source, TlsRptReport report, TlsRptDkimResult dkim, TlsRptStoreOutcome stored)
        {
            if (stored == TlsRptStoreOutcome.Imported)
            {
                Imported++;
            }
            else
            {
                Duplicates++;
            }
            if (listed)
            {
                Reports.Add(ImportedReport.Of(source, report, dkim, stored));
            }
        }
    }

    /// <summary>Files hashed and looked up in the store's known-file index together.</summary>
    private const int FilesPerLookup = 256;

    /// <summary>A file being imported: its hash, its reports so far, and how many of them wait in the batch.</summary>
    private sealed class FileImport(string path, string sha256)
    {
        public string Sha256 { get; } = sha256;
        public List<(string Suffix, TlsRptReport Report)> Reports { get; } = [];
        public int Pending { get; set; }
        public bool Rejected { get; set; }
        public bool Read { get; set; }
        public bool Remembered { get; set; }

        public string Suffix(string source) => source.StartsWith(path, StringComparison.Ordinal) ? source[path.Length..] : source;
    }

    /// <summary>
    /// Reads the files and stores their reports in batches (<see cref="TlsRptImportBatch{T}"/>: one transaction each).
    /// The outcome and the progress line count a report only once its batch is committed, so an importer stopped
    /// mid-batch has said nothing about the reports it loses. A file the store's known-file index holds (same SHA-256,
    /// all its reports stored) is not read: its reports, as stored, are duplicates. A file all of whose reports are now
    /// stored, none rejected, is remembered in the index after its last batch is committed.
    /// </summary>
    private static async Task<ImportOutcome> ImportAsync(ITlsReportStore store, TlsRptInputReader reader, IReadOnlyList<string> files, bool listed, CancellationToken ct)
    {
        var outcome = new ImportOutcome(listed);
        var batch = new TlsRptImportBatch<(TlsRptInput Input, FileImport? File)>();
        var index = store as ITlsReportFileIndex;
        var finished = new List<TlsRptKnownFile>();
        var progress = !Console.IsErrorRedirected && files.Count >= 20 ? Stopwatch.StartNew() : null;
        for (var first = 0; first < files.Count; first += FilesPerLookup)
        {
            var chunk = files.Skip(first).Take(FilesPerLookup).ToList();
            var hashes = new string?[chunk.Count];
            IReadOnlyDictionary<string, IReadOnlyList<TlsRptStoredReport>> known = new Dictionary<string, IReadOnlyList<TlsRptStoredReport>>();
            IReadOnlyDictionary<string, int> knownCounts = new Dictionary<string, int>();
            if (index is not null)
            {
                for (var k = 0; k < chunk.Count; k++)
                {
                    hashes[k] = await Sha256Async(chunk[k], ct).ConfigureAwait(false);
                }
                var distinct = hashes.OfType<string>().Distinct(StringComparer.Ordinal).ToList();
                if (listed)
                {
                    known = await index.KnownFilesAsync(distinct, ct).ConfigureAwait(false);
                }
                else
                {
                    knownCounts = await index.KnownFileCountsAsync(distinct, ct).ConfigureAwait(false);
                }
            }
            for (var k = 0; k < chunk.Count; k++)
            {
                var path = chunk[k];
                if (hashes[k] is { } sha && known.TryGetValue(sha, out var stored))
                {
                    foreach (var r in stored)
                    {
                        outcome.Add(path + r.Source, r.Report, r.Dkim, TlsRptStoreOutcome.Duplicate);
                    }
                }
                else if (hashes[k] is { } counted && knownCounts.TryGetValue(counted, out var reports))
                {
                    outcome.AddDuplicates(reports);
                }
                else
                {
                    var file = hashes[k] is { } hash ? new FileImport(path, hash) : null;
                    await reader.ReadFileAsync(path, async input =>
                    {
                        if (input.Report is { } report)
                        {
                            if (file is not null)
                            {
                                file.Reports.Add((file.Suffix(input.Source), report));
                                file.Pending++;
                            }
                            batch.Add((input, file), new TlsRptStoredReport(report, input.Source, input.Dkim));
                            if (batch.IsFull)
                            {
                                await StoreAsync().ConfigureAwait(false);
                            }
                        }
                        else
                        {
                            outcome.Rejected.Add(input);
                            file?.Rejected = true;
                        }
                    }, ct).ConfigureAwait(false);
                    if (file is not null)
                    {
                        file.Read = true;
                        Finish(file);
                    }
                }
                var done = first + k + 1;
                if (done == files.Count)
                {
                    await StoreAsync().ConfigureAwait(false);
                    await RememberAsync().ConfigureAwait(false);
                }
                if (progress is not null && (progress.ElapsedMilliseconds >= 200 || done == files.Count))
                {
                    progress.Restart();
                    Console.Error.Write($"\rrampart: {done}/{files.Count} files: {outcome.Imported} imported, {outcome.Duplicates} duplicate, {outcome.Rejected.Count} rejected ");
                }
            }
        }
        if (progress is not null)
        {
            Console.Error.WriteLine();
        }
        return outcome;

        async Task StoreAsync()
        {
            var pending = batch.Take();
            if (pending.Count == 0)
            {
                return;
            }
            var results = await store.AddBatchAsync(pending.Select(p => p.Report).ToList(), ct).ConfigureAwait(false);
            for (var k = 0; k < pending.Count; k++)
            {
                var (input, file) = pending[k].Item;
                if (results[k].Rejection is { } refused)
                {
                    outcome.Rejected.Add(input with { Report = null, Rejection = refused });
                    file?.Rejected = true;
                }
                else
                {
                    outcome.Add(input.Source, input.Report!, input.Dkim, results[k].Outcome);
                }
                if (file is not null)
                {
                    file.Pending--;
                    Finish(file);
                }
            }
            await RememberAsync().ConfigureAwait(false);
        }

        void Finish(FileImport file)
        {
            if (file.Read && file.Pending == 0 && !file.Rejected && !file.Remembered && file.Reports.Count > 0)
            {
                finished.Add(new TlsRptKnownFile(file.Sha256, file.Reports));
                file.Remembered = true;
            }
        }

        async Task RememberAsync()
        {
            if (index is not null && finished.Count > 0)
            {
                await index.RememberFilesAsync(finished, ct).ConfigureAwait(false);
                finished.Clear();
            }
        }
    }

    /// <summary>The SHA-256 of a regular file's bytes (lower-case hex); null when it cannot be read (the reader then says why).</summary>
    private static async Task<string?> Sha256Async(string path, CancellationToken ct)
    {
        if (Rampart.Core.IO.UserFile.WhyNotReadable(path, long.MaxValue) is not null)
        {
            return null;
        }
        try
        {
            var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, FileOptions.Asynchronous | FileOptions.SequentialScan);
            await using (file.ConfigureAwait(false))
            {
                return Convert.ToHexStringLower(await System.Security.Cryptography.SHA256.HashDataAsync(file, ct).ConfigureAwait(false));
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static void WriteImportHuman(string location, int files, ImportOutcome outcome, bool verbose)
    {
        Console.WriteLine($"{files} file(s): {ConsoleReport.Ok($"{outcome.Imported} imported")}, {outcome.Duplicates} duplicate, " +
                          $"{(outcome.Rejected.Count > 0 ? ConsoleReport.Failure($"{outcome.Rejected.Count} rejected") : "0 rejected")} (store {location})");
        if (verbose)
        {
            foreach (var r in outcome.Reports)
            {
                Console.WriteLine($"  {(r.Imported ? "imported " : "duplicate")} {Shown(r.Source)}: {Shown(r.Organization)} {Shown(r.ReportId)} " +
                                  $"{r.Start:yyyy-MM-dd}..{r.End:yyyy-MM-dd} {Shown(string.Join(",", r.PolicyDomains))}: " +
                                  $"{r.Successful} ok, {r.Failed} failed; DKIM {r.Dkim.StatusName}{(r.Dkim.Domain is { } d ? $" ({Shown(d)})" : "")}");
                foreach (var warning in r.Warnings)
                {
                    Console.WriteLine($"    {ConsoleReport.Note("note")} {Shown(warning)}");
                }
            }
        }
        foreach (var rejected in outcome.Rejected)
        {
            Console.WriteLine($"  {ConsoleReport.Failure("rejected")} {Shown(rejected.Source)}: {Shown(rejected.Rejection)}");
        }
    }

    private static void WriteImportJson(string location, int files, ImportOutcome outcome)
    {
        JsonShapes.WriteStdout(w =>
        {
            w.WriteStartObject();
            w.WriteString("store", location);
            w.WriteNumber("files", files);
            w.WriteNumber("imported", outcome.Imported);
            w.WriteNumber("duplicates", outcome.Duplicates);
            w.WriteNumber("rejected", outcome.Rejected.Count);
            w.WriteStartArray("reports");
            foreach (var r in outcome.Reports)
            {
                w.WriteStartObject();
                w.WriteString("source", r.Source);
                w.WriteString("outcome", r.Imported ? "imported" : "duplicate");
                w.WriteString("organization", r.Organization);
                w.WriteString("report_id", r.ReportId);
                w.WriteString("start", ConsoleReport.Stamp(r.Start));
                w.WriteString("end", ConsoleReport.Stamp(r.End));
                ConsoleReport.WriteStrings(w, "policy_domains", r.PolicyDomains);
                w.WriteNumber("successful", r.Successful);
                w.WriteNumber("failed", r.Failed);
                w.WriteString("dkim", r.Dkim.StatusName);
                if (r.Dkim.Domain is { } dkimDomain)
                {
                    w.WriteString("dkim_domain", dkimDomain);
                }
                ConsoleReport.WriteStrings(w, "warnings", r.Warnings);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("rejections");
            foreach (var rejected in outcome.Rejected)
            {
                w.WriteStartObject();
                w.WriteString("source", rejected.Source);
                w.WriteString("reason", rejected.Rejection);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    private static Command Summary(StoreChoice where)
    {
        var domain = new Option<string?>("--domain") { Description = "Only this policy domain.", HelpName = "DOMAIN" };
        var days = OptionValues.OptionalCount("--days", "Only reports whose date range ends within the last N days.", 1, 36500, "days", "N");
        var json = new Option<bool>("--json") { Description = "Write the summary as JSON (keys: domains[].policy_domain, successful, failed, failure_types, failures_by_mx, failures_by_sending_ip (the top N) and their _not_listed counts, reporters[].severity, days[], advice, …)." };
        var top = OptionValues.Count("--top", "Receiving MX hosts and sending IPs listed per domain, most failed sessions first; the others are counted (how many, their sessions).",
            TlsRptSummaryQuery.DefaultTopItems, 1, TlsRptSummaryQuery.MaxTopItems, "items", "N");
        var command = new Command("summary",
            "Per policy domain and reporter: sessions ok and failed, the failure rate, a line of failed sessions per day, failures by result type, " +
            "MX host and sending IP, first and last report, and advice when the failure rate of the domain or of one reporter crosses 1 % (warning) " +
            "or 5 % (failure), a reporter goes silent or a failure type is new. Says whether an empty answer is an empty store or a filter that matches nothing.")
        {
            domain, days, json, top,
        };
        command.WithStateDir();
        command.SetAction((parse, ct) => Verb.RunAsync(async () =>
        {
            DateTimeOffset? since = null;
            if (parse.GetValue(days) is { } n)
            {
                since = TimeProvider.System.GetUtcNow().AddDays(-n);
            }
            var store = await where.OpenAsync(parse, ct).ConfigureAwait(false);
            await using (store.ConfigureAwait(false))
            {
                var query = new TlsRptSummaryQuery(parse.GetValue(domain), since, parse.GetValue(top));
                var domains = TlsRptSummaryBuilder.Build(await store.AggregateAsync(query, ct).ConfigureAwait(false));
                var daily = await ((ITlsReportHistory)store).DailyAsync(query, ct).ConfigureAwait(false);
                if (parse.GetValue(json))
                {
                    WriteSummaryJson(domains, daily);
                }
                else if (domains.Count > 0)
                {
                    WriteSummaryHuman(domains, daily);
                }
                else if (query.PolicyDomain is null && since is null)
                {
                    Console.WriteLine($"the report store {store.Location} is empty: import reports with 'rampart tlsrpt import PATH'");
                }
                else
                {
                    var stored = TlsRptSummaryBuilder.Build(await store.AggregateAsync(new TlsRptSummaryQuery(), ct).ConfigureAwait(false));
                    var filter = string.Join(" and ", new[]
                    {
                        query.PolicyDomain is { } d ? $"--domain {Shown(d)}" : null,
                        parse.GetValue(days) is { } recent ? $"--days {recent}" : null,
                    }.OfType<string>());
                    Console.WriteLine(stored.Count == 0
                        ? $"the report store {store.Location} is empty: import reports with 'rampart tlsrpt import PATH'"
                        : $"no reports match {filter}; the store holds {stored.Sum(x => x.Reports)} report(s) for {stored.Count} domain(s) " +
                          $"({string.Join(", ", stored.Take(5).Select(x => Shown(x.PolicyDomain)))}{(stored.Count > 5 ? ", …" : "")}), the newest ending {stored.Max(x => x.LastSeen):yyyy-MM-dd}");
                }
                return ExitCodes.Ok;
            }
        }, ct));
        return command;
    }

    private static void WriteSummaryHuman(IReadOnlyList<TlsRptDomainSummary> domains, TlsRptDaily allDays)
    {
        var perDomain = PerDomain(allDays);
        foreach (var d in domains)
        {
            var daily = perDomain(d.PolicyDomain);
            var name = d.PolicyDomain.Length > 0 ? Shown(d.PolicyDomain) : "(no policy-domain)";
            Console.WriteLine($"{name}: {d.Successful} ok, {d.Failed} failed ({Rate(d.FailureRate)}) in {d.Reports} report(s), {d.FirstSeen:yyyy-MM-dd} .. {d.LastSeen:yyyy-MM-dd}");
            var days = daily.Days.Where(r => r.PolicyDomain == d.PolicyDomain).ToList();
            if (days.Count > 1)
            {
                Console.WriteLine($"  failed per day {days[0].Day:yyyy-MM-dd}..{days[^1].Day:yyyy-MM-dd}: {TlsRptTrend.Sparkline(days)}  " +
                                  $"(most: {days.Max(r => r.Failed)} on {days.MaxBy(r => r.Failed)!.Day:yyyy-MM-dd}; · = no report)");
            }
            foreach (var r in d.Reporters)
            {
                var severity = TlsRptFindings.Severity(r.FailureRate, new TlsRptAdviceSettings());
                Console.WriteLine($"  {Shown(r.Organization)}: {r.Reports} report(s), {r.Successful} ok, {r.Failed} failed ({Rate(r.FailureRate)}), {r.FirstSeen:yyyy-MM-dd} .. {r.LastSeen:yyyy-MM-dd}" +
                                  (severity is null ? "" : " " + ConsoleReport.AdviceLabel(severity)));
            }
            Line("failures by type", d.FailureTypes, default);
            Line("failures by MX", d.FailuresByMx, d.MxHostsNotListed);
            Line("failures by sending IP", d.FailuresBySendingIp, d.SendingIpsNotListed);
            foreach (var advice in Advice(d, daily))
            {
                Console.WriteLine($"  {ConsoleReport.AdviceLabel(advice.Severity)} {Shown(advice.Message, 500)}");
                Console.WriteLine($"       fix: {Shown(advice.Fix, 500)}");
            }
        }

        static void Line(string title, IReadOnlyDictionary<string, long> counts, TlsRptNotListed notListed)
        {
            var more = Math.Max(0, counts.Count - 10) + notListed.Items;
            if (counts.Count > 0)
            {
                Console.WriteLine($"  {title}: {string.Join(", ", counts.Take(10).Select(kv => $"{Shown(kv.Key)} {kv.Value}"))}{(more > 0 ? $", … ({more} more)" : "")}");
            }
        }
    }

    /// <summary>
    /// Each domain's own per-day series, split once: filtering every domain's rows for each domain costs domains × rows
    /// (300 × ~100,000 over the 100,000 generated reports of docs/benchmarks.md §21).
    /// </summary>
    private static Func<string, TlsRptDaily> PerDomain(TlsRptDaily daily)
    {
        var days = daily.Days.ToLookup(r => r.PolicyDomain, StringComparer.Ordinal);
        var types = daily.FailureTypes.ToLookup(r => r.PolicyDomain, StringComparer.Ordinal);
        return domain => new TlsRptDaily([.. days[domain]], [.. types[domain]]);
    }

    /// <summary>The advice on a domain's totals, then the findings only reporters and days show (a reporter above the threshold, gone silent, a new failure type).</summary>
    private static IEnumerable<TlsRptAdvice> Advice(TlsRptDomainSummary d, TlsRptDaily daily) =>
        TlsRptAdvisor.Advise(d).Concat(TlsRptFindings.Find(d, daily.FailureTypes, null));

    private static void WriteSummaryJson(IReadOnlyList<TlsRptDomainSummary> domains, TlsRptDaily allDays)
    {
        var perDomain = PerDomain(allDays);
        JsonShapes.WriteStdout(w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("domains");
            foreach (var d in domains)
            {
                var daily = perDomain(d.PolicyDomain);
                w.WriteStartObject();
                w.WriteString("policy_domain", d.PolicyDomain);
                Totals(w, d.Reports, d.Successful, d.Failed, d.FailureRate);
                ConsoleReport.WriteCounts(w, "failure_types", d.FailureTypes);
                ConsoleReport.WriteCounts(w, "failures_by_mx", d.FailuresByMx);
                NotListed(w, "failures_by_mx_not_listed", d.MxHostsNotListed);
                ConsoleReport.WriteCounts(w, "failures_by_sending_ip", d.FailuresBySendingIp);
                NotListed(w, "failures_by_sending_ip_not_listed", d.SendingIpsNotListed);
                Range(w, d.FirstSeen, d.LastSeen);
                w.WriteStartArray("reporters");
                foreach (var r in d.Reporters)
                {
                    w.WriteStartObject();
                    w.WriteString("organization", r.Organization);
                    Totals(w, r.Reports, r.Successful, r.Failed, r.FailureRate);
                    w.WriteString("severity", TlsRptFindings.Severity(r.FailureRate, new TlsRptAdviceSettings()) ?? (r.Failed > 0 ? "info" : "ok"));
                    ConsoleReport.WriteCounts(w, "failure_types", r.FailureTypes);
                    Range(w, r.FirstSeen, r.LastSeen);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteStartArray("days");
                foreach (var day in daily.Days.Where(r => r.PolicyDomain == d.PolicyDomain))
                {
                    w.WriteStartObject();
                    w.WriteString("day", day.Day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
                    w.WriteNumber("reports", day.Reports);
                    w.WriteNumber("successful", day.Successful);
                    w.WriteNumber("failed", day.Failed);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteStartArray("advice");
                foreach (var advice in Advice(d, daily))
                {
                    ConsoleReport.WriteAdvice(w, advice.Id, advice.Severity, advice.Message, advice.Fix);
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        });

        static void Totals(Utf8JsonWriter w, int reports, long successful, long failed, double failureRate)
        {
            w.WriteNumber("reports", reports);
            w.WriteNumber("successful", successful);
            w.WriteNumber("failed", failed);
            w.WriteNumber("failure_rate", Math.Round(failureRate, 6));
        }

        static void NotListed(Utf8JsonWriter w, string name, TlsRptNotListed notListed)
        {
            w.WriteStartObject(name);
            w.WriteNumber("items", notListed.Items);
            w.WriteNumber("sessions", notListed.Sessions);
            w.WriteEndObject();
        }

        static void Range(Utf8JsonWriter w, DateTimeOffset firstSeen, DateTimeOffset lastSeen)
        {
            w.WriteString("first_seen", ConsoleReport.Stamp(firstSeen));
            w.WriteString("last_seen", ConsoleReport.Stamp(lastSeen));
        }
    }

    private static string Rate(double rate) => rate.ToString("P1", CultureInfo.InvariantCulture);

    /// <summary>A value from a report (attacker-controlled: it arrives by mail or POST) as the terminal may show it.</summary>
    private static string Shown(string? value, int maxLength = DisplayText.DefaultMaxLength) => DisplayText.Sanitize(value, maxLength);
}
