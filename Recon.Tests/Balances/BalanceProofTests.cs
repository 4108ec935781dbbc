using System.Text;
using System.Text.Json;
using Npgsql;
using Recon.Core.Balances;
using Recon.Core.Domain;
using Recon.Core.Ingestion;
using Recon.Core.Ingestion.Banks;
using Recon.Core.Ingestion.Statements;
using Recon.Core.Persistence;
using Recon.Core.Pipeline;
using Recon.Core.Review;
using Recon.Sandbox;
using Recon.Sandbox.Banks;
using Recon.Tests.Infrastructure;

namespace Recon.Tests.Balances;

/// <summary>
/// Balances proven against real PostgreSQL (and the bank sandboxes for the statements): the balances a bank statement
/// carries are stored with its page; a day proves when closing − open provider items + open ledger items = ledger balance;
/// a day that does not is a <c>balance_unproved</c> exception that follows the difference.
/// </summary>
public sealed class BalanceProofTests : IAsyncLifetime
{
    /// <summary>
    /// Bank A account 100200300, ledger account bank_a:operating. 2026-11-20: opening 1,000,000; t1 +50,000 (matched L1),
    /// t2 −2,500 (a bank charge the ledger has not booked); L2 +30,000 booked by the ledger on the 20th, by the bank on the
    /// 21st (t3): in transit. 2026-11-21: t3, and t4 +10,000 matched to L3 +9,900 (a tolerance match: 100 unexplained).
    /// Entries of other accounts and currencies are not part of the bank account's ledger balance.
    /// </summary>
    internal const string Seed = """
        insert into statement_balances (provider, account, day, currency, opening_minor, closing_minor) values
            ('bank_a', '100200300', '2026-11-20', 'USD', 1000000, 1047500), ('bank_a', '100200300', '2026-11-21', 'USD', 1047500, 1087500);
        insert into ledger_entries (id, account, amount_minor, currency, value_date, description) values
            ('L1', 'bank_a:operating', 50000, 'USD', '2026-11-20', 'ACME invoice 1'), ('L2', 'bank_a:operating', 30000, 'USD', '2026-11-20', 'Globex deposit'),
            ('L3', 'bank_a:operating', 9900, 'USD', '2026-11-21', 'Initech invoice 7'), ('S1', 'stripe:sales', 777, 'USD', '2026-11-20', 'not a bank account'),
            ('E1', 'bank_a:operating', 555, 'EUR', '2026-11-20', 'another currency');
        insert into provider_transactions (provider, provider_tx_id, account, amount_minor, currency, booking_date, value_date, remittance) values
            ('bank_a', 't1', '100200300', 50000, 'USD', '2026-11-20', '2026-11-20', 'ACME INV 1'), ('bank_a', 't2', '100200300', -2500, 'USD', '2026-11-20', '2026-11-20', 'SERVICE CHARGE'),
            ('bank_a', 't3', '100200300', 30000, 'USD', '2026-11-21', '2026-11-21', 'GLOBEX'), ('bank_a', 't4', '100200300', 10000, 'USD', '2026-11-21', '2026-11-21', 'INITECH 7');
        insert into reconciliation_results (provider, provider_tx_id, ledger_ids, outcome, reason, score, difference_minor, rule) values
            ('bank_a', 't1', '{L1}', 'matched', 'Matched', 900, 0, 'reference'), ('bank_a', 't2', '{}', 'unmatched', 'NoCandidate', 0, -2500, 'none'),
            ('bank_a', 't3', '{L2}', 'matched', 'Matched', 900, 0, 'reference'), ('bank_a', 't4', '{L3}', 'matched', 'Matched', 800, 100, 'amount_date');
        """;

    private readonly TestDatabase _db = new();
    private DatabaseBulkhead _bulkhead = null!;

    public async Task InitializeAsync()
    {
        await _db.InitializeAsync();
        _bulkhead = new DatabaseBulkhead(_db.DataSource, _db.Options());
    }

    public async Task DisposeAsync()
    {
        _bulkhead.Dispose();
        await _db.DisposeAsync();
    }

    [Fact]
    public async Task Prove_DepositInTransitAndBankCharge_DayProves_ToleranceMatchLeavesTheNextDayUnproved()
    {
        await ExecAsync(Seed);
        var proofs = await new BalanceStore(_bulkhead, new PipelineOptions()).ProveAsync(new BalanceFilter(null, null, null), withItems: true);

        Assert.Equal([new DateOnly(2026, 11, 21), new DateOnly(2026, 11, 20)], proofs.Select(p => p.Day));
        var first = proofs[1];
        Assert.Equal((1_047_500L, 1_080_000L), (first.StatementClosingMinor, first.LedgerBalanceMinor));
        Assert.Equal(["t2:-2500:SERVICE CHARGE"], first.OpenProviderItems!.Select(i => $"{i.Id}:{i.AmountMinor}:{i.Description}"));
        Assert.Equal(["L2:30000:Globex deposit"], first.OpenLedgerItems!.Select(i => $"{i.Id}:{i.AmountMinor}:{i.Description}"));
        Assert.True(first.Proved, $"difference {first.DifferenceMinor}");
        var second = proofs[0];
        Assert.Equal((1_087_500L, 1_089_900L), (second.StatementClosingMinor, second.LedgerBalanceMinor));
        Assert.Equal(["t2"], second.OpenProviderItems!.Select(i => i.Id));
        Assert.Empty(second.OpenLedgerItems!);
        Assert.Equal(-100, second.DifferenceMinor);
        Assert.False(second.Proved);
    }

    [Fact]
    public async Task UnprovedDay_IsAnException_ClosedWhenItProves_ReopenedWhenNot_NotReopenedAfterAPersonResolvedIt()
    {
        await ExecAsync(Seed);
        var review = new ReviewIntake(new ReviewStore(_bulkhead), new BalanceStore(_bulkhead, new PipelineOptions()));
        async Task<List<JsonElement>> BalanceExceptionsAsync()
        {
            var reply = await review.ListExceptionsAsync(new Dictionary<string, string?>(), CancellationToken.None);
            var json = JsonSerializer.SerializeToElement(reply.Body, Core.Hosting.HostReply.JsonOptions);
            return json.GetProperty("items").EnumerateArray().Where(i => i.GetProperty("kind").GetString() == "balance_unproved").ToList();
        }

        var open = Assert.Single(await BalanceExceptionsAsync());
        Assert.Equal(("bank_a", "100200300", "2026-11-21", -100L, "USD"), (open.GetProperty("provider").GetString(), open.GetProperty("account").GetString(),
            open.GetProperty("valueDate").GetString(), open.GetProperty("amountMinor").GetInt64(), open.GetProperty("currency").GetString()));

        // the ledger corrected: the day proves and the engine closes its exception; the correction undone: a new one
        await ExecAsync("update ledger_entries set amount_minor = 10000 where id = 'L3'");
        Assert.Empty(await BalanceExceptionsAsync());
        await ExecAsync("update ledger_entries set amount_minor = 9900 where id = 'L3'");
        open = Assert.Single(await BalanceExceptionsAsync());

        // a person writes the 100 off: it stays closed while the difference is the one they saw; a new difference reopens it
        var resolved = await review.ResolveAsync(open.GetProperty("id").GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture),
            Body($$"""{"reasonCode":"written_off","note":"rounding on INITECH 7","etag":"{{open.GetProperty("etag").GetString()}}"}"""), "alice", CancellationToken.None);
        Assert.Equal(System.Net.HttpStatusCode.OK, resolved.StatusCode);
        Assert.Empty(await BalanceExceptionsAsync());
        Assert.Equal(["alice|resolve_exception|bank_a:100200300:2026-11-21"], await TestPolling.RowsAsync(_db.DataSource, "select actor, action, subject from audit_log"));
        await ExecAsync("update ledger_entries set amount_minor = 9800 where id = 'L3'");
        Assert.Equal(-200, Assert.Single(await BalanceExceptionsAsync()).GetProperty("amountMinor").GetInt64());
    }

    [Fact]
    public async Task StalePageResolve_DifferenceMovedSinceShown_Refused()
    {
        await ExecAsync(Seed);
        var review = new ReviewIntake(new ReviewStore(_bulkhead), new BalanceStore(_bulkhead, new PipelineOptions()));
        var list = JsonSerializer.SerializeToElement((await review.ListExceptionsAsync(new Dictionary<string, string?>(), CancellationToken.None)).Body, Core.Hosting.HostReply.JsonOptions);
        var shown = list.GetProperty("items").EnumerateArray().Single(i => i.GetProperty("kind").GetString() == "balance_unproved");
        await ExecAsync("update ledger_entries set amount_minor = 9950 where id = 'L3'");
        await new BalanceStore(_bulkhead, new PipelineOptions()).ProveAsync(new BalanceFilter(null, null, null), withItems: false);

        var reply = await review.ResolveAsync(shown.GetProperty("id").GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture),
            Body($$"""{"reasonCode":"written_off","etag":"{{shown.GetProperty("etag").GetString()}}"}"""), "alice", CancellationToken.None);

        Assert.Equal(System.Net.HttpStatusCode.Conflict, reply.StatusCode);
        Assert.Equal(["open|-50"], await TestPolling.RowsAsync(_db.DataSource, "select status, amount_minor from exceptions where kind = 'balance_unproved'"));
    }

    [Theory]
    [InlineData(Providers.BankA, BankStore.BankA, "USD")]
    [InlineData(Providers.BankB, BankStore.BankB, "EUR")]
    public async Task StorePage_BankStatementFromSandbox_BalancesStoredWithThePage_ACorrectedFileReplacesThem(string provider, string bank, string currency)
    {
        await using var sandbox = await SandboxHost.StartAsync(SandboxOptions.WithRandomKeys());
        using var http = new HttpClient();
        var day = new DateOnly(2026, 11, 20);
        const string account = "DE89370400440532013000";
        var tx = new ProviderTransaction(provider, "x", account, 12_345, 0, currency, day, day, "REF-1", null, "ACME", null);
        var fetcher = new BankStatementFetcher(provider, new BankProviderOptions { BaseUrl = $"{sandbox.BaseUrl}/{bank}", ApiKey = sandbox.Options.BankApiKey }, http, null);
        var store = new PostgresPageStore(_bulkhead);
        var request = new PageRequest(provider, account, day, day, null, 100);

        await sandbox.Admin(http).LoadBankStatementsAsync(bank, [new BankStatement(account, currency, 500_000, 512_345, day, null, [tx])]);
        var page = await fetcher.FetchPageAsync(request, CancellationToken.None);
        await store.StoreAsync("b1", page, CancellationToken.None);
        await sandbox.Admin(http).LoadBankStatementsAsync(bank, [new BankStatement(account, currency, 500_000, 512_300, day, null, [tx with { AmountMinor = 12_300 }])]);
        await store.StoreAsync("b2", await fetcher.FetchPageAsync(request, CancellationToken.None), CancellationToken.None);

        var stored = Assert.Single(page.Balances);
        Assert.Equal((provider, account, day, currency, (long?)500_000, 512_345L), (stored.Provider, stored.Account, stored.Day, stored.Currency, stored.OpeningMinor, stored.ClosingMinor));
        Assert.Equal([$"{provider}|{account}|500000|512300|b2"], await TestPolling.RowsAsync(_db.DataSource, "select provider, account, opening_minor, closing_minor, batch_id from statement_balances"));
    }

    private static MemoryStream Body(string json) => new(Encoding.UTF8.GetBytes(json));

    private async Task ExecAsync(string sql)
    {
        await using var cmd = _db.DataSource.CreateCommand(sql);
        await cmd.ExecuteNonQueryAsync();
    }
}
