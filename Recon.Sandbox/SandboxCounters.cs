using System.Collections.Concurrent;

namespace Recon.Sandbox;

/// <summary>What the sandbox saw: requests, 429s, 500s and hangs, in total, per endpoint and per second.
/// The spike benchmark reads them through <c>GET /admin/counters</c>.</summary>
public sealed class SandboxCounters
{
    /// <summary>Ten minutes of per-second history: long enough for a spike run, bounded so memory stays flat.</summary>
    private const int PerSecondHistorySeconds = 600;

    private readonly ConcurrentDictionary<string, EndpointCounts> _byEndpoint = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<long, EndpointCounts> _perSecond = new();

    public EndpointCounts Total { get; } = new();

    public void Record(string endpoint, long unixSecond, Outcome outcome)
    {
        foreach (var counts in new[] { Total, _byEndpoint.GetOrAdd(endpoint, _ => new EndpointCounts()), _perSecond.GetOrAdd(unixSecond, _ => new EndpointCounts()) })
        {
            counts.Add(outcome);
        }
        if (_perSecond.Count > PerSecondHistorySeconds + 10)
        {
            foreach (var old in _perSecond.Keys.Where(k => k < unixSecond - PerSecondHistorySeconds))
            {
                _perSecond.TryRemove(old, out _);
            }
        }
    }

    public void Reset()
    {
        Total.Reset();
        _byEndpoint.Clear();
        _perSecond.Clear();
    }

    public CountersSnapshot Snapshot() => new(
        Total.Snapshot(),
        _byEndpoint.OrderBy(e => e.Key, StringComparer.Ordinal).ToDictionary(e => e.Key, e => e.Value.Snapshot()),
        _perSecond.OrderBy(e => e.Key).Select(e => new PerSecondCounts(e.Key, e.Value.Snapshot())).ToList());

    public enum Outcome
    {
        Ok,
        Throttled,
        ServerError,
        Hung,
        Rejected,
    }

    /// <summary>Thread-safe counts for one key.</summary>
    public sealed class EndpointCounts
    {
        private long _requests;
        private long _ok;
        private long _throttled;
        private long _serverErrors;
        private long _hangs;
        private long _rejected;

        public void Add(Outcome outcome)
        {
            Interlocked.Increment(ref _requests);
            switch (outcome)
            {
                case Outcome.Ok: Interlocked.Increment(ref _ok); break;
                case Outcome.Throttled: Interlocked.Increment(ref _throttled); break;
                case Outcome.ServerError: Interlocked.Increment(ref _serverErrors); break;
                case Outcome.Hung: Interlocked.Increment(ref _hangs); break;
                default: Interlocked.Increment(ref _rejected); break;
            }
        }

        public void Reset()
        {
            Interlocked.Exchange(ref _requests, 0);
            Interlocked.Exchange(ref _ok, 0);
            Interlocked.Exchange(ref _throttled, 0);
            Interlocked.Exchange(ref _serverErrors, 0);
            Interlocked.Exchange(ref _hangs, 0);
            Interlocked.Exchange(ref _rejected, 0);
        }

        public Counts Snapshot() => new(Interlocked.Read(ref _requests), Interlocked.Read(ref _ok), Interlocked.Read(ref _throttled),
            Interlocked.Read(ref _serverErrors), Interlocked.Read(ref _hangs), Interlocked.Read(ref _rejected));
    }
}

/// <summary>Counts of requests by outcome. <c>Rejected</c> = auth and validation errors.</summary>
public sealed record Counts(long Requests, long Ok, long Throttled, long ServerErrors, long Hangs, long Rejected);

public sealed record PerSecondCounts(long UnixSecond, Counts Counts);

/// <summary>The body of <c>GET /admin/counters</c>.</summary>
public sealed record CountersSnapshot(Counts Total, IReadOnlyDictionary<string, Counts> ByEndpoint, IReadOnlyList<PerSecondCounts> PerSecond);
