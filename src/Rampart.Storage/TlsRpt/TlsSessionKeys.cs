using System.Buffers;
using System.Data.Common;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Rampart.Core.TlsRpt;

namespace Rampart.Storage.TlsRpt;

/// <summary>
/// How the session stores (SQLite, PostgreSQL) key and write a session's policy and failures: the same keys and the
/// same text in both, so either store sums a result into the same row.
/// </summary>
internal static class TlsSessionKeys
{
    /// <summary>SHA-256 (hex) over the record and the policy, each field length-prefixed, a null apart from "".</summary>
    public static string PolicyKey(TlsSessionResult result)
    {
        var text = new StringBuilder(256);
        Field(text, result.TlsRptRecord);
        Field(text, result.Policy.PolicyType);
        Field(text, result.Policy.PolicyDomain);
        Fields(text, result.Policy.PolicyStrings);
        Fields(text, result.Policy.MxHostPatterns);
        return Hash(text);
    }

    /// <summary>SHA-256 (hex) over a failure's fields.</summary>
    public static string FailureKey(TlsSessionFailure failure)
    {
        var text = new StringBuilder(128);
        Field(text, failure.ResultType);
        Field(text, failure.SendingMtaIp);
        Field(text, failure.ReceivingMxHostname);
        Field(text, failure.ReceivingMxHelo);
        Field(text, failure.ReceivingIp);
        Field(text, failure.AdditionalInformation);
        Field(text, failure.FailureReasonCode);
        return Hash(text);
    }

    /// <summary>A list as a JSON array of strings (any string survives, newlines and all).</summary>
    public static string JsonList(IReadOnlyList<string> values)
    {
        var buffer = new ArrayBufferWriter<byte>(64);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            foreach (var value in values)
            {
                writer.WriteStringValue(value);
            }
            writer.WriteEndArray();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>The strings of a JSON array <see cref="JsonList"/> wrote.</summary>
    public static List<string> ReadJsonList(string json)
    {
        var values = new List<string>();
        var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(json));
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.String)
            {
                values.Add(reader.GetString()!);
            }
        }
        return values;
    }

    /// <summary>
    /// Reads a day's failure rows (policy id, result_type, sending_mta_ip, receiving_mx_hostname, receiving_mx_helo,
    /// receiving_ip, additional_information, failure_reason_code, sessions) into a list per policy id.
    /// </summary>
    public static async Task<Dictionary<long, List<TlsSessionFailureCount>>> ReadFailuresAsync(DbDataReader reader, CancellationToken cancellationToken)
    {
        var failures = new Dictionary<long, List<TlsSessionFailureCount>>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var id = reader.GetInt64(0);
            if (!failures.TryGetValue(id, out var list))
            {
                failures[id] = list = [];
            }
            list.Add(new TlsSessionFailureCount(
                new TlsSessionFailure(reader.GetString(1), Text(reader, 2), Text(reader, 3), Text(reader, 4), Text(reader, 5), Text(reader, 6), Text(reader, 7)),
                reader.GetInt64(8)));
        }
        return failures;
    }

    /// <summary>
    /// Reads a day's policy rows (id, report_domain, tlsrpt_record, policy_type, policy_domain, policy_string, mx_host,
    /// successful, failed), each with its failures from <paramref name="failures"/>.
    /// </summary>
    public static async Task<List<TlsSessionDayPolicy>> ReadPoliciesAsync(DbDataReader reader, DateOnly day,
        Dictionary<long, List<TlsSessionFailureCount>> failures, CancellationToken cancellationToken)
    {
        var policies = new List<TlsSessionDayPolicy>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            policies.Add(new TlsSessionDayPolicy(
                day,
                reader.GetString(1),
                Text(reader, 2),
                new TlsSessionPolicy(reader.GetString(3), Text(reader, 4), ReadJsonList(reader.GetString(5)), ReadJsonList(reader.GetString(6))),
                reader.GetInt64(7),
                reader.GetInt64(8),
                failures.TryGetValue(reader.GetInt64(0), out var list) ? list : []));
        }
        return policies;
    }

    /// <summary>A text column, null when NULL.</summary>
    public static string? Text(DbDataReader reader, int column) => reader.IsDBNull(column) ? null : reader.GetString(column);

    /// <summary>A UTC day as stored: <c>yyyy-MM-dd</c>.</summary>
    public static string DayText(DateOnly day) => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    public static DateOnly ParseDay(string text) => DateOnly.ParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static void Field(StringBuilder text, string? value) =>
        (value is null ? text.Append('-') : text.Append(value.Length).Append(':').Append(value)).Append(';');

    private static void Fields(StringBuilder text, IReadOnlyList<string> values)
    {
        text.Append(values.Count).Append('[');
        foreach (var value in values)
        {
            Field(text, value);
        }
    }

    private static string Hash(StringBuilder text)
    {
        var length = Encoding.UTF8.GetMaxByteCount(text.Length);
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var written = Encoding.UTF8.GetBytes(text.ToString(), buffer);
            return Convert.ToHexString(SHA256.HashData(buffer.AsSpan(0, written)));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
