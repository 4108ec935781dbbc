using Npgsql;
using Recon.Core.Ingestion;
using Recon.Core.Persistence;

namespace Recon.Core.Pipeline;

/// <summary>Values a day's batch by what the ledger expects on that account and day (sum of absolute amounts).</summary>
public sealed class LedgerBatchValuation(DatabaseBulkhead bulkhead, Func<long, string, int> priorityOf) : IBatchValuation
{
    public Task<(long ValueMinor, string Currency)> ValueOfAsync(PageRequest page, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(page);
        return bulkhead.RunAsync(async (c, ct) =>
        {
            await using var cmd = new NpgsqlCommand("""
                select coalesce(sum(abs(amount_minor)), 0)::bigint, coalesce(min(currency), 'USD')
                from ledger_entries where account = $1 and value_date between $2 and $3
                """, c);
            cmd.Parameters.Add(new() { Value = page.Account });
            cmd.Parameters.Add(new() { Value = page.From });
            cmd.Parameters.Add(new() { Value = page.To });
            await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            await r.ReadAsync(ct).ConfigureAwait(false);
            return (r.GetInt64(0), r.GetString(1).Trim());
        }, cancellationToken);
    }

    public int PriorityOf(long valueMinor, string currency) => Math.Clamp(priorityOf(valueMinor, currency), 0, 10);
}
