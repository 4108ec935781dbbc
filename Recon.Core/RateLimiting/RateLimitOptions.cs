using ProviderNames = Recon.Core.Domain.Providers;

namespace Recon.Core.RateLimiting;

/// <summary>What a bucket is counted per.</summary>
public enum BucketScope
{
    /// <summary>One bucket for the whole provider (Stripe's global limit, Plaid's per-client limit, a bank).</summary>
    Provider,

    /// <summary>One bucket per endpoint (Stripe's per-endpoint limit).</summary>
    Endpoint,

    /// <summary>One bucket per caller-given scope (Plaid's per-item limit: the scope is the item id).</summary>
    Scope,
}

/// <summary>One bucket of a provider.</summary>
public sealed class BucketOptions
{
    /// <summary>Part of the Redis key; letters, digits, '-' and '_'.</summary>
    public string Name { get; set; } = "";

    public BucketScope Scope { get; set; } = BucketScope.Provider;

    /// <summary>Requests per second Recon allows itself: below the provider's limit, so a burst of others never tips it over.</summary>
    public decimal RatePerSecond { get; set; }

    /// <summary>Burst in tokens. Defaults use the provider's limit minus the rate, so any one second admits at most the provider's limit.</summary>
    public int Capacity { get; set; }

    internal TokenBucketLimit ToLimit(string provider)
    {
        try
        {
            return TokenBucketLimit.Create(Capacity, RatePerSecond);
        }
        catch (ArgumentOutOfRangeException ex)
        {
            throw new InvalidOperationException(
                $"{RateLimitOptions.SectionName}:Providers:{provider}: bucket '{Name}' is invalid: {ex.Message}", ex);
        }
    }
}

/// <summary>The buckets that govern one provider; an acquire takes from all of them at once.</summary>
public sealed class ProviderRateLimitOptions
{
    public List<BucketOptions> Buckets { get; set; } = [];
}

/// <summary>
/// Coalescing (<c>Recon:RateLimits:Coalescing</c>): acquires of one provider issued while an earlier script call of
/// that provider is still on its way are sent together as one call of <see cref="Redis.TokenBucketBatchScript"/>,
/// which decides them in order, each all or nothing. Each acquire answers what it would have answered alone at that
/// instant; a lone acquire goes out at once, so nothing waits for a batch to fill.
/// </summary>
public sealed class AcquireCoalescingOptions
{
    /// <summary>Off by default: a worker with a handful of activity slots rarely has two acquires at once to merge.</summary>
    public bool Enabled { get; set; }

    /// <summary>
    /// Most acquires in one call: 256 keeps one script run to a few hundred microseconds of Redis time (Redis is
    /// single-threaded, so a longer script delays every other client) while already spreading the per-call cost thin.
    /// </summary>
    public int MaxBatchSize { get; set; } = 256;

    /// <summary>
    /// Largest <see cref="MaxBatchSize"/> accepted: 1,000 acquires with per-scope keys stay well inside the few
    /// thousand values Lua's <c>unpack</c> can pass to one MGET, and keep one script run around a millisecond.
    /// </summary>
    public const int MaxBatchSizeLimit = 1_000;

    /// <summary>
    /// Script calls of one provider on the way at once: 2 lets Redis decide one batch while the client gathers and
    /// sends the next; more only makes the batches smaller.
    /// </summary>
    public int MaxBatchesInFlight { get; set; } = 2;
}

/// <summary>Which of Stripe's limits apply: they depend on the key, not the account.</summary>
public enum StripeApiMode
{
    /// <summary><c>sk_live_</c> / <c>rk_live_</c> keys: 100 requests/s global, 25/s per endpoint.</summary>
    Live,

    /// <summary><c>sk_test_</c> / <c>rk_test_</c> keys: 25 requests/s in all (Stripe's test-mode limit).</summary>
    Test,
}

/// <summary>Token-bucket limits, bound from <c>Recon:RateLimits</c>.</summary>
/// <remarks>
/// A provider present in configuration replaces its default entirely (binding a list merges item by item, which would
/// mix configured and default buckets), so <see cref="Providers"/> starts empty and <see cref="ResolveProviders"/>
/// lays it over <see cref="Defaults"/>.
/// </remarks>
public sealed class RateLimitOptions
{
    public const string SectionName = "Recon:RateLimits";

    /// <summary>Prefix of every Redis key, so several deployments (or tests) can share one Redis.</summary>
    public string KeyPrefix { get; set; } = "recon:rl";

    /// <summary>Pause after a 429 without Retry-After: one second, the window providers count in.</summary>
    public TimeSpan DefaultPause { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest pause honoured: a Retry-After beyond 5 minutes is more likely a bug than a plan, and a batch has a 30 s window anyway.</summary>
    public TimeSpan MaxPause { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Optional coalescing of acquires issued at the same time in one process into one script call (off by default).</summary>
    public AcquireCoalescingOptions Coalescing { get; set; } = new();

    /// <summary>Stripe's mode, which picks its default buckets (<see cref="StripeModeOf"/> tells it from the API key):
    /// <see cref="StripeLiveDefaults"/> or <see cref="StripeTestDefaults"/>. A configured <c>stripe</c> provider wins over both.</summary>
    public StripeApiMode StripeMode { get; set; } = StripeApiMode.Live;

    /// <summary>Configured providers (by name, e.g. <c>stripe</c>); each replaces its default.</summary>
    public Dictionary<string, ProviderRateLimitOptions> Providers { get; set; } = new(StringComparer.Ordinal);

    // declared before Defaults: static initializers run in text order, and Defaults reads StripeLiveDefaults
    /// <summary>Stripe live mode (<c>sk_live_</c>): global 95% of 100 req/s burst 5, per endpoint 95% of 25 req/s burst 1.</summary>
    public static ProviderRateLimitOptions StripeLiveDefaults { get; } = new()
    {
        Buckets =
        [
            new() { Name = "global", Scope = BucketScope.Provider, RatePerSecond = 95m, Capacity = 5 },
            new() { Name = "endpoint", Scope = BucketScope.Endpoint, RatePerSecond = 23.75m, Capacity = 1 },
        ],
    };

    /// <summary>Stripe test mode (<c>sk_test_</c>): one global bucket at 95% of 25 req/s, burst 1 (so no second exceeds 25).</summary>
    public static ProviderRateLimitOptions StripeTestDefaults { get; } = new()
    {
        Buckets = [new() { Name = "global", Scope = BucketScope.Provider, RatePerSecond = 23.75m, Capacity = 1 }],
    };

    /// <summary>
    /// Stripe: global 95% of 100 req/s, per endpoint 95% of 25 req/s (live-mode limits). Plaid: per client and per item
    /// (values from Plaid's published /transactions/sync limits, per minute, expressed per second; check your contract).
    /// Banks: each its own bucket, conservative until a bank states its limit.
    /// </summary>
    public static IReadOnlyDictionary<string, ProviderRateLimitOptions> Defaults { get; } = new Dictionary<string, ProviderRateLimitOptions>(StringComparer.Ordinal)
    {
        [ProviderNames.Stripe] = StripeLiveDefaults,
        [ProviderNames.Plaid] = new()
        {
            Buckets =
            [
                // 2,500 per minute per client, 50 per minute per item, at 95%
                new() { Name = "client", Scope = BucketScope.Provider, RatePerSecond = 39.583m, Capacity = 2 },
                new() { Name = "item", Scope = BucketScope.Scope, RatePerSecond = 0.791m, Capacity = 1 },
            ],
        },
        [ProviderNames.BankA] = new() { Buckets = [new() { Name = "bank", Scope = BucketScope.Provider, RatePerSecond = 9.5m, Capacity = 1 }] },
        [ProviderNames.BankB] = new() { Buckets = [new() { Name = "bank", Scope = BucketScope.Provider, RatePerSecond = 9.5m, Capacity = 1 }] },
    };

    /// <summary>The mode a Stripe key runs in: live for <c>sk_live_</c> and <c>rk_live_</c>, test for anything else
    /// (a test key, or a sandbox's key, must never be given live-mode headroom).</summary>
    public static StripeApiMode StripeModeOf(string? apiKey)
        => apiKey is not null && (apiKey.StartsWith("sk_live_", StringComparison.Ordinal) || apiKey.StartsWith("rk_live_", StringComparison.Ordinal))
            ? StripeApiMode.Live
            : StripeApiMode.Test;

    /// <summary>Defaults (Stripe's for <see cref="StripeMode"/>) overlaid with configured providers.</summary>
    public IReadOnlyDictionary<string, ProviderRateLimitOptions> ResolveProviders()
    {
        var all = new Dictionary<string, ProviderRateLimitOptions>(Defaults, StringComparer.Ordinal)
        {
            [ProviderNames.Stripe] = StripeMode == StripeApiMode.Test ? StripeTestDefaults : StripeLiveDefaults,
        };
        foreach (var (name, provider) in Providers)
        {
            all[name] = provider;
        }
        return all;
    }

    /// <summary>The pause for a 429: Retry-After when the provider sent one, else <see cref="DefaultPause"/>; at most <see cref="MaxPause"/>.</summary>
    public TimeSpan PauseFor(TimeSpan? retryAfter)
    {
        var pause = retryAfter is { } r && r > TimeSpan.Zero ? r : DefaultPause;
        return pause > MaxPause ? MaxPause : pause;
    }
}
