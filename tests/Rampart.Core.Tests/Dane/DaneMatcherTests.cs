using System.Security.Cryptography.X509Certificates;
using Rampart.Core.Dane;
using Rampart.Core.Tests.Support;

namespace Rampart.Core.Tests.Dane;

/// <summary>Every DANE matching rule of RULES.md ("DANE for SMTP"), on chains the tests make themselves.</summary>
public sealed class DaneMatcherTests
{
    private const string Mx = "mx.example.com";

    private static readonly TestPki s_pki = new("Dane");
    private static readonly X509Certificate2 s_leaf = s_pki.Leaf(Mx);
    private static readonly DaneMatchOptions s_options = new([Mx], TestPki.Now);

    private static TlsaRecord R(X509Certificate2 certificate, int usage, int selector, int matching) =>
        TlsaAssociation.For(certificate, (TlsaUsage)usage, (TlsaSelector)selector, (TlsaMatchingType)matching);

    private static TlsaRecord R(X509Certificate2 certificate, string usm)
    {
        var f = usm.Split(' ').Select(int.Parse).ToArray();
        return R(certificate, f[0], f[1], f[2]);
    }

    private static DaneMatchResult Match(IReadOnlyList<X509Certificate2> chain, params TlsaRecord[] records) =>
        DaneMatcher.Match(records, chain, s_options);

    private static DaneMatchResult Match(IReadOnlyList<X509Certificate2> chain, string[] names, params TlsaRecord[] records) =>
        DaneMatcher.Match(records, chain, new DaneMatchOptions(names, TestPki.Now));

    private static void Matched(DaneMatchResult result, int depth)
    {
        Assert.True(result.Matched, result.Reason);
        Assert.Equal(depth, result.Depth);
        Assert.Equal(DaneFailure.None, result.Failure);
    }

    private static void NotMatched(DaneMatchResult result, DaneFailure failure)
    {
        Assert.False(result.Matched, result.Reason);
        Assert.Null(result.Record);
        Assert.Null(result.Depth);
        Assert.Equal(failure, result.Failure);
    }

    // DANE-EE (3): the leaf certificate or its key only; no name check, no date check.

    [Theory]
    [InlineData("3 1 1")]
    [InlineData("3 0 1")]
    [InlineData("3 1 2")]
    [InlineData("3 0 2")]
    [InlineData("3 0 0")]
    [InlineData("3 1 0")]
    public void Match_DaneEeOnLeaf_MatchedAtDepth0(string usm)
    {
        var record = R(s_leaf, usm);

        var result = Match([s_leaf, s_pki.Intermediate], record);

        Matched(result, 0);
        Assert.Equal(record, result.Record);
        Assert.Equal(1, result.Usable);
        Assert.Contains("DANE-EE skips name and date checks", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Match_DaneEeExpiredLeaf_Matched()
    {
        var leaf = s_pki.LeafFor([Mx], TestPki.Now.AddYears(-2), TestPki.Now.AddYears(-1));

        Matched(Match([leaf, s_pki.Intermediate], R(leaf, "3 1 1")), 0);
    }

    [Fact]
    public void Match_DaneEeNotYetValidLeaf_Matched()
    {
        var leaf = TestPki.Issue("CN=" + Mx, s_pki.Intermediate, TestPki.Now.AddDays(1), TestPki.Now.AddDays(90), dnsNames: [Mx]);

        Matched(Match([leaf, s_pki.Intermediate], R(leaf, "3 0 1")), 0);
    }

    [Fact]
    public void Match_DaneEeWrongNameLeaf_Matched()
    {
        var leaf = s_pki.Leaf("other.example.net");

        Matched(Match([leaf, s_pki.Intermediate], R(leaf, "3 1 1")), 0);
    }

    [Fact]
    public void Match_DaneEeSelfSignedLeafAlone_Matched()
    {
        var leaf = TestPki.Issue("CN=self", null, dnsNames: ["self.example.org"]);

        Matched(Match([leaf], R(leaf, "3 1 1")), 0);
    }

    [Fact]
    public void Match_DaneEeRecordForIntermediate_NotMatched()
    {
        var result = Match([s_leaf, s_pki.Intermediate], R(s_pki.Intermediate, "3 1 1"));

        NotMatched(result, DaneFailure.NoMatch);
        Assert.Contains("DANE-EE pins the leaf only", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Match_DaneEeOtherKey_ReasonShowsLeafDigest()
    {
        var other = s_pki.Leaf(Mx);

        var result = Match([s_leaf, s_pki.Intermediate], R(other, "3 1 1"));

        NotMatched(result, DaneFailure.NoMatch);
        var leafDigest = Convert.ToHexString(TlsaAssociation.Compute(s_leaf, TlsaSelector.Spki, TlsaMatchingType.Sha256))[..16];
        Assert.StartsWith("no usable record matched:", result.Reason, StringComparison.Ordinal);
        Assert.Contains($"leaf SPKI sha256 = {leafDigest}", result.Reason, StringComparison.Ordinal);
    }

    // DANE-TA (2): a certificate above the leaf, the path verifying with dates, the name matching.

    [Theory]
    [InlineData("2 1 1")]
    [InlineData("2 0 1")]
    [InlineData("2 1 2")]
    [InlineData("2 0 0")]
    [InlineData("2 1 0")]
    public void Match_DaneTaOnSentIntermediate_MatchedAtDepth1(string usm)
    {
        var result = Match([s_leaf, s_pki.Intermediate], R(s_pki.Intermediate, usm));

        Matched(result, 1);
        Assert.Contains(Mx, result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Match_DaneTaOnIntermediateWrongName_NameMismatch()
    {
        var leaf = s_pki.Leaf("other.example.net");

        var result = Match([leaf, s_pki.Intermediate], R(s_pki.Intermediate, "2 1 1"));

        NotMatched(result, DaneFailure.NameMismatch);
        Assert.Contains("other.example.net", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Match_DaneTaExpiredIntermediate_Expired()
    {
        var intermediate = TestPki.Issue("CN=Old Intermediate", s_pki.Root, TestPki.Now.AddYears(-3), TestPki.Now.AddDays(-1), ca: true);
        var leaf = s_pki.LeafFor([Mx], issuer: intermediate);

        var result = Match([leaf, intermediate], R(intermediate, "2 1 1"));

        NotMatched(result, DaneFailure.Expired);
        Assert.Contains("Old Intermediate", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Match_DaneTaExpiredLeaf_Expired()
    {
        var leaf = s_pki.LeafFor([Mx], TestPki.Now.AddYears(-2), TestPki.Now.AddDays(-1));

        var result = Match([leaf, s_pki.Intermediate], R(s_pki.Intermediate, "2 1 1"));

        NotMatched(result, DaneFailure.Expired);
        Assert.Contains("the leaf", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Match_DaneTaNotYetValidLeaf_Expired()
    {
        var leaf = s_pki.LeafFor([Mx], TestPki.Now.AddDays(1), TestPki.Now.AddDays(90));

        NotMatched(Match([leaf, s_pki.Intermediate], R(s_pki.Intermediate, "2 1 1")), DaneFailure.Expired);
    }

    [Fact]
    public void Match_DaneTaOnSentRoot_MatchedAtDepth2()
    {
        var result = Match([s_leaf, s_pki.Intermediate, s_pki.Root], R(s_pki.Root, "2 0 1"));

        Matched(result, 2);
        Assert.Contains("X509Chain", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Match_DaneTaOnSentRootExpiredLeaf_Expired()
    {
        var leaf = s_pki.LeafFor([Mx], TestPki.Now.AddYears(-2), TestPki.Now.AddDays(-1));

        NotMatched(Match([leaf, s_pki.Intermediate, s_pki.Root], R(s_pki.Root, "2 0 1")), DaneFailure.Expired);
    }

    [Fact]
    public void Match_DaneTaFullRootNotSent_MatchedAboveTop()
    {
        var result = Match([s_leaf, s_pki.Intermediate], R(s_pki.Root, "2 0 0"));

        Matched(result, 2);
        Assert.Contains("did not send", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Match_DaneTaFullRootKeyNotSent_MatchedAboveTop()
    {
        var result = Match([s_leaf, s_pki.Intermediate], R(s_pki.Root, "2 1 0"));

        Matched(result, 2);
    }

    [Fact]
    public void Match_DaneTaFullIntermediateNotSent_MatchedAtDepth1()
    {
        Matched(Match([s_leaf], R(s_pki.Intermediate, "2 0 0")), 1);
    }

    [Fact]
    public void Match_DaneTaFullIntermediateKeyNotSent_MatchedAtDepth1()
    {
        Matched(Match([s_leaf], R(s_pki.Intermediate, "2 1 0")), 1);
    }

    [Fact]
    public void Match_DaneTaFullRootNotSentExpired_Expired()
    {
        var root = TestPki.Issue("CN=Expired Root", null, TestPki.Now.AddYears(-5), TestPki.Now.AddDays(-1), ca: true);
        var intermediate = TestPki.Issue("CN=Under Expired Root", root, TestPki.Now.AddYears(-1), TestPki.Now.AddYears(1), ca: true);
        var leaf = s_pki.LeafFor([Mx], issuer: intermediate);

        NotMatched(Match([leaf, intermediate], R(root, "2 0 0")), DaneFailure.Expired);
    }

    [Fact]
    public void Match_DaneTaFullIntermediateNotSentExpired_Expired()
    {
        var intermediate = TestPki.Issue("CN=Old Intermediate", s_pki.Root, TestPki.Now.AddYears(-3), TestPki.Now.AddDays(-1), ca: true);
        var leaf = s_pki.LeafFor([Mx], issuer: intermediate);

        NotMatched(Match([leaf], R(intermediate, "2 0 0")), DaneFailure.Expired);
    }

    [Fact]
    public void Match_DaneTaFullRootKeyNotSentExpiredIntermediate_Expired()
    {
        var intermediate = TestPki.Issue("CN=Old Intermediate", s_pki.Root, TestPki.Now.AddYears(-3), TestPki.Now.AddDays(-1), ca: true);
        var leaf = s_pki.LeafFor([Mx], issuer: intermediate);

        NotMatched(Match([leaf, intermediate], R(s_pki.Root, "2 1 0")), DaneFailure.Expired);
    }

    [Theory]
    [InlineData("2 0 1")]
    [InlineData("2 1 1")]
    [InlineData("2 1 2")]
    public void Match_DaneTaDigestOfRootNotSent_NoMatch(string usm)
    {
        var result = Match([s_leaf, s_pki.Intermediate], R(s_pki.Root, usm));

        NotMatched(result, DaneFailure.NoMatch);
        Assert.Contains("matches no certificate above the leaf", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Match_DaneTaFullKeyOfUnrelatedCa_NotMatched()
    {
        var other = new TestPki("Other");

        NotMatched(Match([s_leaf, s_pki.Intermediate], R(other.Root, "2 1 0")), DaneFailure.ChainInvalid);
        NotMatched(Match([s_leaf, s_pki.Intermediate], R(other.Root, "2 0 0")), DaneFailure.ChainInvalid);
    }

    [Fact]
    public void Match_DaneTaFullDataNotACertificate_NoMatch()
    {
        var record = new TlsaRecord(TlsaUsage.DaneTa, TlsaSelector.Cert, TlsaMatchingType.Full, [0x30, 0x03, 0x02, 0x01, 0x00]);

        NotMatched(Match([s_leaf, s_pki.Intermediate], record), DaneFailure.NoMatch);
    }

    // A DANE-TA match on the leaf itself fails, except 2 1 0 on a self-signed leaf's own key.

    [Theory]
    [InlineData("2 0 0")]
    [InlineData("2 0 1")]
    [InlineData("2 1 1")]
    [InlineData("2 1 2")]
    [InlineData("2 1 0")]
    public void Match_DaneTaOnCaIssuedLeaf_NotMatched(string usm)
    {
        var result = Match([s_leaf, s_pki.Intermediate], R(s_leaf, usm));

        NotMatched(result, DaneFailure.ChainInvalid);
        Assert.Contains("leaf itself", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Match_DaneTaFullKeyOnSelfSignedLeaf_MatchedAtDepth0()
    {
        var leaf = TestPki.Issue("CN=" + Mx, null, dnsNames: [Mx]);

        var result = Match([leaf], R(leaf, "2 1 0"));

        Matched(result, 0);
        Assert.Contains("self-signed", result.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("2 0 0")]
    [InlineData("2 0 1")]
    [InlineData("2 1 1")]
    [InlineData("2 1 2")]
    public void Match_DaneTaOtherOnSelfSignedLeaf_NotMatched(string usm)
    {
        var leaf = TestPki.Issue("CN=" + Mx, null, dnsNames: [Mx]);

        NotMatched(Match([leaf], R(leaf, usm)), DaneFailure.ChainInvalid);
    }

    [Fact]
    public void Match_DaneTaFullKeyOnExpiredSelfSignedLeaf_Expired()
    {
        var leaf = TestPki.Issue("CN=" + Mx, null, TestPki.Now.AddYears(-2), TestPki.Now.AddDays(-1), dnsNames: [Mx]);

        NotMatched(Match([leaf], R(leaf, "2 1 0")), DaneFailure.Expired);
    }

    [Fact]
    public void Match_DaneTaFullKeyOnSelfSignedLeafWrongName_NameMismatch()
    {
        var leaf = TestPki.Issue("CN=other.example.net", null, dnsNames: ["other.example.net"]);

        NotMatched(Match([leaf], R(leaf, "2 1 0")), DaneFailure.NameMismatch);
    }

    // Signatures are checked: a certificate with the right issuer name but another key's signature does not chain.

    [Fact]
    public void Match_DaneTaOnIntermediateForgedLeaf_ChainInvalid()
    {
        var impostor = new TestPki("Dane");
        var forged = impostor.Leaf(Mx);
        Assert.Equal(s_pki.Intermediate.Subject, forged.Issuer);

        var result = Match([forged, s_pki.Intermediate], R(s_pki.Intermediate, "2 1 1"));

        NotMatched(result, DaneFailure.ChainInvalid);
        Assert.Contains("signature", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Match_DaneTaOnSentRootForgedLeaf_ChainInvalid()
    {
        var forged = new TestPki("Dane").Leaf(Mx);

        NotMatched(Match([forged, s_pki.Intermediate, s_pki.Root], R(s_pki.Root, "2 0 1")), DaneFailure.ChainInvalid);
    }

    [Fact]
    public void Match_DaneTaFullRootKeyNotSentForgedIntermediate_ChainInvalid()
    {
        var impostor = new TestPki("Dane");
        var leaf = impostor.Leaf(Mx);

        var result = Match([leaf, impostor.Intermediate], R(s_pki.Root, "2 1 0"));

        NotMatched(result, DaneFailure.ChainInvalid);
        Assert.Contains("not signed by the trust-anchor key", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Match_DaneTaFullIntermediateNotSentForgedLeaf_ChainInvalid()
    {
        var forged = new TestPki("Dane").Leaf(Mx);

        NotMatched(Match([forged], R(s_pki.Intermediate, "2 0 0")), DaneFailure.ChainInvalid);
    }

    [Fact]
    public void Match_DaneTaUnrelatedCaSent_ChainInvalid()
    {
        var other = new TestPki("Other");

        NotMatched(Match([s_leaf, other.Intermediate], R(other.Intermediate, "2 1 1")), DaneFailure.ChainInvalid);
    }

    [Fact]
    public void Match_DaneTaIntermediateIsNotCa_ChainInvalid()
    {
        var notCa = TestPki.Issue("CN=Not A CA", s_pki.Root, ca: false, dnsNames: ["not-a-ca.example.com"]);
        var leaf = s_pki.LeafFor([Mx], issuer: notCa);

        var result = Match([leaf, notCa], R(notCa, "2 1 1"));

        NotMatched(result, DaneFailure.ChainInvalid);
        Assert.Contains("not a CA", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Match_DaneTaOutOfOrderChain_Matched()
    {
        var result = Match([s_leaf, s_pki.Root, s_pki.Intermediate], R(s_pki.Intermediate, "2 1 1"));

        Matched(result, 2);
    }

    [Fact]
    public void Match_DaneTaRsaPssChain_Matched()
    {
        var root = TestPki.Issue("CN=RSA Root", null, TestPki.Now.AddYears(-1), TestPki.Now.AddYears(5), ca: true, rsa: true);
        var intermediate = TestPki.Issue("CN=RSA Intermediate", root, TestPki.Now.AddYears(-1), TestPki.Now.AddYears(2), ca: true, rsa: true);
        var leaf = TestPki.Issue("CN=" + Mx, intermediate, dnsNames: [Mx], pss: true);

        Matched(Match([leaf, intermediate], R(intermediate, "2 1 1")), 1);
        Matched(Match([leaf, intermediate], R(root, "2 1 0")), 2);
        Matched(Match([leaf], R(intermediate, "2 0 0")), 1);
    }

    [Fact]
    public void Match_DaneTaRsaForgedLeaf_ChainInvalid()
    {
        var root = TestPki.Issue("CN=RSA Root", null, TestPki.Now.AddYears(-1), TestPki.Now.AddYears(5), ca: true, rsa: true);
        var intermediate = TestPki.Issue("CN=RSA Intermediate", root, TestPki.Now.AddYears(-1), TestPki.Now.AddYears(2), ca: true, rsa: true);
        var impostor = TestPki.Issue("CN=RSA Intermediate", null, TestPki.Now.AddYears(-1), TestPki.Now.AddYears(2), ca: true, rsa: true);
        var forged = TestPki.Issue("CN=" + Mx, impostor, dnsNames: [Mx]);
        var forgedIntermediate = TestPki.Issue("CN=RSA Intermediate", TestPki.Issue("CN=RSA Root", null, ca: true, rsa: true), ca: true, rsa: true);
        var leaf = TestPki.Issue("CN=" + Mx, forgedIntermediate, dnsNames: [Mx]);

        NotMatched(Match([forged, intermediate], R(intermediate, "2 1 1")), DaneFailure.ChainInvalid);
        NotMatched(Match([leaf, forgedIntermediate], R(root, "2 1 0")), DaneFailure.ChainInvalid);
    }

    // Names for DANE-TA: the TLSA base domain or the MX / next-hop name; CN only without SAN; wildcards.

    [Fact]
    public void Match_DaneTaLeafNamesOnlyMxName_MatchedViaSecondReference()
    {
        var leaf = s_pki.Leaf("mail.provider.net");

        var result = Match([leaf, s_pki.Intermediate], ["mail.example.com", "mail.provider.net"], R(s_pki.Intermediate, "2 1 1"));

        Matched(result, 1);
    }

    [Fact]
    public void Match_DaneTaNoReferenceNames_NameMismatch()
    {
        NotMatched(Match([s_leaf, s_pki.Intermediate], [], R(s_pki.Intermediate, "2 1 1")), DaneFailure.NameMismatch);
    }

    [Theory]
    [InlineData("*.example.com", "mx.example.com", true)]
    [InlineData("*.example.com", "MX.EXAMPLE.COM.", true)]
    [InlineData("*.example.com", "a.b.example.com", false)]
    [InlineData("*.example.com", "example.com", false)]
    [InlineData("x*.example.com", "xmx.example.com", false)]
    [InlineData("*mx.example.com", "xmx.example.com", false)]
    public void Match_DaneTaWildcardLeaf_OnlyWholeLeftmostLabel(string pattern, string reference, bool matched)
    {
        var leaf = s_pki.LeafFor([pattern]);

        var result = Match([leaf, s_pki.Intermediate], [reference], R(s_pki.Intermediate, "2 1 1"));

        Assert.Equal(matched, result.Matched);
        Assert.Equal(matched ? DaneFailure.None : DaneFailure.NameMismatch, result.Failure);
    }

    [Fact]
    public void Match_DaneTaCommonNameWithoutSan_Matched()
    {
        var leaf = TestPki.Issue("CN=" + Mx, s_pki.Intermediate, dnsNames: null);

        Matched(Match([leaf, s_pki.Intermediate], R(s_pki.Intermediate, "2 1 1")), 1);
    }

    [Fact]
    public void Match_DaneTaCommonNameBesideOtherSan_NameMismatch()
    {
        var leaf = TestPki.Issue("CN=" + Mx, s_pki.Intermediate, dnsNames: ["other.example.com"]);

        NotMatched(Match([leaf, s_pki.Intermediate], R(s_pki.Intermediate, "2 1 1")), DaneFailure.NameMismatch);
    }

    // Usable records: usages 2 and 3 only, known selector and matching type, right digest length.

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void Match_PkixUsageMatchingLeaf_UnusableUnauthenticated(int usage)
    {
        var result = Match([s_leaf, s_pki.Intermediate], R(s_leaf, usage, 1, 1), R(s_pki.Intermediate, usage, 1, 1));

        NotMatched(result, DaneFailure.NoUsableRecords);
        Assert.Equal(0, result.Usable);
        Assert.Contains("unauthenticated", result.Reason, StringComparison.Ordinal);
        Assert.Contains("PKIX", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Match_Sha256DataTruncated_Unusable()
    {
        var good = R(s_leaf, "3 1 1");
        var truncated = good with { Data = good.Data[..31] };

        var result = Match([s_leaf], truncated);

        NotMatched(result, DaneFailure.NoUsableRecords);
        Assert.Equal(0, result.Usable);
    }

    [Fact]
    public void Match_Sha256DataLabelledSha512_Unusable()
    {
        var sha256 = R(s_leaf, "3 1 1");

        var result = Match([s_leaf], sha256 with { MatchingType = TlsaMatchingType.Sha512 });

        NotMatched(result, DaneFailure.NoUsableRecords);
    }

    [Theory]
    [InlineData(3, 2, 1)]
    [InlineData(3, 1, 3)]
    [InlineData(4, 1, 1)]
    [InlineData(255, 255, 255)]
    public void Match_UnknownUsageSelectorOrMatching_Unusable(int usage, int selector, int matching)
    {
        var data = R(s_leaf, "3 1 1").Data;

        var result = Match([s_leaf], new TlsaRecord((TlsaUsage)usage, (TlsaSelector)selector, (TlsaMatchingType)matching, data));

        NotMatched(result, DaneFailure.NoUsableRecords);
    }

    [Fact]
    public void Match_UnusableBesideUsable_OnlyUsableCounted()
    {
        var result = Match([s_leaf], R(s_leaf, "1 1 1"), R(s_leaf, "0 0 1"), R(s_leaf, "3 1 1"));

        Matched(result, 0);
        Assert.Equal(1, result.Usable);
        Assert.Equal(2, result.Details.Count(d => d.Contains("unusable", StringComparison.Ordinal)));
    }

    [Fact]
    public void Match_NoRecords_NoUsableRecords()
    {
        NotMatched(Match([s_leaf]), DaneFailure.NoUsableRecords);
    }

    [Fact]
    public void Match_EmptyChain_NoCertificate()
    {
        var result = Match([], R(s_leaf, "3 1 1"));

        NotMatched(result, DaneFailure.NoCertificate);
        Assert.Equal(1, result.Usable);
    }

    // Digest agility (RFC 7671 §9): per usage and selector, SHA-512 present → SHA-256 ignored; full records always count.

    private static TlsaRecord Sha512Garbage(int usage, int selector) =>
        new((TlsaUsage)usage, (TlsaSelector)selector, TlsaMatchingType.Sha512, Enumerable.Repeat((byte)0xAB, 64).ToArray());

    [Fact]
    public void Match_MatchingSha256BesideNonMatchingSha512_NotMatched()
    {
        var result = Match([s_leaf], R(s_leaf, "3 1 1"), Sha512Garbage(3, 1));

        NotMatched(result, DaneFailure.NoMatch);
        Assert.Equal(1, result.Usable);
        Assert.Contains(result.Details, d => d.Contains("digest agility", StringComparison.Ordinal));
    }

    [Fact]
    public void Match_DaneTaMatchingSha256BesideNonMatchingSha512_NotMatched()
    {
        NotMatched(Match([s_leaf, s_pki.Intermediate], R(s_pki.Intermediate, "2 1 1"), Sha512Garbage(2, 1)), DaneFailure.NoMatch);
    }

    [Fact]
    public void Match_MatchingSha256BesideSha512OfOtherSelector_Matched()
    {
        var result = Match([s_leaf], R(s_leaf, "3 1 1"), Sha512Garbage(3, 0));

        Matched(result, 0);
        Assert.Equal(2, result.Usable);
    }

    [Fact]
    public void Match_MatchingSha256BesideSha512OfOtherUsage_Matched()
    {
        Matched(Match([s_leaf, s_pki.Intermediate], R(s_leaf, "3 1 1"), Sha512Garbage(2, 1)), 0);
    }

    [Fact]
    public void Match_MatchingFullBesideNonMatchingSha512_Matched()
    {
        var result = Match([s_leaf], R(s_leaf, "3 1 0"), Sha512Garbage(3, 1));

        Matched(result, 0);
        Assert.Equal(2, result.Usable);
    }

    [Fact]
    public void Match_MatchingSha256BesideMalformedSha512_Matched()
    {
        var malformed = new TlsaRecord(TlsaUsage.DaneEe, TlsaSelector.Spki, TlsaMatchingType.Sha512, new byte[32]);

        var result = Match([s_leaf], R(s_leaf, "3 1 1"), malformed);

        Matched(result, 0);
        Assert.Equal(1, result.Usable);
    }

    [Fact]
    public void Match_MatchingSha512BesideNonMatchingSha256_Matched()
    {
        var sha256Garbage = new TlsaRecord(TlsaUsage.DaneEe, TlsaSelector.Spki, TlsaMatchingType.Sha256, new byte[32]);

        Matched(Match([s_leaf], sha256Garbage, R(s_leaf, "3 1 2")), 0);
    }
}
