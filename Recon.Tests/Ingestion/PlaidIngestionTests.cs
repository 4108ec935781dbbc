using System.Text.Json.Nodes;
using Npgsql;
using Recon.Core.Domain;
using Recon.Core.Ingestion;
using Recon.Core.Ingestion.Plaid;
using Recon.Core.Persistence;
using Recon.Sandbox;
using Recon.Sandbox.Admin;
using Recon.Sandbox.Plaid;
using Recon.Tests.Infrastructure;

namespace Recon.Tests.Ingestion;

public sealed class PlaidIngestionTests : IAsyncLifetime
{
    private const string Token = "access-sandbox-item-1";
    private const string Account = "acc_checking";
    private static readonly DateOnly Day0 = new(2025, 4, 1);
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
    public async Task SyncLoop_MutationErrorAnd429_EndsWithSandboxsExactData()
    {
        var admin = _sandbox.Admin(_http);
        // 1,200 added (30 of them pending), then the pending ones post (removed + added) and 50 are modified: 1,310 log entries, 3 pages
        var events = new List<PlaidEventDto>();
        for (var i = 0; i < 1_200; i++)
        {
            events.Add(PlaidEventDto.Added(Tx(i < 30 ? $"pend_{i}" : $"tx_{i}", 1_000 + i, Day0.AddDays(i % 20), pending: i < 30)));
        }
        for (var i = 0; i < 30; i++)
        {
            events.Add(PlaidEventDto.Removed($"pend_{i}", Account));
            events.Add(PlaidEventDto.Added(Tx($"posted_{i}", 1_000 + i, Day0.AddDays((i % 20) + 1), pendingId: $"pend_{i}")));
        }
        for (var i = 100; i < 150; i++)
        {
            events.Add(PlaidEventDto.Modified(Tx($"tx_{i}", 5_000 + i, Day0.AddDays(i % 20))));
        }
        await admin.AppendPlaidEventsAsync(Token, events);
        // first call answers 429; the first mid-pagination call fails with a mutation that modifies a row and adds one
        await admin.ArmPlaidFaultsAsync(Token, new PlaidFaultsDto(1,
            [PlaidEventDto.Modified(Tx("tx_40", 77_777, Day0)), PlaidEventDto.Added(Tx("tx_late", 4_242, Day0.AddDays(21)))], 1));
        var loop = new PlaidSyncLoop(new PlaidPageFetcher(PlaidOptions(), _http, new InMemoryRateLimiter(TimeProvider.System)), _db.DataSource);

        var result = await loop.RunWaitingOutThrottlesAsync(Token, "item-1", maxThrottledAttempts: 5, TimeProvider.System, CancellationToken.None);

        Assert.Equal(1, result.Throttled);
        Assert.Equal(1, result.MutationRestarts);
        var expected = (await admin.PlaidTransactionsAsync(Token))
            .Select(n => PlaidPageFetcher.MapTransaction(n!.AsObject(), "sandbox"))
            .ToDictionary(t => t.ProviderTxId, t => (t.AmountMinor, t.ValueDate, t.Status));
        var live = await ReadAsync("status <> 'removed'");
        Assert.Equal(1_201, expected.Count);
        Assert.Equal(expected.OrderBy(e => e.Key, StringComparer.Ordinal), live.OrderBy(e => e.Key, StringComparer.Ordinal));
        Assert.Equal(-77_777, live["tx_40"].AmountMinor);
        var removed = await ReadAsync("status = 'removed'");
        Assert.Equal(Enumerable.Range(0, 30).Select(i => $"pend_{i}").Order(StringComparer.Ordinal), removed.Keys.Order(StringComparer.Ordinal));
        await using (var conn = await _db.DataSource.OpenConnectionAsync())
        {
            Assert.Equal(result.Cursor, await ProviderTransactionStore.GetCursorAsync(conn, null, Providers.Plaid, "item-1", CancellationToken.None));
        }

        // a second run resumes from the stored cursor: nothing new, nothing rewritten
        var again = await loop.RunAsync(Token, "item-1", CancellationToken.None);
        Assert.Equal((1, 0, 0), (again.Pages, again.Upserted, again.Removed));
    }

    [Fact]
    public async Task Fetch_RateLimited_ThrowsThrottledAfterPausingTheLimiter()
    {
        var admin = _sandbox.Admin(_http);
        await admin.AppendPlaidEventsAsync(Token, [PlaidEventDto.Added(Tx("tx_1", 100, Day0))]);
        await admin.SetBehaviorAsync(new SandboxBehavior { PlaidSyncPerItemPerMinute = 1 });
        var limiter = new InMemoryRateLimiter(TimeProvider.System);
        var fetcher = new PlaidPageFetcher(PlaidOptions(), _http, limiter);
        var request = new PageRequest(Providers.Plaid, Token, Day0, Day0, null, 100);

        var first = await fetcher.FetchPageAsync(request, CancellationToken.None);
        var ex = await Assert.ThrowsAsync<ProviderThrottledException>(() => fetcher.FetchPageAsync(request, CancellationToken.None));

        Assert.Equal(-100, Assert.Single(first.Transactions).AmountMinor);
        Assert.Equal(Providers.Plaid, ex.Provider);
        Assert.Equal(1, limiter.Pauses);
        Assert.Equal(1, (await admin.CountersAsync()).Total.Throttled);
    }

    private PlaidProviderOptions PlaidOptions() => new() { BaseUrl = _sandbox.BaseUrl, ClientId = _sandbox.Options.PlaidClientId, Secret = _sandbox.Options.PlaidSecret };

    private static JsonObject Tx(string id, long outflowMinor, DateOnly date, bool pending = false, string? pendingId = null)
        => PlaidTransactionJson.Create(id, Account, outflowMinor, "USD", date, $"card purchase {id}", pending, pendingId);

    private async Task<Dictionary<string, (long AmountMinor, DateOnly ValueDate, ProviderTransactionStatus Status)>> ReadAsync(string where)
    {
        await using var conn = await _db.DataSource.OpenConnectionAsync();
        await using var cmd = new NpgsqlCommand($"select provider_tx_id, amount_minor, value_date, status from provider_transactions where provider = 'plaid' and {where}", conn);
        await using var reader = await cmd.ExecuteReaderAsync();
        var rows = new Dictionary<string, (long, DateOnly, ProviderTransactionStatus)>(StringComparer.Ordinal);
        while (await reader.ReadAsync())
        {
            rows[reader.GetString(0)] = (reader.GetInt64(1), reader.GetFieldValue<DateOnly>(2), Enum.Parse<ProviderTransactionStatus>(reader.GetString(3), ignoreCase: true));
        }
        return rows;
    }
}
