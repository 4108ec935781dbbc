using System.Globalization;

namespace Recon.Bench.Spike;

/// <summary>One job of the spike: one batch, one provider page call, one matching-and-posting transaction.</summary>
/// <param name="Index">Position in arrival order.</param>
/// <param name="BatchId">Deterministic batch id (the idempotency key of the completion).</param>
/// <param name="ArrivalSeconds">When the job arrives, seconds after the run starts.</param>
/// <param name="High">True for the few high-value jobs.</param>
/// <param name="Provider">The provider called.</param>
/// <param name="Endpoint">The provider endpoint called (per-endpoint limits apply).</param>
/// <param name="ValueMinor">Business value of the batch in minor units (USD).</param>
public sealed record SpikeJob(int Index, string BatchId, double ArrivalSeconds, bool High, string Provider, string Endpoint, long ValueMinor);

/// <summary>The shape of the spike: a steady baseline, ten times the arrival rate for a burst, then the baseline again.</summary>
/// <remarks>
/// <see cref="Scale"/> stretches the phases (so the number of jobs) and keeps every rate: the provider limits are the real
/// ones, so the arrival rates must stay where they are relative to them or the burst would stop being a burst.
/// </remarks>
public sealed record SpikeWorkloadOptions
{
    /// <summary>Multiplies the phase durations. The default 0.75 (3,300 jobs, a 30 s burst) runs both modes in about
    /// 4 minutes on a shared 2-core machine; at 1 the recon mode's single in-memory Azurite, CPU-starved under a load
    /// average above 20, stopped handing out leases part-way through the drain (measured), so 1 measures Azurite.</summary>
    public double Scale { get; init; } = DefaultScale;

    /// <summary>See <see cref="Scale"/>.</summary>
    public const double DefaultScale = 0.75;

    /// <summary>Jobs per second before and after the burst: under the 23.75 req/s Recon admits on the one endpoint it lists, so no backlog builds.</summary>
    public double BaselineJobsPerSecond { get; init; } = 10;

    /// <summary>The story's tenfold jump.</summary>
    public double BurstMultiplier { get; init; } = 10;

    /// <summary>Seconds of baseline before the burst, at scale 1.</summary>
    public double BaselineSeconds { get; init; } = 15;

    /// <summary>Seconds of burst at scale 1: 100 jobs/s against 23.75 admitted builds a backlog of about 3,000.</summary>
    public double BurstSeconds { get; init; } = 40;

    /// <summary>Seconds of baseline after the burst, at scale 1: arrivals keep coming while the backlog drains.</summary>
    public double TailSeconds { get; init; } = 15;

    /// <summary>Share of high-value jobs: a few wires among many small payments.</summary>
    public double HighShare { get; init; } = 0.05;

    /// <summary>Stripe list endpoints the jobs are spread over, evenly. The product pages Stripe's balance transactions
    /// (<c>StripePageFetcher</c>), so every job calls that one endpoint: its 25 req/s binds before the 100 req/s global
    /// limit, and Recon admits 95% of it, 23.75 req/s.</summary>
    public IReadOnlyList<string> Endpoints { get; init; } = ["balance_transactions"];

    /// <summary>Least time after the last arrival a mode may keep working before what is left counts as unfinished
    /// (<see cref="SpikeRunner.Deadline"/>): 60 s, long enough for a naive run's five deliveries. A run ends as soon as every
    /// job finished, so a larger value (the tests' tiny run) only bounds how long a slow machine may take.</summary>
    public double DrainAllowanceSeconds { get; init; } = 60;

    /// <summary>Seed of the arrival process, so both modes (and reruns) see the same jobs.</summary>
    public int Seed { get; init; } = 42;

    public double BurstStartSeconds => BaselineSeconds * Scale;

    public double BurstEndSeconds => (BaselineSeconds + BurstSeconds) * Scale;

    public double ArrivalEndSeconds => (BaselineSeconds + BurstSeconds + TailSeconds) * Scale;

    public void Validate()
    {
        if (!(Scale > 0) || Scale > 100)
        {
            throw new ArgumentOutOfRangeException(nameof(Scale), Scale, "--scale must be above 0 and at most 100.");
        }
        if (!(BaselineJobsPerSecond > 0) || !(BurstMultiplier >= 1) || !(HighShare is >= 0 and <= 1) || Endpoints.Count == 0)
        {
            throw new ArgumentException("spike workload: rates must be positive, the multiplier at least 1, the high share in [0, 1], and at least one endpoint.");
        }
    }
}

/// <summary>Builds the arrival schedule: a Poisson process whose rate steps up tenfold for the burst.</summary>
public static class SpikeWorkload
{
    public static IReadOnlyList<SpikeJob> Plan(SpikeWorkloadOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var random = new Random(options.Seed);
        var jobs = new List<SpikeJob>();
        var t = 0.0;
        var end = options.ArrivalEndSeconds;
        // bounded: the schedule ends at ArrivalEndSeconds, and every step moves t forward
        while (true)
        {
            var rate = t >= options.BurstStartSeconds && t < options.BurstEndSeconds
                ? options.BaselineJobsPerSecond * options.BurstMultiplier
                : options.BaselineJobsPerSecond;
            t += -Math.Log(1 - random.NextDouble()) / rate;
            if (t >= end)
            {
                break;
            }
            var index = jobs.Count;
            var high = random.NextDouble() < options.HighShare;
            // high: a wire of $10,000 to $60,000; low: a card payment of $0.50 to $500
            var value = high ? random.NextInt64(1_000_000, 6_000_000) : random.NextInt64(50, 50_000);
            var endpoint = options.Endpoints[index % options.Endpoints.Count];
            jobs.Add(new SpikeJob(index, string.Create(CultureInfo.InvariantCulture, $"spike-{options.Seed}-{index:D6}"), t, high, "stripe", endpoint, value));
        }
        return jobs;
    }
}
