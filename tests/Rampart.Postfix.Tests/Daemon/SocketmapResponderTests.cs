using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Rampart.Core.Dane;
using Rampart.Core.Dns;
using Rampart.Core.MtaSts;
using Rampart.Core.Policy;
using Rampart.Postfix.Daemon;
using Rampart.Postfix.Socketmap;
using Rampart.Postfix.Tests.Support;

namespace Rampart.Postfix.Tests.Daemon;

/// <summary>
/// The daemon's responders (socketmap and Exim line): the one key rule, one decision cache for both, and one reply object
/// counted, logged and sent.
/// </summary>
public sealed class SocketmapResponderTests : IDisposable
{
    private readonly NxDomainDns _dns = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly DaemonMetrics _metrics = new();
    private readonly ListLoggerProvider _logs = new();
    private readonly ILoggerFactory _loggers;
    private readonly SocketmapResponder _responder;
    private readonly SenderPolicyCache _cache;

    public SocketmapResponderTests()
    {
        _loggers = LoggerFactory.Create(b => b.AddProvider(_logs).SetMinimumLevel(LogLevel.Trace));
        var provider = new MtaStsPolicyProvider(_dns, new NoFetcher(), new InMemoryMtaStsPolicyStore(), new MtaStsPolicySettings(), _time);
        _cache = new SenderPolicyCache(new SenderPolicyResolver(_dns, new DaneHostLookup(_dns), provider, new SenderPolicySettings()),
            new SenderPolicyCacheSettings(), _time);
        _responder = new SocketmapResponder(_ => _cache, _metrics, _time, _loggers.CreateLogger<SocketmapResponder>());
        _exim = new EximResponder(() => _cache, _metrics, _time, _loggers.CreateLogger<EximResponder>());
    }

    private readonly EximResponder _exim;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _loggers.Dispose();

    [Theory]
    [InlineData("[mx.example.com]:25")]
    [InlineData("[mx.example.com]")]
    [InlineData(" [mx.example.com]")] // the old responder tested the raw key for '[' and then let SocketmapKey unwrap it
    [InlineData("mx.example.com:25")]
    [InlineData(".example.com")]
    [InlineData("192.0.2.1")]
    public async Task Respond_NotADomainKey_NotFoundWithoutALookup(string key)
    {
        var reply = await _responder.RespondAsync("postfix", key, Ct);

        Assert.Same(SocketmapReply.NotFound, reply);
        Assert.Empty(_dns.Queries);
    }

    [Fact]
    public async Task Respond_Domain_LookedUpOnce_SameReplyObjectSentCountedAndLogged()
    {
        _dns.Failing.Add("down.example");

        var first = await _responder.RespondAsync("postfix", "Down.Example.", Ct);
        var cached = await _responder.RespondAsync("postfix", "down.example", Ct);
        var again = await _responder.RespondAsync("postfix", "down.example", Ct);

        Assert.Equal("TEMP MX lookup for down.example failed", first.Text);
        Assert.Equal(first.Text, cached.Text);
        Assert.Same(cached, again); // the cached decision keeps its encoded reply
        Assert.Single(_dns.Queries, "down.example");
        Assert.Contains("rampart_lookups_total{policy=\"tempfail\",answer=\"TEMP\"} 3\n",
            _metrics.Render(_cache.Counters, 0), StringComparison.Ordinal);
        Assert.All(_logs.Entries.Where(e => e.EventId.Id == 103),
            e => Assert.EndsWith($"answered \"{first.Text}\"", e.Message, StringComparison.Ordinal));
        Assert.Equal(3, _logs.Entries.Count(e => e.EventId.Id == 103));
    }

    [Theory]
    [InlineData("[192.0.2.1]")]
    [InlineData("192.0.2.1")]
    [InlineData(".example.com")]
    public async Task Exim_NotADomain_NoneWithoutALookup(string key)
    {
        Assert.Same(Rampart.Postfix.Exim.EximReply.None, await _exim.RespondAsync(key, Ct));
        Assert.Empty(_dns.Queries);
    }

    [Fact]
    public async Task Exim_AfterPostfix_SameDecisionFromTheOneCache_CountedByItsOwnAnswer()
    {
        _dns.Failing.Add("down.example");

        var postfix = await _responder.RespondAsync("postfix", "down.example", Ct);
        var exim = await _exim.RespondAsync("DOWN.example.", Ct);
        var again = await _exim.RespondAsync("down.example", Ct);

        Assert.Equal("TEMP MX lookup for down.example failed", postfix.Text);
        Assert.Equal("tempfail MX lookup for down.example failed", exim.Text);
        Assert.Same(exim, again);
        Assert.Single(_dns.Queries, "down.example");
        var metrics = _metrics.Render(_cache.Counters, 0);
        Assert.Contains("rampart_lookups_total{policy=\"tempfail\",answer=\"TEMP\"} 1\n", metrics, StringComparison.Ordinal);
        Assert.Contains("rampart_lookups_total{policy=\"tempfail\",answer=\"tempfail\"} 2\n", metrics, StringComparison.Ordinal);
        Assert.Equal(2, _logs.Entries.Count(e => e.EventId.Id == 105 && e.Message.EndsWith($"answered \"{exim.Text}\"", StringComparison.Ordinal)));
    }

    /// <summary>NXDOMAIN for everything (no policy), except names in <see cref="Failing"/> (SERVFAIL); records each question.</summary>
    private sealed class NxDomainDns : IDnsResolver
    {
        public ConcurrentBag<string> Failing { get; } = [];

        public ConcurrentQueue<string> Queries { get; } = new();

        public Task<DnsResult<string>> QueryTxtAsync(string name, CancellationToken cancellationToken) => Answer<string>(name);

        public Task<DnsResult<MxRecord>> QueryMxAsync(string name, CancellationToken cancellationToken) => Answer<MxRecord>(name);

        public Task<DnsResult<IPAddress>> QueryAddressesAsync(string name, CancellationToken cancellationToken) => Answer<IPAddress>(name);

        public Task<DnsResult<TlsaRecordData>> QueryTlsaAsync(string name, CancellationToken cancellationToken) => Answer<TlsaRecordData>(name);

        private Task<DnsResult<T>> Answer<T>(string name)
        {
            Queries.Enqueue(name);
            return Task.FromResult(Failing.Contains(name)
                ? DnsResult<T>.Failed(name, DnsErrorKind.ServFail, "SERVFAIL")
                : new DnsResult<T>(name, DnsOutcome.NxDomain, true, [], []));
        }
    }

    private sealed class NoFetcher : IMtaStsPolicyFetcher
    {
        public Task<MtaStsFetchResult> FetchAsync(string domain, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("no policy is fetched in these tests");
    }
}
