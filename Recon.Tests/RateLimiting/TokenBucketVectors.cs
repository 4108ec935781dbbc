using Recon.Core.RateLimiting;

namespace Recon.Tests.RateLimiting;

/// <summary>One acquire of a vector and what it must answer.</summary>
public sealed record VectorStep(long NowMicros, int Tokens, bool Granted, long WaitMicros);

/// <summary>A bucket set and a sequence of acquires against it, with the answers worked out by hand.</summary>
public sealed record TokenBucketVector(string Name, TokenBucketLimit[] Limits, VectorStep[] Steps)
{
    public override string ToString() => Name;
}

/// <summary>
/// The table both the C# model and the Lua script must reproduce exactly. Expected waits are computed by hand:
/// wait = ⌈(need − level) / rate⌉ µs with need and level in nano-tokens and rate in milli-tokens/s.
/// </summary>
public static class TokenBucketVectors
{
    private const long T0 = 1_700_000_000_000_000; // a Redis TIME of the right size (≈ 2023), in µs

    private static readonly TokenBucketLimit StripeGlobal = TokenBucketLimit.Create(5, 95m);
    private static readonly TokenBucketLimit StripeEndpoint = TokenBucketLimit.Create(1, 23.75m);

    public static IReadOnlyList<TokenBucketVector> All { get; } =
    [
        new("fresh bucket grants its capacity, then waits 1/95 s rounded up",
            [StripeGlobal],
            [
                new(T0, 1, true, 0), new(T0, 1, true, 0), new(T0, 1, true, 0), new(T0, 1, true, 0), new(T0, 1, true, 0),
                new(T0, 1, false, 10_527),          // 1e9 / 95,000 = 10,526.3
                new(T0 + 10_526, 1, false, 1),      // level 999,970,000: 30,000 short, 1 µs at 95,000
                new(T0 + 10_527, 1, true, 0),       // level 1,000,065,000
                new(T0 + 10_527, 1, false, 10_526), // 65,000 left: (1e9 − 65,000) / 95,000 = 10,525.6
            ]),
        new("hierarchical: the endpoint bucket refuses while the global one has tokens, and nothing is taken",
            [StripeGlobal, StripeEndpoint],
            [
                new(T0, 1, true, 0),
                new(T0, 1, false, 42_106),          // endpoint empty: 1e9 / 23,750 = 42,105.3
                new(T0 + 42_106, 1, true, 0),       // global was not charged by the refusal: it still had 4 (+ refill)
                new(T0 + 42_106, 1, false, 42_106),
            ]),
        new("hierarchical: the global bucket refuses when it is the short one",
            [TokenBucketLimit.Create(2, 1m), TokenBucketLimit.Create(10, 1m)],
            [
                new(T0, 1, true, 0), new(T0, 1, true, 0),
                new(T0, 1, false, 1_000_000),       // global empty at 1/s, the other still holds 8
                new(T0 + 250_000, 1, false, 750_000),
                new(T0 + 1_000_000, 1, true, 0),
            ]),
        new("several tokens at once: waits for the whole amount",
            [TokenBucketLimit.Create(10, 1m)],
            [
                new(T0, 10, true, 0),
                new(T0 + 1_500_000, 3, false, 1_500_000), // level 1.5 tokens, 1.5 short at 1/s
                new(T0 + 3_000_000, 3, true, 0),
            ]),
        new("a long-idle key refills to capacity without overflowing",
            [TokenBucketLimit.Create(1_000, 1_000m)],
            [
                new(T0, 1_000, true, 0),
                new(T0 + 1_000_000_000_000, 1_000, true, 0), // 11.6 days later: full, not 10¹⁵ tokens
                new(T0 + 1_000_000_000_000, 1, false, 1_000),
            ]),
        new("a clock that goes backwards refills nothing",
            [TokenBucketLimit.Create(1, 10m)],
            [
                new(T0 + 5_000_000, 1, true, 0),
                new(T0, 1, false, 100_000),
                new(T0 + 5_000_000 + 99_999, 1, false, 1),
                new(T0 + 5_000_000 + 100_000, 1, true, 0),
            ]),
        new("the slowest rate: one token per 1,000 s",
            [TokenBucketLimit.Create(1, 0.001m)],
            [
                new(T0, 1, true, 0),
                new(T0 + 1, 1, false, 999_999_999),
                new(T0 + 1_000_000_000, 1, true, 0),
            ]),
        new("largest bucket: 10⁶ tokens at 10⁶/s stays exact",
            [TokenBucketLimit.Create(1_000_000, 1_000_000m)],
            [
                new(T0, 1_000_000, true, 0),
                new(T0 + 1, 2, false, 1),           // 1 token back after 1 µs, 1 short
                new(T0 + 1, 1, true, 0),
                new(T0 + 999_999, 1_000_000, false, 2),
            ]),
    ];

    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (var v in All)
        {
            data.Add(v.Name);
        }
        return data;
    }

    public static TokenBucketVector Get(string name) => All.Single(v => v.Name == name);
}
