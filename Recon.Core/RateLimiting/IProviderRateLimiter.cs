namespace Recon.Core.RateLimiting;

/// <summary>The answer to an acquire: granted now, or how long to wait before asking again.</summary>
/// <param name="Granted">True when the tokens were taken from every bucket involved.</param>
/// <param name="RetryAfter">When not granted: the least time after which the acquire can succeed. Zero when granted.</param>
public readonly record struct RateLimitDecision(bool Granted, TimeSpan RetryAfter)
{
    public static RateLimitDecision Grant { get; } = new(true, TimeSpan.Zero);

    public static RateLimitDecision Wait(TimeSpan retryAfter) => new(false, retryAfter);
}

/// <summary>
/// The gate in front of every provider call. Never throws to say "no", never sleeps: a refusal comes back as a
/// <see cref="RateLimitDecision"/> whose wait the orchestration serves with a durable timer.
/// </summary>
public interface IProviderRateLimiter
{
    /// <summary>Takes <paramref name="tokens"/> from every bucket that governs a call to <paramref name="endpoint"/> of
    /// <paramref name="provider"/> (e.g. Stripe global + per endpoint; Plaid per client + per <paramref name="scope"/> item), all or nothing.</summary>
    ValueTask<RateLimitDecision> TryAcquireAsync(string provider, string endpoint, string? scope, int tokens, CancellationToken cancellationToken);

    /// <summary>A provider answered 429: pause its buckets for everyone for <paramref name="duration"/> (from Retry-After, or a default).</summary>
    ValueTask PauseAsync(string provider, TimeSpan duration, CancellationToken cancellationToken);
}
