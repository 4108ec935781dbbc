using Recon.Core.RateLimiting;
using Recon.Core.RateLimiting.Redis;
using Recon.Tests.Infrastructure;
using StackExchange.Redis;

namespace Recon.Tests.RateLimiting;

/// <summary>The Lua script, run by real Redis, against the same vectors as the C# model.</summary>
public sealed class TokenBucketScriptTests : IAsyncLifetime
{
    private ConnectionMultiplexer _redis = null!;

    public async Task InitializeAsync() => _redis = await RedisConnectionFactory.ConnectAsync(TestStack.Redis);

    public async Task DisposeAsync() => await _redis.DisposeAsync();

    [Theory]
    [MemberData(nameof(TokenBucketVectors.Names), MemberType = typeof(TokenBucketVectors))]
    public async Task Script_Vector_AnswersLikeTheModel(string name)
    {
        var vector = TokenBucketVectors.Get(name);
        var db = _redis.GetDatabase();
        var prefix = $"test:vector:{Guid.NewGuid():N}";
        var keys = new RedisKey[vector.Limits.Length + 1];
        keys[0] = prefix + ":pause";
        for (var i = 1; i < keys.Length; i++)
        {
            keys[i] = $"{prefix}:b{i}";
        }
        var modelStates = new TokenBucketState?[vector.Limits.Length];
        foreach (var (step, s) in vector.Steps.Select((x, s) => (x, s)))
        {
            var args = new List<RedisValue> { step.Tokens * TokenBucketMath.NanoTokensPerToken };
            foreach (var limit in vector.Limits)
            {
                args.Add(limit.CapacityNanoTokens);
                args.Add(limit.RateMilliTokensPerSecond);
            }
            args.Add(step.NowMicros);
            var result = (RedisResult[])(await db.ScriptEvaluateAsync(TokenBucketScript.SourceWithClientClockForTests, keys, [.. args]))!;
            var lua = new TokenBucketOutcome((long)result[0] == 1, (long)result[1]);
            Assert.True(new TokenBucketOutcome(step.Granted, step.WaitMicros) == lua, $"step {s}: expected {step}, Lua said {lua}");

            var model = TokenBucketMath.Acquire(vector.Limits, modelStates, step.NowMicros, step.Tokens);
            Assert.Equal(model, lua);
            for (var b = 0; b < vector.Limits.Length; b++)
            {
                var stored = (string?)await db.StringGetAsync(keys[b + 1]);
                TokenBucketState? luaState = stored is null ? null : ParseState(stored);
                Assert.Equal(modelStates[b], luaState);
                if (luaState is not null)
                {
                    Assert.True(await db.KeyTimeToLiveAsync(keys[b + 1]) > TimeSpan.Zero, $"bucket key {keys[b + 1]} has no TTL");
                }
            }
        }
    }

    private static TokenBucketState ParseState(string stored)
    {
        var parts = stored.Split(':');
        Assert.Equal(2, parts.Length);
        return new TokenBucketState(
            long.Parse(parts[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture),
            long.Parse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Script_TokensAboveCapacity_ReportsTheBucketInsteadOfWaiting()
    {
        var db = _redis.GetDatabase();
        var prefix = $"test:vector:{Guid.NewGuid():N}";
        var limit = TokenBucketLimit.Create(2, 1m);
        var result = (RedisResult[])(await db.ScriptEvaluateAsync(TokenBucketScript.SourceWithClientClockForTests,
            [prefix + ":pause", prefix + ":b"], [3 * TokenBucketMath.NanoTokensPerToken, limit.CapacityNanoTokens, limit.RateMilliTokensPerSecond, 1_000_000]))!;
        Assert.Equal(-1, (long)result[0]);
        Assert.Equal(1, (long)result[1]);
    }

    [Fact]
    public void Script_ProductionSource_TakesTimeFromRedisOnly()
    {
        Assert.Contains("redis.call('TIME')", TokenBucketScript.Source, StringComparison.Ordinal);
        Assert.DoesNotContain("table.remove(ARGV)", TokenBucketScript.Source, StringComparison.Ordinal);
        Assert.Equal(40, TokenBucketScript.Sha1Hex.Length);
    }
}
