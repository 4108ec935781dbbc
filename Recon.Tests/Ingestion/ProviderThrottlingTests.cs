using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Recon.Core.Domain;
using Recon.Core.Ingestion;
using Recon.Core.Ingestion.Plaid;
using Recon.Core.Ingestion.Stripe;
using Recon.Core.RateLimiting;
using Recon.Sandbox;
using Recon.Sandbox.Admin;
using Recon.Sandbox.Plaid;
using Recon.Tests.Infrastructure;
using Xunit;

namespace Recon.Tests.Ingestion;

/// <summary>
/// The fetchers' 429 paths against 429s shaped as Stripe and Plaid really send them: no Retry-After anywhere, Stripe's
/// <c>Stripe-Should-Retry: false</c> and <c>rate_limit</c> code, Plaid's <c>RATE_LIMIT_EXCEEDED</c>. Each test first
/// proves the sandbox's 429 has that shape, then that Recon backs off on the bucket's own wait.
/// </summary>
public sealed class ProviderThrottlingTests : IAsyncLifetime
{
    private static readonly DateOnly Day0 = new(2025, 3, 3);
    private readonly HttpClient _http = new() { Timeout = Timeout.InfiniteTimeSpan };
    private RunningSandbox _sandbox = null!;

    public async Task InitializeAsync() => _sandbox = await SandboxHost.StartAsync(SandboxOptions.WithRandomKeys());

    public async Task DisposeAsync()
    {
        await _sandbox.DisposeAsync();
        _http.Dispose();
    }

    [Fact]
    public async Task Stripe429_NoRetryAfter_PausesForOneWindowAndThrowsThrottled()
    {
        var admin = _sandbox.Admin(_http);
        await admin.LoadStripeAsync("balance_transaction", [BalanceTransaction(1)]);
        await admin.SetBehaviorAsync(new SandboxBehavior { StripeTestModePerSecond = 1 });
        var limiter = new InMemoryRateLimiter(TimeProvider.System);
        var fetcher = new StripePageFetcher(new StripeProviderOptions { ApiBase = _sandbox.BaseUrl, ApiKey = _sandbox.Options.StripeApiKey }, _http, limiter);
        var request = new PageRequest(Providers.Stripe, "acct", Day0, Day0, null, 10);

        await fetcher.FetchPageAsync(request, CancellationToken.None); // warm (Stripe.net's first call is slow)
        // the raw 429 first: this is the shape the fetcher must cope with
        await WaitForNextSecondAsync();
        using var raw = await StripeGetAsync();
        using var throttled = await StripeGetAsync();
        // at 1 call/s the fetcher is refused in this window, or (on a slow machine) in the next one after one page
        ProviderThrottledException? ex = null;
        for (var attempt = 0; attempt < 3 && ex is null; attempt++)
        {
            try
            {
                await fetcher.FetchPageAsync(request, CancellationToken.None);
            }
            catch (ProviderThrottledException e)
            {
                ex = e;
            }
        }
        Assert.NotNull(ex);

        Assert.Equal(HttpStatusCode.OK, raw.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, throttled.StatusCode);
        Assert.False(throttled.Headers.Contains("Retry-After"));
        Assert.Equal("false", throttled.Headers.GetValues("Stripe-Should-Retry").Single());
        Assert.StartsWith("req_", throttled.Headers.GetValues("Request-Id").Single(), StringComparison.Ordinal);
        Assert.Contains("\"rate_limit\"", await throttled.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(ProviderCalls.DefaultThrottlePause, ex.RetryAfter);
        Assert.Contains("rate_limit", ex.Message, StringComparison.Ordinal);
        Assert.Equal(1, limiter.Pauses);
        Assert.Equal(1, fetcher.ThrottledCount);
        // the pause is what the next acquire sees: the bucket's own wait, not a header
        var next = await limiter.TryAcquireAsync(Providers.Stripe, StripePageFetcher.BalanceTransactionsEndpoint, null, 1, CancellationToken.None);
        Assert.False(next.Granted);
        Assert.InRange(next.RetryAfter, TimeSpan.FromMilliseconds(1), ProviderCalls.DefaultThrottlePause);
    }

    [Fact]
    public async Task Stripe_TestKeyVersusLiveKey_SandboxAppliesTheModesLimit()
    {
        await using var live = await SandboxHost.StartAsync(SandboxOptions.WithRandomKeys(stripeLiveMode: true));
        await live.Admin(_http).SetBehaviorAsync(new SandboxBehavior { StripeTestModePerSecond = 1, StripeGlobalPerSecond = 100, StripePerEndpointPerSecond = 3 });
        await _sandbox.Admin(_http).SetBehaviorAsync(new SandboxBehavior { StripeTestModePerSecond = 1, StripeGlobalPerSecond = 100, StripePerEndpointPerSecond = 3 });

        await WaitForNextSecondAsync();
        var testStatuses = new List<HttpStatusCode>();
        var liveStatuses = new List<HttpStatusCode>();
        for (var i = 0; i < 3; i++)
        {
            using var t = await StripeGetAsync();
            testStatuses.Add(t.StatusCode);
            using var l = await StripeGetAsync(live);
            liveStatuses.Add(l.StatusCode);
        }

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], testStatuses);
        Assert.All(liveStatuses, s => Assert.Equal(HttpStatusCode.OK, s));
        Assert.StartsWith("sk_live_", live.Options.StripeApiKey, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("sk_test_abc", StripeApiMode.Test)]
    [InlineData("rk_test_abc", StripeApiMode.Test)]
    [InlineData("sk_live_abc", StripeApiMode.Live)]
    [InlineData("rk_live_abc", StripeApiMode.Live)]
    [InlineData("", StripeApiMode.Test)]
    public void StripeModeOf_Key_PicksTheModesDefaults(string key, StripeApiMode expected)
    {
        var options = new RateLimitOptions { StripeMode = RateLimitOptions.StripeModeOf(key) };

        var stripe = options.ResolveProviders()[Providers.Stripe];

        Assert.Equal(expected, options.StripeMode);
        var buckets = stripe.Buckets.Select(b => (b.Name, b.Scope, b.RatePerSecond, b.Capacity)).ToList();
        if (expected == StripeApiMode.Test)
        {
            // 25/s test mode at 95%, burst 1: no second can exceed 25
            Assert.Equal([("global", BucketScope.Provider, 23.75m, 1)], buckets);
        }
        else
        {
            Assert.Equal([("global", BucketScope.Provider, 95m, 5), ("endpoint", BucketScope.Endpoint, 23.75m, 1)], buckets);
        }
        Assert.All(stripe.Buckets, b => Assert.True(b.RatePerSecond + b.Capacity <= (b.Scope == BucketScope.Provider && expected == StripeApiMode.Live ? 100 : 25)));
    }

    [Fact]
    public async Task Plaid429_RateLimitExceededWithoutRetryAfter_PausesAndThrowsThrottled()
    {
        const string token = "access-sandbox-throttle";
        var admin = _sandbox.Admin(_http);
        await admin.AppendPlaidEventsAsync(token, [PlaidEventDto.Added(PlaidTransactionJson.Create("tx_1", "acc_1", 2610, "USD", Day0, "coffee"))]);
        await admin.ArmPlaidFaultsAsync(token, new PlaidFaultsDto(0, null, 2));
        var limiter = new InMemoryRateLimiter(TimeProvider.System);
        var fetcher = new PlaidPageFetcher(new PlaidProviderOptions { BaseUrl = _sandbox.BaseUrl, ClientId = _sandbox.Options.PlaidClientId, Secret = _sandbox.Options.PlaidSecret }, _http, limiter);

        using var raw = await _http.PostAsync(_sandbox.BaseUrl + "/transactions/sync", new StringContent(
            new JsonObject { ["client_id"] = _sandbox.Options.PlaidClientId, ["secret"] = _sandbox.Options.PlaidSecret, ["access_token"] = token }.ToJsonString(),
            Encoding.UTF8, "application/json"));
        var ex = await Assert.ThrowsAsync<ProviderThrottledException>(() => fetcher.FetchPageAsync(new PageRequest(Providers.Plaid, token, Day0, Day0, null, 100), CancellationToken.None));
        var page = await fetcher.FetchPageAsync(new PageRequest(Providers.Plaid, token, Day0, Day0, null, 100), CancellationToken.None);

        Assert.Equal(HttpStatusCode.TooManyRequests, raw.StatusCode);
        Assert.False(raw.Headers.Contains("Retry-After"));
        var body = JsonNode.Parse(await raw.Content.ReadAsStringAsync())!;
        Assert.Equal(("RATE_LIMIT_EXCEEDED", "TRANSACTIONS_SYNC_LIMIT"), (body["error_type"]!.GetValue<string>(), body["error_code"]!.GetValue<string>()));
        Assert.Equal(ProviderCalls.DefaultThrottlePause, ex.RetryAfter);
        Assert.Equal(1, limiter.Pauses);
        // after the faults the same fetcher reads the page, amount 26.1 as Plaid writes it
        Assert.Equal(-2610, Assert.Single(page.Transactions).AmountMinor);
    }

    private Task<HttpResponseMessage> StripeGetAsync(RunningSandbox? sandbox = null)
    {
        var s = sandbox ?? _sandbox;
        var request = new HttpRequestMessage(HttpMethod.Get, s.BaseUrl + "/v1/balance_transactions?limit=1");
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", s.Options.StripeApiKey);
        return _http.SendAsync(request);
    }

    /// <summary>The sandbox counts in fixed one-second windows: starting just after a boundary keeps a short burst inside one.</summary>
    private static Task WaitForNextSecondAsync()
    {
        var now = DateTimeOffset.UtcNow;
        return Task.Delay(TimeSpan.FromMilliseconds(1000 - now.Millisecond + 20));
    }

    private static JsonObject BalanceTransaction(int i) => new()
    {
        ["id"] = $"txn_{i:D6}", ["object"] = "balance_transaction", ["amount"] = 1000, ["fee"] = 59, ["currency"] = "usd", ["type"] = "charge",
        ["created"] = new DateTimeOffset(Day0.ToDateTime(new TimeOnly(12, 0)), TimeSpan.Zero).ToUnixTimeSeconds(),
    };
}
