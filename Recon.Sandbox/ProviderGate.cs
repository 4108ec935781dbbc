namespace Recon.Sandbox;

/// <summary>
/// What every provider call passes before its handler runs: rate limits (fixed one-second or one-minute windows,
/// only admitted calls count), then the latency draw, then the fault dice. Outcomes are recorded in the counters.
/// </summary>
public sealed class ProviderGate(SandboxState state, TimeProvider time)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, (long Window, int Count)> _windows = new(StringComparer.Ordinal);
    private readonly Random _dice = new(state.Seed);

    /// <summary>The decision for one call.</summary>
    public enum Verdict
    {
        Proceed,
        Throttled,
        ServerError,
    }

    /// <summary>Checks the windows named by <paramref name="limits"/> (key, limit, window length in seconds), all or nothing.</summary>
    public Verdict TryAdmit(IReadOnlyList<(string Key, int Limit, int WindowSeconds)> limits)
    {
        var behavior = state.Behavior;
        if (!behavior.LimitsEnabled)
        {
            return Verdict.Proceed;
        }
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        lock (_lock)
        {
            foreach (var (key, limit, windowSeconds) in limits)
            {
                var window = now / windowSeconds;
                if (_windows.TryGetValue(key, out var w) && w.Window == window && w.Count >= limit)
                {
                    return Verdict.Throttled;
                }
            }
            foreach (var (key, _, windowSeconds) in limits)
            {
                var window = now / windowSeconds;
                _windows[key] = _windows.TryGetValue(key, out var w) && w.Window == window ? (window, w.Count + 1) : (window, 1);
            }
        }
        return Verdict.Proceed;
    }

    /// <summary>Latency, then faults: returns <see cref="Verdict.ServerError"/> for an injected 500; an injected hang
    /// just waits <see cref="SandboxBehavior.HangMs"/> (or until the client gives up) and then proceeds.</summary>
    public async Task<(Verdict Verdict, bool Hung)> DelayAndFaultAsync(CancellationToken cancellationToken)
    {
        var behavior = state.Behavior;
        double latencyDraw, faultDraw;
        lock (_lock)
        {
            latencyDraw = NextStandardNormal();
            faultDraw = _dice.NextDouble();
        }
        if (behavior.LatencyMedianMs > 0)
        {
            var ms = Math.Min(behavior.LatencyMaxMs, behavior.LatencyMedianMs * Math.Exp(behavior.LatencySigma * latencyDraw));
            await Task.Delay(TimeSpan.FromMilliseconds(ms), time, cancellationToken).ConfigureAwait(false);
        }
        if (faultDraw < behavior.ServerErrorShare)
        {
            return (Verdict.ServerError, false);
        }
        if (faultDraw < behavior.ServerErrorShare + behavior.HangShare)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(behavior.HangMs), time, cancellationToken).ConfigureAwait(false);
            return (Verdict.Proceed, true);
        }
        return (Verdict.Proceed, false);
    }

    public long UnixSecondNow => time.GetUtcNow().ToUnixTimeSeconds();

    public void Reset()
    {
        lock (_lock)
        {
            _windows.Clear();
        }
    }

    private double NextStandardNormal()
    {
        // Box–Muller; 1 - NextDouble() keeps the logarithm away from zero
        var u1 = 1.0 - _dice.NextDouble();
        var u2 = _dice.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }
}
