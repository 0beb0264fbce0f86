using System.Globalization;
using System.Net;
using DnsClient;
using DnsClient.Protocol;
using DnsClientMx = DnsClient.Protocol.MxRecord;

namespace Rampart.Core.Dns;

/// <summary>
/// <see cref="IDnsResolver"/> on DnsClient.NET, asking one validating resolver. Sends DO, reads AD (trusted only as
/// <see cref="DnsResolverSettings.TrustAd"/> says), caches nothing (Rampart caches policy, not DNS), follows CNAMEs,
/// and turns every DNS outcome into a <see cref="DnsResult{T}"/>: it throws only <see cref="OperationCanceledException"/>
/// when the caller's token is cancelled.
/// </summary>
public sealed class DnsClientResolver : IDnsResolver, IDnsSignatureSource
{
    // DNS flag day 2020: a UDP payload size that avoids IP fragmentation; bigger answers come over TCP.
    private const int EdnsBufferSize = 1232;

    private readonly LookupClient _client;

    public DnsClientResolver(DnsResolverSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        Settings = settings;
        var options = new LookupClientOptions(new NameServer(settings.Endpoint.ToIPEndPoint()))
        {
            RequestDnsSecRecords = true,          // EDNS0 with the DO bit, so a validating resolver sets AD
            UseCache = false,
            ThrowDnsErrors = false,
            ContinueOnDnsError = false,
            ContinueOnEmptyResponse = false,
            UseRandomNameServer = false,
            Recursion = true,
            Timeout = settings.Timeout,
            Retries = settings.Retries,
            UseTcpFallback = settings.UseTcpFallback,
            ExtendedDnsBufferSize = EdnsBufferSize,
            EnableAuditTrail = false,
        };
        _client = new LookupClient(options);
    }

    public DnsResolverSettings Settings { get; }

    public Task<DnsResult<string>> QueryTxtAsync(string name, CancellationToken cancellationToken) =>
        LookupAsync(name, QueryType.TXT, static r => r is TxtRecord txt ? string.Concat(txt.Text) : null, cancellationToken);

    public Task<DnsResult<MxRecord>> QueryMxAsync(string name, CancellationToken cancellationToken) =>
        LookupAsync(name, QueryType.MX,
            static r => r is DnsClientMx mx ? new MxRecord(mx.Preference, DnsName.FromWire(mx.Exchange.Original)) : null,
            cancellationToken);

    public Task<DnsResult<TlsaRecordData>> QueryTlsaAsync(string name, CancellationToken cancellationToken) =>
        LookupAsync(name, QueryType.TLSA,
            static r => r is TlsaRecord t
                ? new TlsaRecordData((byte)t.CertificateUsage, (byte)t.Selector, (byte)t.MatchingType, [.. t.CertificateAssociationData])
                : null,
            cancellationToken);

    public async Task<DnsResult<IPAddress>> QueryAddressesAsync(string name, CancellationToken cancellationToken)
    {
        var v4Task = LookupAsync(name, QueryType.A, static r => r is ARecord a ? a.Address : null, cancellationToken);
        var v6Task = LookupAsync(name, QueryType.AAAA, static r => r is AaaaRecord a ? a.Address : null, cancellationToken);
        await Task.WhenAll(v4Task, v6Task).ConfigureAwait(false);
        var (v4, v6) = (await v4Task.ConfigureAwait(false), await v6Task.ConfigureAwait(false));
        return MergeAddresses(v4, v6);
    }

    /// <summary>
    /// Asks for <paramref name="type"/> at <paramref name="name"/> (DO set, so a validating resolver returns the RRSIGs with
    /// the answer) and returns the RRSIGs that cover it at the name or at the end of its CNAME chain.
    /// </summary>
    public async Task<DnsResult<DnsSignature>> QuerySignaturesAsync(string name, string type, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(type);
        if (!Enum.TryParse<QueryType>(type, ignoreCase: true, out var queryType) || !DnsName.TryNormalize(name, out var queryName, out _))
        {
            return DnsResult<DnsSignature>.Failed(name, DnsErrorKind.Other, $"cannot ask for {type} signatures at '{name}'");
        }

        var (response, failure) = await AskAsync(queryName, queryType, cancellationToken).ConfigureAwait(false);
        if (response is null)
        {
            return DnsResult<DnsSignature>.Failed(queryName, failure.Kind, failure.Message);
        }

        var secure = response.Header.IsAuthenticData && Settings.TrustAd;
        if (response.Header.ResponseCode != DnsHeaderResponseCode.NoError)
        {
            var (kind, text) = DescribeRcode(response.Header.ResponseCode);
            return response.Header.ResponseCode == DnsHeaderResponseCode.NotExistentDomain
                ? new DnsResult<DnsSignature>(queryName, DnsOutcome.NxDomain, secure, [], [])
                : DnsResult<DnsSignature>.Failed(queryName, kind, $"{text} from {Settings.Endpoint} for {queryName} {queryType}");
        }

        var signatures = response.Answers.OfType<RRSigRecord>()
            .Where(r => (int)r.CoveredType == (int)queryType)
            .Select(r => new DnsSignature(DnsName.FromWire(r.DomainName.Original), type.ToUpperInvariant(), DnsName.FromWire(r.SignersName.Original),
                r.SignatureInception, r.SignatureExpiration))
            .ToList();
        return new DnsResult<DnsSignature>(queryName, signatures.Count > 0 ? DnsOutcome.Records : DnsOutcome.NoData, secure, signatures, []);
    }

    internal static DnsResult<IPAddress> MergeAddresses(DnsResult<IPAddress> v4, DnsResult<IPAddress> v6)
    {
        if (v4.IsLookupError || v6.IsLookupError)
        {
            var first = v4.IsLookupError ? v4 : v6;
            var message = v4.IsLookupError && v6.IsLookupError
                ? $"{v4.ErrorMessage}; {v6.ErrorMessage}"
                : first.ErrorMessage ?? first.Error.ToString();
            return DnsResult<IPAddress>.Failed(v4.QueryName, first.Error, message);
        }

        var secure = v4.IsSecure && v6.IsSecure;
        if (v4.Outcome == DnsOutcome.NxDomain && v6.Outcome == DnsOutcome.NxDomain)
        {
            return new DnsResult<IPAddress>(v4.QueryName, DnsOutcome.NxDomain, secure, [], v4.CnameChain);
        }

        var addresses = v4.Records.Concat(v6.Records).ToArray();
        var chain = v4.Records.Count > 0 || v6.Records.Count == 0 ? v4.CnameChain : v6.CnameChain;
        return addresses.Length > 0
            ? new DnsResult<IPAddress>(v4.QueryName, DnsOutcome.Records, secure, addresses, chain)
            : new DnsResult<IPAddress>(v4.QueryName, DnsOutcome.NoData, secure, [], chain);
    }

    /// <summary>
    /// Asks for <paramref name="type"/> at <paramref name="name"/>, following CNAMEs: first along the answer section,
    /// then by asking again at a chain end that came without records. Secure only if every response used was.
    /// </summary>
    private async Task<DnsResult<T>> LookupAsync<T>(
        string name,
        QueryType type,
        Func<DnsResourceRecord, T?> select,
        CancellationToken cancellationToken)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(name);
        cancellationToken.ThrowIfCancellationRequested();
        if (!DnsName.TryNormalize(name, out var queryName, out var nameError))
        {
            return DnsResult<T>.Failed(name, DnsErrorKind.Other, $"{nameError} (not sent to {Settings.Endpoint})");
        }

        var chain = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal) { queryName };
        var secure = true;
        var asked = queryName;
        while (true)
        {
            var (response, failure) = await AskAsync(asked, type, cancellationToken).ConfigureAwait(false);
            if (response is null)
            {
                return DnsResult<T>.Failed(queryName, failure.Kind, failure.Message);
            }

            secure &= response.Header.IsAuthenticData && Settings.TrustAd;

            // Walk the CNAMEs in this answer from the name asked (RFC 1034 §3.6.2, RFC 2181 §10.1).
            var owner = asked;
            while (FindCname(response.Answers, owner) is { } target)
            {
                if (seen.Contains(target))
                {
                    return CnameFailure<T>(queryName, chain, target, loop: true, type);
                }

                if (chain.Count >= Settings.MaxCnameHops)
                {
                    return CnameFailure<T>(queryName, chain, target, loop: false, type);
                }

                chain.Add(target);
                seen.Add(target);
                owner = target;
            }

            var rcode = response.Header.ResponseCode;
            if (rcode == DnsHeaderResponseCode.NoError)
            {
                var records = new List<T>();
                foreach (var record in response.Answers)
                {
                    if ((int)record.RecordType == (int)type
                        && DnsName.FromWire(record.DomainName.Original) == owner
                        && select(record) is { } item)
                    {
                        records.Add(item);
                    }
                }

                if (records.Count > 0)
                {
                    return new DnsResult<T>(queryName, DnsOutcome.Records, secure, records, chain);
                }

                if (owner != asked)
                {
                    asked = owner; // the answer stopped at a CNAME target: ask for the target itself
                    continue;
                }

                return new DnsResult<T>(queryName, DnsOutcome.NoData, secure, [], chain);
            }

            if (rcode == DnsHeaderResponseCode.NotExistentDomain)
            {
                // With CNAMEs, NXDOMAIN speaks of the last name in the chain (RFC 6604 §2.1).
                return new DnsResult<T>(queryName, DnsOutcome.NxDomain, secure, [], chain);
            }

            var (kind, text) = DescribeRcode(rcode);
            return DnsResult<T>.Failed(queryName, kind, $"{text} from {Settings.Endpoint} for {asked} {type}{RcodeHint(rcode)}");
        }
    }

    private DnsResult<T> CnameFailure<T>(string queryName, List<string> chain, string target, bool loop, QueryType type)
    {
        var path = string.Join(" -> ", new[] { queryName }.Concat(chain).Append(target));
        var message = loop
            ? $"CNAME loop for {queryName} {type}: {path}"
            : string.Create(CultureInfo.InvariantCulture, $"CNAME chain for {queryName} {type} is longer than {Settings.MaxCnameHops} hops: {path}");
        return DnsResult<T>.Failed(queryName, DnsErrorKind.CnameLoop, message);
    }

    private static string? FindCname(IReadOnlyList<DnsResourceRecord> answers, string owner)
    {
        foreach (var record in answers)
        {
            if (record is CNameRecord cname && DnsName.FromWire(cname.DomainName.Original) == owner)
            {
                return DnsName.FromWire(cname.CanonicalName.Original);
            }
        }

        return null;
    }

    private readonly record struct Failure(DnsErrorKind Kind, string Message);

    /// <summary>One question to the resolver. Either a response (any RCODE) or a failure; never throws for DNS trouble.</summary>
    private async Task<(IDnsQueryResponse? Response, Failure Failure)> AskAsync(string name, QueryType type, CancellationToken cancellationToken)
    {
        var where = $"{Settings.Endpoint} for {name} {type}";
        try
        {
            var response = await _client.QueryAsync(new DnsQuestion(name, type, QueryClass.IN), cancellationToken).ConfigureAwait(false);
            if (response.Header.ResultTruncated)
            {
                return (null, new Failure(DnsErrorKind.Malformed, $"truncated answer from {where} (TCP fallback is off)"));
            }

            if (response.Questions.Count > 0
                && (DnsName.FromWire(response.Questions[0].QueryName.Original) != name || response.Questions[0].QuestionType != type))
            {
                return (null, new Failure(DnsErrorKind.Malformed,
                    $"answer from {Settings.Endpoint} is for {DnsName.FromWire(response.Questions[0].QueryName.Original)} {response.Questions[0].QuestionType}, not {name} {type}"));
            }

            return (response, default);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (DnsResponseException) when (cancellationToken.IsCancellationRequested)
        {
            // DnsClient wraps the caller's cancellation in a DnsResponseException (ConnectionTimeout): undo that.
            throw new OperationCanceledException(cancellationToken);
        }
        catch (DnsResponseException ex) when (ex.Code == DnsResponseCode.ConnectionTimeout)
        {
            var tries = Settings.Retries + 1;
            var cause = Find<System.Net.Sockets.SocketException>(ex) is { } socket ? $" ({socket.Message})" : "";
            return (null, new Failure(DnsErrorKind.Timeout, string.Create(CultureInfo.InvariantCulture,
                $"timeout: no answer from {where} after {tries} {(tries == 1 ? "try" : "tries")} of {Settings.Timeout.TotalMilliseconds} ms{cause}")));
        }
        catch (DnsResponseException ex) when (ex.Message.Contains("truncated", StringComparison.OrdinalIgnoreCase))
        {
            return (null, new Failure(DnsErrorKind.Malformed, $"truncated answer from {where} and TCP fallback is off"));
        }
        catch (DnsResponseException ex) when (Find<DnsResponseParseException>(ex) is not null)
        {
            return (null, new Failure(DnsErrorKind.Malformed, $"malformed answer from {where}: {FirstLine(ex.Message)}"));
        }
        catch (DnsResponseException ex)
        {
            return (null, new Failure(DnsErrorKind.Other, $"query to {where} failed: {Describe(ex)}"));
        }
        catch (DnsResponseParseException ex)
        {
            return (null, new Failure(DnsErrorKind.Malformed, $"malformed answer from {where}: {FirstLine(ex.Message)}"));
        }
        catch (DnsXidMismatchException)
        {
            return (null, new Failure(DnsErrorKind.Malformed, $"answers from {where} carried the wrong transaction id"));
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return (null, new Failure(DnsErrorKind.Other, $"query to {where} failed: {ex.GetType().Name}: {FirstLine(ex.Message)}"));
        }
        catch (OperationCanceledException)
        {
            // Cancelled, but not by the caller: DnsClient's own deadline. Report it as the timeout it is.
            return (null, new Failure(DnsErrorKind.Timeout, $"timeout: no answer from {where}"));
        }
    }

    private static T? Find<T>(Exception ex)
        where T : Exception
    {
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            if (e is T found)
            {
                return found;
            }
        }

        return null;
    }

    private static string FirstLine(string text)
    {
        var end = text.IndexOfAny(['\r', '\n']);
        return end < 0 ? text : text[..end];
    }

    private static string Describe(DnsResponseException ex)
    {
        var inner = ex.InnerException is { } i ? $" ({i.GetType().Name}: {FirstLine(i.Message)})" : "";
        return FirstLine(ex.Message) + inner;
    }

    private static (DnsErrorKind Kind, string Text) DescribeRcode(DnsHeaderResponseCode rcode) => rcode switch
    {
        DnsHeaderResponseCode.ServerFailure => (DnsErrorKind.ServFail, "SERVFAIL"),
        DnsHeaderResponseCode.Refused => (DnsErrorKind.Refused, "REFUSED"),
        DnsHeaderResponseCode.FormatError => (DnsErrorKind.Other, "FORMERR"),
        DnsHeaderResponseCode.NotImplemented => (DnsErrorKind.Other, "NOTIMP"),
        _ => (DnsErrorKind.Other, string.Create(CultureInfo.InvariantCulture, $"RCODE {(int)rcode} ({rcode})")),
    };

    private static string RcodeHint(DnsHeaderResponseCode rcode) => rcode switch
    {
        DnsHeaderResponseCode.ServerFailure => " (validation failure or upstream error)",
        DnsHeaderResponseCode.Refused => " (the resolver does not serve this client: check its access control)",
        DnsHeaderResponseCode.FormatError => " (the resolver could not parse the query)",
        DnsHeaderResponseCode.NotImplemented => " (the resolver does not support this query)",
        _ => "",
    };
}
