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

namespace Recon.Bench.Spike;

/// <summary>
/// The Stripe sandbox, in process on loopback at its real limits (100 req/s global, 25 per endpoint), loaded with one
/// page of balance transactions per job (the list the product pages), each job on a day of its own, plus the ledger
/// entries they match.
/// </summary>
public sealed class SandboxStripeHost : ISpikeProviderHost
{
    /// <summary>Objects per page: small, so a job's posting transaction stays short and data loads quickly.</summary>
    public const int PageSize = 5;

    /// <summary>Median latency of a provider call: a list call to Stripe takes tens to hundreds of milliseconds, and how
    /// long a worker holds what it holds while it waits is what the naive mode is about.</summary>
    public const double LatencyMedianMs = 60;

    /// <summary>The provider account every job's page belongs to.</summary>
    public const string ProviderAccount = "acct_spike";

    /// <summary>The ledger account the expected entries are booked on (the product matches Stripe against <c>stripe:</c> accounts).</summary>
    public const string LedgerAccount = "stripe:spike";

    private static readonly DateOnly FirstDay = new(2000, 1, 3);

    private readonly RunningSandbox _sandbox;
    private readonly HttpClient _http;
    private readonly SpikeDatabase _database;

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

    /// <summary>The sandbox's Stripe secret key (a live-mode key: Stripe's live limits apply).</summary>
    public string StripeApiKey => _sandbox.Options.StripeApiKey;

    /// <summary>A caller for the jobs: <paramref name="rateLimiter"/> is paused on a 429 (recon); null means nothing is (naive).</summary>
    public ISpikeProvider Caller(IProviderRateLimiter? rateLimiter) => new StripeCaller(this, rateLimiter);

    /// <summary>The day whose balance transactions are <paramref name="job"/>'s one page: a day of its own per job (from
    /// 2000-01-03 on), so each job's list call (created on that day, at most <see cref="PageSize"/>) is exactly one page,
    /// pages never overlap, and the product's day-by-day planner makes one batch of it.</summary>
    public static DateOnly DayOf(SpikeJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        return FirstDay.AddDays(job.Index);
    }

    public async Task PrepareAsync(IReadOnlyList<SpikeJob> jobs, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        var admin = _sandbox.Admin(_http);
        await admin.SetBehaviorAsync(_sandbox.Options.Behavior with { LimitsEnabled = false }, cancellationToken).ConfigureAwait(false);
        var ledgerIds = new List<string>();
        var ledgerRefs = new List<string>();
        var ledgerAmounts = new List<long>();
        var ledgerDates = new List<DateOnly>();
        var objects = new List<JsonObject>(jobs.Count * PageSize);
        foreach (var job in jobs)
        {
            var day = DayOf(job);
            var noon = new DateTimeOffset(day.ToDateTime(new TimeOnly(12, 0)), TimeSpan.Zero).ToUnixTimeSeconds();
            for (var k = 0; k < PageSize; k++)
            {
                var n = (job.Index * PageSize) + k;
                var id = string.Create(CultureInfo.InvariantCulture, $"txn_spike{n:D7}");
                var amount = 1_000 + (n * 37 % 90_000);
                var at = noon - k;
                objects.Add(new JsonObject
                {
                    ["id"] = id, ["object"] = "balance_transaction", ["amount"] = amount, ["currency"] = "usd", ["created"] = at,
                    ["available_on"] = at + 172_800, ["fee"] = 30, ["net"] = amount - 30, ["type"] = "charge",
                    ["status"] = "available", ["source"] = string.Create(CultureInfo.InvariantCulture, $"ch_src{n:D7}"), ["reporting_category"] = "charge",
                });
                // nine in ten have a ledger entry expecting them: the matcher has real work, and real exceptions
                if (n % 10 != 0)
                {
                    ledgerIds.Add($"led_{id}");
                    ledgerRefs.Add(id);
                    ledgerAmounts.Add(amount);
                    ledgerDates.Add(day);
                }
            }
        }
        foreach (var chunk in objects.Chunk(2_000))
        {
            await admin.LoadStripeAsync("balance_transaction", chunk, cancellationToken).ConfigureAwait(false);
        }
        await using (var conn = new NpgsqlConnection(_database.Direct))
        {
            await conn.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var insert = new NpgsqlCommand("""
                insert into ledger_entries (id, account, amount_minor, currency, value_date, external_ref)
                select id, $5, amount, 'USD', day, ref from unnest($1::text[], $2::text[], $3::bigint[], $4::date[]) as u(id, ref, amount, day)
                """, conn);
            insert.Parameters.Add(new() { Value = ledgerIds.ToArray() });
            insert.Parameters.Add(new() { Value = ledgerRefs.ToArray() });
            insert.Parameters.Add(new() { Value = ledgerAmounts.ToArray() });
            insert.Parameters.Add(new() { Value = ledgerDates.ToArray() });
            insert.Parameters.Add(new() { Value = LedgerAccount });
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await admin.SetBehaviorAsync(_sandbox.Options.Behavior with { LimitsEnabled = true, LatencyMedianMs = LatencyMedianMs }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Requests and 429s per second (Unix seconds) since the last reset, as the sandbox counted them.</summary>
    public async Task<IReadOnlyList<(long UnixSecond, long Ok, long Throttled)>> PerSecondAsync(CancellationToken cancellationToken)
    {
        var snapshot = await _sandbox.Admin(_http).CountersAsync(cancellationToken).ConfigureAwait(false);
        return snapshot.PerSecond.Select(p => (p.UnixSecond, p.Counts.Requests - p.Counts.Throttled, p.Counts.Throttled)).ToList();
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

    /// <summary>The naive mode's provider call: Stripe.net's balance-transaction list through <see cref="StripePageFetcher"/>
    /// (its retries off), nothing paused on a 429 (<paramref name="rateLimiter"/> null).</summary>
    private sealed class StripeCaller(SandboxStripeHost host, IProviderRateLimiter? rateLimiter) : ISpikeProvider
    {
        private readonly StripePageFetcher _balanceTransactions = new(
            new StripeProviderOptions { ApiBase = host._sandbox.BaseUrl, ApiKey = host._sandbox.Options.StripeApiKey }, host._http, rateLimiter);

        public Task<ProviderPage> CallAsync(SpikeJob job, CancellationToken cancellationToken)
        {
            var day = DayOf(job);
            return _balanceTransactions.FetchPageAsync(new PageRequest(Providers.Stripe, ProviderAccount, day, day, null, PageSize), cancellationToken);
        }
    }
}
