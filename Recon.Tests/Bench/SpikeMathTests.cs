using Recon.Bench.Spike;

namespace Recon.Tests.Bench;

public sealed class SpikeMathTests
{
    private static SpikeJob Job(int i, double at, string endpoint, bool high = false)
        => new(i, $"b{i}", at, high, "stripe", endpoint, 100);

    [Fact]
    public void Percentile_NearestRank_OnKnownValues()
    {
        var values = Enumerable.Range(1, 100).Select(i => (double)i).Reverse().ToList();
        Assert.Equal(50, SpikeMath.Percentile(values, 50));
        Assert.Equal(99, SpikeMath.Percentile(values, 99));
        Assert.Equal(100, SpikeMath.Percentile(values, 100));
        Assert.Equal(7, SpikeMath.Percentile([7], 99));
        Assert.Equal(0, SpikeMath.Percentile([], 99));
        Assert.Equal(3, SpikeMath.Percentile([1, 2, 3, 4], 75));
        Assert.Throws<ArgumentOutOfRangeException>(() => SpikeMath.Percentile([1], 0));
    }

    [Fact]
    public void SuccessRate_IsShareOfNon429Answers()
    {
        Assert.Equal(0.72, SpikeMath.SuccessRate(1000, 280), 6);
        Assert.Equal(1.0, SpikeMath.SuccessRate(0, 0));
        Assert.Equal(0.998, SpikeMath.SuccessRate(5000, 10), 6);
        Assert.Throws<ArgumentOutOfRangeException>(() => SpikeMath.SuccessRate(10, 11));
    }

    [Fact]
    public void Floor_OneEndpoint_IsCountOverEndpointRate()
    {
        // 100 calls at t=0 on one endpoint, 10/s per endpoint, 100/s global: the endpoint binds, 10 s
        var jobs = Enumerable.Range(0, 100).Select(i => Job(i, 0, "a")).ToList();
        Assert.Equal(10, SpikeMath.FloorSeconds(jobs, 0, 1, 100, 10), 1);
    }

    [Fact]
    public void Floor_SpreadOverEndpoints_GlobalBinds()
    {
        // 100 calls spread over 4 endpoints (25 each), 10/s per endpoint but 20/s global: the global rate binds, 5 s
        var jobs = Enumerable.Range(0, 100).Select(i => Job(i, 0, $"e{i % 4}")).ToList();
        Assert.Equal(5, SpikeMath.FloorSeconds(jobs, 0, 1, 20, 10), 1);
        // with a generous global rate each endpoint serves its 25 at 10/s: 2.5 s
        Assert.Equal(2.5, SpikeMath.FloorSeconds(jobs, 0, 1, 1000, 10), 1);
    }

    [Fact]
    public void Floor_WorkArrivingSlowerThanTheRate_EndsWithTheLastArrival()
    {
        // one call a second for 10 s on a 10/s endpoint: never a backlog, the floor is the last arrival
        var jobs = Enumerable.Range(0, 10).Select(i => Job(i, 5 + i, "a")).ToList();
        Assert.Equal(9.1, SpikeMath.FloorSeconds(jobs, 5, 100, 100, 10), 1);
        // jobs outside the window do not count
        Assert.Equal(0, SpikeMath.FloorSeconds(jobs, 100, 200, 100, 10));
    }

    [Fact]
    public void Workload_KeepsRatiosAndIsDeterministic()
    {
        var options = new SpikeWorkloadOptions { Scale = 2 };
        var a = SpikeWorkload.Plan(options);
        var b = SpikeWorkload.Plan(options);
        Assert.Equal(a, b);
        double Rate(double from, double to) => a.Count(j => j.ArrivalSeconds >= from && j.ArrivalSeconds < to) / (to - from);
        var baseline = Rate(0, options.BurstStartSeconds);
        var burst = Rate(options.BurstStartSeconds, options.BurstEndSeconds);
        // a Poisson process: the tenfold step shows within a generous margin
        Assert.InRange(burst / baseline, 7, 13);
        Assert.InRange(a.Count(j => j.High) / (double)a.Count, 0.03, 0.07);
        Assert.All(a, j => Assert.Contains(j.Endpoint, options.Endpoints));
        Assert.True(a.Zip(a.Skip(1)).All(p => p.First.ArrivalSeconds <= p.Second.ArrivalSeconds));
        Assert.All(a.Where(j => j.High), j => Assert.True(j.ValueMinor >= 1_000_000));
    }
}
