namespace Rampart.Core.Publish;

/// <summary>
/// One receiving domain as the operator writes it in the publish YAML (mutable, bound from the file); it becomes an
/// immutable <see cref="PublishDomain"/> through <see cref="PublishDomain.TryFrom"/>, which names every bad key.
/// </summary>
public sealed class PublishDomainOptions
{
    /// <summary>The mail domain (<c>domain:</c>).</summary>
    public string? Domain { get; set; }

    /// <summary>MX host names or <c>*.</c> patterns for the policy's <c>mx:</c> lines (<c>mx:</c>).</summary>
    public List<string> Mx { get; } = [];

    /// <summary><c>testing</c> (default), <c>enforce</c> or <c>none</c> (<c>mode:</c>).</summary>
    public string? Mode { get; set; }

    /// <summary>Policy lifetime in seconds (<c>max_age:</c>, default one day).</summary>
    public string? MaxAge { get; set; }

    /// <summary>TLS-RPT report addresses, <c>mailto:</c> or <c>https:</c> (<c>tlsrpt:</c>).</summary>
    public List<string> TlsRpt { get; } = [];

    /// <summary>Certificates to publish TLSA records for (<c>tlsa:</c>).</summary>
    public List<PublishTlsaOptions> Tlsa { get; } = [];

    /// <summary>Where <c>mta-sts.&lt;domain&gt;</c> should point: an IP address (A/AAAA advice) or a host name (CNAME advice).</summary>
    public string? PolicyHost { get; set; }

    /// <summary>The certbot lineage (<c>live/NAME/</c>) that holds the policy host's certificate; default <c>mta-sts.&lt;domain&gt;</c>.</summary>
    public string? CertName { get; set; }
}

/// <summary>One <c>tlsa:</c> entry: the MX host's certificate (chain, leaf first), optionally the next key, optionally DANE-TA.</summary>
public sealed class PublishTlsaOptions
{
    /// <summary>The MX host the records are for; default the certificate's first DNS name.</summary>
    public string? Host { get; set; }

    /// <summary>PEM file: the current certificate or chain (certbot's fullchain.pem works).</summary>
    public string? Cert { get; set; }

    /// <summary>PEM file: the next certificate or key (public or private), published ahead of a rotation.</summary>
    public string? Next { get; set; }

    /// <summary>Also publish <c>2 1 1</c> for the top CA certificate of the chain.</summary>
    public bool DaneTa { get; set; }

    /// <summary>SMTP port, 25 unless said otherwise.</summary>
    public string? Port { get; set; }
}
