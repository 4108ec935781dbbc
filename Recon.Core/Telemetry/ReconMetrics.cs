using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Recon.Core.Matching;

namespace Recon.Core.Telemetry;

/// <summary>
/// Recon's instruments: one <see cref="System.Diagnostics.Metrics.Meter"/> and one
/// <see cref="System.Diagnostics.ActivitySource"/>, both named <see cref="Name"/>. Exported to Application Insights
/// by the Functions app (OpenTelemetry) and read in-process by <see cref="ReconMetricsSnapshot"/>.
/// </summary>
/// <remarks>
/// Static because the pipeline records from orchestrator activities, adapters and the CLI alike, and a Meter is meant
/// to live for the process; with no listener attached every call costs next to nothing.
/// </remarks>
public static class ReconMetrics
{
    /// <summary>Name of the Meter and of the ActivitySource.</summary>
    public const string Name = "Recon";

    /// <summary>The Meter every Recon instrument belongs to.</summary>
    public static Meter Meter { get; } = new(Name, "1.0");

    /// <summary>The ActivitySource for Recon's spans.</summary>
    public static ActivitySource ActivitySource { get; } = new(Name, "1.0");

    private static readonly Counter<long> ProviderCalls = Meter.CreateCounter<long>(
        ReconMetricNames.ProviderCalls, "{call}", "Provider HTTP calls by provider, endpoint and status code.");

    private static readonly Histogram<double> ProviderCallDuration = Meter.CreateHistogram<double>(
        ReconMetricNames.ProviderCallDuration, "s", "Provider call duration.");

    private static readonly Histogram<double> TokenWaitDuration = Meter.CreateHistogram<double>(
        ReconMetricNames.TokenWaitDuration, "s", "Time a batch waited for a rate-limit token.");

    private static readonly Histogram<double> BatchDuration = Meter.CreateHistogram<double>(
        ReconMetricNames.BatchDuration, "s", "Batch duration by priority.");

    private static readonly Counter<long> LateBatches = Meter.CreateCounter<long>(
        ReconMetricNames.LateBatches, "{batch}", "Batches that finished after their window.");

    private static readonly Counter<long> Results = Meter.CreateCounter<long>(
        ReconMetricNames.Results, "{result}", "Reconciliation results by outcome.");

    // Last value per queue / pool, reported by the observable gauges below whenever a reader collects.
    private static readonly ConcurrentDictionary<string, long> QueueDepths = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, int> PoolsInUse = new(StringComparer.Ordinal);

    static ReconMetrics()
    {
        Meter.CreateObservableGauge(
            ReconMetricNames.QueueDepth,
            () => QueueDepths.Select(q => new Measurement<long>(q.Value, new KeyValuePair<string, object?>(ReconTagNames.Queue, q.Key))),
            "{message}",
            "Approximate number of messages in a queue.");
        Meter.CreateObservableGauge(
            ReconMetricNames.DbPoolInUse,
            () => PoolsInUse.Select(p => new Measurement<int>(p.Value, new KeyValuePair<string, object?>(ReconTagNames.Pool, p.Key))),
            "{connection}",
            "Database connections in use in this process.");
    }

    /// <summary>One provider call and its outcome.</summary>
    /// <param name="provider">Provider name, e.g. <c>stripe</c>.</param>
    /// <param name="endpoint">Endpoint path, e.g. <c>/v1/balance_transactions</c>.</param>
    /// <param name="statusCode">HTTP status; 0 when no response came back (timeout, connection error).</param>
    /// <param name="duration">Time from request to response or failure.</param>
    public static void RecordProviderCall(string provider, string endpoint, int statusCode, TimeSpan duration)
    {
        ArgumentException.ThrowIfNullOrEmpty(provider);
        ArgumentException.ThrowIfNullOrEmpty(endpoint);
        ArgumentOutOfRangeException.ThrowIfNegative(statusCode);
        var tags = new TagList
        {
            { ReconTagNames.Provider, provider },
            { ReconTagNames.Endpoint, endpoint },
            { ReconTagNames.StatusCode, statusCode },
        };
        ProviderCalls.Add(1, tags);
        ProviderCallDuration.Record(Seconds(duration), tags);
    }

    /// <summary>A wait for a rate-limit token (the bucket had none and the batch slept on a timer).</summary>
    public static void RecordTokenWait(string provider, TimeSpan wait)
    {
        ArgumentException.ThrowIfNullOrEmpty(provider);
        TokenWaitDuration.Record(Seconds(wait), new KeyValuePair<string, object?>(ReconTagNames.Provider, provider));
    }

    /// <summary>
    /// A finished batch: its duration by priority and, when <paramref name="late"/>, one late batch. Also emits a
    /// completed <see cref="ReconMetricNames.BatchSpan"/> span with the same duration, because Application Insights
    /// keeps histograms as count/sum/min/max only and the workbook computes the P99 from spans.
    /// </summary>
    /// <param name="priority">0 (high queue) to 10.</param>
    /// <param name="duration">From the batch's start to its results being posted.</param>
    /// <param name="late">Whether it finished after its window.</param>
    /// <param name="batchId">Optional batch id, put on the span only.</param>
    public static void RecordBatch(int priority, TimeSpan duration, bool late, string? batchId = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(priority);
        BatchDuration.Record(Seconds(duration), new TagList
        {
            { ReconTagNames.Priority, priority },
            { ReconTagNames.Late, late },
        });
        if (late)
        {
            LateBatches.Add(1, new KeyValuePair<string, object?>(ReconTagNames.Priority, priority));
        }

        var end = DateTimeOffset.UtcNow;
        using var span = ActivitySource.StartActivity(
            ReconMetricNames.BatchSpan,
            ActivityKind.Internal,
            parentContext: default, // default: the ambient Activity.Current is the parent
            tags: [new(ReconTagNames.Priority, priority), new(ReconTagNames.Late, late), new(ReconTagNames.BatchId, batchId)],
            startTime: end - duration);
        if (span is not null)
        {
            if (late)
            {
                span.SetStatus(ActivityStatusCode.Error, "late");
            }
            span.SetEndTime(end.UtcDateTime);
        }
    }

    /// <summary>The current depth of a queue; the observable gauge reports the last value set.</summary>
    public static void SetQueueDepth(string queue, long depth)
    {
        ArgumentException.ThrowIfNullOrEmpty(queue);
        ArgumentOutOfRangeException.ThrowIfNegative(depth);
        QueueDepths[queue] = depth;
    }

    /// <summary>Reconciliation results written with one outcome.</summary>
    public static void RecordResult(string outcome, long count = 1)
    {
        ArgumentException.ThrowIfNullOrEmpty(outcome);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        Results.Add(count, new KeyValuePair<string, object?>(ReconTagNames.Outcome, outcome));
    }

    /// <summary>Reconciliation results written with one <see cref="MatchOutcome"/>.</summary>
    public static void RecordResult(MatchOutcome outcome, long count = 1) => RecordResult(outcome.ToString(), count);

    /// <summary>Connections in use in a pool of this process (e.g. <c>npgsql</c>, <c>bulkhead</c>); last value wins.</summary>
    public static void RecordDbPoolInUse(string pool, int inUse)
    {
        ArgumentException.ThrowIfNullOrEmpty(pool);
        ArgumentOutOfRangeException.ThrowIfNegative(inUse);
        PoolsInUse[pool] = inUse;
    }

    /// <summary>Starts a span around one provider call; null when nobody listens. Dispose it when the call ends.</summary>
    public static Activity? StartProviderCall(string provider, string endpoint)
        => ActivitySource.StartActivity(ReconMetricNames.ProviderCallSpan, ActivityKind.Client, parentContext: default,
            tags: [new(ReconTagNames.Provider, provider), new(ReconTagNames.Endpoint, endpoint)]);

    private static double Seconds(TimeSpan duration)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(duration, TimeSpan.Zero);
        return duration.TotalSeconds;
    }
}
