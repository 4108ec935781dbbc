using Recon.Core.Telemetry;

namespace Recon.Tests.Telemetry;

public sealed class ReconMetricsSnapshotTests
{
    [Fact]
    public void Read_ProviderCalls_SumsCountersPerTagCombination()
    {
        using var snapshot = ReconMetricsSnapshot.Start();
        var provider = $"stripe-{Guid.NewGuid():N}";
        for (var i = 0; i < 95; i++)
        {
            ReconMetrics.RecordProviderCall(provider, "/v1/charges", 200, TimeSpan.FromMilliseconds(80));
        }
        for (var i = 0; i < 5; i++)
        {
            ReconMetrics.RecordProviderCall(provider, "/v1/charges", 429, TimeSpan.FromMilliseconds(20));
        }

        Assert.Equal(100, snapshot.CounterTotal(ReconMetricNames.ProviderCalls, (ReconTagNames.Provider, provider)));
        Assert.Equal(5, snapshot.CounterTotal(ReconMetricNames.ProviderCalls, (ReconTagNames.Provider, provider), (ReconTagNames.StatusCode, 429)));
        var durations = snapshot.Read(ReconMetricNames.ProviderCallDuration, (ReconTagNames.Provider, provider));
        Assert.Equal(2, durations.Count);
        Assert.All(durations, d => Assert.Equal(MetricKind.Histogram, d.Kind));
    }

    [Fact]
    public void Read_TokenWaits_GivesNearestRankPercentiles()
    {
        using var snapshot = ReconMetricsSnapshot.Start();
        var provider = $"bank-{Guid.NewGuid():N}";
        for (var ms = 1; ms <= 100; ms++)
        {
            ReconMetrics.RecordTokenWait(provider, TimeSpan.FromMilliseconds(ms));
        }

        var series = Assert.Single(snapshot.Read(ReconMetricNames.TokenWaitDuration, (ReconTagNames.Provider, provider)));
        Assert.Equal(100, series.Count);
        Assert.Equal(0.050, series.P50, precision: 9);
        Assert.Equal(0.099, series.P99, precision: 9);
        Assert.Equal(0.100, series.Max, precision: 9);
        Assert.Equal(5.05, series.Sum, precision: 9);
    }

    [Fact]
    public void Read_Gauges_ReportTheLastValueAndFormatPrintsThem()
    {
        using var snapshot = ReconMetricsSnapshot.Start();
        var queue = $"recon-low-{Guid.NewGuid():N}";
        ReconMetrics.SetQueueDepth(queue, 12_000);

        var depth = Assert.Single(snapshot.Read(ReconMetricNames.QueueDepth, (ReconTagNames.Queue, queue)));
        Assert.Equal(MetricKind.Gauge, depth.Kind);
        Assert.Equal(12_000, depth.Sum);
        Assert.True(double.IsNaN(depth.P99));
        var report = snapshot.Format();
        Assert.Contains($"recon.queue={queue}", report, StringComparison.Ordinal);
        Assert.Contains("12000", report, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_AfterDispose_SeesNothingNew()
    {
        var snapshot = ReconMetricsSnapshot.Start();
        var outcome = $"late-{Guid.NewGuid():N}";
        snapshot.Dispose();

        ReconMetrics.RecordResult(outcome);

        Assert.Equal(0, snapshot.CounterTotal(ReconMetricNames.Results, (ReconTagNames.Outcome, outcome)));
    }
}
