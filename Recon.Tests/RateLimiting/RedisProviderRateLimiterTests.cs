using Microsoft.Extensions.Configuration;
using Recon.Core.Domain;
using Recon.Core.RateLimiting;
using Recon.Core.RateLimiting.Redis;
using Recon.Tests.Infrastructure;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace Recon.Tests.RateLimiting;

/// <summary>The limiter against the shared local Redis; every test uses its own key prefix.</summary>
public sealed class RedisProviderRateLimiterTests(ITestOutputHelper output)
{
    private const string Provider = "sandbox";

    private static RateLimitOptions Options(string prefix, params BucketOptions[] buckets) => Options(prefix, coalesce: false, buckets);

    private static RateLimitOptions Options(string prefix, bool coalesce, params BucketOptions[] buckets) => new()
    {
        KeyPrefix = prefix,
        Coalescing = new AcquireCoalescingOptions { Enabled = coalesce },
        Providers = { [Provider] = new ProviderRateLimitOptions { Buckets = [.. buckets] } },
    };

    private static string NewPrefix() => $"test:rl:{Guid.NewGuid():N}";

    /// <param name="acquirersPerClient">1: each client one acquire at a time (single path); 8 with coalescing on:
    /// each client's limiter merges its acquirers' concurrent acquires into batches.</param>
    [Theory]
    [InlineData(false, 1)]
    [InlineData(true, 8)]
    public async Task EightClients_HammerOneBucketForTenSeconds_AdmitWithinBoundsEvenAcrossScriptFlush(bool coalesce, int acquirersPerClient)
    {
        // 200/s with a 2 s burst: well under what 8 clients ask for even on a starved 2-core machine (~780 acquires/s
        // seen with the whole suite running beside it; at 500/s the clients, not the bucket, set the rate).
        // "Elapsed" runs from the first grant to the last one, both stamped by the script with Redis TIME (the key
        // holds "level:time of the last grant"). The first grant drains the whole burst, so a slow start refills the
        // bucket instead of being lost. Every token that refilled by the last grant was either admitted or is still in
        // the bucket then (the key's level, read exactly). The acquirers stop on their own clock, so when this process
        // stalls near the end, acquires queued before it (in a coalescer, or between the loop's check and the send)
        // reach Redis after it, take a few of the tokens that refilled meanwhile and move the last grant later, and
        // nobody asks for the rest: a 0.6 s stop 0.3 s before the end left ~120 tokens (admitted alone 95%). Those are
        // unspent, not lost, and count toward the floor; only overflow (every client stalled for the bucket's
        // two-second burst at once) loses tokens. So admitted + unspent <= capacity + rate x elapsed holds
        // exactly (equal unless the bucket overflowed) however loaded the machine is.
        const decimal ratePerSecond = 200m;
        const int capacity = 400;
        const int clients = 8;
        var runFor = TimeSpan.FromSeconds(10);
        var prefix = NewPrefix();
        var options = Options(prefix, coalesce, new BucketOptions { Name = "one", RatePerSecond = ratePerSecond, Capacity = capacity });
        var bucketKey = $"{prefix}:{{{Provider}}}:one";

        var admin = await ConnectionMultiplexer.ConnectAsync(TestStack.Redis + ",allowAdmin=true");
        await using var _ = admin;
        var connections = await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => RedisConnectionFactory.ConnectAsync(TestStack.Redis)));
        var limiters = connections.Select(c => new RedisProviderRateLimiter(c, options)).ToArray();
        try
        {
            // warm up (JIT, connections) on another bucket first
            var warmUp = Options(NewPrefix(), new BucketOptions { Name = "warm", RatePerSecond = 1000m, Capacity = 1000 });
            await Task.WhenAll(connections.Select(c => new RedisProviderRateLimiter(c, warmUp).TryAcquireAsync(Provider, "list", null, 1, default).AsTask()));
            Assert.True((await limiters[0].TryAcquireAsync(Provider, "list", null, capacity, default)).Granted);
            var (startLevel, startMicros) = await LastGrantAsync(admin, bucketKey);
            Assert.Equal(0, startLevel);
            var admitted = new long[clients];
            var refused = new long[clients];
            var stopwatch = System.Diagnostics.Stopwatch.StartNew();
            var flush = Task.Run(async () =>
            {
                await Task.Delay(runFor / 2);
                await admin.GetServer(admin.GetEndPoints()[0]).ScriptFlushAsync();
            });
            await Task.WhenAll(limiters.SelectMany((limiter, i) => Enumerable.Range(0, acquirersPerClient).Select(_ => Task.Run(async () =>
            {
                long mineAdmitted = 0, mineRefused = 0;
                while (stopwatch.Elapsed < runFor)
                {
                    var decision = await limiter.TryAcquireAsync(Provider, "list", null, 1, CancellationToken.None);
                    if (decision.Granted)
                    {
                        mineAdmitted++;
                    }
                    else
                    {
                        mineRefused++;
                        await Task.Delay(decision.RetryAfter);
                    }
                }
                Interlocked.Add(ref admitted[i], mineAdmitted);
                Interlocked.Add(ref refused[i], mineRefused);
            }))));
            var (unspentNanoTokens, endMicros) = await LastGrantAsync(admin, bucketKey);
            await flush;

            var total = capacity + admitted.Sum();
            var unspent = unspentNanoTokens / (decimal)TokenBucketMath.NanoTokensPerToken;
            var elapsedSeconds = (endMicros - startMicros) / 1_000_000m;
            var ceiling = capacity + (ratePerSecond * elapsedSeconds);
            var floor = capacity + (0.97m * ratePerSecond * elapsedSeconds);
            var batches = limiters.Sum(l => l.Coalescing.Batches);
            output.WriteLine($"admitted {total} + unspent {unspent:0.000} of ceiling {ceiling:0.000} ({(total + unspent) / ceiling:0.0000}; admitted alone {total / ceiling:0.0000}) over {elapsedSeconds:0.000} s between first and last grant (Redis TIME); refused {refused.Sum()}; script reloads {limiters.Sum(l => l.ScriptReloads)}; coalesced batches {batches}, acquires {limiters.Sum(l => l.Coalescing.Acquires)}");
            Assert.True(total + unspent <= ceiling, $"admitted {total} + unspent {unspent:0.000} > capacity + rate × elapsed = {ceiling:0.000} over {elapsedSeconds:0.000} s");
            Assert.True(total + unspent >= floor, $"admitted {total} + unspent {unspent:0.000} < {floor:0.0} (97%) over {elapsedSeconds:0.000} s: {ceiling - total - unspent:0.000} tokens overflowed; refused {refused.Sum()}");
            Assert.True(admitted.Count(a => a > 0) >= clients / 2, $"only {admitted.Count(a => a > 0)} of {clients} clients were ever admitted");
            // the flush really happened mid-run: some client met NOSCRIPT and fell back to EVAL
            Assert.True(limiters.Sum(l => l.ScriptReloads) >= 1, "no client saw NOSCRIPT after SCRIPT FLUSH");
            if (coalesce)
            {
                // every acquire of the run went through the batch script, the opening burst too
                Assert.Equal(admitted.Sum() + refused.Sum() + 1, limiters.Sum(l => l.Coalescing.Acquires));
            }
            else
            {
                Assert.Equal(0, batches);
            }
        }
        finally
        {
            foreach (var c in connections)
            {
                await c.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Hierarchy_EndpointOrGlobalShort_RefusesWithoutTakingFromTheOther()
    {
        var prefix = NewPrefix();
        // rates so slow that nothing refills during the test: the answers do not depend on timing
        var options = Options(prefix,
            new BucketOptions { Name = "global", Scope = BucketScope.Provider, RatePerSecond = 0.001m, Capacity = 3 },
            new BucketOptions { Name = "endpoint", Scope = BucketScope.Endpoint, RatePerSecond = 0.001m, Capacity = 1 });
        await using var redis = await RedisConnectionFactory.ConnectAsync(TestStack.Redis);
        var limiter = new RedisProviderRateLimiter(redis, options);

        Assert.True((await limiter.TryAcquireAsync(Provider, "charges", null, 1, default)).Granted);
        var endpointShort = await limiter.TryAcquireAsync(Provider, "charges", null, 1, default);
        Assert.False(endpointShort.Granted);
        Assert.InRange(endpointShort.RetryAfter, TimeSpan.FromSeconds(990), TimeSpan.FromSeconds(1000));
        Assert.True((await limiter.TryAcquireAsync(Provider, "payouts", null, 1, default)).Granted);   // global still had 2
        Assert.True((await limiter.TryAcquireAsync(Provider, "refunds", null, 1, default)).Granted);   // global now 0
        var globalShort = await limiter.TryAcquireAsync(Provider, "balance", null, 1, default);
        Assert.False(globalShort.Granted);

        var db = redis.GetDatabase();
        Assert.False(await db.KeyExistsAsync($"{prefix}:{{{Provider}}}:endpoint:balance"), "a refused acquire charged the endpoint bucket");
        foreach (var key in new[] { "global", "endpoint:charges", "endpoint:payouts", "endpoint:refunds" })
        {
            var ttl = await db.KeyTimeToLiveAsync($"{prefix}:{{{Provider}}}:{key}");
            Assert.True(ttl > TimeSpan.Zero, $"{key} has no TTL");
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Pause_After429_StopsEveryClientUntilItEndsByItself(bool coalesce)
    {
        var prefix = NewPrefix();
        var options = Options(prefix, coalesce, new BucketOptions { Name = "b", RatePerSecond = 1000m, Capacity = 100 });
        await using var a = await RedisConnectionFactory.ConnectAsync(TestStack.Redis);
        await using var b = await RedisConnectionFactory.ConnectAsync(TestStack.Redis);
        var worker1 = new RedisProviderRateLimiter(a, options);
        var worker2 = new RedisProviderRateLimiter(b, options);

        // long enough that the next two steps finish inside it even on a starved machine
        var pause = TimeSpan.FromSeconds(5);
        await worker1.PauseAsync(Provider, pause, default);
        var seenBy2 = await worker2.TryAcquireAsync(Provider, "list", null, 1, default);
        Assert.False(seenBy2.Granted);
        Assert.InRange(seenBy2.RetryAfter, TimeSpan.FromMilliseconds(1), pause);

        // a shorter pause from another worker does not cut the longer one short
        await worker2.PauseAsync(Provider, TimeSpan.FromMilliseconds(1), default);
        Assert.False((await worker1.TryAcquireAsync(Provider, "list", null, 1, default)).Granted);

        var deadline = DateTime.UtcNow.AddSeconds(20);
        RateLimitDecision decision;
        do
        {
            decision = await worker2.TryAcquireAsync(Provider, "list", null, 1, default);
            if (!decision.Granted)
            {
                await Task.Delay(decision.RetryAfter);
            }
        }
        while (!decision.Granted && DateTime.UtcNow < deadline);
        Assert.True(decision.Granted, "the pause never ended");
        // the pause key goes by itself: Redis expires it on whole milliseconds and only once its deadline has passed,
        // so a grant in the pause's last microseconds can still see it for up to a millisecond; allow that, boundedly
        var pauseKey = $"{prefix}:{{{Provider}}}:pause";
        var expiryDeadline = DateTime.UtcNow.AddSeconds(10);
        while (await a.GetDatabase().KeyExistsAsync(pauseKey) && DateTime.UtcNow < expiryDeadline)
        {
            await Task.Delay(5);
        }
        Assert.False(await a.GetDatabase().KeyExistsAsync(pauseKey), "the pause key did not expire by itself");
    }

    /// <summary>
    /// Forty acquires issued at once across five endpoints through the coalescing path, one call on the way at a time,
    /// against buckets that refill too slowly to matter here (0.001 token/s): the answers are exactly the model's
    /// deciding them one by one in the order issued (each all or nothing: a refusal by the global bucket takes
    /// nothing from the endpoint's), and they travelled in fewer script calls than acquires.
    /// </summary>
    [Fact]
    public async Task Coalesced_ConcurrentAcquires_AnswerLikeTheModelOneByOneInIssueOrder()
    {
        var prefix = NewPrefix();
        var options = Options(prefix, coalesce: true,
            new BucketOptions { Name = "global", Scope = BucketScope.Provider, RatePerSecond = 0.001m, Capacity = 10 },
            new BucketOptions { Name = "endpoint", Scope = BucketScope.Endpoint, RatePerSecond = 0.001m, Capacity = 3 });
        options.Coalescing.MaxBatchesInFlight = 1;
        options.Coalescing.MaxBatchSize = 16;
        await using var redis = await RedisConnectionFactory.ConnectAsync(TestStack.Redis);
        var limiter = new RedisProviderRateLimiter(redis, options);
        string[] endpoints = ["a", "b", "c", "d", "e"];
        var issued = Enumerable.Range(0, 40).Select(i => (Endpoint: endpoints[(i * 3) % 5], Tokens: 1 + (i % 7 == 0 ? 1 : 0))).ToArray();

        var decisions = await Task.WhenAll(issued.Select(a => limiter.TryAcquireAsync(Provider, a.Endpoint, null, a.Tokens, default).AsTask()));

        var limits = new[] { TokenBucketLimit.Create(10, 0.001m), TokenBucketLimit.Create(3, 0.001m) };
        TokenBucketState? globalState = null;
        var endpointStates = endpoints.ToDictionary(e => e, _ => (TokenBucketState?)null);
        for (var i = 0; i < issued.Length; i++)
        {
            var states = new[] { globalState, endpointStates[issued[i].Endpoint] };
            var expected = TokenBucketMath.Acquire(limits, states, 1_000_000, issued[i].Tokens);
            globalState = states[0];
            endpointStates[issued[i].Endpoint] = states[1];
            Assert.True(expected.Granted == decisions[i].Granted, $"acquire {i} ({issued[i]}): model {expected}, limiter {decisions[i]}");
            if (!expected.Granted)
            {
                // at 0.001 token/s a missing token is ~1,000 s away; the exact figure depends on Redis TIME
                Assert.InRange(decisions[i].RetryAfter, TimeSpan.FromSeconds(900), TimeSpan.FromSeconds(2000));
            }
        }
        Assert.Equal(8, decisions.Count(d => d.Granted)); // worked out by hand: the global bucket's 10 tokens are gone after the 8th grant
        var stats = limiter.Coalescing;
        Assert.Equal(40, stats.Acquires);
        Assert.InRange(stats.LargestBatch, 1, 16);
        // the 39 acquires issued while the first call was on its way waited for it and left together
        Assert.True(stats.Batches < 40, $"{stats.Batches} script calls for 40 acquires issued at once: nothing was coalesced");

        var db = redis.GetDatabase();
        foreach (var e in endpoints)
        {
            var stored = (string?)await db.StringGetAsync($"{prefix}:{{{Provider}}}:endpoint:{e}");
            Assert.Equal(endpointStates[e] is null, stored is null);
            if (stored is not null)
            {
                // whole tokens as the model left them; Redis adds the few nano-tokens refilled between calls
                var level = long.Parse(stored[..stored.IndexOf(':', StringComparison.Ordinal)], System.Globalization.CultureInfo.InvariantCulture);
                Assert.Equal(endpointStates[e]!.Value.LevelNanoTokens / TokenBucketMath.NanoTokensPerToken, level / TokenBucketMath.NanoTokensPerToken);
            }
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Defaults_StripeAndPlaid_NeedEndpointAndScope(bool coalesce)
    {
        var options = new RateLimitOptions { KeyPrefix = NewPrefix(), Coalescing = { Enabled = coalesce, MaxBatchesInFlight = 1 } };
        await using var redis = await RedisConnectionFactory.ConnectAsync(TestStack.Redis);
        var limiter = new RedisProviderRateLimiter(redis, options);

        // Stripe's per-endpoint burst is one call; the next waits at most 1/23.75 s. Five acquires sent at once reach
        // Redis pipelined, microseconds apart, so the answer does not depend on how loaded this machine is. Coalescing
        // sends a lone acquire at once and the rest one round trip later (a stall there would refill the bucket), so
        // there an acquire on another endpoint holds the one call slot first and the five leave together, one batch.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var holdsTheSlot = limiter.TryAcquireAsync(Providers.Stripe, "payouts", null, 1, default);
        var burst = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => limiter.TryAcquireAsync(Providers.Stripe, "charges", null, 1, default).AsTask()));
        var elapsed = clock.Elapsed;
        Assert.True((await holdsTheSlot).Granted);
        // one call, plus whatever 23.75/s refilled if this machine stalled between the five (a NOSCRIPT reload, a busy
        // core): never more than the bucket allows over the time the burst took
        var allowed = 1 + (int)Math.Floor(elapsed.TotalSeconds * 23.75);
        Assert.InRange(burst.Count(d => d.Granted), 1, allowed);
        Assert.All(burst.Where(d => !d.Granted), d => Assert.InRange(d.RetryAfter, TimeSpan.FromTicks(1), TimeSpan.FromMicroseconds(42_106)));

        Assert.True((await limiter.TryAcquireAsync(Providers.Plaid, "transactions/sync", "item-1", 1, default)).Granted);
        Assert.True((await limiter.TryAcquireAsync(Providers.Plaid, "transactions/sync", "item-2", 1, default)).Granted);
        await Assert.ThrowsAsync<ArgumentException>(async () => await limiter.TryAcquireAsync(Providers.Plaid, "transactions/sync", null, 1, default));
        var unknown = await Assert.ThrowsAsync<ArgumentException>(async () => await limiter.TryAcquireAsync("nobody", "x", null, 1, default));
        Assert.Contains("Recon:RateLimits:Providers", unknown.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await limiter.TryAcquireAsync(Providers.Stripe, "charges", null, 2, default));
    }

    [Fact]
    public async Task Options_BoundFromConfiguration_ReplaceTheDefaultOfThatProviderOnly()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Recon:RateLimits:KeyPrefix"] = "prod:rl",
            ["Recon:RateLimits:Providers:stripe:Buckets:0:Name"] = "global",
            ["Recon:RateLimits:Providers:stripe:Buckets:0:RatePerSecond"] = "23.75",
            ["Recon:RateLimits:Providers:stripe:Buckets:0:Capacity"] = "2",
            ["Recon:RateLimits:Coalescing:Enabled"] = "true",
            ["Recon:RateLimits:Coalescing:MaxBatchSize"] = "64",
        }).Build();
        var options = new RateLimitOptions();
        ConfigurationBinder.Bind(configuration.GetSection(RateLimitOptions.SectionName), options);
        var providers = options.ResolveProviders();
        Assert.Equal("prod:rl", options.KeyPrefix);
        Assert.True(options.Coalescing.Enabled);
        Assert.Equal(64, options.Coalescing.MaxBatchSize);
        Assert.Equal(2, options.Coalescing.MaxBatchesInFlight);
        Assert.False(new RateLimitOptions().Coalescing.Enabled);
        var tooLarge = new RateLimitOptions { Coalescing = { Enabled = true, MaxBatchSize = AcquireCoalescingOptions.MaxBatchSizeLimit + 1 } };
        await using var redis = await RedisConnectionFactory.ConnectAsync(TestStack.Redis);
        var refused = Assert.Throws<InvalidOperationException>(() => new RedisProviderRateLimiter(redis, tooLarge));
        Assert.Contains("Recon:RateLimits:Coalescing: MaxBatchSize", refused.Message, StringComparison.Ordinal);
        var stripe = Assert.Single(providers[Providers.Stripe].Buckets);
        Assert.Equal(23.75m, stripe.RatePerSecond);
        Assert.Equal(2, providers[Providers.Plaid].Buckets.Count);
        Assert.Equal(TimeSpan.FromSeconds(3), options.PauseFor(TimeSpan.FromSeconds(3)));
        Assert.Equal(options.DefaultPause, options.PauseFor(null));
        Assert.Equal(options.MaxPause, options.PauseFor(TimeSpan.FromHours(1)));
    }

    /// <summary>What the script stored at the bucket's last grant: the level it left (nano-tokens) and the Redis TIME (µs).</summary>
    private static async Task<(long LevelNanoTokens, long Micros)> LastGrantAsync(IConnectionMultiplexer redis, string key)
    {
        var value = (string?)await redis.GetDatabase().StringGetAsync(key);
        Assert.True(value is not null, $"{key} expired before it was read: the machine stalled for longer than the key's TTL");
        var sep = value.IndexOf(':', StringComparison.Ordinal);
        var culture = System.Globalization.CultureInfo.InvariantCulture;
        return (long.Parse(value[..sep], culture), long.Parse(value[(sep + 1)..], culture));
    }
}
