using CsCheck;
using Microsoft.Extensions.Time.Testing;
using Rampart.Core.MtaSts;
using Rampart.Storage.Tests.Support;
using static Rampart.Storage.Tests.Support.Policies;

namespace Rampart.Storage.Tests;

/// <summary>Model-based: any sequence of Set/Get on random domains gives what <see cref="InMemoryMtaStsPolicyStore"/> gives.</summary>
public sealed class SqliteMtaStsPolicyStoreModelTests
{
    private static readonly string[] s_domains = ["a.example", "b.example", "c.example", "mail.d.example", "e.test", "f.test", "g.test", "h.test"];

    /// <summary>One step. Set when <paramref name="IsSet"/>, else Get.</summary>
    private sealed record Op(bool IsSet, int Domain, bool Shout, int Text, int FetchedSeconds, int ExpiresTens, int Id)
    {
        public override string ToString() => IsSet
            ? $"Set({s_domains[Domain]}{(Shout ? " upper" : "")}, text {Text}, fetched {FetchedSeconds}s, expires {ExpiresTens * 10}s, id {Id})"
            : $"Get({s_domains[Domain]}{(Shout ? " upper" : "")})";
    }

    private static readonly Gen<Op> s_op =
        Gen.Select(Gen.Int[0, 2], Gen.Int[0, s_domains.Length - 1], Gen.Bool, Gen.Int[0, Texts.Length - 1], Gen.Int[-2000, 600], Gen.Int[-10, 70], Gen.Int[0, 3])
            .Select((kind, domain, shout, text, fetched, expires, id) => new Op(kind > 0, domain, shout, text, fetched, expires, id));

    [Fact]
    public async Task SetAndGet_AnySequence_BehavesLikeTheInMemoryStore()
    {
        await Gen.Select(Gen.Int[1, 6], s_op.Array[1, 60]).SampleAsync(async (capacity, ops) =>
        {
            using var dir = new TempDirectory();
            var time = new FakeTimeProvider(T0);
            var model = new InMemoryMtaStsPolicyStore(capacity);
            var ct = TestContext.Current.CancellationToken;
            await using var store = await SqliteMtaStsPolicyStore.OpenAsync(
                dir.File("policy-cache.sqlite"), new SqlitePolicyStoreOptions { MaxEntries = capacity }, time, ct);

            for (int i = 0; i < ops.Length; i++)
            {
                var op = ops[i];
                time.SetUtcNow(T0.AddSeconds(i * 10)); // the store evicts by its clock, the model by CheckedAt: keep them equal
                string domain = op.Shout ? s_domains[op.Domain].ToUpperInvariant() : s_domains[op.Domain];
                if (op.IsSet)
                {
                    // Fetched times are whole seconds plus the step number in ms: never two alike, so "the oldest" is one
                    // entry. Expiry times are on the clock's 10 s grid, so "expires exactly now" (expired) happens.
                    var fetched = T0.AddSeconds(op.FetchedSeconds).AddMilliseconds(i);
                    var entry = new CachedMtaStsPolicy(domain, $"id{op.Id}", Parse(Texts[op.Text]),
                        fetched, T0.AddSeconds(op.ExpiresTens * 10), time.GetUtcNow());
                    await model.SetAsync(entry, ct);
                    await store.SetAsync(entry, ct);
                    Assert.Equal(model.Count, await store.CountAsync(ct));
                }
                else
                {
                    AssertSameEntry(await model.GetAsync(domain, ct), await store.GetAsync(domain, ct));
                }
            }

            foreach (string domain in s_domains)
            {
                AssertSameEntry(await model.GetAsync(domain, ct), await store.GetAsync(domain, ct));
            }
        }, iter: 150);
    }
}
