using System.Net;
using Rampart.Core.Dns;

namespace Rampart.Core.Tests.Fakes;

/// <summary>
/// A DNS resolver answering from a table, counting questions. Unknown names are NXDOMAIN (secure unless told otherwise).
/// Safe to ask from several threads at once (a decision's MTA-STS lookup runs beside its DANE lookups).
/// </summary>
internal sealed class FakeDnsResolver : IDnsResolver
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Name, string Type), object> _answers = new();
    private readonly Lock _lock = new();

    public bool SecureByDefault { get; set; } = true;

    /// <summary>The questions asked so far, in order (a copy).</summary>
    public List<(string Name, string Type)> Queries
    {
        get
        {
            lock (_lock)
            {
                return [.. _queries];
            }
        }
    }

    private readonly List<(string Name, string Type)> _queries = [];

    public FakeDnsResolver Txt(string name, params string[] records) => Set(name, "TXT", Records(name, records));

    public FakeDnsResolver Mx(string name, params (ushort Preference, string Host)[] records) =>
        Set(name, "MX", Records(name, records.Select(r => new MxRecord(r.Preference, r.Host)).ToArray()));

    public FakeDnsResolver Address(string name, params string[] addresses) =>
        Set(name, "ADDR", Records(name, addresses.Select(IPAddress.Parse).ToArray()));

    public FakeDnsResolver Tlsa(string name, params string[] records) =>
        Set(name, "TLSA", Records(name, records.Select(r =>
        {
            var t = Rampart.Core.Dane.TlsaRecord.Parse(r);
            return new TlsaRecordData((byte)t.Usage, (byte)t.Selector, (byte)t.MatchingType, t.Data);
        }).ToArray()));

    /// <summary>Addresses reached through a CNAME chain (the last name is where the records are).</summary>
    public FakeDnsResolver AddressVia(string name, string[] cnameChain, params string[] addresses) =>
        Set(name, "ADDR", new DnsResult<IPAddress>(name, DnsOutcome.Records, SecureByDefault, addresses.Select(IPAddress.Parse).ToArray(), cnameChain));

    public FakeDnsResolver Fail(string name, string type, DnsErrorKind error = DnsErrorKind.ServFail)
    {
        _answers[(name, type)] = error;
        return this;
    }

    public FakeDnsResolver Set<T>(string name, string type, DnsResult<T> result)
    {
        _answers[(name, type)] = result;
        return this;
    }

    public int Count(string type) => Queries.Count(q => q.Type == type);

    public Task<DnsResult<string>> QueryTxtAsync(string name, CancellationToken cancellationToken) => Answer<string>(name, "TXT");

    public Task<DnsResult<MxRecord>> QueryMxAsync(string name, CancellationToken cancellationToken) => Answer<MxRecord>(name, "MX");

    public Task<DnsResult<IPAddress>> QueryAddressesAsync(string name, CancellationToken cancellationToken) => Answer<IPAddress>(name, "ADDR");

    public Task<DnsResult<TlsaRecordData>> QueryTlsaAsync(string name, CancellationToken cancellationToken) => Answer<TlsaRecordData>(name, "TLSA");

    private Task<DnsResult<T>> Answer<T>(string name, string type)
    {
        lock (_lock)
        {
            _queries.Add((name, type));
        }
        return Task.FromResult(_answers.GetValueOrDefault((name, type)) switch
        {
            DnsErrorKind error => DnsResult<T>.Failed(name, error, $"{error} for {name} {type}"),
            DnsResult<T> answer => answer,
            _ => new DnsResult<T>(name, DnsOutcome.NxDomain, SecureByDefault, [], []),
        });
    }

    private DnsResult<T> Records<T>(string name, T[] records) =>
        new(name, records.Length == 0 ? DnsOutcome.NoData : DnsOutcome.Records, SecureByDefault, records, []);
}
