using Npgsql;
using Recon.Core.Persistence;
using Recon.Tests.Infrastructure;

namespace Recon.Tests.Persistence;

public sealed class MigratorTests
{
    private static readonly string[] StoreTables =
    [
        "ledger_entries", "provider_transactions", "provider_cursors", "batches",
        "reconciliation_results", "exceptions", "audit_log", "schema_migrations", "statement_balances",
    ];

    [Fact]
    public async Task Apply_EmptyDatabase_CreatesEveryStoreTableAndRecordsEachMigration()
    {
        await using var db = new TestDatabase { Migrate = false };
        await db.InitializeAsync();

        var ran = await Migrator.ApplyAsync(db.DataSource);

        Assert.Equal(Migrator.Embedded.Select(m => m.Version), ran.Select(m => m.Version));
        await using var conn = await db.DataSource.OpenConnectionAsync();
        var tables = await ReadStrings(conn, "select table_name from information_schema.tables where table_schema = 'public'");
        Assert.All(StoreTables, t => Assert.Contains(t, tables));
        var recorded = await ReadStrings(conn, "select version::text from schema_migrations order by schema_migrations.version");
        Assert.Equal(Migrator.Embedded.Select(m => m.Version.ToString(System.Globalization.CultureInfo.InvariantCulture)), recorded);
    }

    [Fact]
    public async Task Apply_Twice_SecondRunAppliesNothing()
    {
        await using var db = new TestDatabase();
        await db.InitializeAsync();

        var second = await Migrator.ApplyAsync(db.DataSource);

        Assert.Empty(second);
    }

    [Fact]
    public async Task Apply_FromTwoProcessesAtOnce_AppliesEachMigrationExactlyOnce()
    {
        await using var db = new TestDatabase { Migrate = false };
        await db.InitializeAsync();
        // Two independent data sources stand for two processes; both go through PgBouncer.
        await using var a = ReconDataSource.Create(db.Options());
        await using var b = ReconDataSource.Create(db.Options());

        var results = await Task.WhenAll(Migrator.ApplyAsync(a), Migrator.ApplyAsync(b));

        Assert.Equal(Migrator.Embedded.Count, results.Sum(r => r.Count));
        Assert.Contains(results, r => r.Count == 0);
        await using var conn = await db.DataSource.OpenConnectionAsync();
        await using var count = new NpgsqlCommand("select count(*) from schema_migrations", conn);
        Assert.Equal((long)Migrator.Embedded.Count, (long)(await count.ExecuteScalarAsync())!);
    }

    [Fact]
    public async Task Apply_AppliedMigrationWasEdited_RefusesWithTheMigrationName()
    {
        await using var db = new TestDatabase();
        await db.InitializeAsync();
        await using (var conn = await db.DataSource.OpenConnectionAsync())
        await using (var tamper = new NpgsqlCommand("update schema_migrations set checksum = 'deadbeefdeadbeef' where version = 1", conn))
        {
            await tamper.ExecuteNonQueryAsync();
        }

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => Migrator.ApplyAsync(db.DataSource));

        Assert.Contains("0001_initial", ex.Message, StringComparison.Ordinal);
        Assert.Contains("changed after it was applied", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Schema_RejectsLowercaseCurrency_AndKeepsAuditLogAppendOnly()
    {
        await using var db = new TestDatabase();
        await db.InitializeAsync();
        await using var conn = await db.DataSource.OpenConnectionAsync();

        var currency = await Assert.ThrowsAsync<PostgresException>(() => Exec(conn,
            "insert into ledger_entries (id, account, amount_minor, currency, value_date) values ('l1', 'acc', 100, 'usd', '2026-01-02')"));
        Assert.Equal(PostgresErrorCodes.CheckViolation, currency.SqlState);

        await Exec(conn, "insert into audit_log (actor, action, subject) values ('test', 'create', 'x')");
        var update = await Assert.ThrowsAsync<PostgresException>(() => Exec(conn, "update audit_log set actor = 'someone else'"));
        Assert.Contains("append-only", update.MessageText, StringComparison.Ordinal);
        var delete = await Assert.ThrowsAsync<PostgresException>(() => Exec(conn, "delete from audit_log"));
        Assert.Contains("append-only", delete.MessageText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Schema_ProviderTransactionIsUniqueOnProviderAndId()
    {
        await using var db = new TestDatabase();
        await db.InitializeAsync();
        await using var conn = await db.DataSource.OpenConnectionAsync();
        const string insert = "insert into provider_transactions (provider, provider_tx_id, account, amount_minor, currency, value_date) values ('stripe', 'txn_1', 'acct', 5000, 'USD', '2026-01-02')";

        await Exec(conn, insert);
        var dup = await Assert.ThrowsAsync<PostgresException>(() => Exec(conn, insert));

        Assert.Equal(PostgresErrorCodes.UniqueViolation, dup.SqlState);
    }

    private static async Task Exec(NpgsqlConnection conn, string sql)
    {
        await using var cmd = new NpgsqlCommand(sql, conn);
        await cmd.ExecuteNonQueryAsync();
    }

    private static async Task<List<string>> ReadStrings(NpgsqlConnection conn, string sql)
    {
        var list = new List<string>();
        await using var cmd = new NpgsqlCommand(sql, conn);
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            list.Add(reader.GetString(0));
        }
        return list;
    }
}
