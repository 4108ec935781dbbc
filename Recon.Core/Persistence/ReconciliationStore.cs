using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using Recon.Core.Domain;
using Recon.Core.Matching;

namespace Recon.Core.Persistence;

/// <summary>What <see cref="ReconciliationStore.PostAsync"/> wrote.</summary>
/// <param name="ResultsWritten">Results inserted or updated.</param>
/// <param name="ManualKept">Results left alone because a person decided them.</param>
/// <param name="RepeatsSkipped">Repeated provider transactions in the run (their first copy carries the verdict).</param>
/// <param name="ExceptionsOpened">New open exception rows, both sides.</param>
/// <param name="ExceptionsResolved">Open exceptions closed because their item is now matched.</param>
public sealed record PostSummary(int ResultsWritten, int ManualKept, int RepeatsSkipped, int ExceptionsOpened, int ExceptionsResolved);

/// <summary>
/// Writes matcher verdicts, review exceptions and the audit trail, always inside the caller's transaction so a batch
/// lands whole or not at all. Idempotent on (provider, provider_tx_id); a manual decision is never overwritten.
/// </summary>
/// <remarks>
/// Plain parameterised statements with arrays (<c>unnest</c>): one round trip per table whatever the batch size, and
/// nothing prepared, which PgBouncer in transaction mode requires.
/// </remarks>
public static class ReconciliationStore
{
    /// <summary>The <c>decided_by</c> and audit actor of the matcher.</summary>
    public const string EngineActor = "engine";

    // a ledger id could hold ';' but never the ASCII unit separator
    private const char IdSeparator = '\u001f';

    /// <summary>The score's parts as stored in <c>reconciliation_results.evidence</c>.</summary>
    public static string EvidenceJson(MatchEvidence e) => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"{{\"key\":{e.Key},\"amount\":{e.Amount},\"date\":{e.Date},\"counterparty\":{e.Counterparty},\"uniqueness\":{e.Uniqueness},\"group\":{e.Group}}}");

    /// <summary>Posts a run: results, exceptions for everything not matched (both sides), one audit entry.</summary>
    /// <param name="connection">Open connection.</param>
    /// <param name="transaction">The caller's transaction; committed by the caller.</param>
    /// <param name="batchId">Batch the run belongs to.</param>
    /// <param name="run">The matcher's output.</param>
    /// <param name="transactions">The provider transactions that were matched (amounts and currencies for exceptions).</param>
    /// <param name="ledger">The ledger candidates that were matched against.</param>
    /// <param name="cancellationToken">Cancels the statements.</param>
    public static async Task<PostSummary> PostAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string batchId, MatchRun run,
        IReadOnlyList<ProviderTransaction> transactions, IReadOnlyList<LedgerEntry> ledger, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(transactions);
        ArgumentNullException.ThrowIfNull(ledger);
        ArgumentException.ThrowIfNullOrEmpty(batchId);
        if (run.Results.Count != transactions.Count)
        {
            throw new ArgumentException($"the run has {run.Results.Count} results for {transactions.Count} transactions: not the run of these inputs", nameof(run));
        }

        // one row per (provider, id): a repeat is flagged in the run, its first copy's verdict is the one stored
        var rows = new List<(MatchResult Result, ProviderTransaction Tx)>(run.Results.Count);
        var seen = new HashSet<(string, string)>();
        var repeats = 0;
        for (var i = 0; i < run.Results.Count; i++)
        {
            var r = run.Results[i];
            if (r.Reason == nameof(MatchReason.DuplicateProviderTransaction) || !seen.Add((r.Provider, r.ProviderTxId)))
            {
                repeats++;
                continue;
            }
            rows.Add((r, transactions[i]));
        }

        int written;
        await using (var upsert = new NpgsqlCommand("""
            insert into reconciliation_results as r
                (provider, provider_tx_id, ledger_ids, outcome, reason, score, difference_minor, rule, batch_id, decided_by, evidence)
            select u.p, u.i, case when u.l = '' then '{}'::text[] else string_to_array(u.l, @sep) end, u.o, u.re, u.s, u.d, u.ru, @batch, 'engine', u.ev::jsonb
            from unnest(@p, @i, @l, @o, @re, @s, @d, @ru, @ev) as u(p, i, l, o, re, s, d, ru, ev)
            on conflict (provider, provider_tx_id) do update set
                ledger_ids = excluded.ledger_ids, outcome = excluded.outcome, reason = excluded.reason, score = excluded.score,
                difference_minor = excluded.difference_minor, rule = excluded.rule, batch_id = excluded.batch_id,
                evidence = excluded.evidence, updated_at = now()
            where r.decided_by = 'engine'
            """, connection, transaction))
        {
            upsert.Parameters.AddWithValue("sep", IdSeparator.ToString());
            upsert.Parameters.AddWithValue("batch", batchId);
            upsert.Parameters.AddWithValue("p", rows.Select(x => x.Result.Provider).ToArray());
            upsert.Parameters.AddWithValue("i", rows.Select(x => x.Result.ProviderTxId).ToArray());
            upsert.Parameters.AddWithValue("l", rows.Select(x => string.Join(IdSeparator, x.Result.LedgerIds)).ToArray());
            upsert.Parameters.AddWithValue("o", rows.Select(x => MatchFiles.OutcomeName(x.Result.Outcome)).ToArray());
            upsert.Parameters.AddWithValue("re", rows.Select(x => x.Result.Reason).ToArray());
            upsert.Parameters.AddWithValue("s", rows.Select(x => x.Result.Score).ToArray());
            upsert.Parameters.AddWithValue("d", rows.Select(x => x.Result.DifferenceMinor).ToArray());
            upsert.Parameters.AddWithValue("ru", rows.Select(x => x.Result.Rule).ToArray());
            upsert.Parameters.AddWithValue("ev", rows.Select(x => EvidenceJson(x.Result.Evidence)).ToArray());
            written = await upsert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        var providers = rows.Select(x => x.Tx.Provider).ToArray();
        var ids = rows.Select(x => x.Tx.ProviderTxId).ToArray();
        var opened = 0;
        var resolved = 0;

        // provider side: whatever the table now says is not matched (a manual verdict counts) gets an open exception
        await using (var open = new NpgsqlCommand("""
            insert into exceptions (kind, provider, provider_tx_id, reason, amount_minor, currency, batch_id)
            select 'provider_transaction', u.p, u.i, r.reason, u.a, u.c, @batch
            from unnest(@p, @i, @a, @c) as u(p, i, a, c)
            join reconciliation_results r on r.provider = u.p and r.provider_tx_id = u.i
            where r.outcome <> 'matched'
              -- a person closed it with a reason (timing difference, written off, ...): a re-run does not open it again
              and not exists (select 1 from exceptions x where x.kind = 'provider_transaction' and x.provider = u.p and x.provider_tx_id = u.i
                              and x.status = 'resolved' and x.resolved_by is not null)
            on conflict (provider, provider_tx_id) where kind = 'provider_transaction' and status = 'open' do nothing
            """, connection, transaction))
        {
            open.Parameters.AddWithValue("batch", batchId);
            open.Parameters.AddWithValue("p", providers);
            open.Parameters.AddWithValue("i", ids);
            open.Parameters.AddWithValue("a", rows.Select(x => x.Tx.AmountMinor).ToArray());
            open.Parameters.AddWithValue("c", rows.Select(x => x.Tx.Currency).ToArray());
            opened += await open.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await using (var close = new NpgsqlCommand("""
            update exceptions e set status = 'resolved', resolved_at = now()
            from unnest(@p, @i) as u(p, i)
            join reconciliation_results r on r.provider = u.p and r.provider_tx_id = u.i
            where e.kind = 'provider_transaction' and e.status = 'open' and e.provider = u.p and e.provider_tx_id = u.i
              and r.outcome = 'matched'
            """, connection, transaction))
        {
            close.Parameters.AddWithValue("p", providers);
            close.Parameters.AddWithValue("i", ids);
            resolved += await close.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        // ledger side: an entry no matched result holds (in this run or any earlier one) is open for review
        var ledgerReason = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var r in run.Results)
        {
            if (r.Outcome != MatchOutcome.Matched)
            {
                foreach (var id in r.LedgerIds)
                {
                    ledgerReason.TryAdd(id, r.Reason);
                }
            }
        }
        var ledgerIds = ledger.Select(l => l.Id).ToArray();
        await using (var openLedger = new NpgsqlCommand("""
            insert into exceptions (kind, ledger_id, reason, amount_minor, currency, batch_id)
            select 'ledger_entry', u.id, u.re, u.a, u.c, @batch
            from unnest(@id, @re, @a, @c) as u(id, re, a, c)
            where not exists (select 1 from reconciliation_results r where r.outcome = 'matched' and r.ledger_ids @> array[u.id])
              and not exists (select 1 from exceptions x where x.kind = 'ledger_entry' and x.ledger_id = u.id and x.status = 'resolved' and x.resolved_by is not null)
            on conflict (ledger_id) where kind = 'ledger_entry' and status = 'open' do nothing
            """, connection, transaction))
        {
            openLedger.Parameters.AddWithValue("batch", batchId);
            openLedger.Parameters.AddWithValue("id", ledgerIds);
            openLedger.Parameters.AddWithValue("re", ledger.Select(l => ledgerReason.GetValueOrDefault(l.Id, nameof(MatchReason.NoCandidate))).ToArray());
            openLedger.Parameters.AddWithValue("a", ledger.Select(l => l.AmountMinor).ToArray());
            openLedger.Parameters.AddWithValue("c", ledger.Select(l => l.Currency).ToArray());
            opened += await openLedger.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await using (var closeLedger = new NpgsqlCommand("""
            update exceptions e set status = 'resolved', resolved_at = now()
            where e.kind = 'ledger_entry' and e.status = 'open' and e.ledger_id = any(@id)
              and exists (select 1 from reconciliation_results r where r.outcome = 'matched' and r.ledger_ids @> array[e.ledger_id])
            """, connection, transaction))
        {
            closeLedger.Parameters.AddWithValue("id", ledgerIds);
            resolved += await closeLedger.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        var summary = new PostSummary(written, rows.Count - written, repeats, opened, resolved);
        var outcomes = run.Results.GroupBy(r => MatchFiles.OutcomeName(r.Outcome)).ToDictionary(g => g.Key, g => g.Count());
        await AuditAsync(connection, transaction, EngineActor, "post_results", batchId, new Dictionary<string, object?>
        {
            ["outcomes"] = outcomes,
            ["results_written"] = summary.ResultsWritten,
            ["manual_kept"] = summary.ManualKept,
            ["repeats_skipped"] = summary.RepeatsSkipped,
            ["exceptions_opened"] = summary.ExceptionsOpened,
            ["exceptions_resolved"] = summary.ExceptionsResolved,
            ["unmatched_ledger_entries"] = run.UnmatchedLedgerIds.Count,
        }, cancellationToken).ConfigureAwait(false);
        return summary;
    }

    /// <summary>
    /// A person matches a provider transaction to ledger entries: the verdict becomes matched (decided_by manual, kept
    /// by later postings), open exceptions of all of them are resolved, and the change is audited with the verdict it replaced.
    /// </summary>
    /// <exception cref="InvalidOperationException">An entry is already matched to another provider transaction.</exception>
    public static async Task ManualMatchAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string provider, string providerTxId,
        IReadOnlyList<string> ledgerIds, string actor, string? note = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentException.ThrowIfNullOrEmpty(provider);
        ArgumentException.ThrowIfNullOrEmpty(providerTxId);
        ArgumentException.ThrowIfNullOrEmpty(actor);
        ArgumentNullException.ThrowIfNull(ledgerIds);
        if (ledgerIds.Count == 0)
        {
            throw new ArgumentException("a manual match needs at least one ledger entry (use UnmatchAsync to undo a match)", nameof(ledgerIds));
        }
        var ids = ledgerIds.ToArray();

        await using (var taken = new NpgsqlCommand("""
            select provider || ':' || provider_tx_id from reconciliation_results
            where outcome = 'matched' and ledger_ids && @ids and not (provider = @p and provider_tx_id = @i)
            limit 1 for update
            """, connection, transaction))
        {
            taken.Parameters.AddWithValue("ids", ids);
            taken.Parameters.AddWithValue("p", provider);
            taken.Parameters.AddWithValue("i", providerTxId);
            if (await taken.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is string other)
            {
                throw new InvalidOperationException($"ledger entries {string.Join(", ", ids)}: one is already matched to {other}; unmatch it first");
            }
        }

        var previous = await ReadVerdictAsync(connection, transaction, provider, providerTxId, cancellationToken).ConfigureAwait(false);
        await using (var upsert = new NpgsqlCommand("""
            insert into reconciliation_results as r
                (provider, provider_tx_id, ledger_ids, outcome, reason, score, difference_minor, rule, decided_by)
            values (@p, @i, @ids, 'matched', @reason, 1000,
                coalesce((select amount_minor from provider_transactions where provider = @p and provider_tx_id = @i), 0)
                  - coalesce((select sum(amount_minor) from ledger_entries where id = any(@ids)), 0)::bigint,
                @rule, 'manual')
            on conflict (provider, provider_tx_id) do update set
                ledger_ids = excluded.ledger_ids, outcome = 'matched', reason = excluded.reason, score = 1000,
                difference_minor = excluded.difference_minor, rule = excluded.rule, decided_by = 'manual', updated_at = now()
            """, connection, transaction))
        {
            upsert.Parameters.AddWithValue("p", provider);
            upsert.Parameters.AddWithValue("i", providerTxId);
            upsert.Parameters.AddWithValue("ids", ids);
            upsert.Parameters.AddWithValue("reason", nameof(MatchReason.ManualMatch));
            upsert.Parameters.AddWithValue("rule", MatchRuleNames.Manual);
            await upsert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await using (var resolve = new NpgsqlCommand("""
            update exceptions set status = 'resolved', resolved_at = now()
            where status = 'open'
              and ((kind = 'provider_transaction' and provider = @p and provider_tx_id = @i)
                or (kind = 'ledger_entry' and ledger_id = any(@ids)))
            """, connection, transaction))
        {
            resolve.Parameters.AddWithValue("p", provider);
            resolve.Parameters.AddWithValue("i", providerTxId);
            resolve.Parameters.AddWithValue("ids", ids);
            await resolve.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await AuditAsync(connection, transaction, actor, "manual_match", $"{provider}:{providerTxId}", new Dictionary<string, object?>
        {
            ["ledger_ids"] = ids,
            ["previous_outcome"] = previous?.Outcome,
            ["previous_ledger_ids"] = previous?.LedgerIds,
            ["previous_decided_by"] = previous?.DecidedBy,
            ["note"] = note,
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A person undoes a verdict: the transaction becomes unmatched (decided_by manual), exceptions are opened for it
    /// and for the entries it held, and the change is audited.
    /// </summary>
    /// <exception cref="InvalidOperationException">There is no verdict for this transaction.</exception>
    public static async Task UnmatchAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string provider, string providerTxId,
        string actor, string? note = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentException.ThrowIfNullOrEmpty(actor);
        var previous = await ReadVerdictAsync(connection, transaction, provider, providerTxId, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"{provider}:{providerTxId} has no verdict to undo");

        await using (var update = new NpgsqlCommand("""
            update reconciliation_results set ledger_ids = '{}', outcome = 'unmatched', reason = @reason, score = 0,
                difference_minor = coalesce((select amount_minor from provider_transactions where provider = @p and provider_tx_id = @i), 0),
                rule = @rule, decided_by = 'manual', updated_at = now()
            where provider = @p and provider_tx_id = @i
            """, connection, transaction))
        {
            update.Parameters.AddWithValue("p", provider);
            update.Parameters.AddWithValue("i", providerTxId);
            update.Parameters.AddWithValue("reason", nameof(MatchReason.ManualUnmatch));
            update.Parameters.AddWithValue("rule", MatchRuleNames.Manual);
            await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        // Amounts come from the stored rows; an item matched from files alone is not stored, so it is opened at
        // 0 'XXX' (ISO 4217's "no currency") rather than not at all: the review queue must still show it.
        await using (var open = new NpgsqlCommand("""
            insert into exceptions (kind, provider, provider_tx_id, reason, amount_minor, currency)
            select 'provider_transaction', @p, @i, @reason,
                coalesce(pt.amount_minor, 0), coalesce(pt.currency, 'XXX')
            from (select 1) one left join provider_transactions pt on pt.provider = @p and pt.provider_tx_id = @i
            on conflict (provider, provider_tx_id) where kind = 'provider_transaction' and status = 'open' do nothing
            """, connection, transaction))
        {
            open.Parameters.AddWithValue("p", provider);
            open.Parameters.AddWithValue("i", providerTxId);
            open.Parameters.AddWithValue("reason", nameof(MatchReason.ManualUnmatch));
            await open.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await using (var openLedger = new NpgsqlCommand("""
            insert into exceptions (kind, ledger_id, reason, amount_minor, currency)
            select 'ledger_entry', u.id, @reason, coalesce(le.amount_minor, 0), coalesce(le.currency, 'XXX')
            from unnest(@ids) as u(id) left join ledger_entries le on le.id = u.id
            where not exists (select 1 from reconciliation_results r where r.outcome = 'matched' and r.ledger_ids @> array[u.id])
            on conflict (ledger_id) where kind = 'ledger_entry' and status = 'open' do nothing
            """, connection, transaction))
        {
            openLedger.Parameters.AddWithValue("ids", previous.LedgerIds);
            openLedger.Parameters.AddWithValue("reason", nameof(MatchReason.ManualUnmatch));
            await openLedger.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await AuditAsync(connection, transaction, actor, "manual_unmatch", $"{provider}:{providerTxId}", new Dictionary<string, object?>
        {
            ["previous_outcome"] = previous.Outcome,
            ["previous_ledger_ids"] = previous.LedgerIds,
            ["previous_decided_by"] = previous.DecidedBy,
            ["note"] = note,
        }, cancellationToken).ConfigureAwait(false);
    }

    private sealed record Verdict(string Outcome, string[] LedgerIds, string DecidedBy);

    private static async Task<Verdict?> ReadVerdictAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string provider, string providerTxId, CancellationToken ct)
    {
        await using var read = new NpgsqlCommand(
            "select outcome, ledger_ids, decided_by from reconciliation_results where provider = @p and provider_tx_id = @i for update",
            connection, transaction);
        read.Parameters.AddWithValue("p", provider);
        read.Parameters.AddWithValue("i", providerTxId);
        await using var reader = await read.ExecuteReaderAsync(ct).ConfigureAwait(false);
        return await reader.ReadAsync(ct).ConfigureAwait(false)
            ? new Verdict(reader.GetString(0), reader.GetFieldValue<string[]>(1), reader.GetString(2))
            : null;
    }

    private static async Task AuditAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string actor, string action, string subject,
        Dictionary<string, object?> detail, CancellationToken ct)
    {
        await using var audit = new NpgsqlCommand("insert into audit_log (actor, action, subject, detail) values (@actor, @action, @subject, @detail)",
            connection, transaction);
        audit.Parameters.AddWithValue("actor", actor);
        audit.Parameters.AddWithValue("action", action);
        audit.Parameters.AddWithValue("subject", subject);
        audit.Parameters.Add(new NpgsqlParameter("detail", NpgsqlDbType.Jsonb) { Value = JsonSerializer.Serialize(detail) });
        await audit.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }
}
