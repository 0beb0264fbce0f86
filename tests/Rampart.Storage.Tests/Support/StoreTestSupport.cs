using Microsoft.Data.Sqlite;
using Rampart.Core.MtaSts;

namespace Rampart.Storage.Tests.Support;

/// <summary>A fresh directory under the system temp directory, deleted with everything in it.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "rampart-storage-" + Guid.NewGuid().ToString("N"));

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

internal static class Policies
{
    public static readonly DateTimeOffset T0 = new(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);

    public const string Enforce = "version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\nmax_age: 604800\n";

    public const string EnforceCrlf = "version: STSv1\r\nmode: enforce\r\nmx: mx1.example.org\r\nmx: mx2.example.org\r\nmax_age: 86400\r\n";

    /// <summary>Valid texts with the awkward details a cache must keep byte for byte.</summary>
    public static readonly string[] Texts =
    [
        Enforce,
        EnforceCrlf,
        "version: STSv1\nmode: testing\nmx: *.mail.example\nmax_age: 3600",                          // no final newline
        "\uFEFFversion: STSv1\r\nmode: none\r\nmax_age: 0\r\n",                                     // BOM, mode none
        "version: STSv1\nmode: enforce \t\nmx: mx.example.com\nmax_age: 31557600\nx_note: café ✓\n\n", // trailing blanks, UTF-8
        "version: STSv1\nmode: enforce\nmx: a.example\r\nmx: b.example\nmax_age: 600\r\n",            // mixed line ends
    ];

    public static MtaStsPolicy Parse(string text) =>
        MtaStsPolicyParser.Parse(text).Policy ?? throw new InvalidOperationException("test policy does not parse: " + text);

    public static CachedMtaStsPolicy Entry(
        string domain, string text = Enforce, string id = "20250601T000000", DateTimeOffset? fetched = null, TimeSpan? maxAge = null, DateTimeOffset? checkedAt = null)
    {
        var fetchedAt = fetched ?? T0;
        return new CachedMtaStsPolicy(domain, id, Parse(text), fetchedAt, fetchedAt + (maxAge ?? TimeSpan.FromDays(7)), checkedAt ?? fetchedAt);
    }

    public static void AssertSameEntry(CachedMtaStsPolicy? expected, CachedMtaStsPolicy? actual)
    {
        if (expected is null)
        {
            Assert.Null(actual);
            return;
        }

        Assert.NotNull(actual);
        Assert.Equal(expected.Domain, actual.Domain, ignoreCase: true);
        Assert.Equal(expected.Id, actual.Id);
        Assert.Equal(expected.Policy.Text, actual.Policy.Text);
        Assert.Equal(expected.Policy.Mode, actual.Policy.Mode);
        Assert.Equal(expected.Policy.MaxAge, actual.Policy.MaxAge);
        Assert.Equal(expected.Policy.Mx.Select(m => m.ToString()), actual.Policy.Mx.Select(m => m.ToString()));
        Assert.Equal(expected.DecidedWithoutDane, actual.DecidedWithoutDane);
        Assert.Equal(expected.FetchedAt, actual.FetchedAt);
        Assert.Equal(expected.ExpiresAt, actual.ExpiresAt);
        Assert.Equal(expected.CheckedAt, actual.CheckedAt);
    }

    /// <summary>A second, raw connection to the file, to plant rows the store would never write.</summary>
    public static SqliteConnection Raw(string path)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    public static void Execute(string path, string sql)
    {
        using var connection = Raw(path);
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
