using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Rampart.Core.MtaSts;

namespace Rampart.Core.Publish;

/// <summary>
/// The policy file of a <see cref="PublishDomain"/> (RFC 8461 §3.2), CRLF lines in a fixed order, and the TXT
/// <c>id</c> derived from its bytes: the same policy always gives the same id, and any change in the policy changes
/// it, so senders refetch exactly when there is something new (§3.1).
/// </summary>
public sealed class PolicyDocument
{
    private PolicyDocument(string text, byte[] bytes, string id)
    {
        Text = text;
        Bytes = bytes;
        Id = id;
    }

    /// <summary>The policy text as served.</summary>
    public string Text { get; }

    /// <summary>The policy bytes as served (UTF-8; the text is ASCII).</summary>
    public byte[] Bytes { get; }

    /// <summary>The TXT record's id: the first 32 hex digits of SHA-256 over <see cref="Bytes"/> (1–32 alphanumerics, RFC 8461 §3.1).</summary>
    public string Id { get; }

    /// <summary>The <c>_mta-sts</c> TXT value.</summary>
    public string TxtValue => $"v={MtaStsTxtRecord.StsV1}; id={Id}";

    /// <summary>Renders the policy of <paramref name="domain"/>.</summary>
    public static PolicyDocument For(PublishDomain domain)
    {
        ArgumentNullException.ThrowIfNull(domain);
        var text = new StringBuilder();
        text.Append("version: ").Append(MtaStsPolicyParser.Version).Append("\r\n");
        text.Append("mode: ").Append(MtaStsPolicy.ModeName(domain.Mode)).Append("\r\n");
        foreach (var mx in domain.Mx)
        {
            text.Append("mx: ").Append(mx.Value).Append("\r\n");
        }
        text.Append("max_age: ").Append(domain.MaxAge.ToString(CultureInfo.InvariantCulture)).Append("\r\n");
        var policy = text.ToString();
        var bytes = Encoding.UTF8.GetBytes(policy);
        return new PolicyDocument(policy, bytes, IdFor(bytes));
    }

    /// <summary>The id for policy bytes.</summary>
    public static string IdFor(ReadOnlySpan<byte> policy) => Convert.ToHexStringLower(SHA256.HashData(policy))[..32];
}
