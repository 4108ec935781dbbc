using System.Net;
using System.Text.Json.Nodes;
using Npgsql;
using Recon.Core.Domain;
using Recon.Core.Ingestion;
using Recon.Core.Ingestion.Stripe;
using Recon.Core.Persistence;
using Recon.Sandbox;
using Recon.Tests.Infrastructure;
using Stripe;

namespace Recon.Tests.Ingestion;

public sealed class StripeIngestionTests : IAsyncLifetime
{
    private static readonly DateOnly Day0 = new(2025, 3, 3);
    private readonly TestDatabase _db = new();
    private readonly HttpClient _http = new() { Timeout = Timeout.InfiniteTimeSpan };
    private RunningSandbox _sandbox = null!;

    public async Task InitializeAsync()
    {
        await _db.InitializeAsync();
        _sandbox = await SandboxHost.StartAsync(SandboxOptions.WithRandomKeys());
    }

    public async Task DisposeAsync()
    {
        await _sandbox.DisposeAsync();
        _http.Dispose();
        await _db.DisposeAsync();
    }

    [Fact]
    public async Task Paging_1200BalanceTransactionsUnderLowLimits_IngestsEachOnceAndHandlesEvery429()
    {
        var admin = _sandbox.Admin(_http);
        const int perDay = 300, days = 4;
        await admin.LoadStripeAsync("balance_transaction", Enumerable.Range(0, days * perDay).Select(i => BalanceTransaction(i, Day0.AddDays(i / perDay))));
        // low enough that four concurrent pagers collide: 429s must happen and each must be handled
        await admin.SetBehaviorAsync(new SandboxBehavior { StripeGlobalPerSecond = 3, StripePerEndpointPerSecond = 2, StripeTestModePerSecond = 2 });
        var limiter = new InMemoryRateLimiter(TimeProvider.System);
        var fetcher = new StripePageFetcher(StripeOptions(), _http, limiter);
        var received = new System.Collections.Concurrent.ConcurrentBag<string>();
        var handled = 0;

        async Task PageDay(DateOnly day)
        {
            string? cursor = null;
            // bounded: 3 pages a day plus waits; 400 attempts is far beyond what any schedule needs
            for (var attempt = 0; attempt < 400; attempt++)
            {
                ProviderPage page;
                try
                {
                    page = await fetcher.FetchPageAsync(new PageRequest(Providers.Stripe, "acct_sbx", day, day, cursor, 100), CancellationToken.None);
                }
                catch (ProviderThrottledException ex)
                {
                    Interlocked.Increment(ref handled);
                    await Task.Delay(ex.RetryAfter);
                    continue;
                }
                await using (var connection = await _db.DataSource.OpenConnectionAsync())
                await using (var tx = await connection.BeginTransactionAsync())
                {
                    await ProviderTransactionStore.UpsertAsync(connection, tx, page.Transactions, $"stripe-{day:yyyyMMdd}", CancellationToken.None);
                    await tx.CommitAsync();
                }
                foreach (var t in page.Transactions)
                {
                    received.Add(t.ProviderTxId);
                }
                if (!page.HasMore)
                {
                    return;
                }
                cursor = page.NextCursor;
            }
            throw new InvalidOperationException($"paging {day} did not finish");
        }

        await Task.WhenAll(Enumerable.Range(0, days).Select(d => PageDay(Day0.AddDays(d))));

        var counters = await admin.CountersAsync();
        Assert.Equal(days * perDay, received.Count);
        Assert.Equal(days * perDay, received.Distinct().Count());
        Assert.True(counters.Total.Throttled > 0, "the limits were meant to produce 429s");
        Assert.Equal(counters.Total.Throttled, handled);
        Assert.Equal(handled, fetcher.ThrottledCount);
        Assert.Equal(handled, limiter.Pauses);
        await using var conn = await _db.DataSource.OpenConnectionAsync();
        await using var count = new NpgsqlCommand("select count(*), count(distinct provider_tx_id), sum(amount_minor) from provider_transactions where provider = 'stripe'", conn);
        await using var reader = await count.ExecuteReaderAsync();
        await reader.ReadAsync();
        Assert.Equal(days * perDay, reader.GetInt64(0));
        Assert.Equal(days * perDay, reader.GetInt64(1));
        Assert.Equal(Enumerable.Range(0, days * perDay).Sum(i => 1000L + i), reader.GetInt64(2));
    }

    [Fact]
    public async Task Map_BalanceTransaction_MinorUnitsUpperCurrencyDatesSourceAndRaw()
    {
        var admin = _sandbox.Admin(_http);
        var created = new DateTimeOffset(2025, 3, 7, 22, 15, 0, TimeSpan.Zero);
        var bt = new JsonObject
        {
            ["id"] = "txn_map1", ["object"] = "balance_transaction", ["amount"] = 10_000, ["fee"] = 320, ["net"] = 9_680,
            ["currency"] = "eur", ["created"] = created.ToUnixTimeSeconds(), ["available_on"] = created.AddDays(3).ToUnixTimeSeconds(),
            ["description"] = "INV-77", ["exchange_rate"] = null, ["fee_details"] = new JsonArray(), ["reporting_category"] = "charge",
            ["source"] = "ch_abc", ["status"] = "pending", ["type"] = "charge", ["balance_type"] = "payments", ["payout"] = "po_1",
        };
        await admin.LoadStripeAsync("balance_transaction", [bt]);
        // a payout that grouped nothing on this day: its list is empty; a payout Stripe never issued is an error
        await admin.LoadStripeAsync("payout", [new JsonObject { ["id"] = "po_2", ["object"] = "payout", ["amount"] = 500, ["currency"] = "eur", ["created"] = created.ToUnixTimeSeconds() }]);
        var fetcher = new StripePageFetcher(StripeOptions(), _http, null);
        var day = DateOnly.FromDateTime(created.UtcDateTime);

        var all = await fetcher.FetchPageAsync(new PageRequest(Providers.Stripe, "acct_sbx", day, day, null, 10), CancellationToken.None);
        var byPayout = await fetcher.FetchPayoutPageAsync(new PageRequest(Providers.Stripe, "acct_sbx", day, day, null, 10), "po_1", CancellationToken.None);
        var otherPayout = await fetcher.FetchPayoutPageAsync(new PageRequest(Providers.Stripe, "acct_sbx", day, day, null, 10), "po_2", CancellationToken.None);
        var unknown = await Assert.ThrowsAsync<StripeException>(() => fetcher.FetchPayoutPageAsync(new PageRequest(Providers.Stripe, "acct_sbx", day, day, null, 10), "po_404", CancellationToken.None));

        var t = Assert.Single(all.Transactions);
        Assert.Equal(("txn_map1", 10_000L, 320L, 9_680L, "EUR"), (t.ProviderTxId, t.AmountMinor, t.FeeMinor, t.NetMinor, t.Currency));
        Assert.Equal((new DateOnly(2025, 3, 7), new DateOnly(2025, 3, 10)), (t.BookingDate!.Value, t.ValueDate));
        Assert.Equal(("ch_abc", "INV-77", (string?)null), (t.BankReference, t.Remittance, t.GroupId));
        Assert.Contains("\"source\":\"ch_abc\"", t.RawJson!.Replace(" ", "", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.DoesNotContain("payout", t.RawJson, StringComparison.Ordinal);
        Assert.Equal("po_1", Assert.Single(byPayout.Transactions).GroupId);
        Assert.Empty(otherPayout.Transactions);
        Assert.Equal((HttpStatusCode.NotFound, "resource_missing", "payout"), (unknown.HttpStatusCode, unknown.StripeError.Code, unknown.StripeError.Param));
        Assert.False(all.HasMore);
        Assert.Null(all.NextCursor);
    }

    [Fact]
    public async Task Call_SandboxHangsLongerThanTimeout_ThrowsProviderTimeout()
    {
        await _sandbox.Admin(_http).SetBehaviorAsync(new SandboxBehavior { HangShare = 1, HangMs = 5_000 });
        var options = StripeOptions();
        options.CallTimeout = TimeSpan.FromMilliseconds(300);
        var fetcher = new StripePageFetcher(options, _http, null);

        var ex = await Assert.ThrowsAsync<ProviderTimeoutException>(() => fetcher.FetchPageAsync(new PageRequest(Providers.Stripe, "a", Day0, Day0, null, 10), CancellationToken.None));

        Assert.Equal(Providers.Stripe, ex.Provider);
    }

    [Fact]
    public async Task Call_SandboxAnswers500_SurfacesStripeErrorWithShouldRetry()
    {
        await _sandbox.Admin(_http).SetBehaviorAsync(new SandboxBehavior { ServerErrorShare = 1 });
        var fetcher = new StripePageFetcher(StripeOptions(), _http, null);

        var ex = await Assert.ThrowsAsync<StripeException>(() => fetcher.FetchPageAsync(new PageRequest(Providers.Stripe, "a", Day0, Day0, null, 10), CancellationToken.None));

        Assert.Equal(HttpStatusCode.InternalServerError, ex.HttpStatusCode);
        Assert.Equal("true", ex.StripeResponse.Headers.GetValues("Stripe-Should-Retry").Single());
        Assert.Equal(1, (await _sandbox.Admin(_http).CountersAsync()).Total.ServerErrors);
    }

    private StripeProviderOptions StripeOptions() => new() { ApiBase = _sandbox.BaseUrl, ApiKey = _sandbox.Options.StripeApiKey };

    private static JsonObject BalanceTransaction(int i, DateOnly day)
    {
        var created = new DateTimeOffset(day.ToDateTime(new TimeOnly(0, 0)), TimeSpan.Zero).AddSeconds(60 + (i % 300) * 100);
        var amount = 1000L + i;
        var fee = (amount * 29 / 1000) + 30;
        return new JsonObject
        {
            ["id"] = $"txn_{i:D6}", ["object"] = "balance_transaction", ["amount"] = amount, ["fee"] = fee, ["net"] = amount - fee,
            ["currency"] = "usd", ["created"] = created.ToUnixTimeSeconds(), ["available_on"] = created.AddDays(2).ToUnixTimeSeconds(),
            ["description"] = $"charge {i}", ["exchange_rate"] = null, ["fee_details"] = new JsonArray(), ["reporting_category"] = "charge",
            ["source"] = $"ch_{i:D6}", ["status"] = "available", ["type"] = "charge", ["balance_type"] = "payments",
        };
    }
}
