using Npgsql;
using NpgsqlTypes;
using Recon.Core.Domain;
using Recon.Core.Ingestion;

namespace Recon.Cli.Bench.Spike;

/// <summary>One provider call for one job of the spike; a 429 surfaces as <see cref="ProviderThrottledException"/>.</summary>
public interface ISpikeProvider
{
    Task<ProviderPage> CallAsync(SpikeJob job, CancellationToken cancellationToken);
}

/// <summary>The database side of a batch: load the ledger candidates, match, write the provider transactions, the
/// results and the batch as done, in one transaction.</summary>
public static class SpikePosting
{
    public const string Account = "acct_spike";

    /// <summary>The naive worker's first statement: the batch is marked running in the transaction it keeps open.</summary>
    public static async Task MarkRunningAsync(NpgsqlConnection conn, NpgsqlTransaction tx, SpikeJob job, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("""
            insert into batches (batch_id, provider, account, priority, value_minor, currency, status, attempts, started_at)
            values ($1, $2, $3, $4, $5, 'USD', 'running', 1, now())
            on conflict (batch_id) do update set attempts = batches.attempts + 1, started_at = now()
            """, conn, tx);
        cmd.Parameters.Add(new() { Value = job.BatchId });
        cmd.Parameters.Add(new() { Value = job.Provider });
        cmd.Parameters.Add(new() { Value = Account });
        cmd.Parameters.Add(new() { Value = (short)(job.High ? 0 : 5) });
        cmd.Parameters.Add(new() { Value = job.ValueMinor });
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Matches and posts the page; true when this call completed the batch, false when it was already done.</summary>
    public static async Task<bool> MatchAndPostAsync(NpgsqlConnection conn, NpgsqlTransaction tx, SpikeJob job, ProviderPage page, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(page);
        var txs = page.Transactions;
        var ids = txs.Select(t => t.ProviderTxId).ToArray();
        // ledger candidates the page can match: by the provider id the ledger expects
        var expected = new Dictionary<string, string>(StringComparer.Ordinal);
        await using (var load = new NpgsqlCommand("select id, external_ref from ledger_entries where external_ref = any($1)", conn, tx))
        {
            load.Parameters.Add(new() { Value = ids });
            await using var reader = await load.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                expected[reader.GetString(1)] = reader.GetString(0);
            }
        }
        if (txs.Count > 0)
        {
            await using var upsert = new NpgsqlCommand("""
                insert into provider_transactions (provider, provider_tx_id, account, amount_minor, fee_minor, currency, value_date, batch_id)
                select * from unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::text[], $7::date[], $8::text[])
                on conflict (provider, provider_tx_id) do update set updated_at = now(), batch_id = excluded.batch_id
                """, conn, tx);
            upsert.Parameters.Add(new() { Value = txs.Select(t => t.Provider).ToArray() });
            upsert.Parameters.Add(new() { Value = ids });
            upsert.Parameters.Add(new() { Value = txs.Select(t => t.Account).ToArray() });
            upsert.Parameters.Add(new() { Value = txs.Select(t => t.AmountMinor).ToArray() });
            upsert.Parameters.Add(new() { Value = txs.Select(t => t.FeeMinor).ToArray() });
            upsert.Parameters.Add(new() { Value = txs.Select(t => t.Currency).ToArray() });
            upsert.Parameters.Add(new() { Value = txs.Select(t => t.ValueDate).ToArray() });
            upsert.Parameters.Add(new() { Value = txs.Select(_ => job.BatchId).ToArray() });
            await upsert.ExecuteNonQueryAsync(ct).ConfigureAwait(false);

            await using var results = new NpgsqlCommand("""
                insert into reconciliation_results (provider, provider_tx_id, ledger_ids, outcome, reason, score, rule, batch_id)
                select p, i, case when l is null then '{}'::text[] else array[l] end,
                       case when l is null then 'unmatched' else 'matched' end,
                       case when l is null then 'NoCandidate' else 'ExternalReference' end,
                       case when l is null then 0 else 1000 end, 'external_ref', $4
                from unnest($1::text[], $2::text[], $3::text[]) as u(p, i, l)
                on conflict (provider, provider_tx_id) do update set ledger_ids = excluded.ledger_ids, outcome = excluded.outcome,
                    reason = excluded.reason, score = excluded.score, batch_id = excluded.batch_id, updated_at = now()
                """, conn, tx);
            results.Parameters.Add(new() { Value = txs.Select(t => t.Provider).ToArray() });
            results.Parameters.Add(new() { Value = ids });
            results.Parameters.Add(new() { Value = ids.Select(i => expected.GetValueOrDefault(i)).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            results.Parameters.Add(new() { Value = job.BatchId });
            await results.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }

        await using var done = new NpgsqlCommand("""
            insert into batches (batch_id, provider, account, priority, value_minor, currency, status, attempts, started_at, finished_at)
            values ($1, $2, $3, $4, $5, 'USD', 'done', 1, now(), now())
            on conflict (batch_id) do update set status = 'done', finished_at = now()
            where batches.status <> 'done'
            returning batch_id
            """, conn, tx);
        done.Parameters.Add(new() { Value = job.BatchId });
        done.Parameters.Add(new() { Value = job.Provider });
        done.Parameters.Add(new() { Value = Account });
        done.Parameters.Add(new() { Value = (short)(job.High ? 0 : 5) });
        done.Parameters.Add(new() { Value = job.ValueMinor });
        return await done.ExecuteScalarAsync(ct).ConfigureAwait(false) is string;
    }
}
