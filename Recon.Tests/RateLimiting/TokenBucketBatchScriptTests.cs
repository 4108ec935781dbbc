using System.Globalization;
using Recon.Core.RateLimiting;
using Recon.Core.RateLimiting.Redis;
using Recon.Tests.Infrastructure;
using StackExchange.Redis;

namespace Recon.Tests.RateLimiting;

/// <summary>
/// The batched Lua script, run by real Redis: the same vectors as the single script and the C# model, with the
/// acquires of one instant sent as one batch, and seeded random batches over several keys compared with the model
/// run one acquire at a time.
/// </summary>
public sealed class TokenBucketBatchScriptTests : IAsyncLifetime
{
    private ConnectionMultiplexer _redis = null!;

    public async Task InitializeAsync() => _redis = await RedisConnectionFactory.ConnectAsync(TestStack.Redis);

    public async Task DisposeAsync() => await _redis.DisposeAsync();

    /// <summary>One acquire of a batch: tokens, and the bucket key numbers (1..m) in the provider's bucket order.</summary>
    private sealed record BatchAcquire(int Tokens, int[] KeyNumbers);

    /// <summary>Calls the client-clock batch script; <paramref name="keys"/> is the pause key, then the bucket keys.</summary>
    private async Task<long[]> RunBatchAsync(RedisKey[] keys, TokenBucketLimit[] limitsByKey, int bucketsPerAcquire, IReadOnlyList<BatchAcquire> batch, long nowMicros)
    {
        var args = new List<RedisValue> { bucketsPerAcquire };
        foreach (var limit in limitsByKey)
        {
            args.Add(limit.CapacityNanoTokens);
            args.Add(limit.RateMilliTokensPerSecond);
        }
        foreach (var acquire in batch)
        {
            args.Add(acquire.Tokens * TokenBucketMath.NanoTokensPerToken);
            args.AddRange(acquire.KeyNumbers.Select(k => (RedisValue)k));
        }
        args.Add(nowMicros);
        var result = await _redis.GetDatabase().ScriptEvaluateAsync(TokenBucketBatchScript.SourceWithClientClockForTests, keys, [.. args]);
        Assert.Equal(ResultType.Array, result.Resp2Type);
        var answers = (long[])result!;
        Assert.Equal(batch.Count, answers.Length);
        return answers;
    }

    [Theory]
    [MemberData(nameof(VectorsBothWays))]
    public async Task BatchScript_Vector_AnswersLikeTheModel(string name, bool oneBatchPerInstant)
    {
        var vector = TokenBucketVectors.Get(name);
        var prefix = $"test:batch:{Guid.NewGuid():N}";
        var n = vector.Limits.Length;
        var keys = new RedisKey[n + 1];
        keys[0] = prefix + ":pause";
        for (var i = 1; i < keys.Length; i++)
        {
            keys[i] = $"{prefix}:b{i}";
        }
        var all = Enumerable.Range(1, n).ToArray();
        // consecutive steps at the same instant go as one batch (or each alone)
        var groups = new List<List<VectorStep>>();
        foreach (var step in vector.Steps)
        {
            if (oneBatchPerInstant && groups.Count > 0 && groups[^1][0].NowMicros == step.NowMicros)
            {
                groups[^1].Add(step);
            }
            else
            {
                groups.Add([step]);
            }
        }

        var modelStates = new TokenBucketState?[n];
        var db = _redis.GetDatabase();
        var s = 0;
        foreach (var group in groups)
        {
            var answers = await RunBatchAsync(keys, vector.Limits, n, [.. group.Select(step => new BatchAcquire(step.Tokens, all))], group[0].NowMicros);
            for (var q = 0; q < group.Count; q++, s++)
            {
                var step = group[q];
                var lua = new TokenBucketOutcome(answers[q] == 0, answers[q]);
                Assert.True(new TokenBucketOutcome(step.Granted, step.WaitMicros) == lua, $"step {s} (batch of {group.Count}): expected {step}, Lua said {lua}");
                Assert.Equal(TokenBucketMath.Acquire(vector.Limits, modelStates, step.NowMicros, step.Tokens), lua);
            }
            for (var b = 0; b < n; b++)
            {
                Assert.Equal(modelStates[b], await StoredStateAsync(db, keys[b + 1]));
            }
        }
    }

    public static TheoryData<string, bool> VectorsBothWays()
    {
        var data = new TheoryData<string, bool>();
        foreach (var v in TokenBucketVectors.All)
        {
            data.Add(v.Name, true);
            data.Add(v.Name, false);
        }
        return data;
    }

    /// <summary>
    /// A Stripe-like provider (one global bucket, one bucket per endpoint, four endpoints), a pause now and then, and
    /// batches of 1..24 acquires of 1..2 tokens at random instants: every answer and every stored level and time equals
    /// the model deciding the same acquires one by one in batch order, and every stored key has a TTL.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task BatchScript_RandomBatches_DecideInOrderAllOrNothing_LikeTheModelOneByOne(int seed)
    {
        var random = new Random(seed);
        var global = TokenBucketLimit.Create(6, 40m);
        var endpoint = TokenBucketLimit.Create(2, 9.5m);
        const int endpoints = 4;
        var prefix = $"test:batch:{Guid.NewGuid():N}";
        var pauseKey = (RedisKey)(prefix + ":pause");
        var bucketKeys = new RedisKey[endpoints + 1];
        bucketKeys[0] = prefix + ":global";
        for (var e = 1; e <= endpoints; e++)
        {
            bucketKeys[e] = $"{prefix}:endpoint:{e}";
        }
        var limitOfKey = new[] { global }.Concat(Enumerable.Repeat(endpoint, endpoints)).ToArray();
        var model = new TokenBucketState?[endpoints + 1];
        var db = _redis.GetDatabase();
        var now = 1_700_000_000_000_000L;
        long pauseEnd = 0;
        int granted = 0, refused = 0;
        for (var round = 0; round < 60; round++)
        {
            now += random.Next(0, 4) == 0 ? 0 : random.Next(1, 200_000);
            if (random.Next(0, 10) == 0)
            {
                pauseEnd = now + random.Next(1, 300_000);
                await db.StringSetAsync(pauseKey, pauseEnd, TimeSpan.FromMinutes(1));
            }
            // the batch names only the keys it touches, in first-use order, as the limiter does
            var size = random.Next(1, 25);
            var chosen = Enumerable.Range(0, size).Select(_ => (Endpoint: random.Next(1, endpoints + 1), Tokens: random.Next(1, 3))).ToArray();
            var used = new List<int> { 0 };
            foreach (var (e, _) in chosen)
            {
                if (!used.Contains(e))
                {
                    used.Add(e);
                }
            }
            var keys = new[] { pauseKey }.Concat(used.Select(u => bucketKeys[u])).ToArray();
            var batch = chosen.Select(c => new BatchAcquire(c.Tokens, [1, used.IndexOf(c.Endpoint) + 1])).ToArray();
            var answers = await RunBatchAsync(keys, [.. used.Select(u => limitOfKey[u])], 2, batch, now);

            for (var q = 0; q < chosen.Length; q++)
            {
                var (e, tokens) = chosen[q];
                var states = new[] { model[0], model[e] };
                var expected = TokenBucketMath.Acquire([global, endpoint], states, now, tokens, pausedForMicros: Math.Max(0, pauseEnd - now));
                model[0] = states[0];
                model[e] = states[1];
                Assert.True(expected == new TokenBucketOutcome(answers[q] == 0, answers[q]),
                    $"seed {seed} round {round} acquire {q} (endpoint {e}, {tokens} tokens): model {expected}, Lua {answers[q]}");
                if (expected.Granted)
                {
                    granted++;
                }
                else
                {
                    refused++;
                }
            }
            for (var k = 0; k <= endpoints; k++)
            {
                Assert.Equal(model[k], await StoredStateAsync(db, bucketKeys[k]));
            }
        }
        // the run exercised both answers, or it proved little
        Assert.True(granted > 20 && refused > 20, $"granted {granted}, refused {refused}");
    }

    [Fact]
    public async Task BatchScript_TokensAboveCapacity_ReportsTheBucket_AndTheRestOfTheBatchIsStillDecided()
    {
        var prefix = $"test:batch:{Guid.NewGuid():N}";
        var small = TokenBucketLimit.Create(2, 1m);
        var large = TokenBucketLimit.Create(5, 1m);
        RedisKey[] keys = [prefix + ":pause", prefix + ":large", prefix + ":small"];
        var answers = await RunBatchAsync(keys, [large, small], 2,
            [new BatchAcquire(3, [1, 2]), new BatchAcquire(2, [1, 2]), new BatchAcquire(1, [1, 2])], 1_000_000);
        Assert.Equal([-2, 0, 1_000_000], answers);
        Assert.Equal(new TokenBucketState(3 * TokenBucketMath.NanoTokensPerToken, 1_000_000), await StoredStateAsync(_redis.GetDatabase(), keys[1]));
    }

    [Fact]
    public void BatchScript_ProductionSource_TakesTimeFromRedisOnly()
    {
        Assert.Contains("redis.call('TIME')", TokenBucketBatchScript.Source, StringComparison.Ordinal);
        Assert.DoesNotContain("ARGV[#ARGV]", TokenBucketBatchScript.Source, StringComparison.Ordinal);
        Assert.NotEqual(TokenBucketScript.Sha1, TokenBucketBatchScript.Sha1);
    }

    /// <summary>The state a bucket key holds ("level:time"), checking it has a TTL; null when absent.</summary>
    private static async Task<TokenBucketState?> StoredStateAsync(IDatabase db, RedisKey key)
    {
        var stored = (string?)await db.StringGetAsync(key);
        if (stored is null)
        {
            return null;
        }
        Assert.True(await db.KeyTimeToLiveAsync(key) > TimeSpan.Zero, $"bucket key {key} has no TTL");
        var parts = stored.Split(':');
        Assert.Equal(2, parts.Length);
        return new TokenBucketState(
            long.Parse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture),
            long.Parse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture));
    }
}
