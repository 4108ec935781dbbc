using Recon.Core.RateLimiting;

namespace Recon.Tests.Infrastructure;

/// <summary>A small real limiter for tests that do not need Redis: grants unless a provider is paused, and counts pauses.</summary>
public sealed class InMemoryRateLimiter(TimeProvider time) : IProviderRateLimiter
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, DateTimeOffset> _pausedUntil = new(StringComparer.Ordinal);
    private int _pauses;

    public int Pauses => Volatile.Read(ref _pauses);

    public ValueTask<RateLimitDecision> TryAcquireAsync(string provider, string endpoint, string? scope, int tokens, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var now = time.GetUtcNow();
            return ValueTask.FromResult(_pausedUntil.TryGetValue(provider, out var until) && until > now
                ? RateLimitDecision.Wait(until - now)
                : RateLimitDecision.Grant);
        }
    }

    public ValueTask PauseAsync(string provider, TimeSpan duration, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var until = time.GetUtcNow() + duration;
            if (!_pausedUntil.TryGetValue(provider, out var current) || current < until)
            {
                _pausedUntil[provider] = until;
            }
            _pauses++;
        }
        return ValueTask.CompletedTask;
    }
}
