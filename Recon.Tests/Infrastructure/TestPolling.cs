using System.Text.Json;
using Azure.Storage.Queues;
using Npgsql;

namespace Recon.Tests.Infrastructure;

/// <summary>Waiting for the real servers and reading what they hold, shared by the end-to-end and parity tests.</summary>
internal static class TestPolling
{
    /// <summary>Polls <paramref name="condition"/> every 300 ms until it holds; fails the test after <paramref name="limit"/>.</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"condition not met within {limit.TotalSeconds:0} s");
            await Task.Delay(300);
        }
    }

    /// <summary>The poison messages of <paramref name="poison"/> as original message → reason, once there are
    /// <paramref name="expected"/> of them (within a minute).</summary>
    public static async Task<Dictionary<string, string>> PoisonReasonsAsync(QueueClient poison, int expected)
    {
        var reasons = new Dictionary<string, string>(StringComparer.Ordinal);
        await UntilAsync(async () =>
        {
            if (await poison.ExistsAsync())
            {
                foreach (var m in (await poison.ReceiveMessagesAsync(10)).Value)
                {
                    using var doc = JsonDocument.Parse(m.Body.ToString());
                    reasons[doc.RootElement.GetProperty("message").GetString()!] = doc.RootElement.GetProperty("reason").GetString()!;
                }
            }
            return reasons.Count >= expected;
        }, TimeSpan.FromMinutes(1));
        return reasons;
    }

    /// <summary>Each row of <paramref name="sql"/> as its columns joined with '|' (invariant culture).</summary>
    public static async Task<List<string>> RowsAsync(NpgsqlDataSource db, string sql)
    {
        await using var cmd = db.CreateCommand(sql);
        await using var reader = await cmd.ExecuteReaderAsync();
        var rows = new List<string>();
        while (await reader.ReadAsync())
        {
            rows.Add(string.Join("|", Enumerable.Range(0, reader.FieldCount).Select(i => Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture))));
        }
        return rows;
    }
}
