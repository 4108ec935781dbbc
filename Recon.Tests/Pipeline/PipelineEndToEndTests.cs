using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Azure.Storage.Queues;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Recon.Core.Domain;
using Recon.Core.Ingestion;
using Recon.Core.Persistence;
using Recon.Core.Pipeline;
using Recon.Core.RateLimiting;
using Recon.Tests.Infrastructure;
using Recon.Worker;

namespace Recon.Tests.Pipeline;

/// <summary>
/// The pipeline on the real stack: Recon.Worker in process over Azurite (own task hub and queues) and PostgreSQL
/// through PgBouncer (own database). The provider, limiter and poster below stand in for the sandbox fetchers, the
/// Redis limiter and the matcher until those land on main; everything between them is the real pipeline.
/// </summary>
public sealed class PipelineEndToEndTests : IAsyncLifetime
{
    private readonly TestDatabase _db = new();
    private readonly string _hub = TestHubs.NewName("e");
    private readonly string _queuePrefix = $"q{Guid.NewGuid():N}"[..12];
    private WebApplication? _app;
    private HttpClient? _http;

    public async Task InitializeAsync()
    {
        await _db.InitializeAsync();
        var port = FreePort();
        _app = WorkerApp.Build([], services =>
        {
            services.AddSingleton<IProviderRateLimiter, EveryThirdCallWaits>();
            services.AddSingleton<IProviderPageFetcher>(new PagedFetcher(Providers.Stripe, perDay: 7));
            services.AddSingleton<IPageStore, SqlPageStore>();
            services.AddSingleton<IBatchPoster, FirstWriteWinsPoster>();
            services.AddSingleton<IBatchValuation>(sp => new LedgerBatchValuation(sp.GetRequiredService<DatabaseBulkhead>(), (v, _) => v >= 1_000_000 ? 0 : 5));
        }, new Dictionary<string, string?>
        {
            ["Recon:Worker:Port"] = port.ToString(CultureInfo.InvariantCulture),
            ["Recon:Worker:TaskHubName"] = _hub,
            ["Recon:Storage:ConnectionString"] = TestStack.Storage,
            ["Recon:Database:ConnectionString"] = _db.ConnectionString,
            ["Recon:Queues:Ingest"] = _queuePrefix + "-ingest",
            ["Recon:Queues:High"] = _queuePrefix + "-high",
            ["Recon:Queues:Low"] = _queuePrefix + "-low",
        });
        await _app.StartAsync();
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
    }

    public async Task DisposeAsync()
    {
        _http?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.Services.GetRequiredService<Recon.Worker.Hosting.DurableHost>().DeleteHubAsync();
            await _app.DisposeAsync();
        }
        var queues = new QueueServiceClient(TestStack.Storage);
        foreach (var suffix in new[] { "-ingest", "-ingest-poison", "-high", "-low", "-low-poison" })
        {
            await queues.GetQueueClient(_queuePrefix + suffix).DeleteIfExistsAsync();
        }
        await _db.DisposeAsync();
    }

    [Fact]
    public async Task IngestTwice_EveryPageProcessedOnce_AllBatchesDone_NoDuplicateResults()
    {
        var request = new ReconciliationRequest(Providers.Stripe, "acct_e2e", new(2025, 3, 1), new(2025, 3, 2), PageSize: 3);
        var first = await _http!.PostAsJsonAsync("/api/reconciliations", request);
        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        var runId = (await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        // the same request again, over HTTP and through the ingest queue: the same run, nothing new
        var again = await _http!.PostAsJsonAsync("/api/reconciliations", request);
        Assert.False((await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("started").GetBoolean());
        var ingest = new QueueClient(TestStack.Storage, _queuePrefix + "-ingest");
        await ingest.CreateIfNotExistsAsync();
        await ingest.SendMessageAsync(JsonSerializer.Serialize(request, new JsonSerializerOptions(JsonSerializerDefaults.Web)));

        // 2 days × 7 transactions in pages of 3 = 2 × 3 pages
        await WaitUntilAsync(async () => await ScalarAsync("select count(*) from batches where status = 'done'") == 6, TimeSpan.FromMinutes(3));
        await Task.Delay(TimeSpan.FromSeconds(3)); // a duplicate would show up now

        Assert.Equal(6, await ScalarAsync("select count(*) from batches"));
        Assert.Equal(6, await ScalarAsync($"select count(*) from batches where run_id = '{runId}' and finished_at is not null and started_at is not null"));
        Assert.Equal(14, await ScalarAsync("select count(*) from provider_transactions"));
        Assert.Equal(14, await ScalarAsync("select count(*) from reconciliation_results"));
        Assert.Equal(14, await ScalarAsync("select count(*) from audit_log where action = 'posted'"));
        Assert.True(await ScalarAsync("select sum(token_waits) from batches") > 0, "the limiter refused some calls, so some batches waited on a timer");

        var status = await _http!.GetFromJsonAsync<JsonElement>($"/api/reconciliations/{runId}");
        Assert.Equal("Completed", status.GetProperty("runtimeStatus").GetString());
        Assert.Equal(6, status.GetProperty("batches").GetProperty("done").GetInt32());
    }

    [Fact]
    public async Task MalformedIngestMessage_EndsInPoisonQueueWithItsReason()
    {
        var ingest = new QueueClient(TestStack.Storage, _queuePrefix + "-ingest");
        await ingest.CreateIfNotExistsAsync();
        await ingest.SendMessageAsync("{\"provider\":\"stripe\",\"account\":");
        await ingest.SendMessageAsync("{\"provider\":\"paypal\",\"account\":\"a\",\"from\":\"2025-03-01\",\"to\":\"2025-03-01\"}");

        var poison = new QueueClient(TestStack.Storage, _queuePrefix + "-ingest-poison");
        var bodies = new List<string>();
        await WaitUntilAsync(async () =>
        {
            if (!await poison.ExistsAsync())
            {
                return false;
            }
            foreach (var m in (await poison.ReceiveMessagesAsync(10)).Value)
            {
                bodies.Add(m.Body.ToString());
            }
            return bodies.Count >= 2;
        }, TimeSpan.FromMinutes(1));

        Assert.Contains(bodies, b => b.Contains("not a reconciliation request", StringComparison.Ordinal));
        Assert.Contains(bodies, b => b.Contains("invalid reconciliation request: provider:", StringComparison.Ordinal) && b.Contains("paypal", StringComparison.Ordinal));
        Assert.Equal(0, await ScalarAsync("select count(*) from batches"));
    }

    private async Task<long> ScalarAsync(string sql)
    {
        await using var cmd = _db.DataSource.CreateCommand(sql);
        return Convert.ToInt64(await cmd.ExecuteScalarAsync() ?? 0L, CultureInfo.InvariantCulture);
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"condition not met within {limit.TotalSeconds:0} s");
            await Task.Delay(300);
        }
    }

    private static int FreePort()
    {
        using var l = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    /// <summary>Stand-in for the Redis limiter: refuses every third call for 300 ms (served as a whole-second timer).</summary>
    private sealed class EveryThirdCallWaits : IProviderRateLimiter
    {
        private int _calls;

        public ValueTask<RateLimitDecision> TryAcquireAsync(string provider, string endpoint, string? scope, int tokens, CancellationToken cancellationToken)
            => ValueTask.FromResult(Interlocked.Increment(ref _calls) % 3 == 0 ? RateLimitDecision.Wait(TimeSpan.FromMilliseconds(300)) : RateLimitDecision.Grant);

        public ValueTask PauseAsync(string provider, TimeSpan duration, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }

    /// <summary>Stand-in for a sandbox fetcher: <paramref name="perDay"/> transactions per account and day, paged by cursor.</summary>
    private sealed class PagedFetcher(string provider, int perDay) : IProviderPageFetcher
    {
        public string Provider => provider;

        public Task<ProviderPage> FetchPageAsync(PageRequest request, CancellationToken cancellationToken)
        {
            var all = Enumerable.Range(1, perDay)
                .Select(i => new ProviderTransaction(provider, $"txn_{request.Account}_{request.From:yyyyMMdd}_{i:D3}", request.Account, 1_000 * i, 30, "USD", request.From, request.From, null, null, null, null))
                .ToList();
            var start = request.Cursor is null ? 0 : all.FindIndex(t => t.ProviderTxId == request.Cursor) + 1;
            var page = all.Skip(start).Take(request.PageSize).ToList();
            var more = start + page.Count < all.Count;
            return Task.FromResult(new ProviderPage(page, [], more ? page[^1].ProviderTxId : null, more));
        }
    }

    /// <summary>Upserts the page into provider_transactions (the providers' store replaces it).</summary>
    private sealed class SqlPageStore(DatabaseBulkhead db) : IPageStore
    {
        public Task StoreAsync(string batchId, ProviderPage page, CancellationToken cancellationToken)
            => db.RunAsync(async (c, ct) =>
            {
                foreach (var t in page.Transactions)
                {
                    await using var cmd = new NpgsqlCommand("""
                        insert into provider_transactions (provider, provider_tx_id, account, amount_minor, fee_minor, currency, value_date, batch_id)
                        values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict (provider, provider_tx_id) do nothing
                        """, c);
                    foreach (var v in new object[] { t.Provider, t.ProviderTxId, t.Account, t.AmountMinor, t.FeeMinor, t.Currency, t.ValueDate, batchId })
                    {
                        cmd.Parameters.Add(new() { Value = v });
                    }
                    await cmd.ExecuteNonQueryAsync(ct);
                }
            }, cancellationToken);
    }

    /// <summary>Posts each transaction once, result and audit in one transaction (the matcher's store replaces it).</summary>
    private sealed class FirstWriteWinsPoster(DatabaseBulkhead db) : IBatchPoster
    {
        public Task<PostSummary> MatchAndPostAsync(MatchAndPostInput input, CancellationToken cancellationToken)
            => db.RunAsync(async (c, ct) =>
            {
                await using var tx = await c.BeginTransactionAsync(ct);
                var posted = 0;
                foreach (var id in input.TransactionIds)
                {
                    await using var cmd = new NpgsqlCommand("""
                        with r as (insert into reconciliation_results (provider, provider_tx_id, outcome, reason, score, rule, batch_id)
                                   values ($1, $2, 'unmatched', 'NoCandidate', 0, 'test', $3) on conflict do nothing returning provider_tx_id)
                        insert into audit_log (actor, action, subject) select 'pipeline', 'posted', provider_tx_id from r
                        """, c, tx);
                    cmd.Parameters.Add(new() { Value = input.Page.Provider });
                    cmd.Parameters.Add(new() { Value = id });
                    cmd.Parameters.Add(new() { Value = input.BatchId });
                    posted += await cmd.ExecuteNonQueryAsync(ct);
                }
                await tx.CommitAsync(ct);
                return new PostSummary(input.TransactionIds.Count, 0, 0, 0, posted, 0, 0);
            }, cancellationToken);
    }
}
