using System.Diagnostics;
using System.Globalization;
using Npgsql;
using Recon.Core.Domain;
using Recon.Core.Ledger;
using Recon.Core.Matching;
using Recon.Core.Persistence;
using Recon.Tests.Infrastructure;

namespace Recon.Tests.Ledger;

/// <summary>Ledger import on the real stack (PostgreSQL through PgBouncer, transaction mode): binary COPY into a staging
/// table, idempotent on the id, amended entries versioned, verdicts on a changed entry reopened, the CLI whole-or-nothing.</summary>
public sealed class LedgerImportTests : IAsyncLifetime
{
    private static readonly DateOnly Day = new(2026, 11, 2);
    private readonly TestDatabase _db = new();
    private DatabaseBulkhead? _bulkhead;

    public async Task InitializeAsync()
    {
        await _db.InitializeAsync();
        _bulkhead = new DatabaseBulkhead(_db.DataSource, _db.Options());
    }

    public async Task DisposeAsync()
    {
        _bulkhead?.Dispose();
        await _db.DisposeAsync();
    }

    private LedgerStore Store => new(_bulkhead!);

    private static LedgerEntry Entry(string id, long amount, string? reference = "INV-1") => new(id, "bank_a:main", amount, "USD", Day, reference, null, "Acme", null);

    [Fact]
    public async Task Import_NewThenSameThenAmended_InsertsSkipsAndVersionsKeepingTheOldForAudit()
    {
        Assert.Equal(new LedgerImportSummary(2, 2, 0, 0, 0), await Store.ImportAsync([Entry("L1", 1000), Entry("L2", 2000)], "f1.csv", "alice"));
        Assert.Equal(new LedgerImportSummary(2, 0, 0, 2, 0), await Store.ImportAsync([Entry("L1", 1000), Entry("L2", 2000)], "f1.csv", "alice"));
        Assert.Equal(new LedgerImportSummary(3, 1, 1, 1, 0), await Store.ImportAsync([Entry("L1", 1000), Entry("L2", 2100), Entry("L3", 5)], "f2.csv", "bob"));

        Assert.Equal(["L1|1000|1", "L2|2100|2", "L3|5|1"], await RowsAsync("select id, amount_minor, version from ledger_entries order by id"));
        Assert.Equal(["L2|1|2000"], await RowsAsync("select id, version, amount_minor from ledger_entry_versions"));
        Assert.Equal(["alice|f1.csv|2|0", "alice|f1.csv|0|0", "bob|f2.csv|1|1"],
            await RowsAsync("select actor, subject, detail->>'inserted', detail->>'amended' from audit_log where action = 'ledger_import' order by id"));
        // history cannot be rewritten
        var ex = await Assert.ThrowsAsync<PostgresException>(() => RowsAsync("delete from ledger_entry_versions"));
        Assert.Contains("append-only", ex.MessageText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Import_AmendedEntryHeldByVerdicts_ReopensThemForTheNextBatch_WhichDecidesAgainstTheNewVersion()
    {
        await Store.ImportAsync([Entry("L1", 5000, "INV-000001"), Entry("L2", 700)], "f.csv", "alice");
        var tx = new ProviderTransaction(Providers.BankA, "t1", "bank_a:main", 5000, 0, "USD", null, Day, null, "INV-000001", null, null);
        await ExecAsync($"insert into provider_transactions (provider, provider_tx_id, account, amount_minor, currency, value_date, end_to_end_id) values ('bank_a', 't1', 'bank_a:main', 5000, 'USD', '{Day:yyyy-MM-dd}', 'INV-000001')");
        await ExecAsync($"insert into provider_transactions (provider, provider_tx_id, account, amount_minor, currency, value_date) values ('bank_a', 't2', 'bank_a:main', 700, 'USD', '{Day:yyyy-MM-dd}')");
        await PostAsync("b1", [tx], [Entry("L1", 5000, "INV-000001")]);
        await using (var conn = await _db.DataSource.OpenConnectionAsync())
        await using (var t = await conn.BeginTransactionAsync())
        {
            await ReconciliationStore.ManualMatchAsync(conn, t, Providers.BankA, "t2", ["L2"], "carol");
            await t.CommitAsync();
        }
        Assert.Equal(["t1|matched|L1|engine", "t2|matched|L2|manual"], await RowsAsync("select provider_tx_id, outcome, array_to_string(ledger_ids, ';'), decided_by from reconciliation_results order by 1"));

        // L1's amount and L2's reference change: both verdicts (the engine's and the person's) are reopened
        var summary = await Store.ImportAsync([Entry("L1", 5100, "INV-000001"), Entry("L2", 700, "INV-2")], "fix.csv", "dave");

        Assert.Equal(new LedgerImportSummary(2, 0, 2, 0, 2), summary);
        Assert.Equal(["t1|unmatched||engine|LedgerChanged|5000", "t2|unmatched||engine|LedgerChanged|700"],
            await RowsAsync("select provider_tx_id, outcome, array_to_string(ledger_ids, ';'), decided_by, reason, difference_minor from reconciliation_results order by 1"));
        Assert.Equal(["ledger_entry|L1|LedgerChanged", "ledger_entry|L2|LedgerChanged", "provider_transaction|t1|LedgerChanged", "provider_transaction|t2|LedgerChanged"],
            await RowsAsync("select kind, coalesce(ledger_id, provider_tx_id), reason from exceptions where status = 'open' order by 1, 2"));
        Assert.Equal(["dave|matched|manual|2"], await RowsAsync("""
            select actor, detail->'verdicts_reopened'->1->>'previous_outcome', detail->'verdicts_reopened'->1->>'previous_decided_by', detail->>'verdicts_reopened_count'
            from audit_log where action = 'ledger_import' and subject = 'fix.csv'
            """));

        // the next batch decides t1 against L1's new version (100 minor units apart: inside the default tolerance)
        await PostAsync("b2", [tx], [Entry("L1", 5100, "INV-000001")]);
        Assert.Equal(["t1|matched|L1|engine|-100"], await RowsAsync("select provider_tx_id, outcome, array_to_string(ledger_ids, ';'), decided_by, difference_minor from reconciliation_results where provider_tx_id = 't1'"));
    }

    [Fact]
    public async Task Cli_LedgerImport_GoodFileImports_BadRowRefusesTheWholeFileNamingLineAndField()
    {
        var dir = Directory.CreateTempSubdirectory("ledger-cli");
        try
        {
            var good = Path.Combine(dir.FullName, "good.csv");
            await File.WriteAllTextAsync(good, "id,account,amount_minor,currency,value_date,reference,counterparty,description\nC1,bank_a:main,100,USD,2026-11-02,R1,,\nC2,bank_a:main,-5,EUR,2026-11-03,,\"X, Y\",\n");
            var (code, stdout, stderr) = await RunCliAsync("ledger", "import", good, "--as", "erin");
            Assert.True(code == 0, stderr);
            Assert.Contains("2 entries: 2 new, 0 amended (new version), 0 unchanged", stdout, StringComparison.Ordinal);
            Assert.Contains("as erin", stdout, StringComparison.Ordinal);

            // the second row amends C1, the third is bad: nothing of the file lands, C1 keeps version 1
            var bad = Path.Combine(dir.FullName, "bad.csv");
            await File.WriteAllTextAsync(bad, "id,account,amount_minor,currency,value_date,reference,counterparty,description\nC3,bank_a:main,1,USD,2026-11-02,,,\nC1,bank_a:main,999,USD,2026-11-02,R1,,\nC4,bank_a:main,1,USD,2026-13-02,,,\n");
            (code, stdout, stderr) = await RunCliAsync("ledger", "import", bad);
            Assert.Equal(1, code);
            Assert.Contains($"recon ledger: {bad}: line 4, field 'value_date': '2026-13-02' is not a date (YYYY-MM-DD); nothing imported", stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("Unhandled exception", stderr, StringComparison.Ordinal);
            Assert.Equal(["C1|100|1", "C2|-5|1"], await RowsAsync("select id, amount_minor, version from ledger_entries order by id"));
            Assert.Equal(["erin"], await RowsAsync("select actor from audit_log where action = 'ledger_import'"));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Import_ManyRows_LandInOneTransactionThroughPgBouncer()
    {
        var entries = Enumerable.Range(0, 20_000).Select(i => Entry($"M{i:D6}", i - 10_000, i % 2 == 0 ? null : $"R{i}")).ToList();
        Assert.Equal(new LedgerImportSummary(20_000, 20_000, 0, 0, 0), await Store.ImportAsync(entries, "many", "alice"));
        Assert.Equal(["20000|-10000"], await RowsAsync("select count(*), sum(amount_minor) from ledger_entries"));
    }

    private async Task PostAsync(string batch, List<ProviderTransaction> tx, List<LedgerEntry> ledger)
    {
        await using var conn = await _db.DataSource.OpenConnectionAsync();
        await using var t = await conn.BeginTransactionAsync();
        await ReconciliationStore.PostAsync(conn, t, batch, new Matcher(new MatchRules()).Match(tx, ledger), tx, ledger);
        await t.CommitAsync();
    }

    private async Task ExecAsync(string sql)
    {
        await using var cmd = _db.DataSource.CreateCommand(sql);
        await cmd.ExecuteNonQueryAsync();
    }

    private async Task<List<string>> RowsAsync(string sql)
    {
        await using var cmd = _db.DataSource.CreateCommand(sql);
        await using var reader = await cmd.ExecuteReaderAsync();
        var rows = new List<string>();
        while (await reader.ReadAsync())
        {
            rows.Add(string.Join("|", Enumerable.Range(0, reader.FieldCount).Select(i => reader.IsDBNull(i) ? "" : Convert.ToString(reader.GetValue(i), CultureInfo.InvariantCulture))));
        }
        return rows;
    }

    private async Task<(int Code, string Stdout, string Stderr)> RunCliAsync(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "recon.dll"));
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }
        info.Environment["Recon__Database__ConnectionString"] = _db.ConnectionString;
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(limit.Token);
        return (process.ExitCode, await stdout, await stderr);
    }
}
