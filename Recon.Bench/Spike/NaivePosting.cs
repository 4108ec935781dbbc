using Npgsql;
using Recon.Core.Domain;
using Recon.Core.Ingestion;
using Recon.Core.Matching;
using Recon.Core.Persistence;

namespace Recon.Bench.Spike;

/// <summary>One provider call for one job of the spike; a 429 surfaces as <see cref="ProviderThrottledException"/>.</summary>
public interface ISpikeProvider
{
    Task<ProviderPage> CallAsync(SpikeJob job, CancellationToken cancellationToken);
}

/// <summary>The naive mode's database side of a batch (the product's is its own MatchingBatchPoster): load the ledger candidates, run the real
/// <see cref="IMatcher"/>, upsert the provider transactions (<see cref="ProviderTransactionStore"/>), post verdicts,
/// exceptions and audit (<see cref="ReconciliationStore.PostAsync"/>) and mark the batch done, in one transaction.</summary>
public static class NaivePosting
{

    /// <summary>The naive worker's first statement: the batch is marked running in the transaction it keeps open.</summary>
    public static async Task MarkRunningAsync(NpgsqlConnection conn, NpgsqlTransaction tx, SpikeJob job, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(job);
        await using var cmd = new NpgsqlCommand("""
            insert into batches (batch_id, provider, account, priority, value_minor, currency, status, attempts, started_at)
            values ($1, $2, $3, $4, $5, 'USD', 'running', 1, now())
            on conflict (batch_id) do update set attempts = batches.attempts + 1, started_at = now()
            """, conn, tx);
        cmd.Parameters.Add(new() { Value = job.BatchId });
        cmd.Parameters.Add(new() { Value = job.Provider });
        cmd.Parameters.Add(new() { Value = SandboxStripeHost.ProviderAccount });
        cmd.Parameters.Add(new() { Value = (short)(job.High ? 0 : 5) });
        cmd.Parameters.Add(new() { Value = job.ValueMinor });
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Matches and posts the page; true when this call completed the batch, false when it was already done
    /// (a redelivered message: the postings are idempotent, the batch row says it was done before).</summary>
    public static async Task<bool> MatchAndPostAsync(NpgsqlConnection conn, NpgsqlTransaction tx, SpikeJob job, ProviderPage page, IMatcher matcher, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(page);
        ArgumentNullException.ThrowIfNull(matcher);
        var txs = page.Transactions;
        var ledger = await LoadCandidatesAsync(conn, tx, txs, ct).ConfigureAwait(false);
        var run = matcher.Match(txs, ledger);
        await ProviderTransactionStore.UpsertAsync(conn, tx, txs, job.BatchId, ct).ConfigureAwait(false);
        await ReconciliationStore.PostAsync(conn, tx, job.BatchId, run, txs, ledger, ct).ConfigureAwait(false);

        await using var done = new NpgsqlCommand("""
            insert into batches (batch_id, provider, account, priority, value_minor, currency, status, attempts, started_at, finished_at)
            values ($1, $2, $3, $4, $5, 'USD', 'done', 1, now(), now())
            on conflict (batch_id) do update set status = 'done', finished_at = now()
            where batches.status <> 'done'
            returning batch_id
            """, conn, tx);
        done.Parameters.Add(new() { Value = job.BatchId });
        done.Parameters.Add(new() { Value = job.Provider });
        done.Parameters.Add(new() { Value = SandboxStripeHost.ProviderAccount });
        done.Parameters.Add(new() { Value = (short)(job.High ? 0 : 5) });
        done.Parameters.Add(new() { Value = job.ValueMinor });
        return await done.ExecuteScalarAsync(ct).ConfigureAwait(false) is string;
    }

    /// <summary>The ledger entries the page can match: those expecting one of its provider ids, and the unreferenced
    /// entries of the account on the page's value dates with one of its amounts (the matcher's other rules need them).</summary>
    private static async Task<List<LedgerEntry>> LoadCandidatesAsync(NpgsqlConnection conn, NpgsqlTransaction tx, IReadOnlyList<ProviderTransaction> txs, CancellationToken ct)
    {
        var ledger = new List<LedgerEntry>();
        if (txs.Count == 0)
        {
            return ledger;
        }
        await using var load = new NpgsqlCommand("""
            select id, account, amount_minor, currency, value_date, reference, external_ref, counterparty, description
            from ledger_entries
            where external_ref = any($1)
               or (external_ref is null and account = $2 and amount_minor = any($3) and value_date = any($4))
            """, conn, tx);
        load.Parameters.Add(new() { Value = txs.Select(t => t.ProviderTxId).ToArray() });
        load.Parameters.Add(new() { Value = SandboxStripeHost.LedgerAccount });
        load.Parameters.Add(new() { Value = txs.Select(t => t.AmountMinor).Distinct().ToArray() });
        load.Parameters.Add(new() { Value = txs.Select(t => t.ValueDate).Distinct().ToArray() });
        await using var reader = await load.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            ledger.Add(new LedgerEntry(
                reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetString(3).Trim(), reader.GetFieldValue<DateOnly>(4),
                reader.IsDBNull(5) ? null : reader.GetString(5), reader.IsDBNull(6) ? null : reader.GetString(6),
                reader.IsDBNull(7) ? null : reader.GetString(7), reader.IsDBNull(8) ? null : reader.GetString(8)));
        }
        return ledger;
    }
}
