using Npgsql;
using NpgsqlTypes;
using Recon.Core.Domain;
using Recon.Core.Ingestion;
using Recon.Core.Matching;
using Recon.Core.Persistence;
using Recon.Core.Priority;
using Recon.Core.Queues;
using Recon.Core.Telemetry;

namespace Recon.Core.Pipeline;

/// <summary>Pipeline settings (section <c>Recon:Pipeline</c>) that tie provider pages to the ledger.</summary>
public sealed class PipelineOptions
{
    public const string SectionName = "Recon:Pipeline";

    /// <summary>
    /// Ledger accounts whose entries a provider's transactions may match, as account-name prefixes per provider. The
    /// defaults are the chart of accounts the scenario generator books (stripe:sales and stripe:clearing, bank_a:operating,
    /// bank_b:operating, card:corporate for the Plaid card account); a real ledger sets its own.
    /// </summary>
    public Dictionary<string, string[]> LedgerAccountPrefixes { get; set; } = new(StringComparer.Ordinal)
    {
        [Providers.Stripe] = ["stripe:"],
        [Providers.Plaid] = ["card:"],
        [Providers.BankA] = ["bank_a:"],
        [Providers.BankB] = ["bank_b:"],
    };

    /// <summary>
    /// Ledger candidates are taken from this many calendar days either side of a page's dates: the matcher's window is
    /// 3 business days, which a weekend stretches to 5 calendar days, and Stripe values a charge 2 days after booking.
    /// </summary>
    public int CandidateWindowDays { get; set; } = 7;

    /// <summary>How long a batch message taken by the dispatcher stays invisible: starting an orchestration takes
    /// milliseconds; 60 s covers a slow Azurite under load, and a crashed dispatcher's messages are back within it.</summary>
    public TimeSpan DispatchLeaseTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The ledger accounts (prefixes) that carry a bank account's balance, by the account as the bank writes it (e.g.
    /// <c>"100200300": ["bank_a:operating"]</c>), for the balance proof. An account not named here uses its provider's
    /// <see cref="LedgerAccountPrefixes"/>: right when a bank has one account, as in the scenario; a bank with several
    /// accounts names each here, or their ledgers would be summed together.
    /// </summary>
    public Dictionary<string, string[]> StatementLedgerAccounts { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The ledger prefixes whose entries make up <paramref name="account"/>'s ledger balance.</summary>
    public string[] BalancePrefixesFor(string provider, string account)
        => StatementLedgerAccounts.TryGetValue(account, out var prefixes) && prefixes.Length > 0 ? prefixes : PrefixesFor(provider);

    /// <summary>The prefixes for <paramref name="provider"/>, with a clear error when none are configured.</summary>
    public string[] PrefixesFor(string provider)
        => LedgerAccountPrefixes.TryGetValue(provider, out var prefixes) && prefixes.Length > 0
            ? prefixes
            : throw new InvalidOperationException($"{SectionName}:LedgerAccountPrefixes:{provider} is not set: no ledger account to match {provider} transactions against.");

    /// <summary>SQL LIKE patterns for the prefixes (with LIKE's own wildcards escaped).</summary>
    public string[] LikePatternsFor(string provider)
        => PrefixesFor(provider).Select(p => p.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("%", "\\%", StringComparison.Ordinal).Replace("_", "\\_", StringComparison.Ordinal) + "%").ToArray();
}

/// <summary><see cref="IBatchQueue"/> over the throttle's <see cref="PriorityQueueClient"/>: high first with the guaranteed
/// low share, and high-only for the slots reserved for high work.</summary>
public sealed class PriorityBatchQueue(PriorityQueueClient client, PipelineOptions options) : IBatchQueue
{
    public Task EnqueueAsync(BatchWork batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return client.EnqueueAsync(ToMessage(batch), cancellationToken);
    }

    public async Task<IReadOnlyList<QueuedBatch>> DequeueAsync(int maxHigh, int maxLow, CancellationToken cancellationToken)
    {
        var taken = new List<LeasedBatchMessage>();
        // the mixed dequeue may return low work, so it only asks for as many as low may take; the rest is high-only
        if (maxLow > 0)
        {
            taken.AddRange(await client.DequeueAsync(Math.Min(maxHigh, maxLow), options.DispatchLeaseTimeout, cancellationToken).ConfigureAwait(false));
        }
        var highRoom = maxHigh - taken.Count;
        if (highRoom > 0)
        {
            taken.AddRange(await client.DequeueHighAsync(highRoom, options.DispatchLeaseTimeout, cancellationToken).ConfigureAwait(false));
        }
        return taken.Select(m => new QueuedBatch(ToWork(m.Message), m.IsHigh, m, m.DequeueCount, m.LastError)).ToList();
    }

    public Task CompleteAsync(QueuedBatch message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        return ((LeasedBatchMessage)message.Receipt).CompleteAsync(cancellationToken);
    }

    public Task PoisonAsync(QueuedBatch message, string reason, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        return ((LeasedBatchMessage)message.Receipt).PoisonAsync(reason, cancellationToken);
    }

    public async Task<(long High, long Low)> DepthAsync(CancellationToken cancellationToken)
    {
        var (high, low) = await client.ApproximateDepthAsync(cancellationToken).ConfigureAwait(false);
        ReconMetrics.SetQueueDepth(QueueNames.High, high);
        ReconMetrics.SetQueueDepth(QueueNames.Low, low);
        return (high, low);
    }

    public static BatchMessage ToMessage(BatchWork batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return new BatchMessage(batch.BatchId, batch.Page.Provider, batch.Page.Account, batch.Page.From, batch.Page.To, batch.Page.Cursor,
            batch.Page.PageSize, batch.Priority, batch.ValueMinor, batch.Currency, DateTimeOffset.UtcNow, batch.RunId, batch.Sequence,
            batch.ChainCursor, batch.Generation);
    }

    public static BatchWork ToWork(BatchMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return new BatchWork(message.BatchId, message.RunId ?? "", new PageRequest(message.Provider, message.Account, message.From, message.To, message.Cursor, message.PageSize),
            message.Priority, message.ValueMinor, message.Currency, message.Sequence, message.ChainCursor, message.Generation);
    }
}

/// <summary>Values a day's batch by what the ledger expects on the provider's ledger accounts that day (sum of absolute
/// amounts, in the currency with the most value) and ranks it with the <see cref="PriorityPolicy"/>.</summary>
public sealed class PolicyBatchValuation(DatabaseBulkhead bulkhead, PriorityPolicy policy, PipelineOptions options) : IBatchValuation
{
    public Task<(long ValueMinor, string Currency)> ValueOfAsync(PageRequest page, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(page);
        var patterns = options.LikePatternsFor(page.Provider);
        return bulkhead.RunAsync(async (c, ct) =>
        {
            await using var cmd = new NpgsqlCommand("""
                select currency, sum(abs(amount_minor))::bigint as v from ledger_entries
                where account like any($1) and value_date between $2 and $3
                group by currency order by v desc, currency limit 1
                """, c);
            cmd.Parameters.Add(new() { Value = patterns });
            cmd.Parameters.Add(new() { Value = page.From });
            cmd.Parameters.Add(new() { Value = page.To });
            await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            // nothing expected that day: worth nothing, lowest priority
            return await r.ReadAsync(ct).ConfigureAwait(false) ? (r.GetInt64(1), r.GetString(0).Trim()) : (0L, "USD");
        }, cancellationToken);
    }

    public int PriorityOf(long valueMinor, string currency) => policy.PriorityFor(valueMinor, currency);
}

/// <summary>Stores a fetched page: transactions upserted on (provider, provider id), a bank statement's balances on (provider,
/// account, day), withdrawn ones retired (and their engine verdicts withdrawn), a Plaid cursor beside the rows it produced,
/// all in one transaction.</summary>
public sealed class PostgresPageStore(DatabaseBulkhead bulkhead) : IPageStore
{
    public Task StoreAsync(string batchId, ProviderPage page, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(page);
        return bulkhead.RunAsync(async (c, ct) =>
        {
            await using var tx = await c.BeginTransactionAsync(ct).ConfigureAwait(false);
            await ProviderTransactionStore.UpsertAsync(c, tx, page.Transactions, batchId, ct).ConfigureAwait(false);
            await Balances.BalanceStore.UpsertStatementBalancesAsync(c, tx, page.Balances, batchId, ct).ConfigureAwait(false);
            var provider = page.Transactions.FirstOrDefault()?.Provider;
            if (page.RemovedIds.Count > 0)
            {
                // removals come from Plaid only (the one provider that withdraws transactions)
                provider ??= Providers.Plaid;
                await ProviderTransactionStore.RetireAsync(c, tx, provider, page.RemovedIds, ct).ConfigureAwait(false);
                await using var withdraw = new NpgsqlCommand("""
                    with gone as (delete from reconciliation_results where provider = $1 and provider_tx_id = any($2) and decided_by = 'engine'
                                  returning provider_tx_id)
                    insert into audit_log (actor, action, subject, detail)
                    select 'engine', 'withdraw_result', $1 || ':' || provider_tx_id, jsonb_build_object('batch_id', $3::text) from gone
                    """, c, tx);
                withdraw.Parameters.Add(new() { Value = provider });
                withdraw.Parameters.Add(new() { Value = page.RemovedIds.ToArray() });
                withdraw.Parameters.Add(new() { Value = batchId });
                await withdraw.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                await using var resolve = new NpgsqlCommand("""
                    update exceptions set status = 'resolved', resolved_at = now()
                    where kind = 'provider_transaction' and status = 'open' and provider = $1 and provider_tx_id = any($2)
                    """, c, tx);
                resolve.Parameters.Add(new() { Value = provider });
                resolve.Parameters.Add(new() { Value = page.RemovedIds.ToArray() });
                await resolve.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }
            await tx.CommitAsync(ct).ConfigureAwait(false);
        }, cancellationToken);
    }
}

/// <summary>
/// Loads a page's posted transactions and the ledger candidates around them, matches them and posts results,
/// exceptions and audit in one transaction (<see cref="ReconciliationStore"/>), idempotent on (provider, provider id).
/// </summary>
/// <remarks>
/// Batches of one provider post one at a time (<c>pg_advisory_xact_lock</c>, released at commit, safe through PgBouncer in
/// transaction mode), and a ledger entry another transaction already holds as matched is not offered again, so two
/// batches can never both claim one entry. Pending transactions get no verdict: they are replaced when they post.
/// </remarks>
public sealed class MatchingBatchPoster(DatabaseBulkhead bulkhead, IMatcher matcher, PipelineOptions options) : IBatchPoster
{
    public Task<Pipeline.PostSummary> MatchAndPostAsync(MatchAndPostInput input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        var provider = input.Page.Provider;
        var patterns = options.LikePatternsFor(provider);
        return bulkhead.RunAsync(async (c, ct) =>
        {
            await using var tx = await c.BeginTransactionAsync(ct).ConfigureAwait(false);
            await using (var lockCmd = new NpgsqlCommand("select pg_advisory_xact_lock(hashtext('recon:post:' || $1))", c, tx))
            {
                lockCmd.Parameters.Add(new() { Value = provider });
                await lockCmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }
            var transactions = await LoadTransactionsAsync(c, tx, provider, input.TransactionIds, ct).ConfigureAwait(false);
            if (transactions.Count == 0)
            {
                await tx.CommitAsync(ct).ConfigureAwait(false);
                return new Pipeline.PostSummary(0, 0, 0, 0, 0, 0, 0);
            }
            var dates = transactions.SelectMany(t => t.BookingDate is { } b ? new[] { b, t.ValueDate } : [t.ValueDate]).ToList();
            var ledger = await LoadCandidatesAsync(c, tx, provider, patterns, dates.Min().AddDays(-options.CandidateWindowDays),
                dates.Max().AddDays(options.CandidateWindowDays), transactions.Select(t => t.ProviderTxId).ToArray(), ct).ConfigureAwait(false);
            var run = matcher.Match(transactions, ledger);
            var posted = await ReconciliationStore.PostAsync(c, tx, input.BatchId, run, transactions, ledger, ct).ConfigureAwait(false);
            await tx.CommitAsync(ct).ConfigureAwait(false);
            foreach (var outcome in run.Results.GroupBy(r => r.Outcome))
            {
                ReconMetrics.RecordResult(outcome.Key, outcome.Count());
            }
            int Count(MatchOutcome o) => run.Results.Count(r => r.Outcome == o);
            return new Pipeline.PostSummary(transactions.Count, Count(MatchOutcome.Matched), Count(MatchOutcome.Proposed), Count(MatchOutcome.Ambiguous),
                Count(MatchOutcome.Unmatched), Count(MatchOutcome.Duplicate), posted.ExceptionsOpened);
        }, cancellationToken);
    }

    private static async Task<List<ProviderTransaction>> LoadTransactionsAsync(NpgsqlConnection c, NpgsqlTransaction tx, string provider, IReadOnlyList<string> ids, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("""
            select provider, provider_tx_id, account, amount_minor, fee_minor, currency, booking_date, value_date, bank_reference,
                   end_to_end_id, remittance, group_id
            from provider_transactions where provider = $1 and provider_tx_id = any($2) and status = 'posted'
            order by provider_tx_id
            """, c, tx);
        cmd.Parameters.Add(new() { Value = provider });
        cmd.Parameters.Add(new() { Value = ids.ToArray() });
        var rows = new List<ProviderTransaction>();
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
        {
            rows.Add(new ProviderTransaction(r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt64(3), r.GetInt64(4), r.GetString(5).Trim(),
                r.IsDBNull(6) ? null : r.GetFieldValue<DateOnly>(6), r.GetFieldValue<DateOnly>(7), Text(r, 8), Text(r, 9), Text(r, 10), Text(r, 11)));
        }
        return rows;
    }

    private static async Task<List<LedgerEntry>> LoadCandidatesAsync(NpgsqlConnection c, NpgsqlTransaction tx, string provider, string[] patterns,
        DateOnly from, DateOnly to, string[] ownIds, CancellationToken ct)
    {
        // entries matched to some other transaction are taken; entries this page's own earlier verdicts hold are offered
        // again, so a re-run reaches the same verdicts
        await using var cmd = new NpgsqlCommand("""
            select l.id, l.account, l.amount_minor, l.currency, l.value_date, l.reference, l.external_ref, l.counterparty, l.description
            from ledger_entries l
            where l.account like any($1) and l.value_date between $2 and $3
              and not exists (select 1 from reconciliation_results r
                              where r.outcome = 'matched' and r.ledger_ids @> array[l.id]
                                and not (r.provider = $4 and r.provider_tx_id = any($5)))
            order by l.id
            """, c, tx);
        cmd.Parameters.Add(new() { Value = patterns });
        cmd.Parameters.Add(new() { Value = from });
        cmd.Parameters.Add(new() { Value = to });
        cmd.Parameters.Add(new() { Value = provider });
        cmd.Parameters.Add(new() { Value = ownIds, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        var rows = new List<LedgerEntry>();
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
        {
            rows.Add(new LedgerEntry(r.GetString(0), r.GetString(1), r.GetInt64(2), r.GetString(3).Trim(), r.GetFieldValue<DateOnly>(4),
                Text(r, 5), Text(r, 6), Text(r, 7), Text(r, 8)));
        }
        return rows;
    }

    private static string? Text(NpgsqlDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);
}

/// <summary>Reports batch outcomes to <see cref="ReconMetrics"/> (the Recon meter the telemetry exporters read).</summary>
public sealed class ReconPipelineMetrics : IPipelineMetrics
{
    public void BatchStatus(BatchStatusUpdate update)
    {
        ArgumentNullException.ThrowIfNull(update);
        if (update.Status is BatchStatuses.Done or BatchStatuses.Failed && update.Priority is { } priority && update.StartedAtUtc is { } started)
        {
            ReconMetrics.RecordBatch(priority, update.AtUtc - started, update.Late, update.BatchId);
        }
    }
}
