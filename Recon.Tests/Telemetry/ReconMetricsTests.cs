using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Recon.Core.Matching;
using Recon.Core.Telemetry;

namespace Recon.Tests.Telemetry;

/// <summary>
/// One test per instrument: the name, unit, kind and tags that the workbook's KQL and the README promise. Tests run in
/// parallel and the meter is process-wide, so each test tags its measurements with values of its own.
/// </summary>
public sealed class ReconMetricsTests
{
    private static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    // Real priorities are 0-10; a large random one keeps this test's batch measurements apart from everyone else's.
    private static int UniquePriority() => 1_000_000 + Random.Shared.Next(1, 1_000_000_000);

    [Fact]
    public void RecordProviderCall_Throttled_EmitsCallCounterAndDurationWithProviderEndpointAndStatus()
    {
        using var recorder = new MeasurementRecorder();
        var provider = Unique("stripe");

        ReconMetrics.RecordProviderCall(provider, "/v1/balance_transactions", 429, TimeSpan.FromMilliseconds(250));

        var call = Assert.Single(recorder.Where("recon.provider.calls", "recon.provider", provider));
        Assert.IsType<Counter<long>>(call.Instrument);
        Assert.Equal("{call}", call.Instrument.Unit);
        Assert.Equal(1, call.Value);
        Assert.Equal("/v1/balance_transactions", call.Tags["recon.endpoint"]);
        Assert.Equal(429, call.Tags["http.response.status_code"]);
        var duration = Assert.Single(recorder.Where("recon.provider.call.duration", "recon.provider", provider));
        Assert.IsType<Histogram<double>>(duration.Instrument);
        Assert.Equal("s", duration.Instrument.Unit);
        Assert.Equal(0.25, duration.Value, precision: 9);
        Assert.Equal(429, duration.Tags["http.response.status_code"]);
    }

    [Fact]
    public void RecordTokenWait_EmitsWaitSecondsByProvider()
    {
        using var recorder = new MeasurementRecorder();
        var provider = Unique("plaid");

        ReconMetrics.RecordTokenWait(provider, TimeSpan.FromSeconds(1.5));

        var wait = Assert.Single(recorder.Where("recon.token.wait.duration", "recon.provider", provider));
        Assert.IsType<Histogram<double>>(wait.Instrument);
        Assert.Equal("s", wait.Instrument.Unit);
        Assert.Equal(1.5, wait.Value, precision: 9);
        Assert.Equal([ "recon.provider" ], wait.Tags.Keys);
    }

    [Fact]
    public void RecordBatch_Late_EmitsDurationByPriorityAndOneLateBatch()
    {
        using var recorder = new MeasurementRecorder();
        var priority = UniquePriority();

        ReconMetrics.RecordBatch(priority, TimeSpan.FromSeconds(31.5), late: true);

        var batch = Assert.Single(recorder.Where("recon.batch.duration", "recon.priority", priority));
        Assert.IsType<Histogram<double>>(batch.Instrument);
        Assert.Equal("s", batch.Instrument.Unit);
        Assert.Equal(31.5, batch.Value, precision: 9);
        Assert.Equal(true, batch.Tags["recon.batch.late"]);
        var late = Assert.Single(recorder.Where("recon.batches.late", "recon.priority", priority));
        Assert.IsType<Counter<long>>(late.Instrument);
        Assert.Equal("{batch}", late.Instrument.Unit);
        Assert.Equal(1, late.Value);
    }

    [Fact]
    public void RecordBatch_OnTime_CountsNoLateBatch()
    {
        using var recorder = new MeasurementRecorder();
        var priority = UniquePriority();

        ReconMetrics.RecordBatch(priority, TimeSpan.FromSeconds(3), late: false);

        var batch = Assert.Single(recorder.Where("recon.batch.duration", "recon.priority", priority));
        Assert.Equal(false, batch.Tags["recon.batch.late"]);
        Assert.Empty(recorder.Where("recon.batches.late", "recon.priority", priority));
    }

    [Fact]
    public void RecordBatch_WithListener_EmitsCompletedSpanWithTheBatchDuration()
    {
        var batchId = Unique("batch");
        var stopped = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == "Recon",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);

        ReconMetrics.RecordBatch(3, TimeSpan.FromSeconds(12), late: false, batchId);

        var span = Assert.Single(stopped, a => Equals(a.GetTagItem("recon.batch.id"), batchId));
        Assert.Equal("recon.batch", span.OperationName);
        Assert.Equal(TimeSpan.FromSeconds(12), span.Duration);
        Assert.Equal(3, span.GetTagItem("recon.priority"));
        Assert.Equal(false, span.GetTagItem("recon.batch.late"));
    }

    [Fact]
    public void SetQueueDepth_EmitsLastDepthPerQueueOnCollect()
    {
        using var recorder = new MeasurementRecorder();
        var queue = Unique("recon-high");

        ReconMetrics.SetQueueDepth(queue, 120);
        ReconMetrics.SetQueueDepth(queue, 42);
        recorder.CollectObservables();

        var depth = Assert.Single(recorder.Where("recon.queue.depth", "recon.queue", queue));
        Assert.IsType<ObservableGauge<long>>(depth.Instrument);
        Assert.Equal("{message}", depth.Instrument.Unit);
        Assert.Equal(42, depth.Value);
    }

    [Fact]
    public void RecordResult_EmitsCountByOutcome()
    {
        using var recorder = new MeasurementRecorder();
        var outcome = Unique("outcome");

        ReconMetrics.RecordResult(outcome, 7);

        var result = Assert.Single(recorder.Where("recon.results", "recon.outcome", outcome));
        Assert.IsType<Counter<long>>(result.Instrument);
        Assert.Equal("{result}", result.Instrument.Unit);
        Assert.Equal(7, result.Value);
    }

    [Fact]
    public void RecordResult_MatchOutcome_TagsTheOutcomeName()
    {
        using var recorder = new MeasurementRecorder();
        var before = recorder.Where("recon.results", "recon.outcome", nameof(MatchOutcome.Matched)).Count;

        ReconMetrics.RecordResult(MatchOutcome.Matched);

        Assert.True(recorder.Where("recon.results", "recon.outcome", nameof(MatchOutcome.Matched)).Count > before);
    }

    [Fact]
    public void RecordDbPoolInUse_EmitsLastValuePerPoolOnCollect()
    {
        using var recorder = new MeasurementRecorder();
        var pool = Unique("npgsql");

        ReconMetrics.RecordDbPoolInUse(pool, 5);
        ReconMetrics.RecordDbPoolInUse(pool, 8);
        recorder.CollectObservables();

        var inUse = Assert.Single(recorder.Where("recon.db.pool.in_use", "recon.db.pool", pool));
        Assert.IsType<ObservableGauge<int>>(inUse.Instrument);
        Assert.Equal("{connection}", inUse.Instrument.Unit);
        Assert.Equal(8, inUse.Value);
    }

    [Fact]
    public void Record_BadInput_IsRefusedWithTheParameterName()
    {
        Assert.Equal("provider", Assert.Throws<ArgumentException>(() => ReconMetrics.RecordProviderCall("", "/x", 200, TimeSpan.Zero)).ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => ReconMetrics.RecordTokenWait("stripe", TimeSpan.FromSeconds(-1)));
        Assert.Equal("priority", Assert.Throws<ArgumentOutOfRangeException>(() => ReconMetrics.RecordBatch(-1, TimeSpan.Zero, false)).ParamName);
        Assert.Equal("depth", Assert.Throws<ArgumentOutOfRangeException>(() => ReconMetrics.SetQueueDepth("q", -1)).ParamName);
    }

    [Fact]
    public void InstrumentNames_AreLowerCaseDottedAndAllPublished()
    {
        _ = ReconMetrics.Meter; // creates the instruments if no other test has yet
        var published = new ConcurrentBag<string>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (i, _) =>
            {
                if (i.Meter.Name == "Recon")
                {
                    published.Add(i.Name);
                }
            },
        };
        listener.Start();

        Assert.All(ReconMetricNames.Instruments, n => Assert.Matches("^recon(\\.[a-z_]+)+$", n));
        Assert.Equal(ReconMetricNames.Instruments.Order(), published.Distinct().Order());
    }
}
