using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using Recon.Core.Domain;
using Recon.Core.Persistence;

namespace Recon.Core.Ledger;

/// <summary>What one import did.</summary>
/// <param name="Received">Entries in the source.</param>
/// <param name="Inserted">Ids seen for the first time (version 1).</param>
/// <param name="Amended">Ids whose content changed: a new version, the old one kept in <c>ledger_entry_versions</c>.</param>
/// <param name="Unchanged">Ids imported again with the same content: nothing written.</param>
/// <param name="VerdictsReopened">Verdicts that held an amended entry, reopened for the next batch.</param>
public sealed record LedgerImportSummary(int Received, int Inserted, int Amended, int Unchanged, int VerdictsReopened)
{
    /// <summary>Seconds per phase of the import (copy, analyze, lock, compare, versions, update, insert, reopen, commit), in
    /// order: where the time goes (<c>recon bench ledger</c> prints them). Not part of the API's answer.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public IReadOnlyList<(string Phase, double Seconds)> Phases { get; init; } = [];

    /// <summary>What the import did, not how long it took: the phases are not part of equality.</summary>
    public bool Equals(LedgerImportSummary? other)
        => other is not null && (Received, Inserted, Amended, Unchanged, VerdictsReopened) == (other.Received, other.Inserted, other.Amended, other.Unchanged, other.VerdictsReopened);

    public override int GetHashCode() => HashCode.Combine(Received, Inserted, Amended, Unchanged, VerdictsReopened);
}

/// <summary>
/// Imports ledger entries: Npgsql binary <c>COPY</c> into a staging table, then set-based statements, all in one transaction,
/// so a source lands whole or not at all. Idempotent on the entry id; changed content is a new version (the old one kept),
/// and a verdict that held a changed entry is reopened so the next batch decides it against the new version.
/// </summary>
/// <remarks>
/// PgBouncer runs in transaction mode: the staging table is a temporary table dropped at commit (it lives and dies in the
/// one transaction, so it never outlives the server connection's loan), nothing is prepared, and the locks are
/// <c>pg_advisory_xact_lock</c>. The import takes the posting lock of every provider (the same key
/// <c>MatchingBatchPoster</c> takes, in a fixed order, after the COPY so the wait is short): a batch that read the old
/// version of an entry cannot commit a verdict after the import reopened verdicts.
/// </remarks>
public sealed class LedgerStore(DatabaseBulkhead database)
{
    /// <summary>The <c>reconciliation_results.reason</c> of a verdict reopened because an entry it held changed.</summary>
    public const string LedgerChangedReason = "LedgerChanged";

    /// <summary>The <c>reconciliation_results.rule</c> of such a verdict.</summary>
    public const string LedgerChangedRule = "ledger_changed";

    /// <summary>How many amended ids and reopened verdicts the import's audit row names one by one; beyond it, counts only
    /// (a full day re-sent amended must not make one audit row megabytes long; the versions table holds every change).</summary>
    public const int MaxAuditedItems = 500;

    /// <summary>Imports <paramref name="entries"/> (already validated by <see cref="LedgerRows"/>) as <paramref name="actor"/>.</summary>
    /// <param name="entries">One version per id; may be a stream (<see cref="LedgerRows.EnumerateCsv"/>): entries are sent to
    /// the database as they come, and one that throws leaves nothing imported.</param>
    /// <param name="source">What was imported (file name, <c>api</c>, the queue message id): the audit row's subject.</param>
    /// <param name="actor">Who imported it.</param>
    /// <param name="cancellationToken">Cancels the import (nothing is kept).</param>
    public Task<LedgerImportSummary> ImportAsync(IEnumerable<LedgerEntry> entries, string source, string actor, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        ArgumentException.ThrowIfNullOrEmpty(source);
        ArgumentException.ThrowIfNullOrEmpty(actor);
        return database.RunAsync((c, ct) => ImportAsync(c, entries, source, actor, ct), cancellationToken);
    }

    private static async Task<LedgerImportSummary> ImportAsync(NpgsqlConnection c, IEnumerable<LedgerEntry> entries, string source, string actor, CancellationToken ct)
    {
        var phases = new List<(string Phase, double Seconds)>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        void Phase(string name)
        {
            phases.Add((name, clock.Elapsed.TotalSeconds));
            clock.Restart();
        }
        var received = 0;
        await using var tx = await c.BeginTransactionAsync(ct).ConfigureAwait(false);
        await ExecAsync(c, tx, """
            create temp table ledger_staging (
                id text not null, account text not null, amount_minor bigint not null, currency char(3) not null, value_date date not null,
                reference text, external_ref text, counterparty text, description text) on commit drop
            """, ct).ConfigureAwait(false);
        await using (var copy = await c.BeginBinaryImportAsync(
            "copy ledger_staging (id, account, amount_minor, currency, value_date, reference, external_ref, counterparty, description) from stdin (format binary)", ct).ConfigureAwait(false))
        {
            // a stream of entries is parsed here, between writes: the server takes in one buffer while the next is parsed
            foreach (var e in entries)
            {
                received++;
                await copy.StartRowAsync(ct).ConfigureAwait(false);
                await copy.WriteAsync(e.Id, NpgsqlDbType.Text, ct).ConfigureAwait(false);
                await copy.WriteAsync(e.Account, NpgsqlDbType.Text, ct).ConfigureAwait(false);
                await copy.WriteAsync(e.AmountMinor, NpgsqlDbType.Bigint, ct).ConfigureAwait(false);
                await copy.WriteAsync(e.Currency, NpgsqlDbType.Char, ct).ConfigureAwait(false);
                await copy.WriteAsync(e.ValueDate, NpgsqlDbType.Date, ct).ConfigureAwait(false);
                await WriteNullableAsync(copy, e.Reference, ct).ConfigureAwait(false);
                await WriteNullableAsync(copy, e.ExternalRef, ct).ConfigureAwait(false);
                await WriteNullableAsync(copy, e.Counterparty, ct).ConfigureAwait(false);
                await WriteNullableAsync(copy, e.Description, ct).ConfigureAwait(false);
            }
            await copy.CompleteAsync(ct).ConfigureAwait(false);
        }
        Phase("copy");
        // no index on the staging table: LedgerRows already refused a repeated id, and every statement below reads the
        // whole table once (hash joins); building a primary key cost ~0.4 s per 200,000 rows for nothing. Statistics
        // let the planner choose those hash joins instead of assuming a tiny temporary table.
        await ExecAsync(c, tx, "analyze ledger_staging", ct).ConfigureAwait(false);
        Phase("analyze");

        foreach (var provider in Providers.All.Order(StringComparer.Ordinal))
        {
            await using var lockCmd = new NpgsqlCommand("select pg_advisory_xact_lock(hashtext('recon:post:' || $1))", c, tx);
            lockCmd.Parameters.Add(new() { Value = provider });
            await lockCmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        Phase("lock");

        await ExecAsync(c, tx, """
            create temp table ledger_amended on commit drop as
            select s.id from ledger_staging s join ledger_entries l on l.id = s.id
            where (l.account, l.amount_minor, l.currency, l.value_date, l.reference, l.external_ref, l.counterparty, l.description)
                  is distinct from (s.account, s.amount_minor, s.currency, s.value_date, s.reference, s.external_ref, s.counterparty, s.description)
            """, ct).ConfigureAwait(false);
        Phase("compare");
        await ExecAsync(c, tx, """
            insert into ledger_entry_versions (id, version, account, amount_minor, currency, value_date, reference, external_ref, counterparty, description, recorded_at)
            select l.id, l.version, l.account, l.amount_minor, l.currency, l.value_date, l.reference, l.external_ref, l.counterparty, l.description, l.updated_at
            from ledger_entries l join ledger_amended a on a.id = l.id
            """, ct).ConfigureAwait(false);
        Phase("versions");
        var amended = await ExecAsync(c, tx, """
            update ledger_entries l set account = s.account, amount_minor = s.amount_minor, currency = s.currency, value_date = s.value_date,
                reference = s.reference, external_ref = s.external_ref, counterparty = s.counterparty, description = s.description,
                version = l.version + 1, updated_at = now()
            from ledger_staging s join ledger_amended a on a.id = s.id
            where l.id = s.id
            """, ct).ConfigureAwait(false);
        Phase("update");
        var inserted = await ExecAsync(c, tx, """
            insert into ledger_entries (id, account, amount_minor, currency, value_date, reference, external_ref, counterparty, description)
            select s.id, s.account, s.amount_minor, s.currency, s.value_date, s.reference, s.external_ref, s.counterparty, s.description
            from ledger_staging s where not exists (select 1 from ledger_entries l where l.id = s.id)
            -- in key order: the primary key's B-tree is then filled page by page instead of at random
            order by s.id
            on conflict (id) do nothing
            """, ct).ConfigureAwait(false);
        Phase("insert");

        var reopened = amended == 0 ? [] : await ReopenAsync(c, tx, ct).ConfigureAwait(false);
        var amendedIds = amended == 0 ? [] : await ReadIdsAsync(c, tx, ct).ConfigureAwait(false);

        Phase("reopen");
        var summary = new LedgerImportSummary(received, inserted, amended, received - inserted - amended, reopened.Count);
        await using (var audit = new NpgsqlCommand("insert into audit_log (actor, action, subject, detail) values ($1, 'ledger_import', $2, $3)", c, tx))
        {
            audit.Parameters.Add(new() { Value = actor });
            audit.Parameters.Add(new() { Value = source });
            audit.Parameters.Add(new() { NpgsqlDbType = NpgsqlDbType.Jsonb, Value = JsonSerializer.Serialize(new Dictionary<string, object?>
            {
                ["received"] = summary.Received,
                ["inserted"] = summary.Inserted,
                ["amended"] = summary.Amended,
                ["unchanged"] = summary.Unchanged,
                ["amended_ids"] = amendedIds.Take(MaxAuditedItems).ToArray(),
                ["verdicts_reopened"] = reopened.Take(MaxAuditedItems).ToArray(),
                ["verdicts_reopened_count"] = reopened.Count,
            }) });
            await audit.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        await tx.CommitAsync(ct).ConfigureAwait(false);
        Phase("commit");
        return summary with { Phases = phases };
    }

    /// <summary>Every verdict holding an amended entry becomes unmatched (decided by the engine again, so the next batch
    /// of its provider transaction decides it afresh, a manual one included: the person decided on content that changed);
    /// the transaction and the entries it held get open exceptions. Returns what each verdict was, for the audit row.</summary>
    private static async Task<List<Dictionary<string, object?>>> ReopenAsync(NpgsqlConnection c, NpgsqlTransaction tx, CancellationToken ct)
    {
        var previous = new List<Dictionary<string, object?>>();
        var heldIds = new HashSet<string>(StringComparer.Ordinal);
        await using (var read = new NpgsqlCommand("""
            select r.provider, r.provider_tx_id, r.outcome, r.ledger_ids, r.decided_by
            from reconciliation_results r
            where r.ledger_ids && (select array_agg(id) from ledger_amended)
            order by r.provider, r.provider_tx_id
            for update
            """, c, tx))
        await using (var reader = await read.ExecuteReaderAsync(ct).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                var ids = reader.GetFieldValue<string[]>(3);
                heldIds.UnionWith(ids);
                previous.Add(new Dictionary<string, object?>
                {
                    ["provider"] = reader.GetString(0),
                    ["provider_tx_id"] = reader.GetString(1),
                    ["previous_outcome"] = reader.GetString(2),
                    ["previous_ledger_ids"] = ids,
                    ["previous_decided_by"] = reader.GetString(4),
                });
            }
        }
        if (previous.Count == 0)
        {
            return previous;
        }
        var providers = previous.Select(p => (string)p["provider"]!).ToArray();
        var txIds = previous.Select(p => (string)p["provider_tx_id"]!).ToArray();
        await using (var update = new NpgsqlCommand("""
            update reconciliation_results r set ledger_ids = '{}', outcome = 'unmatched', reason = $3, score = 0, rule = $4,
                difference_minor = coalesce((select pt.amount_minor from provider_transactions pt where pt.provider = r.provider and pt.provider_tx_id = r.provider_tx_id), 0),
                decided_by = 'engine', updated_at = now()
            from unnest($1::text[], $2::text[]) as u(p, i)
            where r.provider = u.p and r.provider_tx_id = u.i
            """, c, tx))
        {
            update.Parameters.Add(new() { Value = providers });
            update.Parameters.Add(new() { Value = txIds });
            update.Parameters.Add(new() { Value = LedgerChangedReason });
            update.Parameters.Add(new() { Value = LedgerChangedRule });
            await update.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        await using (var open = new NpgsqlCommand("""
            insert into exceptions (kind, provider, provider_tx_id, reason, amount_minor, currency)
            select 'provider_transaction', u.p, u.i, $3, coalesce(pt.amount_minor, 0), coalesce(pt.currency, 'XXX')
            from unnest($1::text[], $2::text[]) as u(p, i)
            left join provider_transactions pt on pt.provider = u.p and pt.provider_tx_id = u.i
            on conflict (provider, provider_tx_id) where kind = 'provider_transaction' and status = 'open' do nothing
            """, c, tx))
        {
            open.Parameters.Add(new() { Value = providers });
            open.Parameters.Add(new() { Value = txIds });
            open.Parameters.Add(new() { Value = LedgerChangedReason });
            await open.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        await using (var openLedger = new NpgsqlCommand("""
            insert into exceptions (kind, ledger_id, reason, amount_minor, currency)
            select 'ledger_entry', l.id, $2, l.amount_minor, l.currency
            from ledger_entries l
            where l.id = any($1)
              and not exists (select 1 from reconciliation_results r where r.outcome = 'matched' and r.ledger_ids @> array[l.id])
            on conflict (ledger_id) where kind = 'ledger_entry' and status = 'open' do nothing
            """, c, tx))
        {
            openLedger.Parameters.Add(new() { Value = heldIds.ToArray() });
            openLedger.Parameters.Add(new() { Value = LedgerChangedReason });
            await openLedger.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        return previous;
    }

    private static async Task<List<string>> ReadIdsAsync(NpgsqlConnection c, NpgsqlTransaction tx, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand($"select id from ledger_amended order by id limit {MaxAuditedItems}", c, tx);
        var ids = new List<string>();
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
        {
            ids.Add(r.GetString(0));
        }
        return ids;
    }

    private static async Task WriteNullableAsync(NpgsqlBinaryImporter copy, string? value, CancellationToken ct)
    {
        if (value is null)
        {
            await copy.WriteNullAsync(ct).ConfigureAwait(false);
        }
        else
        {
            await copy.WriteAsync(value, NpgsqlDbType.Text, ct).ConfigureAwait(false);
        }
    }

    private static async Task<int> ExecAsync(NpgsqlConnection c, NpgsqlTransaction tx, string sql, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(sql, c, tx);
        return await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }
}
