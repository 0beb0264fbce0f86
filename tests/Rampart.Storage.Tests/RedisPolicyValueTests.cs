using System.Text;
using CsCheck;
using Rampart.Core.MtaSts;
using Rampart.Storage.Tests.Support;
using static Rampart.Storage.Tests.Support.Policies;

namespace Rampart.Storage.Tests;

/// <summary>The stored value's format: a round trip keeps every field; anything damaged reads as null, never throws.</summary>
public sealed class RedisPolicyValueTests
{
    [Fact]
    public void Encode_StartsWithTheVersionAndFetchedAt_WhatTheWriteScriptReads()
    {
        var entry = new CachedMtaStsPolicy("example.com", "id1", Parse(Enforce), T0, T0.AddDays(7), T0.AddHours(1)) { DecidedWithoutDane = true };

        string header = Encoding.ASCII.GetString(RedisPolicyValue.Encode(entry)).Split('\n')[0];

        Assert.Equal($"1 {T0.ToUnixTimeMilliseconds()} {T0.AddDays(7).ToUnixTimeMilliseconds()} {T0.AddHours(1).ToUnixTimeMilliseconds()} 3", header);
    }

    [Fact]
    public void Encode_APolicyDaneMadeIrrelevant_ASixthFieldAnOlderReaderDrops_AndAFiveFieldValueIsOneUsedWithoutDane()
    {
        var beside = new CachedMtaStsPolicy("example.com", "id1", Parse(Enforce), T0, T0.AddDays(7), T0.AddHours(1));
        var used = beside with { DecidedWithoutDane = true };

        string header = Encoding.ASCII.GetString(RedisPolicyValue.Encode(beside)).Split('\n')[0];

        Assert.EndsWith(" 3 not-without-dane", header, StringComparison.Ordinal);
        Assert.False(RedisPolicyValue.TryDecode("example.com", RedisPolicyValue.Encode(beside))!.DecidedWithoutDane);
        Assert.True(RedisPolicyValue.TryDecode("example.com", RedisPolicyValue.Encode(used))!.DecidedWithoutDane);
        var unknownField = Encoding.ASCII.GetBytes(Encoding.ASCII.GetString(RedisPolicyValue.Encode(beside)).Replace("not-without-dane", "something-else", StringComparison.Ordinal));
        Assert.Null(RedisPolicyValue.TryDecode("example.com", unknownField));
    }

    [Fact]
    public void EncodeThenDecode_AnyTextIdAndTimes_GivesTheSameEntry()
    {
        var times = Gen.Long[DateTimeOffset.MinValue.ToUnixTimeMilliseconds(), DateTimeOffset.MaxValue.ToUnixTimeMilliseconds()]
            .Select(DateTimeOffset.FromUnixTimeMilliseconds);
        Gen.Select(Gen.Int[0, Texts.Length - 1], Gen.String, times, times, times).Sample((text, id, fetched, expires, checkedAt) =>
        {
            if (!IsWellFormedUtf16(id))
            {
                return;
            }

            var entry = new CachedMtaStsPolicy("example.com", id, Parse(Texts[text]), fetched, expires, checkedAt) { DecidedWithoutDane = fetched.Millisecond % 2 == 0 };

            AssertSameEntry(entry, RedisPolicyValue.TryDecode("example.com", RedisPolicyValue.Encode(entry)));
        }, iter: 2000);
    }

    [Fact]
    public void TryDecode_AnyTruncationOrFlippedByte_ReturnsNullOrAnEntryNeverThrows()
    {
        byte[] good = RedisPolicyValue.Encode(Entry("example.com", EnforceCrlf, id: "abc"));
        Gen.Select(Gen.Int[0, good.Length], Gen.Int[0, good.Length - 1], Gen.Byte).Sample((cut, at, value) =>
        {
            byte[] damaged = [.. good];
            damaged[at] = value;
            _ = RedisPolicyValue.TryDecode("example.com", damaged.AsSpan(0, cut));
        }, iter: 5000);
    }

    [Theory]
    [InlineData("1 0 0 0 0")] // no newline
    [InlineData("1 0 0 0 0\n")] // empty text does not parse
    [InlineData("1 0 0 0\nversion: STSv1\nmode: none\nmax_age: 1")] // four fields
    [InlineData("1 0 0 0 0 0\nversion: STSv1\nmode: none\nmax_age: 1")] // six fields
    [InlineData("01x 0 0 0 0\nversion: STSv1\nmode: none\nmax_age: 1")]
    [InlineData("1  0 0 0 0\nversion: STSv1\nmode: none\nmax_age: 1")] // double space
    [InlineData("1 0 0 0 -1\nversion: STSv1\nmode: none\nmax_age: 1")] // negative id length
    [InlineData("1 1e3 0 0 0\nversion: STSv1\nmode: none\nmax_age: 1")]
    [InlineData("1 0 0 0 0\nversion: STSv1\nmode: bogus\nmax_age: 1")]
    public void TryDecode_BadValue_ReturnsNull(string value)
    {
        Assert.Null(RedisPolicyValue.TryDecode("example.com", Encoding.UTF8.GetBytes(value)));
    }

    [Fact]
    public void TryDecode_NegativeTimes_AreKept()
    {
        var value = Encoding.UTF8.GetBytes("1 -1000 0 -5 0\nversion: STSv1\nmode: none\nmax_age: 1");

        var entry = RedisPolicyValue.TryDecode("example.com", value);

        Assert.Equal(DateTimeOffset.UnixEpoch.AddSeconds(-1), entry?.FetchedAt);
        Assert.Equal(DateTimeOffset.UnixEpoch.AddMilliseconds(-5), entry?.CheckedAt);
    }

    private static bool IsWellFormedUtf16(string text)
    {
        try
        {
            _ = new UTF8Encoding(false, true).GetBytes(text);
            return true;
        }
        catch (EncoderFallbackException)
        {
            return false;
        }
    }
}
