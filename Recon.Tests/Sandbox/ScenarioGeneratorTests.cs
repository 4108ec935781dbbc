using System.Text.Json.Nodes;
using Npgsql;
using Recon.Core.Domain;
using Recon.Core.Ingestion;
using Recon.Core.Ingestion.Banks;
using Recon.Core.Ingestion.Plaid;
using Recon.Core.Ingestion.Stripe;
using Recon.Sandbox;
using Recon.Sandbox.Scenarios;
using Recon.Tests.Infrastructure;

namespace Recon.Tests.Sandbox;

public sealed class ScenarioGeneratorTests
{
    [Fact]
    public void Generate_SameSeedAndSize_SameScenario()
    {
        var a = ScenarioGenerator.Generate(7, 3_000);
        var b = ScenarioGenerator.Generate(7, 3_000);
        var c = ScenarioGenerator.Generate(8, 3_000);

        Assert.Equal(TruthCsv.ToCsv(a.Truth), TruthCsv.ToCsv(b.Truth));
        Assert.Equal(a.Ledger, b.Ledger);
        Assert.Equal(Json(a.StripeBalanceTransactions), Json(b.StripeBalanceTransactions));
        Assert.Equal(Json(a.PlaidEvents.Select(e => e.Transaction ?? new JsonObject { ["removed"] = e.TransactionId })), Json(b.PlaidEvents.Select(e => e.Transaction ?? new JsonObject { ["removed"] = e.TransactionId })));
        Assert.NotEqual(TruthCsv.ToCsv(a.Truth), TruthCsv.ToCsv(c.Truth));
    }

    [Fact]
    public void Generate_Truth_IsConsistentWithLedgerAndProviderData()
    {
        var s = ScenarioGenerator.Generate(42, 4_000);
        var ledger = s.Ledger.ToDictionary(e => e.Id);
        var truthKeys = s.Truth.Select(t => (t.Provider, t.ProviderTxId)).ToList();
        var matchedLedger = s.Truth.SelectMany(t => t.LedgerIds).ToList();

        Assert.Equal(truthKeys.Count, truthKeys.Distinct().Count());
        Assert.All(matchedLedger, id => Assert.True(ledger.ContainsKey(id), $"truth names unknown ledger entry {id}"));
        Assert.Equal(matchedLedger.Count, matchedLedger.Distinct().Count());
        // every Stripe balance transaction is in the truth, and a matched one has the ledger's amount and currency
        var bts = s.StripeBalanceTransactions.ToDictionary(b => (string)b["id"]!);
        Assert.Equal(bts.Keys.Order(StringComparer.Ordinal), s.Truth.Where(t => t.Provider == Providers.Stripe).Select(t => t.ProviderTxId).Order(StringComparer.Ordinal));
        foreach (var t in s.Truth.Where(t => t.Provider == Providers.Stripe && t.LedgerIds.Count == 1))
        {
            var e = ledger[t.LedgerIds[0]];
            Assert.Equal(((long)bts[t.ProviderTxId]["amount"]!, ((string)bts[t.ProviderTxId]["currency"]!).ToUpperInvariant()), (e.AmountMinor, e.Currency));
        }
        // payouts net the 2.9% + 30c fees of the charges they group
        var payoutBts = s.StripeBalanceTransactions.Where(b => (string)b["type"]! == "payout").ToList();
        Assert.NotEmpty(payoutBts);
        foreach (var p in payoutBts)
        {
            var grouped = s.StripeBalanceTransactions.Where(b => (string?)b["payout"] == (string)p["payout"]! && (string)b["type"]! != "payout").ToList();
            Assert.True(grouped.Count > 1 || s.Size < 100);
            Assert.Equal(-(long)p["amount"]!, grouped.Sum(b => (long)b["net"]!));
            Assert.All(grouped.Where(b => (string)b["type"]! == "charge"), b => Assert.Equal(((long)b["amount"]! * 29 + 500) / 1000 + 30, (long)b["fee"]!));
        }
        // the mess is there: strays both sides, duplicates, weekend drift, typos, non-USD, external refs on some entries only
        Assert.Contains(s.Truth, t => t.LedgerIds.Count == 0);
        Assert.True(ledger.Count > matchedLedger.Count, "some ledger entries must be unmatched");
        var bank = s.BankAStatements.SelectMany(st => st.Transactions).ToList();
        Assert.Contains(bank, t => t.EndToEndId is not null && bank.Count(o => o.EndToEndId == t.EndToEndId && o.AmountMinor == t.AmountMinor && t.EndToEndId.StartsWith("ACH", StringComparison.Ordinal)) > 1);
        Assert.Contains(s.Ledger, e => e.ValueDate.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday && e.Account == "bank_a:operating");
        Assert.All(bank, t => Assert.False(t.ValueDate.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday));
        Assert.Contains(bank, t => t.EndToEndId is { } r && (r.StartsWith("ACH", StringComparison.Ordinal) || r.StartsWith("WIRE", StringComparison.Ordinal)) && !ledger.Values.Any(e => e.Reference == r));
        Assert.Contains(s.Ledger, e => e.Currency == "EUR");
        Assert.Contains(s.Ledger, e => e.ExternalRef is not null);
        Assert.Contains(s.Ledger, e => e.Account == "stripe:sales" && e.ExternalRef is null);
        Assert.Contains(bank, t => t.AmountMinor >= 10_000_000);
    }

    [Fact]
    public async Task Load_IntoDatabaseAndSandbox_EveryTruthRowIsWhatIngestionSees()
    {
        await using var db = new TestDatabase();
        await db.InitializeAsync();
        await using var sandbox = await SandboxHost.StartAsync(SandboxOptions.WithRandomKeys(new SandboxBehavior { LimitsEnabled = false }));
        using var http = new HttpClient();
        var s = ScenarioGenerator.Generate(3, 1_500);

        await ScenarioLoader.LoadAsync(s, db.DataSource, sandbox.Admin(http), CancellationToken.None);

        await using (var conn = await db.DataSource.OpenConnectionAsync())
        await using (var cmd = new NpgsqlCommand("select count(*), sum(amount_minor) from ledger_entries", conn))
        await using (var reader = await cmd.ExecuteReaderAsync())
        {
            await reader.ReadAsync();
            Assert.Equal((s.Ledger.Count, s.Ledger.Sum(e => e.AmountMinor)), (reader.GetInt64(0), reader.GetInt64(1)));
        }
        var seen = new HashSet<(string, string)>();
        var from = new DateOnly(2025, 6, 1);
        var to = from.AddDays(ScenarioGenerator.SpanDays + 5);
        var stripe = new StripePageFetcher(new StripeProviderOptions { ApiBase = sandbox.BaseUrl, ApiKey = sandbox.Options.StripeApiKey }, http, null);
        await Drain(stripe, new PageRequest(Providers.Stripe, "acct", from, to, null, 100));
        foreach (var (provider, url, account) in new[] { (Providers.BankA, sandbox.BankAUrl, ScenarioGenerator.BankAAccount), (Providers.BankB, sandbox.BankBUrl, ScenarioGenerator.BankBAccount) })
        {
            await Drain(new BankStatementFetcher(provider, new BankProviderOptions { BaseUrl = url, ApiKey = sandbox.Options.BankApiKey }, http, null), new PageRequest(provider, account, from, to, null, 100));
        }
        var plaid = new PlaidPageFetcher(new PlaidProviderOptions { BaseUrl = sandbox.BaseUrl, ClientId = sandbox.Options.PlaidClientId, Secret = sandbox.Options.PlaidSecret }, http, null);
        var removed = new HashSet<string>();
        var request = new PageRequest(Providers.Plaid, s.PlaidAccessToken, from, to, null, 500);
        while (true)
        {
            var page = await plaid.FetchPageAsync(request, CancellationToken.None);
            seen.UnionWith(page.Transactions.Select(t => (t.Provider, t.ProviderTxId)));
            removed.UnionWith(page.RemovedIds);
            if (!page.HasMore)
            {
                break;
            }
            request = request with { Cursor = page.NextCursor };
        }
        seen.RemoveWhere(k => k.Item1 == Providers.Plaid && removed.Contains(k.Item2));

        Assert.Equal(s.Truth.Select(t => (t.Provider, t.ProviderTxId)).Order(), seen.Order());

        async Task Drain(IProviderPageFetcher fetcher, PageRequest r)
        {
            for (var i = 0; i < 10_000; i++)
            {
                var page = await fetcher.FetchPageAsync(r, CancellationToken.None);
                Assert.All(page.Transactions, t => Assert.True(seen.Add((t.Provider, t.ProviderTxId)), $"{t.ProviderTxId} seen twice"));
                if (!page.HasMore)
                {
                    return;
                }
                r = r with { Cursor = page.NextCursor };
            }
        }
    }

    [Fact]
    public void TruthCsv_RoundTrips()
    {
        var rows = ScenarioGenerator.Generate(5, 500).Truth;

        var csv = TruthCsv.ToCsv(rows);

        Assert.StartsWith("provider,provider_tx_id,ledger_ids\n", csv, StringComparison.Ordinal);
        Assert.Equal(rows.Select(r => (r.Provider, r.ProviderTxId, string.Join(';', r.LedgerIds))), TruthCsv.Read(csv).Select(r => (r.Provider, r.ProviderTxId, string.Join(';', r.LedgerIds))));
        Assert.Throws<FormatException>(() => TruthCsv.Read("provider,provider_tx_id,ledger_ids\nstripe,txn_1\n"));
    }

    private static List<string> Json(IEnumerable<JsonObject> objects) => objects.Select(o => o.ToJsonString()).ToList();
}
