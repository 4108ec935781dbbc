using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Npgsql;
using Recon.Core.Domain;
using Recon.Core.Ingestion;
using Recon.Core.Ingestion.Stripe;
using Recon.Core.RateLimiting;
using Recon.Sandbox;
using Stripe;

namespace Recon.Cli.Bench.Spike;

/// <summary>
/// The Stripe sandbox, in process on loopback at its real limits (100 req/s global, 25 per endpoint), loaded with one
/// page of objects per job on each of balance_transactions, charges and payouts, plus the ledger entries they match.
/// </summary>
public sealed class SandboxStripeHost : ISpikeProviderHost
{
    /// <summary>Objects per page: small, so a job's posting transaction stays short and data loads quickly.</summary>
    public const int PageSize = 5;

    /// <summary>Median latency of a provider call: a list call to Stripe takes tens to hundreds of milliseconds, and how
    /// long a worker holds what it holds while it waits is what the naive mode is about.</summary>
    public const double LatencyMedianMs = 60;

    private static readonly DateOnly Day = new(2026, 11, 2);

    private readonly RunningSandbox _sandbox;
    private readonly HttpClient _http;
    private readonly SpikeDatabase _database;
    private readonly Dictionary<int, string?> _cursorByJob = [];

    private SandboxStripeHost(RunningSandbox sandbox, HttpClient http, SpikeDatabase database)
    {
        _sandbox = sandbox;
        _http = http;
        _database = database;
    }

    public static async Task<SandboxStripeHost> StartAsync(int port, SpikeDatabase database, CancellationToken cancellationToken)
    {
        // the spike models production: a live-mode key, so the sandbox applies Stripe's live limits (100/s, 25/s per endpoint)
        var options = SandboxOptions.WithRandomKeys(stripeLiveMode: true);
        options.Port = port;
        var sandbox = await SandboxHost.StartAsync(options, cancellationToken).ConfigureAwait(false);
        // loopback, many concurrent calls in the naive mode: no cap on connections per server
        var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            Timeout = TimeSpan.FromSeconds(30),
        };
        return new SandboxStripeHost(sandbox, http, database);
    }

    public string BaseUrl => _sandbox.BaseUrl;

    /// <summary>A caller for the jobs: <paramref name="rateLimiter"/> is paused on a 429 (recon); null means nothing is (naive).</summary>
    public ISpikeProvider Caller(IProviderRateLimiter? rateLimiter) => new StripeCaller(this, rateLimiter);

    public async Task PrepareAsync(IReadOnlyList<SpikeJob> jobs, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        var admin = _sandbox.Admin(_http);
        await admin.SetBehaviorAsync(_sandbox.Options.Behavior with { LimitsEnabled = false }, cancellationToken).ConfigureAwait(false);
        var created = new DateTimeOffset(Day.ToDateTime(new TimeOnly(12, 0)), TimeSpan.Zero).ToUnixTimeSeconds();
        var ledgerIds = new List<string>();
        var ledgerRefs = new List<string>();
        var ledgerAmounts = new List<long>();
        foreach (var group in jobs.GroupBy(j => j.Endpoint, StringComparer.Ordinal))
        {
            var (type, prefix) = group.Key switch
            {
                "balance_transactions" => ("balance_transaction", "txn"),
                "charges" => ("charge", "ch"),
                "payouts" => ("payout", "po"),
                _ => throw new InvalidOperationException($"the Stripe sandbox has no list endpoint '{group.Key}'"),
            };
            var endpointJobs = group.ToList();
            var count = (endpointJobs.Count + 1) * PageSize;
            var objects = new List<JsonObject>(count);
            // list order is newest first: object n is created n seconds before the first, so ids sort as they are made
            var ids = Enumerable.Range(0, count).Select(n => string.Create(CultureInfo.InvariantCulture, $"{prefix}_spike{n:D7}")).ToArray();
            for (var n = 0; n < count; n++)
            {
                var amount = 1_000 + (n * 37 % 90_000);
                var at = created - n;
                objects.Add(type switch
                {
                    "balance_transaction" => new JsonObject
                    {
                        ["id"] = ids[n], ["object"] = type, ["amount"] = amount, ["currency"] = "usd", ["created"] = at,
                        ["available_on"] = at + 172_800, ["fee"] = 30, ["net"] = amount - 30, ["type"] = "charge",
                        ["status"] = "available", ["source"] = $"ch_src{n:D7}", ["reporting_category"] = "charge",
                    },
                    "charge" => new JsonObject
                    {
                        ["id"] = ids[n], ["object"] = type, ["amount"] = amount, ["currency"] = "usd", ["created"] = at,
                        ["status"] = "succeeded", ["paid"] = true, ["captured"] = true,
                    },
                    _ => new JsonObject
                    {
                        ["id"] = ids[n], ["object"] = type, ["amount"] = amount, ["currency"] = "usd", ["created"] = at,
                        ["arrival_date"] = at + 172_800, ["status"] = "paid", ["automatic"] = true,
                    },
                });
                // nine in ten have a ledger entry expecting them: the matcher has real work, and real exceptions
                if (n % 10 != 0)
                {
                    ledgerIds.Add($"led_{ids[n]}");
                    ledgerRefs.Add(ids[n]);
                    ledgerAmounts.Add(type == "payout" ? -amount : amount);
                }
            }
            foreach (var chunk in objects.Chunk(2_000))
            {
                await admin.LoadStripeAsync(type, chunk, cancellationToken).ConfigureAwait(false);
            }
            // the k-th job on an endpoint reads the k-th page: pages never overlap, so postings never wait on each other's rows
            for (var k = 0; k < endpointJobs.Count; k++)
            {
                _cursorByJob[endpointJobs[k].Index] = k == 0 ? null : ids[(k * PageSize) - 1];
            }
        }
        await using (var conn = new NpgsqlConnection(_database.Direct))
        {
            await conn.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var insert = new NpgsqlCommand("""
                insert into ledger_entries (id, account, amount_minor, currency, value_date, external_ref)
                select id, $4, amount, 'USD', $5, ref from unnest($1::text[], $2::text[], $3::bigint[]) as u(id, ref, amount)
                """, conn);
            insert.Parameters.Add(new() { Value = ledgerIds.ToArray() });
            insert.Parameters.Add(new() { Value = ledgerRefs.ToArray() });
            insert.Parameters.Add(new() { Value = ledgerAmounts.ToArray() });
            insert.Parameters.Add(new() { Value = SpikePosting.Account });
            insert.Parameters.Add(new() { Value = Day });
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await admin.SetBehaviorAsync(_sandbox.Options.Behavior with { LimitsEnabled = true, LatencyMedianMs = LatencyMedianMs }, cancellationToken).ConfigureAwait(false);
    }

    public Task ResetCountersAsync(CancellationToken cancellationToken) => _sandbox.Admin(_http).ResetCountersAsync(cancellationToken);

    public async Task<(long Requests, long Throttled)> CountersAsync(CancellationToken cancellationToken)
    {
        var snapshot = await _sandbox.Admin(_http).CountersAsync(cancellationToken).ConfigureAwait(false);
        return (snapshot.Total.Requests, snapshot.Total.Throttled);
    }

    public async ValueTask DisposeAsync()
    {
        await _sandbox.DisposeAsync().ConfigureAwait(false);
        _http.Dispose();
    }

    private sealed class StripeCaller : ISpikeProvider
    {
        private readonly SandboxStripeHost _host;
        private readonly IProviderRateLimiter? _rateLimiter;
        private readonly StripePageFetcher _balanceTransactions;
        private readonly StripeClient _client;

        public StripeCaller(SandboxStripeHost host, IProviderRateLimiter? rateLimiter)
        {
            _host = host;
            _rateLimiter = rateLimiter;
            var options = new StripeProviderOptions { ApiBase = host._sandbox.BaseUrl, ApiKey = host._sandbox.Options.StripeApiKey };
            _balanceTransactions = new StripePageFetcher(options, host._http, rateLimiter);
            _client = new StripeClient(new StripeClientOptions
            {
                ApiKey = options.ApiKey,
                ApiBase = options.ApiBase,
                // Recon handles 429s itself (pause, wait); Stripe.net's retries would hide them
                HttpClient = new SystemNetHttpClient(host._http, maxNetworkRetries: 0, appInfo: null, enableTelemetry: false),
            });
        }

        public async Task<ProviderPage> CallAsync(SpikeJob job, CancellationToken cancellationToken)
        {
            var cursor = _host._cursorByJob.GetValueOrDefault(job.Index);
            if (job.Endpoint == "balance_transactions")
            {
                return await _balanceTransactions.FetchPageAsync(
                    new PageRequest(Providers.Stripe, SpikePosting.Account, Day.AddDays(-30), Day.AddDays(1), cursor, PageSize), cancellationToken).ConfigureAwait(false);
            }
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(ProviderCalls.ProviderCallTimeout);
            try
            {
                if (job.Endpoint == "charges")
                {
                    var list = await _client.V1.Charges.ListAsync(new ChargeListOptions { Limit = PageSize, StartingAfter = cursor }, null, timeout.Token).ConfigureAwait(false);
                    return Page(list.Data.Select(c => Tx(c.Id, c.Amount, c.Currency, c.Created)).ToList(), list.HasMore);
                }
                var payouts = await _client.V1.Payouts.ListAsync(new PayoutListOptions { Limit = PageSize, StartingAfter = cursor }, null, timeout.Token).ConfigureAwait(false);
                return Page(payouts.Data.Select(p => Tx(p.Id, -p.Amount, p.Currency, p.Created)).ToList(), payouts.HasMore);
            }
            catch (StripeException ex) when (ex.HttpStatusCode == HttpStatusCode.TooManyRequests)
            {
                var retryAfter = ex.StripeResponse?.Headers?.RetryAfter?.Delta is { } d && d > TimeSpan.Zero ? d : ProviderCalls.DefaultThrottlePause;
                if (_rateLimiter is not null)
                {
                    await _rateLimiter.PauseAsync(Providers.Stripe, retryAfter, cancellationToken).ConfigureAwait(false);
                }
                throw new ProviderThrottledException(Providers.Stripe, retryAfter, ex.StripeError?.Message);
            }
        }

        private static ProviderPage Page(List<ProviderTransaction> txs, bool hasMore)
            => new(txs, [], hasMore && txs.Count > 0 ? txs[^1].ProviderTxId : null, hasMore);

        private static ProviderTransaction Tx(string id, long amount, string currency, DateTime created)
            => new(Providers.Stripe, id, SpikePosting.Account, amount, 0, currency.ToUpperInvariant(), DateOnly.FromDateTime(created),
                DateOnly.FromDateTime(created), null, null, null, null);
    }
}
