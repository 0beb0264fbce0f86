using CsCheck;
using Rampart.Core.Dane;

namespace Rampart.Core.Tests.Dane;

public sealed class TlsaRecordPropertyTests
{
    /// <summary>Pieces that make text look like a TLSA record, so random input reaches the interesting branches.</summary>
    private static readonly Gen<string> s_tlsaish = Gen.OneOf(
            "3", "2", "1", "0", "255", "256", "-1", "+1", "03", " ", "  ", "\t", "\n", "\r\n", "AB", "ab", "0F", "G0", "a", "00",
            "٣", "\u00A0", "\u2003", "\0", "ÿ", "0x", "99999999999", "\uD800", "3 1 1", "e3b0c442", "…")
        .Array[0, 24]
        .Select(parts => string.Concat(parts));

    private static readonly Gen<TlsaRecord> s_record =
        Gen.Select(Gen.Byte, Gen.Byte, Gen.Byte, Gen.Byte.Array[1, 80],
            (u, s, m, data) => new TlsaRecord((TlsaUsage)u, (TlsaSelector)s, (TlsaMatchingType)m, data));

    [Fact]
    public void TryParse_ArbitraryString_NeverThrowsAndRoundTrips()
    {
        Gen.OneOf(Gen.String, s_tlsaish).Sample(text =>
        {
            if (TlsaRecord.TryParse(text, out var record, out var error))
            {
                Assert.True(TlsaRecord.TryParse(record.ToString(), out var again, out _));
                Assert.Equal(record, again);
            }
            else
            {
                Assert.False(string.IsNullOrWhiteSpace(error));
            }
        }, iter: 20_000);
    }

    [Fact]
    public void ToString_AnyRecord_ParsesBackEqual()
    {
        s_record.Sample(record =>
        {
            var text = record.ToString();

            Assert.True(TlsaRecord.TryParse(text, out var parsed, out var error), error);
            Assert.Equal(record, parsed);
            Assert.Equal(text, parsed.ToString());
            Assert.Equal(text.ToUpperInvariant(), text);
        }, iter: 5_000);
    }

    [Fact]
    public void TryParse_Null_FalseWithError()
    {
        Assert.False(TlsaRecord.TryParse(null, out _, out var error));
        Assert.NotEmpty(error);
    }
}
