using Npgsql;
using Recon.Core.Domain;
using Recon.Core.Matching;
using Recon.Core.Persistence;
using Recon.Tests.Infrastructure;

namespace Recon.Tests.Matching;

public sealed class ReconciliationStoreTests
{
    private static readonly DateOnly Day = new(2026, 3, 2);

    private static ProviderTransaction Tx(string id, long amount, string? e2e) =>
        new(Providers.BankA, id, "acct", amount, 0, "USD", null, Day, null, e2e, null, null);

    private static LedgerEntry Led(string id, long amount, string? reference) =>
        new(id, "receivables", amount, "USD", Day, reference, null, null, null);

    // matched (t1-L1), unmatched (t2), a repeat of t1, and a ledger entry nothing pays (L9)
    private static (List<ProviderTransaction> Tx, List<LedgerEntry> Ledger, MatchRun Run) Scenario()
    {
        var tx = new List<ProviderTransaction> { Tx("t1", 5_000, "INV-000001"), Tx("t2", 7_777_777, "NOPE-000002"), Tx("t1", 5_000, "INV-000001") };
        var ledger = new List<LedgerEntry> { Led("L1", 5_000, "INV-000001"), Led("L9", 123, "INV-000009") };
        return (tx, ledger, new Matcher(new MatchRules()).Match(tx, ledger));
    }

    private static async Task<PostSummary> Post(TestDatabase db, string batch, MatchRun run, List<ProviderTransaction> tx, List<LedgerEntry> ledger)
    {
        await using var conn = await db.DataSource.OpenConnectionAsync();
        await using var t = await conn.BeginTransactionAsync();
        var summary = await ReconciliationStore.PostAsync(conn, t, batch, run, tx, ledger);
        await t.CommitAsync();
        return summary;
    }

    private static async Task<List<string>> Rows(TestDatabase db, string sql)
    {
        await using var conn = await db.DataSource.OpenConnectionAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        await using var reader = await cmd.ExecuteReaderAsync();
        var rows = new List<string>();
        while (await reader.ReadAsync())
        {
            rows.Add(string.Join("|", Enumerable.Range(0, reader.FieldCount).Select(i => reader.IsDBNull(i) ? "null"
                : reader.GetValue(i) is string[] a ? string.Join(";", a) : Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture))));
        }
        return rows;
    }

    [Fact]
    public async Task PostAsync_EveryVerdict_StoresTheScoresPartsAsEvidence()
    {
        await using var db = new TestDatabase();
        await db.InitializeAsync();
        var (tx, ledger, run) = Scenario();

        await Post(db, "b1", run, tx, ledger);

        // t1: exact key 650 + equal amount 250 + same day 100; t2 had no candidate, so no part
        Assert.Equal(["t1|650|250|100|0|0|0|1000", "t2|0|0|0|0|0|0|0"], await Rows(db, """
            select provider_tx_id, evidence->>'key', evidence->>'amount', evidence->>'date', evidence->>'counterparty',
                   evidence->>'uniqueness', evidence->>'group', score
            from reconciliation_results order by provider_tx_id
            """));
    }

    [Fact]
    public async Task PostAsync_RunWithEveryKindOfItem_WritesResultsExceptionsForBothSidesAndOneAuditEntry()
    {
        await using var db = new TestDatabase();
        await db.InitializeAsync();
        var (tx, ledger, run) = Scenario();

        var summary = await Post(db, "b1", run, tx, ledger);

        Assert.Equal(new PostSummary(2, 0, 1, 2, 0), summary);
        Assert.Equal(["bank_a|t1|L1|matched|engine|b1", "bank_a|t2||unmatched|engine|b1"],
            await Rows(db, "select provider, provider_tx_id, ledger_ids, outcome, decided_by, batch_id from reconciliation_results order by provider_tx_id"));
        Assert.Equal(["ledger_entry|null|L9|123|open", "provider_transaction|t2|null|7777777|open"],
            await Rows(db, "select kind, provider_tx_id, ledger_id, amount_minor, status from exceptions order by kind"));
        var audit = await Rows(db, "select actor, action, subject, detail->>'repeats_skipped', detail->'outcomes'->>'duplicate' from audit_log");
        Assert.Equal(["engine|post_results|b1|1|1"], audit);
    }

    [Fact]
    public async Task PostAsync_SameRunTwice_SameRowsAndNoSecondException()
    {
        await using var db = new TestDatabase();
        await db.InitializeAsync();
        var (tx, ledger, run) = Scenario();

        await Post(db, "b1", run, tx, ledger);
        var again = await Post(db, "b1", run, tx, ledger);

        Assert.Equal(0, again.ExceptionsOpened);
        Assert.Equal(["2"], await Rows(db, "select count(*) from reconciliation_results"));
        Assert.Equal(["2"], await Rows(db, "select count(*) from exceptions"));
        Assert.Equal(["2"], await Rows(db, "select count(*) from audit_log where action = 'post_results'"));
    }

    [Fact]
    public async Task PostAsync_RerunAfterAPersonResolvedTheException_DoesNotOpenItAgain()
    {
        await using var db = new TestDatabase();
        await db.InitializeAsync();
        var (tx, ledger, run) = Scenario();
        await Post(db, "b1", run, tx, ledger);
        // a reviewer closes t2's exception with a reason (as ReviewStore.ResolveAsync writes it); the engine's own
        // "matched" closings carry resolved_by too, so the reason code is what marks a person's decision here
        await using (var conn = await db.DataSource.OpenConnectionAsync())
        await using (var cmd = new NpgsqlCommand("""
            update exceptions set status = 'resolved', resolved_at = now(), resolution_code = 'written_off', resolution_note = 'below threshold', resolved_by = 'alice'
            where kind = 'provider_transaction' and provider_tx_id = 't2'
            """, conn))
        {
            Assert.Equal(1, await cmd.ExecuteNonQueryAsync());
        }

        // the same batch re-runs (a redelivery, a revived orchestration) and t2 is still unmatched
        var again = await Post(db, "b1", run, tx, ledger);

        Assert.Equal(0, again.ExceptionsOpened);
        Assert.Equal(["provider_transaction|t2|resolved|alice|written_off"],
            await Rows(db, "select kind, provider_tx_id, status, resolved_by, resolution_code from exceptions where provider_tx_id = 't2'"));
        Assert.Equal(["ledger_entry|L9|open"], await Rows(db, "select kind, ledger_id, status from exceptions where kind = 'ledger_entry'"));
    }

    [Fact]
    public async Task PostAsync_LaterBatchMatchesAnOpenItem_ResolvesItsExceptions()
    {
        await using var db = new TestDatabase();
        await db.InitializeAsync();
        var (tx, ledger, run) = Scenario();
        await Post(db, "b1", run, tx, ledger);

        // the ledger entry for t2 arrives later; a second batch matches it
        var tx2 = new List<ProviderTransaction> { Tx("t2", 7_777_777, "NOPE-000002") };
        var ledger2 = new List<LedgerEntry> { Led("L2", 7_777_777, "NOPE-000002") };
        var summary = await Post(db, "b2", new Matcher(new MatchRules()).Match(tx2, ledger2), tx2, ledger2);

        Assert.Equal(1, summary.ExceptionsResolved);
        Assert.Equal(["t2|L2|matched|b2"], await Rows(db, "select provider_tx_id, ledger_ids, outcome, batch_id from reconciliation_results where provider_tx_id = 't2'"));
        Assert.Equal(["provider_transaction|resolved", "ledger_entry|open"], await Rows(db, "select kind, status from exceptions order by id"));
    }

    [Fact]
    public async Task ManualMatchThenPost_EngineVerdictNeverOverwritesTheManualOne()
    {
        await using var db = new TestDatabase();
        await db.InitializeAsync();
        var (tx, ledger, run) = Scenario();
        await Post(db, "b1", run, tx, ledger);

        await using (var conn = await db.DataSource.OpenConnectionAsync())
        await using (var t = await conn.BeginTransactionAsync())
        {
            await ReconciliationStore.ManualMatchAsync(conn, t, Providers.BankA, "t2", ["L9"], "alice", "customer paid a bundle");
            await t.CommitAsync();
        }
        var again = await Post(db, "b1-retry", run, tx, ledger);

        Assert.Equal(1, again.ManualKept);
        Assert.Equal(["L9|matched|ManualMatch|manual|manual|1000"],
            await Rows(db, "select ledger_ids, outcome, reason, rule, decided_by, score from reconciliation_results where provider_tx_id = 't2'"));
        Assert.Equal(["0"], await Rows(db, "select count(*) from exceptions where status = 'open'"));
        Assert.Equal(["alice|manual_match|bank_a:t2|unmatched|customer paid a bundle"],
            await Rows(db, "select actor, action, subject, detail->>'previous_outcome', detail->>'note' from audit_log where action = 'manual_match'"));
    }

    [Fact]
    public async Task UnmatchAsync_MatchedItem_BecomesUnmatchedOpensBothSidesAndIsAudited()
    {
        await using var db = new TestDatabase();
        await db.InitializeAsync();
        var (tx, ledger, run) = Scenario();
        await Post(db, "b1", run, tx, ledger);

        await using (var conn = await db.DataSource.OpenConnectionAsync())
        await using (var t = await conn.BeginTransactionAsync())
        {
            await ReconciliationStore.UnmatchAsync(conn, t, Providers.BankA, "t1", "bob", "wrong invoice");
            await t.CommitAsync();
        }

        Assert.Equal(["|unmatched|ManualUnmatch|manual"],
            await Rows(db, "select ledger_ids, outcome, reason, decided_by from reconciliation_results where provider_tx_id = 't1'"));
        Assert.Equal(["L1|ledger_entry|open", "null|provider_transaction|open"],
            await Rows(db, "select ledger_id, kind, status from exceptions where reason = 'ManualUnmatch' order by kind"));
        Assert.Equal(["bob|manual_unmatch|matched|L1"],
            await Rows(db, "select actor, action, detail->>'previous_outcome', detail->'previous_ledger_ids'->>0 from audit_log where action = 'manual_unmatch'"));
    }

    [Fact]
    public async Task ManualMatchAsync_EntryAlreadyMatchedElsewhere_RefusesAndNamesTheHolder()
    {
        await using var db = new TestDatabase();
        await db.InitializeAsync();
        var (tx, ledger, run) = Scenario();
        await Post(db, "b1", run, tx, ledger);

        await using var conn = await db.DataSource.OpenConnectionAsync();
        await using var t = await conn.BeginTransactionAsync();
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            ReconciliationStore.ManualMatchAsync(conn, t, Providers.BankA, "t2", ["L1"], "alice"));

        Assert.Contains("bank_a:t1", ex.Message, StringComparison.Ordinal);
    }
}
