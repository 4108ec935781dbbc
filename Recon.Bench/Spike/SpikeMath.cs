namespace Recon.Bench.Spike;

/// <summary>The report's arithmetic, kept pure so a test can check it on known inputs.</summary>
public static class SpikeMath
{
    /// <summary>Nearest-rank percentile (the smallest value with at least <paramref name="percent"/>% of the values at or below it); 0 for no values.</summary>
    public static double Percentile(IReadOnlyList<double> values, double percent)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (percent is <= 0 or > 100)
        {
            throw new ArgumentOutOfRangeException(nameof(percent), percent, "a percentile is in (0, 100].");
        }
        if (values.Count == 0)
        {
            return 0;
        }
        var sorted = values.ToArray();
        Array.Sort(sorted);
        var rank = (int)Math.Ceiling(percent / 100.0 * sorted.Length);
        return sorted[Math.Clamp(rank, 1, sorted.Length) - 1];
    }

    /// <summary>Share of provider requests that were answered without a 429; 1 when there were none.</summary>
    public static double SuccessRate(long requests, long throttled)
    {
        if (requests < 0 || throttled < 0 || throttled > requests)
        {
            throw new ArgumentOutOfRangeException(nameof(throttled), $"need 0 <= 429s ({throttled}) <= requests ({requests}).");
        }
        return requests == 0 ? 1.0 : (double)(requests - throttled) / requests;
    }

    /// <summary>
    /// The least time, from <paramref name="fromSeconds"/>, in which the configured admitted rates let every job that arrives
    /// in [<paramref name="fromSeconds"/>, <paramref name="untilSeconds"/>) make its provider call: a fluid server that admits at
    /// most <paramref name="globalPerSecond"/> calls per second overall and <paramref name="endpointPerSecond"/> per endpoint,
    /// never before a job has arrived, starting with empty buckets.
    /// </summary>
    /// <remarks>Simulated in 1 ms steps: exact enough for a report in seconds, simple enough to trust.</remarks>
    public static double FloorSeconds(IReadOnlyList<SpikeJob> jobs, double fromSeconds, double untilSeconds, double globalPerSecond, double endpointPerSecond)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        if (!(globalPerSecond > 0) || !(endpointPerSecond > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(globalPerSecond), "admitted rates must be positive.");
        }
        var work = jobs.Where(j => j.ArrivalSeconds >= fromSeconds && j.ArrivalSeconds < untilSeconds)
            .OrderBy(j => j.ArrivalSeconds).ToList();
        if (work.Count == 0)
        {
            return 0;
        }
        var queues = work.GroupBy(j => j.Endpoint, StringComparer.Ordinal)
            .Select(g => new FluidQueue(g.Select(j => j.ArrivalSeconds - fromSeconds).ToArray()))
            .ToArray();
        const double StepSeconds = 0.001;
        var remaining = work.Count;
        var t = 0.0;
        // bounded: at the slowest admitted rate every job is through after count / rate seconds past the last arrival
        var maxSteps = (long)((work[^1].ArrivalSeconds - fromSeconds + (work.Count / Math.Min(globalPerSecond, endpointPerSecond)) + 1) / StepSeconds) + 10;
        for (long step = 0; step < maxSteps && remaining > 0; step++)
        {
            t = (step + 1) * StepSeconds;
            // water-filling: each backlogged endpoint may take up to its own rate, the global rate is shared among them
            var demand = queues.Select(q => q.Backlog(t)).ToArray();
            var globalCredit = globalPerSecond * StepSeconds;
            var hungry = Enumerable.Range(0, queues.Length).Where(i => demand[i] > 1e-12).ToList();
            while (hungry.Count > 0 && globalCredit > 1e-12)
            {
                var share = globalCredit / hungry.Count;
                var next = new List<int>();
                foreach (var i in hungry)
                {
                    var room = Math.Min(demand[i], (endpointPerSecond * StepSeconds) - queues[i].ServedThisStep);
                    var give = Math.Min(share, room);
                    queues[i].Serve(give);
                    demand[i] -= give;
                    globalCredit -= give;
                    if (demand[i] > 1e-12 && (endpointPerSecond * StepSeconds) - queues[i].ServedThisStep > 1e-12)
                    {
                        next.Add(i);
                    }
                }
                if (next.Count == hungry.Count && share < 1e-15)
                {
                    break;
                }
                hungry = next;
            }
            remaining = 0;
            foreach (var q in queues)
            {
                q.EndStep();
                remaining += q.Unserved;
            }
        }
        return t;
    }

    private sealed class FluidQueue(double[] arrivals)
    {
        private double _served;

        public double ServedThisStep { get; private set; }

        public int Unserved => arrivals.Length - (int)Math.Floor(_served + 1e-9);

        public double Backlog(double t)
        {
            var arrived = UpperBound(arrivals, t);
            return Math.Max(0, arrived - _served - ServedThisStep);
        }

        public void Serve(double amount) => ServedThisStep += amount;

        public void EndStep()
        {
            _served += ServedThisStep;
            ServedThisStep = 0;
        }

        private static int UpperBound(double[] sorted, double t)
        {
            int lo = 0, hi = sorted.Length;
            while (lo < hi)
            {
                var mid = (lo + hi) >>> 1;
                if (sorted[mid] <= t)
                {
                    lo = mid + 1;
                }
                else
                {
                    hi = mid;
                }
            }
            return lo;
        }
    }
}
