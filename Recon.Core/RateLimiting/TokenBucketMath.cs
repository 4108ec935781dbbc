namespace Recon.Core.RateLimiting;

/// <summary>One bucket's limit in the integer units the arithmetic uses.</summary>
/// <param name="CapacityNanoTokens">Most tokens the bucket holds (the burst), in nano-tokens (10⁻⁹ token).</param>
/// <param name="RateMilliTokensPerSecond">Refill rate in milli-tokens per second (95 req/s = 95,000).</param>
/// <remarks>
/// Why these units: time is integer microseconds (Redis TIME), and milli-tokens per second × microseconds is exactly
/// nano-tokens, so a refill is one integer multiplication with no rounding, and fractional rates such as 95% of
/// 25 req/s (23.75/s) are exact. Every value stays below 2⁵³ (see <see cref="TokenBucketMath.MaxCapacityTokens"/>),
/// so Redis's Lua (doubles) computes exactly what this model computes.
/// </remarks>
public readonly record struct TokenBucketLimit(long CapacityNanoTokens, long RateMilliTokensPerSecond)
{
    /// <summary>Builds a limit from whole tokens and a rate in tokens per second (at most three decimals).</summary>
    public static TokenBucketLimit Create(int capacityTokens, decimal ratePerSecond)
    {
        if (capacityTokens < 1 || capacityTokens > TokenBucketMath.MaxCapacityTokens)
        {
            throw new ArgumentOutOfRangeException(nameof(capacityTokens), capacityTokens,
                $"A bucket's capacity must be 1..{TokenBucketMath.MaxCapacityTokens} tokens.");
        }
        var milli = ratePerSecond * 1000m;
        if (milli != decimal.Truncate(milli) || milli < 1 || milli > TokenBucketMath.MaxRateMilliTokensPerSecond)
        {
            throw new ArgumentOutOfRangeException(nameof(ratePerSecond), ratePerSecond,
                $"A bucket's rate must be 0.001..{TokenBucketMath.MaxRateMilliTokensPerSecond / 1000} tokens per second with at most three decimals.");
        }
        return new TokenBucketLimit(capacityTokens * TokenBucketMath.NanoTokensPerToken, (long)milli);
    }
}

/// <summary>What a bucket key holds: its level and when that level was computed (Redis TIME, microseconds).</summary>
public readonly record struct TokenBucketState(long LevelNanoTokens, long UpdatedAtMicros);

/// <summary>The answer for a whole acquire: granted (every bucket paid), or the exact wait in microseconds.</summary>
public readonly record struct TokenBucketOutcome(bool Granted, long WaitMicros)
{
    /// <summary>The wait as a <see cref="TimeSpan"/>, exact (one microsecond is ten ticks).</summary>
    public TimeSpan Wait => TimeSpan.FromTicks(checked(WaitMicros * 10));
}

/// <summary>
/// The token-bucket arithmetic, pure: no Redis, no clock. The Lua script in
/// <see cref="Redis.TokenBucketScript"/> is a line-by-line translation of <see cref="Acquire"/>; both run the same
/// test vectors.
/// </summary>
public static class TokenBucketMath
{
    public const long NanoTokensPerToken = 1_000_000_000;

    /// <summary>Largest capacity: 10⁶ tokens = 10¹⁵ nano-tokens, below 2⁵³ so Lua's doubles stay exact.</summary>
    public const int MaxCapacityTokens = 1_000_000;

    /// <summary>Largest rate: 10⁶ tokens/s; far above any provider's limit, and keeps products below 2⁵³.</summary>
    public const long MaxRateMilliTokensPerSecond = 1_000_000_000;

    /// <summary>A key outlives the time it needs to refill by this much, so an expired key and a full bucket agree.</summary>
    public const long TtlSlackMillis = 1_000;

    /// <summary>The level of a bucket at <paramref name="nowMicros"/>; an absent key is a full bucket.</summary>
    public static long LevelAt(TokenBucketLimit limit, TokenBucketState? state, long nowMicros)
    {
        if (state is not { } s)
        {
            return limit.CapacityNanoTokens;
        }
        var level = Math.Min(s.LevelNanoTokens, limit.CapacityNanoTokens);
        // a clock that went backwards (Redis failover) refills nothing rather than a negative amount
        var elapsed = Math.Max(0, nowMicros - s.UpdatedAtMicros);
        var deficit = limit.CapacityNanoTokens - level;
        // compare before multiplying: elapsed × rate of a long-idle key could pass 2⁵³
        return elapsed >= CeilDiv(deficit, limit.RateMilliTokensPerSecond)
            ? limit.CapacityNanoTokens
            : level + (elapsed * limit.RateMilliTokensPerSecond);
    }

    /// <summary>
    /// Takes <paramref name="tokens"/> from every bucket, all or nothing. On refusal nothing changes and the wait is
    /// the least time after which every bucket holds enough (or the pause ends, whichever is later).
    /// </summary>
    /// <param name="limits">One per bucket.</param>
    /// <param name="states">One per bucket, null for an absent key; replaced by the new states when granted.</param>
    /// <param name="nowMicros">Redis TIME in microseconds.</param>
    /// <param name="tokens">Whole tokens to take from each bucket.</param>
    /// <param name="pausedForMicros">Time left on the provider's pause (0 when not paused).</param>
    public static TokenBucketOutcome Acquire(
        ReadOnlySpan<TokenBucketLimit> limits, Span<TokenBucketState?> states, long nowMicros, int tokens, long pausedForMicros = 0)
    {
        if (limits.Length != states.Length || limits.Length == 0)
        {
            throw new ArgumentException("One state per limit, and at least one bucket.", nameof(states));
        }
        if (tokens < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(tokens), tokens, "An acquire takes at least one token.");
        }
        var need = tokens * NanoTokensPerToken;
        var wait = Math.Max(0, pausedForMicros);
        Span<long> levels = stackalloc long[limits.Length];
        for (var i = 0; i < limits.Length; i++)
        {
            if (need > limits[i].CapacityNanoTokens)
            {
                throw new ArgumentOutOfRangeException(nameof(tokens), tokens,
                    $"Asked for {tokens} tokens but bucket {i} holds at most {limits[i].CapacityNanoTokens / NanoTokensPerToken}: it could never be granted.");
            }
            levels[i] = LevelAt(limits[i], states[i], nowMicros);
            if (levels[i] < need)
            {
                wait = Math.Max(wait, CeilDiv(need - levels[i], limits[i].RateMilliTokensPerSecond));
            }
        }
        if (wait > 0)
        {
            return new TokenBucketOutcome(false, wait);
        }
        for (var i = 0; i < limits.Length; i++)
        {
            states[i] = new TokenBucketState(levels[i] - need, nowMicros);
        }
        return new TokenBucketOutcome(true, 0);
    }

    /// <summary>How long a key must live: until its bucket is full again, plus <see cref="TtlSlackMillis"/>.</summary>
    public static long TtlMillis(TokenBucketLimit limit, long levelNanoTokens)
        => CeilDiv(CeilDiv(limit.CapacityNanoTokens - levelNanoTokens, limit.RateMilliTokensPerSecond), 1000) + TtlSlackMillis;

    /// <summary>⌈a / b⌉ for a ≥ 0, b > 0.</summary>
    public static long CeilDiv(long a, long b) => (a + b - 1) / b;
}
