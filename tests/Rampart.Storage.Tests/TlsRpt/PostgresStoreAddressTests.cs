using Npgsql;
using Rampart.Core;
using Rampart.Storage.TlsRpt;

namespace Rampart.Storage.Tests.TlsRpt;

/// <summary>The libpq-style URL of the PostgreSQL report store: what each part becomes, and one-line refusals that never show the password.</summary>
public sealed class PostgresStoreAddressTests
{
    private static NpgsqlConnectionStringBuilder Settings(PostgresStoreAddress address) => new(address.ConnectionString);

    [Fact]
    public void Parse_FullTcpUrl_EveryPartDecoded()
    {
        var address = PostgresStoreAddress.Parse("postgresql://tls%40rpt:p%40ss%3Aw%2Fd@db1.example:6543/report%20store?sslmode=verify-full&connect_timeout=9&application_name=importer&options=-c%20synchronous_commit%3Doff");

        var s = Settings(address);
        Assert.Equal(("tls@rpt", "p@ss:w/d", "db1.example", 6543, "report store"), (s.Username, s.Password, s.Host, s.Port, s.Database));
        Assert.Equal((SslMode.VerifyFull, 9, "importer", "-c synchronous_commit=off"), (s.SslMode, s.Timeout, s.ApplicationName, s.Options));
        Assert.Equal("postgres://tls@rpt@db1.example:6543/report store", address.Location);
    }

    [Fact]
    public void Parse_Defaults_Port5432ConnectTimeout5()
    {
        var s = Settings(PostgresStoreAddress.Parse("postgres://rampart@db1/tlsrpt"));

        Assert.Equal((5432, 5, "rampart", (string?)null), (s.Port, s.Timeout, s.ApplicationName, s.Password));
    }

    [Theory]
    [InlineData("postgres://rampart@%2Frun%2Fpostgresql/tlsrpt", "/run/postgresql")]
    [InlineData("postgres://rampart@/tlsrpt?host=/tmp/pg", "/tmp/pg")]
    [InlineData("postgres://rampart@[::1]:5433/tlsrpt", "::1")]
    public void Parse_HostForms(string url, string host) => Assert.Equal(host, Settings(PostgresStoreAddress.Parse(url)).Host);

    [Fact]
    public void Parse_PasswordAsParameter_UsedButNotInLocation()
    {
        var address = PostgresStoreAddress.Parse("postgres://rampart@db1/tlsrpt?password=t0p");

        Assert.Equal("t0p", Settings(address).Password);
        Assert.Equal("postgres://rampart@db1:5432/tlsrpt", address.Location);
    }

    [Theory]
    [InlineData("postgres://u:pw@h:0/db", "port '0' must be a number from 1 to 65535")]
    [InlineData("postgres://u:pw@h:x/db", "port 'x' must be a number from 1 to 65535")]
    [InlineData("postgres://u:pw@h/db?sslmode=sometimes", "sslmode 'sometimes' must be one of disable, allow, prefer, require, verify-ca, verify-full")]
    [InlineData("postgres://u:pw@h/db?pool=9", "unknown parameter 'pool' (known: host, port, user, password, dbname, sslmode, sslrootcert, connect_timeout, application_name, options)")]
    [InlineData("postgres://u:pw@h/db?connect_timeout=0", "connect_timeout '0' must be a number of seconds from 1 to 600")]
    [InlineData("postgres://u:pw@h1,h2/db", "several hosts are not supported; name one server")]
    [InlineData("postgres://u:pw@[::1/db", "an IPv6 host needs its closing ']'")]
    [InlineData("postgres://u:pw@h/a/b", "database name 'a/b' must not contain '/'")]
    [InlineData("postgres://u:pw@h/db name", "must not contain spaces or control characters (percent-encode them)")]
    [InlineData("mysql://u:pw@h/db", "must start with postgres:// or postgresql://")]
    public void Parse_BadUrl_OneLineNamingTheRuleNeverThePassword(string url, string rule)
    {
        var ex = Assert.Throws<RampartException>(() => PostgresStoreAddress.Parse(url));

        Assert.EndsWith(" is not usable: " + rule, ex.Message, StringComparison.Ordinal);
        Assert.StartsWith("PostgreSQL store URL '", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(":pw@", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Theory]
    [InlineData("postgres://u:secret@h/db", "postgres://u:***@h/db")]
    [InlineData("postgres://u@h/db?password=secret&sslmode=require", "postgres://u@h/db?password=***&sslmode=require")]
    [InlineData("postgres://u@h/db", "postgres://u@h/db")]
    public void Redact_HidesPasswords(string url, string redacted) => Assert.Equal(redacted, PostgresStoreAddress.Redact(url));

    [Theory]
    [InlineData("postgres://h/db", true)]
    [InlineData("PostgreSQL://h/db", true)]
    [InlineData("/var/lib/rampart/tlsrpt.sqlite", false)]
    [InlineData("postgres.sqlite", false)]
    public void IsPostgresUrl_ByScheme(string store, bool expected) => Assert.Equal(expected, PostgresStoreAddress.IsPostgresUrl(store));
}
